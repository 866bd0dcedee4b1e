import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isDomain } from '../src/config-space/index.js';
import { loadExperimentFile, parseExperiment } from '../src/experiment/load.js';
import { methodDefinitions } from '../src/methods/registry.js';
import { createRng } from '../src/util/rng.js';
import { cliPath, tempDir } from './helpers.js';

const options = {
  methods: Object.keys(methodDefinitions),
  multiFidelityMethods: Object.values(methodDefinitions).filter((m) => m.multiFidelity).map((m) => m.name),
  multiObjectiveMethods: Object.values(methodDefinitions).filter((m) => m.multiObjective).map((m) => m.name),
};

const base = {
  name: 'mlp',
  parameters: [{ name: 'lr', type: 'double', bounds: { min: 0.001, max: 0.1 }, log: true }],
  metrics: [{ name: 'loss', objective: 'minimize' }],
  command: ['python3', 'train.py'],
  budget: { max_trials: 10 },
};

const problems = (data: unknown): string => {
  try {
    parseExperiment(data, options);
  } catch (e) {
    expect((e as Error).name).toBe('UserError');
    return (e as Error).message;
  }
  throw new Error('expected the file to be rejected');
};

describe('the experiment file', () => {
  it('maps SigOpt-style parameters onto tunelab domains', () => {
    const d = parseExperiment(
      {
        ...base,
        parameters: [
          { name: 'units', type: 'int', bounds: { min: 16, max: 256 } },
          { name: 'batch', type: 'int', bounds: { min: 8, max: 512 }, log: true },
          { name: 'dropout', type: 'double', bounds: { min: 0, max: 0.5 } },
          { name: 'lr', type: 'double', bounds: { min: 1e-4, max: 1e-1 }, log: true },
          { name: 'act', type: 'categorical', categorical_values: ['relu', { name: 'tanh' }] },
          { name: 'depth', type: 'ordinal', values: [1, 2, 4] },
          { name: 'wd', type: 'double', grid: [0.1, 0.001, 0.01] },
          { name: 'seed', type: 'int', value: 7 },
        ],
      },
      options,
    );
    const kinds = Object.fromEntries(Object.entries(d.configSpace).map(([k, v]) => [k, isDomain(v) ? v.kind : v]));
    expect(kinds).toEqual({ units: 'randint', batch: 'lograndint', dropout: 'uniform', lr: 'loguniform', act: 'choice', depth: 'ordinal', wd: 'ordinal', seed: 7 });
    const wd = d.configSpace.wd;
    expect(isDomain(wd) && wd.finiteValues).toEqual([0.001, 0.01, 0.1]);
    const act = d.configSpace.act;
    expect(isDomain(act) && act.finiteValues).toEqual(['relu', 'tanh']);
    expect(d.parallelBandwidth).toBe(1);
    expect(d.maxFailures).toBe(3);
    expect(d.method).toBeUndefined();
  });

  it('reads metrics: one optimized, constraints with thresholds, stored ones', () => {
    const d = parseExperiment(
      {
        ...base,
        metrics: [
          { name: 'acc', objective: 'maximize', strategy: 'optimize' },
          { name: 'n_params', objective: 'minimize', strategy: 'constraint', threshold: 5000 },
          { name: 'latency', objective: 'minimize', strategy: 'constraint', threshold: 0.02 },
          { name: 'train_loss', strategy: 'store' },
        ],
      },
      options,
    );
    expect([d.metric, d.mode]).toEqual(['acc', 'max']);
    expect(d.constraints).toEqual([
      { metric: 'n_params', mode: 'min', threshold: 5000 },
      { metric: 'latency', mode: 'min', threshold: 0.02 },
    ]);
    expect(d.storeMetrics).toEqual(['train_loss']);
  });

  it('reports every problem at once, each with its path, the value given and what is accepted', () => {
    const message = problems({
      ...base,
      parameters: [
        { name: 'lr', type: 'real', bounds: { min: 0.1, max: 1 } },
        { name: 'units', type: 'int', bounds: { min: 16, max: 256.5 } },
        { name: 'act', type: 'categorical', categorical_values: ['relu'], colour: 'red' },
      ],
      metrics: [{ name: 'loss', objective: 'lower' }],
      parallel_bandwidth: 0,
      budget: { max_trials: 'ten' },
    });
    expect(message).toMatch(/5 problems/);
    expect(message).toContain(`parameters[0].type: "real" is not accepted; expected one of int, double, categorical, ordinal`);
    expect(message).toContain(`parameters[2]: unknown key 'colour'; accepted keys: name, type, bounds, log, categorical_values, values, grid, value`);
    expect(message).toContain(`metrics[0].objective: "lower" is not accepted; expected one of minimize, maximize`);
    expect(message).toContain(`budget.max_trials: expected a number, got "ten"`);
    expect(message).toContain('parallel_bandwidth: expected a number > 0, got 0');
  });

  it('checks what the shapes cannot: bounds, log, duplicates, the one optimized metric, thresholds, budget, method', () => {
    const message = problems({
      ...base,
      parameters: [
        { name: 'lr', type: 'double', bounds: { min: 0, max: 1 }, log: true },
        { name: 'lr', type: 'int', bounds: { min: 5, max: 5 } },
        { name: 'units', type: 'int', bounds: { min: 1.5, max: 8 } },
        { name: 'act', type: 'categorical', bounds: { min: 0, max: 1 } },
        { name: 'depth', type: 'ordinal' },
        { name: 'wd', type: 'double', bounds: { min: 0, max: 1 }, grid: [0.5, 2] },
      ],
      metrics: [
        { name: 'loss', objective: 'minimize', threshold: 3 },
        { name: 'acc', objective: 'maximize' },
        { name: 'size', objective: 'minimize', strategy: 'constraint' },
      ],
      method: 'ASHA',
      budget: {},
    });
    for (const expected of [
      'parameters[0] (lr): bounds: log: true needs min > 0, got 0',
      "parameters[1] (lr): duplicate parameter name 'lr'",
      'parameters[1] (lr): bounds: min 5 must be below max 5',
      'parameters[2] (units): bounds: an int parameter needs integer bounds, got {min: 1.5, max: 8}',
      "parameters[3] (act): 'bounds' does not apply to type categorical (it takes categorical_values, value)",
      'parameters[3] (act): categorical_values: missing',
      'parameters[4] (depth): values: missing',
      'parameters[5] (wd): bounds: does not go with grid (the grid lists the values); give grid, or bounds',
      'method: ASHA optimises one objective, and this file has 2 (loss, acc); methods for several objectives: MO-RS, NSGA2, MO-ASHA, MO-BO',
      "metrics[0] (loss).threshold: only a metric with strategy 'constraint' takes a threshold",
      'metrics[2] (size).threshold: missing; a constraint metric needs a threshold',
      'budget: give at least one of max_trials, max_wallclock_time, max_results',
      'method: ASHA stops or pauses trials at resource levels, so the file needs resource',
    ]) {
      expect(message).toContain(expected);
    }
    expect(problems({ ...base, method: 'SMAC' })).toMatch(/method: unknown method 'SMAC'; methods that fit this file: RS, GRID, .*BO/);
    expect(problems({ ...base, method_options: { grace_period: 2 } })).toMatch(/method_options.grace_period: applies to the multi-fidelity methods .*, not BO/);
    expect(problems({ ...base, metrics: [{ name: 'trial_id', objective: 'minimize' }] })).toMatch(/'trial_id' is a column tunelab writes itself/);
  });

  it("method_options.min_model_points and num_init_random reach MOBSTER's searcher; min_model_points is MOBSTER's alone", async () => {
    const file = { ...base, method: 'MOBSTER', resource: { name: 'epoch', max: 27 }, method_options: { num_init_random: 2, min_model_points: 5 } };
    const d = parseExperiment(file, options);
    expect(d.methodOptions).toMatchObject({ numInitRandom: 2, minModelPoints: 5 });
    const scheduler = await methodDefinitions.MOBSTER.create({ configSpace: d.configSpace, metric: 'loss', mode: 'min', resourceAttr: 'epoch', maxResource: 27, nWorkers: 1, rng: createRng(1), options: d.methodOptions });
    expect(scheduler.metadata()).toMatchObject({ searcher: 'mobster-gp', numInitRandom: 2, minModelPoints: 5 });
    // left out: Syne Tune's defaults
    const defaults = await methodDefinitions.MOBSTER.create({ configSpace: d.configSpace, metric: 'loss', mode: 'min', resourceAttr: 'epoch', maxResource: 27, nWorkers: 1, rng: createRng(1) });
    expect(defaults.metadata()).toMatchObject({ numInitRandom: 6, minModelPoints: 3 });
    expect(problems({ ...base, method_options: { min_model_points: 2 } })).toMatch(/method_options.min_model_points: applies to MOBSTER, not BO/);
    expect(problems({ ...file, method_options: { min_model_points: 0 } })).toMatch(/method_options.min_model_points/);
  });

  it('loads YAML and JSON files; the command runs in the file folder by default', async () => {
    const dir = tempDir();
    const yml = join(dir, 'experiment.yml');
    writeFileSync(
      yml,
      `name: mlp
parameters:
  - {name: lr, type: double, bounds: {min: 0.001, max: 0.1}, log: true}
metrics:
  - {name: loss, objective: minimize}
command: python3 train.py --data ./data
env: {OMP_NUM_THREADS: 1}
resource: {name: epoch, max: 27}
budget: {max_wallclock_time: 600}
method_options: {grace_period: 3, reduction_factor: 2}
`,
    );
    const d = await loadExperimentFile(yml, options);
    expect(d).toMatchObject({ name: 'mlp', command: 'python3 train.py --data ./data', cwd: dir, env: { OMP_NUM_THREADS: '1' }, resource: { name: 'epoch', max: 27 }, file: yml });
    expect(d.methodOptions).toEqual({ gracePeriod: 3, reductionFactor: 2, brackets: undefined, numInitRandom: undefined });
    const json = join(dir, 'experiment.json');
    writeFileSync(json, JSON.stringify({ ...base, cwd: 'sub' }));
    expect((await loadExperimentFile(json, options)).cwd).toBe(join(dir, 'sub'));
    await expect(loadExperimentFile(join(dir, 'experiment.toml'), options)).rejects.toThrow(/ends in .yml, .yaml or .json, not '.toml'/);
    await expect(loadExperimentFile(join(dir, 'missing.yml'), options)).rejects.toThrow(/cannot read experiment file .*missing.yml: ENOENT/);
  });

  it('tunelab run: a bad file exits 2 naming the problems, without a stack trace, and writes nothing', () => {
    const dir = tempDir();
    const root = join(dir, 'results');
    const file = join(dir, 'bad.yml');
    writeFileSync(file, 'name: x\nparameters: [{name: lr, type: double}]\nmetrics: [{name: loss, objective: minimize}]\ncommand: [python3, t.py]\nbudget: {max_trials: 2}\n');
    const r = spawnSync(process.execPath, [cliPath, 'run', '-f', file, '--results_root', root], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('parameters[0] (lr): bounds: missing; type double needs bounds: {min, max}');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    writeFileSync(file, 'name: x\nparameters: [{name: lr, type: double\n');
    const syntax = spawnSync(process.execPath, [cliPath, 'run', '-f', file, '--results_root', root], { encoding: 'utf8' });
    expect(syntax.status).toBe(2);
    expect(syntax.stderr).toMatch(/bad.yml: not valid YAML/);
    // a billion values in 12 lines (nine levels of nine aliases each): refused at once, not expanded
    const levels = 'abcdefghi'.split('');
    const bomb = levels.map((l, i) => `${l}: &${l} [${Array(9).fill(i === 0 ? '"x"' : `*${levels[i - 1]}`).join(', ')}]`);
    writeFileSync(file, ['name: bomb', ...bomb, 'parameters: *i', 'metrics: [{name: loss}]', 'budget: {max_trials: 1}', ''].join('\n'));
    const aliases = spawnSync(process.execPath, [cliPath, 'run', '-f', file, '--results_root', root], { encoding: 'utf8', timeout: 120_000 });
    expect(aliases.status).toBe(2);
    expect(aliases.stderr).toContain('bad.yml: not valid YAML: its aliases expand it to more than 1,000,000 values');
    expect(spawnSync('ls', [root]).status).not.toBe(0);
  });
});
