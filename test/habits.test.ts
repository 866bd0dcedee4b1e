import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { load as parseYaml } from 'js-yaml';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSpaceToJSON } from '../src/config-space/index.js';
import { parseExperiment } from '../src/experiment/load.js';
import { experimentFileOptions, getMethod } from '../src/methods/registry.js';
import { readMetadata } from '../src/results/metadata.js';
import { cliPath, readRows, tempDir } from './helpers.js';

const fixtures = join(import.meta.dirname, 'fixtures', 'sigopt');
const options = experimentFileOptions();
const base = {
  name: 'mlp',
  parameters: [{ name: 'lr', type: 'double', bounds: { min: 0.001, max: 0.1 } }],
  metrics: [{ name: 'loss', objective: 'minimize' }],
  command: ['python3', 'train.py'],
  budget: { max_trials: 10 },
};
const problems = (data: Record<string, unknown>) => {
  try {
    parseExperiment({ ...base, ...data }, options);
    return '';
  } catch (e) {
    return (e as Error).message;
  }
};

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return r;
}

describe("SigOpt's and Optuna's habits in the experiment file", () => {
  it("a verbatim SigOpt experiment file (with a command) runs: its name, type: offline, budget: 30 and transformation: log taken with their meaning", () => {
    const root = tempDir();
    // budget: 30 is 30 trials; six show it runs
    expect(parseExperiment(parseYaml(readFileSync(join(fixtures, 'experiment.yml'), 'utf8')), options).budget.maxTrials).toBe(30);
    const r = cli(['run', '-f', join(fixtures, 'experiment.yml'), '--results_root', root, '--max_trials', '6', '--random_seed', '1']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("type: offline is SigOpt's experiment type, the one tunelab runs: ignored");
    expect(r.stdout).toContain('name "Keras Model Optimization (Python)" names its folders as Keras-Model-Optimization-Python');
    const [name] = readdirSync(join(root, 'Keras-Model-Optimization-Python'));
    const folder = join(root, 'Keras-Model-Optimization-Python', name);
    const meta = readMetadata(folder);
    expect(meta).toMatchObject({ status: 'completed', method: 'BO', benchmark: 'Keras-Model-Optimization-Python', metric: 'holdout_accuracy', mode: 'max', budget: { max_trials: 6 } });
    const rows = readRows(join(folder, 'results.csv.gz'));
    expect(new Set(rows.map((x) => x.trial_id)).size).toBe(6);
    // learning_rate searched on a log scale: its values spread over decades
    const lrs = rows.map((x) => x.config_learning_rate as number);
    expect(lrs.every((v) => v >= 0.0001 && v <= 1)).toBe(true);
    expect(lrs.filter((v) => v < 0.01).length).toBeGreaterThan(1);
  });

  it('float is double, types and method names in any case, observation_budget is max_trials, transformation: log is log', () => {
    const d = parseExperiment(
      { ...base, parameters: [{ name: 'lr', type: 'float', bounds: { min: 0.001, max: 0.1 }, transformation: 'log' }, { name: 'n', type: 'Int', bounds: { min: 1, max: 4 } }], method: 'asha', resource: { name: 'epoch', max: 9 }, budget: undefined, observation_budget: 7 },
      options,
    );
    expect(configSpaceToJSON(d.configSpace)).toEqual({ lr: { type: 'loguniform', lower: 0.001, upper: 0.1 }, n: { type: 'randint', lower: 1, upper: 4 } });
    expect([d.method, d.budget.maxTrials, d.notes]).toEqual(['ASHA', 7, []]);
    expect(getMethod('mobster-promotion').name).toBe('MOBSTER-PROMOTION');
  });

  it('what is not accepted says what was likely meant, and the methods that fit the file', () => {
    expect(problems({ parameters: [{ name: 'lr', type: 'doubel', bounds: { min: 0, max: 1 } }] })).toContain('parameters[0].type: "doubel" is not accepted; expected one of int, double, categorical, ordinal (did you mean double?)');
    expect(problems({ method: 'ASAH' })).toContain("method: unknown method 'ASAH'; methods that fit this file: RS, GRID, TPE, REA, BO, MO-RS, NSGA2, MO-BO, EHVI (did you mean 'ASHA'?)");
    expect(problems({ method: 'ASHA-TANH', resource: { name: 'epoch', max: 9 } })).toContain(
      'method: ASHA-TANH fixes hp_activation_fn_1, hp_activation_fn_2, which this file\'s parameters do not have; methods that fit this file: RS, GRID, ASHA, ASHA-PROMOTION, HYPERBAND, SYNC-HYPERBAND, BOHB, DEHB, TPE, ASHA-TPE, REA, BO, MOBSTER, MOBSTER-PROMOTION',
    );
    expect(problems({ type: 'grid' })).toContain(`type: "grid" is not accepted; tunelab runs SigOpt's 'offline' experiments`);
    expect(problems({ budget: { max_trials: 5 }, observation_budget: 6 })).toContain('observation_budget: 6 disagrees with budget.max_trials 5');
    expect(problems({ parameters: [{ name: 'lr', type: 'double', bounds: { min: 0.1, max: 1 }, transformation: 'sqrt' }] })).toContain('parameters[0].transformation: "sqrt" is not accepted; expected one of log, none');
    expect(problems({ paralel_bandwidth: 2 })).toContain("unknown key 'paralel_bandwidth' (did you mean 'parallel_bandwidth'?)");
  });

  it('tunelab methods -f lists the methods that fit the file and says why the others do not', () => {
    const dir = tempDir();
    const file = join(dir, 'experiment.json');
    writeFileSync(file, JSON.stringify(base));
    const r = cli(['methods', '-f', file]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n').slice(2).map((l) => l.split(/\s+/)[0])).toEqual(['RS', 'GRID', 'TPE', 'REA', 'BO', 'MO-RS', 'NSGA2', 'MO-BO', 'EHVI']);
    expect(r.stderr).toContain('ASHA-TANH (fixes hp_activation_fn_1, hp_activation_fn_2, which the space does not have)');
    expect(r.stderr).toContain('ASHA (needs a resource (multi-fidelity))');
  });

  it('an unknown flag names the flag it was likely meant to be', () => {
    const r = cli(['run', '-f', join(fixtures, 'experiment.yml'), '--n_worker', '2', '--result-root', 'x']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('tunelab: unknown flags --n_worker (did you mean --n_workers?), --result-root (did you mean --results_root?)');
    expect(cli(['hpo-main', '--experiment_tag', 't', '--method', 'ASAH']).stderr).toMatch(/unknown method 'ASAH'; valid methods: .* \(did you mean 'ASHA'\?\)/);
  });
});
