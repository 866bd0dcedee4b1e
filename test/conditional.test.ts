import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type Config,
  type ConfigSpace,
  choice,
  configKey,
  configSpaceFromJSON,
  configSpaceToJSON,
  decodeConfig,
  encodeConfig,
  finrange,
  loguniform,
  randint,
  repairConfig,
  sampleConfig,
  spaceSize,
  uniform,
  validateConfig,
  validateConfigSpace,
  when,
} from '../src/config-space/index.js';
import { parseExperiment } from '../src/experiment/load.js';
import { experimentFileOptions, methodDefinitions } from '../src/methods/registry.js';
import { SimulatorBackend } from '../src/backends/simulator.js';
import type { Blackbox } from '../src/blackbox/types.js';
import { GridSearcher } from '../src/schedulers/searchers/grid.js';
import { DEHBSearcher } from '../src/schedulers/searchers/dehb.js';
import { ProductKDE, imputeInactive } from '../src/schedulers/searchers/kde.js';
import { REASearcher } from '../src/schedulers/searchers/rea.js';
import { TPESearcher } from '../src/schedulers/searchers/tpe.js';
import { Tuner } from '../src/tuner/tuner.js';
import { createRng } from '../src/util/rng.js';
import { UserError } from '../src/util/errors.js';
import { cliPath, readRows, tempDir, runFile } from './helpers.js';

/** Optuna's example space: momentum only with sgd, beta only with adam; the second layer's width only with 2+ layers, its dropout only at width 64. */
const space = (): ConfigSpace => ({
  optimizer: choice(['sgd', 'adam']),
  lr: loguniform(1e-4, 1),
  momentum: when({ optimizer: 'sgd' }, uniform(0, 0.99)),
  beta: when({ optimizer: ['adam'] }, finrange(0.8, 0.99, 5)),
  layers: randint(1, 3),
  width2: when({ layers: [2, 3] }, choice([16, 32, 64])),
  dropout2: when({ width2: [64] }, uniform(0, 0.5)),
  seed_offset: 3,
});

/** A finite conditional space for the grid: every valid config listed by hand. */
const finiteSpace = (): ConfigSpace => ({
  optimizer: choice(['sgd', 'adam', 'rmsprop']),
  momentum: when({ optimizer: ['sgd', 'rmsprop'] }, choice([0, 0.9])),
  nesterov: when({ optimizer: 'sgd' }, choice([true, false])),
  layers: randint(1, 2),
  width2: when({ layers: 2 }, choice([16, 64])),
});
const finiteValid = (): Config[] => {
  const out: Config[] = [];
  const opt: Config[] = [{ optimizer: 'adam' }];
  for (const momentum of [0, 0.9]) {
    opt.push({ optimizer: 'rmsprop', momentum });
    for (const nesterov of [true, false]) opt.push({ optimizer: 'sgd', momentum, nesterov });
  }
  for (const o of opt) {
    out.push({ ...o, layers: 1 });
    for (const width2 of [16, 64]) out.push({ ...o, layers: 2, width2 });
  }
  return out;
};
const key = (c: Config) => JSON.stringify(Object.entries(c).sort());

/** Is `c` valid: every active parameter present and in range, every inactive one absent. */
const isValid = (s: ConfigSpace, c: Config) => {
  try {
    validateConfig(s, c);
    return Object.keys(c).every((k) => k in s);
  } catch {
    return false;
  }
};

describe('conditional parameters in the config space', () => {
  it('a random config holds exactly the active parameters (inactive ones absent, not given a dummy value)', () => {
    const s = space();
    const rng = createRng(1);
    const seen = { momentum: 0, beta: 0, width2: 0, dropout2: 0 };
    for (let i = 0; i < 400; i++) {
      const c = sampleConfig(s, rng);
      expect(isValid(s, c)).toBe(true);
      expect('momentum' in c).toBe(c.optimizer === 'sgd');
      expect('beta' in c).toBe(c.optimizer === 'adam');
      expect('width2' in c).toBe(c.layers !== 1);
      expect('dropout2' in c).toBe(c.width2 === 64);
      for (const k of Object.keys(seen) as (keyof typeof seen)[]) if (k in c) seen[k]++;
      // keys in the space's order, whatever order the conditions need
      expect(Object.keys(c)).toEqual(Object.keys(s).filter((k) => k in c));
    }
    // each branch is reached
    for (const n of Object.values(seen)) expect(n).toBeGreaterThan(20);
  });

  it('validateConfig refuses an inactive parameter given and an active one missing, naming it', () => {
    const s = space();
    expect(() => validateConfig(s, { optimizer: 'adam', lr: 0.1, momentum: 0.5, beta: 0.8, layers: 1, seed_offset: 3 })).toThrow(/'momentum', which is inactive unless optimizer is sgd/);
    expect(() => validateConfig(s, { optimizer: 'sgd', lr: 0.1, layers: 1, seed_offset: 3 })).toThrow(/lacks hyperparameter 'momentum'/);
  });

  it('counts the valid configs of a finite space (not the product of the domains)', () => {
    expect(spaceSize(finiteSpace())).toBe(finiteValid().length);
    expect(finiteValid()).toHaveLength(21);
    expect(spaceSize(space())).toBe(Infinity);
  });

  it('encodes an inactive parameter as zeros and decodes back to the active parameters only', () => {
    const s = space();
    const c: Config = { optimizer: 'adam', lr: 0.01, beta: 0.8475, layers: 1, seed_offset: 3 };
    const x = encodeConfig(s, c);
    // optimizer one-hot (2), lr, momentum, beta, layers, width2 one-hot (3), dropout2
    expect(x).toHaveLength(10);
    expect([...x.slice(0, 2)]).toEqual([0, 1]);
    expect(x[3]).toBe(0);
    expect([...x.slice(6, 10)]).toEqual([0, 0, 0, 0]);
    const back = decodeConfig(s, x);
    expect(Object.keys(back)).toEqual(['optimizer', 'lr', 'beta', 'layers', 'seed_offset']);
    expect(back.lr).toBeCloseTo(0.01, 10);
  });

  it('repairConfig drops what a changed parent turns off and draws what it turns on', () => {
    const s = space();
    const rng = createRng(2);
    const c = repairConfig(s, { optimizer: 'adam', lr: 0.01, momentum: 0.5, layers: 3, width2: 64, seed_offset: 3 }, (_, d) => d.sample(rng));
    expect(c).not.toHaveProperty('momentum');
    expect(c.beta).toBeTypeOf('number');
    expect(c.dropout2).toBeTypeOf('number');
    expect(isValid(s, c)).toBe(true);
  });

  it('round-trips through JSON, conditions included', () => {
    const s = space();
    const json = configSpaceToJSON(s);
    expect(json.momentum).toEqual({ type: 'uniform', lower: 0, upper: 0.99, when: { optimizer: ['sgd'] } });
    const back = configSpaceFromJSON(JSON.parse(JSON.stringify(json)));
    expect(configSpaceToJSON(back)).toEqual(json);
    const rng1 = createRng(5);
    const rng2 = createRng(5);
    for (let i = 0; i < 20; i++) expect(sampleConfig(back, rng1)).toEqual(sampleConfig(s, rng2));
  });

  it('refuses bad conditions: an unknown parameter, a value outside its domain, a continuous parent, a cycle', () => {
    expect(() => validateConfigSpace({ a: choice(['x', 'y']), b: when({ aa: 'x' }, uniform(0, 1)) })).toThrow(/'aa', which is not a parameter \(did you mean 'a'\?\); parameters: a/);
    expect(() => validateConfigSpace({ a: choice(['x', 'y']), b: when({ a: 'z' }, uniform(0, 1)) })).toThrow(/value "z" is not in 'a'; accepted: "x", "y"/);
    expect(() => validateConfigSpace({ a: uniform(0, 1), b: when({ a: 0.5 }, uniform(0, 1)) })).toThrow(/'a', a continuous parameter \(uniform\)/);
    expect(() => validateConfigSpace({ a: when({ b: 1 }, choice([1, 2])), b: when({ a: 1 }, choice([1, 2])) })).toThrow(/cycle: a → b → a/);
  });
});

describe('GRID on a conditional space', () => {
  it('enumerates exactly the valid combinations, each once (no duplicates for inactive parameters)', () => {
    const g = new GridSearcher({ configSpace: finiteSpace(), metric: 'loss', mode: 'min', rng: createRng(3) });
    const got: Config[] = [];
    for (let c = g.suggest(); c; c = g.suggest()) got.push(c);
    expect(got).toHaveLength(21);
    expect(new Set(got.map(key))).toEqual(new Set(finiteValid().map(key)));
    // seeded order: another seed, another order, same set
    const h = new GridSearcher({ configSpace: finiteSpace(), metric: 'loss', mode: 'min', rng: createRng(4) });
    const other: Config[] = [];
    for (let c = h.suggest(); c; c = h.suggest()) other.push(c);
    expect(other.map(key)).not.toEqual(got.map(key));
    expect(new Set(other.map(key))).toEqual(new Set(got.map(key)));
  });

  it('puts grid points on the continuous parameters only where they are active', () => {
    const g = new GridSearcher({ configSpace: { optimizer: choice(['sgd', 'adam']), momentum: when({ optimizer: 'sgd' }, uniform(0, 0.9)) }, metric: 'loss', mode: 'min', rng: createRng(3) }, { numPoints: 4 });
    const got: Config[] = [];
    for (let c = g.suggest(); c; c = g.suggest()) got.push(c);
    expect(got).toHaveLength(5);
    expect(got.filter((c) => c.optimizer === 'adam')).toEqual([{ optimizer: 'adam' }]);
  });
});

describe('searchers keep configs valid on a conditional space', () => {
  const problem = (seed: number) => ({ configSpace: space(), metric: 'loss', mode: 'min' as const, rng: createRng(seed) });

  it('REA: a mutation of the optimizer swaps momentum for beta (drawn), and every child is valid', () => {
    const rea = new REASearcher(problem(5));
    const parent: Config = { optimizer: 'sgd', lr: 0.01, momentum: 0.5, layers: 1, seed_offset: 3 };
    let swapped = 0;
    for (let i = 0; i < 300; i++) {
      const child = rea.mutate(parent);
      expect(isValid(space(), child)).toBe(true);
      // one hyperparameter changed among the parent's own (plus what that turned on or off)
      const changed = ['optimizer', 'lr', 'momentum', 'layers'].filter((k) => child[k] !== parent[k]);
      expect(changed).toEqual(child.optimizer === 'adam' ? ['optimizer', 'momentum'] : [expect.any(String)]);
      if (child.optimizer === 'adam') {
        swapped++;
        expect(child).not.toHaveProperty('momentum');
        expect(child.beta).toBeTypeOf('number');
      }
    }
    expect(swapped).toBeGreaterThan(30);
  });

  it('TPE: an inactive parameter is modelled only from the trials where it was active (univariate and multivariate)', () => {
    for (const multivariate of [false, true]) {
      const tpe = new TPESearcher(problem(6), { multivariate, numStartupTrials: 5 });
      // the good trials are sgd with momentum near 0.9; adam trials are bad
      for (let id = 0; id < 60; id++) {
        const c = tpe.suggest(id)!;
        expect(isValid(space(), c)).toBe(true);
        const loss = c.optimizer === 'sgd' ? Math.abs((c.momentum as number) - 0.9) : 2;
        tpe.onTrialResult(id, 1, loss);
        tpe.onTrialIdle(id, 'completed');
      }
      // the model's suggestions favour sgd with momentum near 0.9
      const later: Config[] = [];
      for (let id = 60; id < 90; id++) {
        const c = tpe.suggest(id)!;
        later.push(c);
        tpe.onTrialResult(id, 1, c.optimizer === 'sgd' ? Math.abs((c.momentum as number) - 0.9) : 2);
        tpe.onTrialIdle(id, 'completed');
      }
      const sgd = later.filter((c) => c.optimizer === 'sgd');
      expect(sgd.length).toBeGreaterThan(20);
      const near = sgd.filter((c) => Math.abs((c.momentum as number) - 0.9) < 0.15).length;
      expect(near / sgd.length).toBeGreaterThan(0.6);
    }
  });

  it("BOHB's KDE: an inactive coordinate is imputed from another point of the set where it is active (else drawn), and left out of a candidate's density", () => {
    const params = [
      { name: 'a', domain: choice(['x', 'y']), categories: 2 },
      { name: 'b', domain: uniform(0, 1), categories: 0 },
    ];
    const points = [Float64Array.of(0, 0.2), Float64Array.of(1, NaN), Float64Array.of(0, 0.6), Float64Array.of(1, NaN)];
    const out = imputeInactive(points, params, createRng(1));
    // points without NaN are the same objects; the others take a donor's value (0.2 or 0.6)
    expect(out[0]).toBe(points[0]);
    expect(Number.isNaN(points[1][1])).toBe(true);
    for (const r of [1, 3]) expect([0.2, 0.6]).toContain(out[r][1]);
    // no donor at all: a random value in [0, 1]
    const lone = imputeInactive([Float64Array.of(1, NaN)], params, createRng(2));
    expect(lone[0][1]).toBeGreaterThanOrEqual(0);
    expect(lone[0][1]).toBeLessThanOrEqual(1);
    // the density of a point inactive in b is the marginal over a: b's kernels are left out
    const kde = new ProductKDE(params, out, 1e-3);
    const bw = kde.bandwidths[0];
    expect(kde.pdf(Float64Array.of(0, NaN))).toBeCloseTo((2 * (1 - bw) + 2 * bw) / 4, 12);
  });

  it('DEHB: decoded mutants drop what their vector turns off, and the vectors stay whole', () => {
    const dehb = new DEHBSearcher(problem(7), [1, 3, 9], 3);
    for (let id = 0; id < 80; id++) {
      const c = dehb.suggest(id, { level: 1 })!;
      expect(isValid(space(), c)).toBe(true);
      dehb.onTrialResult(id, 1, (c.lr as number) + (c.optimizer === 'adam' ? 0 : 1));
      dehb.onTrialIdle(id, 'stopped');
    }
    for (const m of dehb.populations[0]) expect(m.x.every((v) => v >= 0 && v <= 1)).toBe(true);
  });
});

/** A closed-form benchmark on the conditional space: it fails a trial whose config is not valid (so a method that proposes one fails the test). */
function conditionalBlackbox(): Blackbox & { configs: Config[] } {
  const s = space();
  const configs: Config[] = [];
  return {
    configSpace: s,
    fidelityName: 'epoch',
    fidelityValues: Array.from({ length: 9 }, (_, i) => i + 1),
    objectiveNames: ['loss', 'time'],
    elapsedTimeAttr: 'time',
    numSeeds: 1,
    configs,
    curve(config) {
      validateConfig(s, config);
      configs.push(config);
      const base = Math.abs(Math.log10(config.lr as number) + 2) + (config.optimizer === 'sgd' ? 1 - (config.momentum as number) : (config.beta as number) - 0.8) + ('width2' in config ? 0 : 0.3) - ((config.dropout2 as number | undefined) ?? 0);
      const out = new Float64Array(18);
      for (let f = 0; f < 9; f++) {
        out[2 * f] = base + 1 / (f + 1);
        out[2 * f + 1] = f + 1;
      }
      return out;
    },
  };
}

describe('every method on a conditional space', () => {
  const methods = Object.values(methodDefinitions).filter((m) => !m.fixed);

  it.each(methods.map((m) => m.name))('%s proposes only valid configs; the results rows leave inactive parameters empty', async (name) => {
    const blackbox = conditionalBlackbox();
    const folder = tempDir();
    const scheduler = await methodDefinitions[name].create({ configSpace: blackbox.configSpace, metric: 'loss', mode: 'min', resourceAttr: 'epoch', maxResource: 9, nWorkers: 3, rng: createRng(11) });
    const tuner = new Tuner({ scheduler, backend: new SimulatorBackend(blackbox, { seed: 0 }), nWorkers: 3, stopping: { maxNumTrialsStarted: 40 }, configNames: Object.keys(blackbox.configSpace).filter((k) => k !== 'seed_offset'), folder, checkpoint: false });
    await tuner.run();
    expect(blackbox.configs.length).toBeGreaterThanOrEqual(name === 'SYNC-HYPERBAND' ? 9 : 25);
    for (const c of blackbox.configs) expect(isValid(blackbox.configSpace, c)).toBe(true);
    const rows = readRows(join(folder, 'results.csv.gz'));
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.config_momentum === null).toBe(row.config_optimizer !== 'sgd');
      expect(row.config_beta === null).toBe(row.config_optimizer !== 'adam');
      expect(row.config_width2 === null).toBe(row.config_layers === 1);
      expect(row.config_dropout2 === null).toBe(row.config_width2 !== 64);
    }
    // model-based methods explore both branches
    expect(new Set(blackbox.configs.map((c) => c.optimizer)).size).toBe(2);
    expect(new Set(blackbox.configs.map((c) => configKey(blackbox.configSpace, c))).size).toBe(new Set(blackbox.configs.map((c) => JSON.stringify(c))).size);
  });
});

describe('conditional parameters in the experiment file', () => {
  const base = (parameters: unknown[], extra: Record<string, unknown> = {}) => ({ name: 'cond', parameters, metrics: [{ name: 'loss', objective: 'minimize' }], budget: { max_trials: 5 }, ...extra });
  const parse = (data: unknown) => parseExperiment(data, experimentFileOptions());
  const optuna = [
    { name: 'optimizer', type: 'categorical', categorical_values: ['sgd', 'adam'] },
    { name: 'momentum', type: 'double', bounds: { min: 0, max: 0.99 }, when: { optimizer: 'sgd' } },
  ];

  it("writes an Optuna user's `momentum only if sgd` with when:", () => {
    const d = parse(base(optuna));
    const rng = createRng(1);
    for (let i = 0; i < 50; i++) {
      const c = sampleConfig(d.configSpace, rng);
      expect('momentum' in c).toBe(c.optimizer === 'sgd');
    }
  });

  it("accepts SigOpt's conditionals and parameters' conditions with their meaning (the conditional is suggested like a categorical)", () => {
    const d = parse(
      base(
        [
          { name: 'lr', type: 'double', bounds: { min: 0.001, max: 0.1 }, log: true },
          { name: 'filters_2', type: 'int', bounds: { min: 8, max: 64 }, conditions: { num_conv_layers: ['2', '3'] } },
          { name: 'filters_3', type: 'int', bounds: { min: 8, max: 64 }, conditions: { num_conv_layers: '3' } },
        ],
        { conditionals: [{ name: 'num_conv_layers', values: ['1', '2', '3'] }] },
      ),
    );
    expect(Object.keys(d.configSpace)).toEqual(['num_conv_layers', 'lr', 'filters_2', 'filters_3']);
    const rng = createRng(2);
    for (let i = 0; i < 60; i++) {
      const c = sampleConfig(d.configSpace, rng);
      expect(['1', '2', '3']).toContain(c.num_conv_layers);
      expect('filters_2' in c).toBe(c.num_conv_layers !== '1');
      expect('filters_3' in c).toBe(c.num_conv_layers === '3');
    }
  });

  it('refuses bad conditions with one message per problem naming the value and the accepted ones', () => {
    const problems = (data: unknown) => {
      try {
        parse(data);
      } catch (e) {
        expect(e).toBeInstanceOf(UserError);
        expect((e as UserError).exitCode).toBe(2);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(problems(base([optuna[0], { ...optuna[1], when: { optimiser: 'sgd' } }]))).toMatch(/parameters\[1\] \(momentum\)\.when: the condition names 'optimiser', which is not a parameter \(did you mean 'optimizer'\?\); parameters: optimizer/);
    expect(problems(base([optuna[0], { ...optuna[1], when: { optimizer: ['sgd', 'adagrad'] } }]))).toMatch(/parameters\[1\] \(momentum\)\.when: the condition's value "adagrad" is not in 'optimizer'; accepted: "sgd", "adam"/);
    expect(
      problems(
        base([
          { name: 'a', type: 'categorical', categorical_values: ['x', 'y'], when: { b: 'x' } },
          { name: 'b', type: 'categorical', categorical_values: ['x', 'y'], when: { a: 'x' } },
        ]),
      ),
    ).toMatch(/the conditions form a cycle: a → b → a/);
    expect(problems(base([optuna[0], { ...optuna[1], conditions: { optimizer: 'sgd' } }]))).toMatch(/give 'when' or SigOpt's 'conditions', not both/);
    expect(problems(base([optuna[0], { name: 'momentum', type: 'double', value: 0.9, when: { optimizer: 'sgd' } }]))).toMatch(/a fixed value \(value: 0.9\) is always passed/);
    expect(problems(base([optuna[0]], { conditionals: [{ name: 'optimizer', values: ['a'] }] }))).toMatch(/conditionals\[0\] \(optimizer\): the name 'optimizer' is taken by a parameter/);
    // points_to_evaluate: an inactive parameter given is refused
    expect(problems(base(optuna, { points_to_evaluate: [{ optimizer: 'adam', momentum: 0.5 }] }))).toMatch(/points_to_evaluate\[0\]: config gives 'momentum', which is inactive unless optimizer is sgd/);
  });

  it('tunelab run -f: the trial receives only the active parameters; bad conditions exit 2 without a stack trace', () => {
    const dir = tempDir();
    const script = "const c = JSON.parse(process.env.TUNELAB_CONFIG); const a = process.argv.slice(1).join(' '); if (('momentum' in c) !== (c.optimizer === 'sgd') || a.includes('momentum') !== ('momentum' in c)) process.exit(3); console.log('[tunelab] ' + JSON.stringify({ loss: c.optimizer === 'sgd' ? 1 - c.momentum : 0.5 }));";
    const file = join(dir, 'experiment.json');
    writeFileSync(file, JSON.stringify(base(optuna, { command: [process.execPath, '-e', script, '--'], method: 'TPE', budget: { max_trials: 16 }, random_seed: 4 })));
    const { rows } = runFile(file, dir);
    expect(new Set(rows.map((row) => row.trial_id)).size).toBe(16);
    for (const row of rows) {
      expect(row.st_status).not.toBe('failed');
      expect(row.config_momentum === null).toBe(row.config_optimizer === 'adam');
    }
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify(base([optuna[0], { ...optuna[1], when: { optimizer: 'nadam' } }], { command: ['true'] })));
    const b = spawnSync(process.execPath, [cliPath, 'run', '-f', bad, '--results_root', dir], { encoding: 'utf8' });
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/"nadam" is not in 'optimizer'; accepted: "sgd", "adam"/);
    expect(b.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("the study store and the server's SigOpt conditionals", () => {
  it('an experiment with conditionals round-trips through POST /v1/experiments, the store and another server; suggestions carry only active parameters', async () => {
    const { buildApp } = await import('../src/server/app.js');
    const { openStore } = await import('../src/study/storage/open.js');
    const { call } = await import('./server-helpers.js');
    const root = tempDir('tunelab-cond-server-');
    const store = await openStore(join(root, 'studies.db'));
    const serve = async () => {
      const { app } = await buildApp({ store });
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      return { app, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
    };
    let { app, url } = await serve();
    try {
      const body = {
        name: 'Conv Net',
        conditionals: [{ name: 'num_conv_layers', values: ['1', '2', '3'] }],
        parameters: [
          { name: 'lr', type: 'double', bounds: { min: 0.001, max: 0.1 }, transformation: 'log' },
          { name: 'filters_2', type: 'int', bounds: { min: 8, max: 64 }, conditions: { num_conv_layers: ['2', '3'] } },
          { name: 'filters_3', type: 'int', bounds: { min: 8, max: 64 }, conditions: { num_conv_layers: ['3'] } },
        ],
        metrics: [{ name: 'loss', objective: 'minimize' }],
        observation_budget: 30,
        parallel_bandwidth: 1,
        method: 'TPE',
      };
      const e = await call(url, 'POST', '/v1/experiments', body);
      expect(e.status).toBe(200);
      const shown = { conditionals: [{ object: 'conditional', name: 'num_conv_layers', values: ['1', '2', '3'].map((name, i) => ({ object: 'conditional_value', name, enum_index: i + 1 })) }] };
      expect(e.body).toMatchObject(shown);
      expect(e.body.parameters.map((p: { conditions: unknown }) => p.conditions)).toEqual([{}, { num_conv_layers: ['2', '3'] }, { num_conv_layers: ['3'] }]);
      const path = `/v1/experiments/${e.body.id}`;
      const layers = new Set<string>();
      for (let i = 0; i < 14; i++) {
        const s = await call(url, 'POST', `${path}/suggestions`, {});
        expect(s.status).toBe(200);
        const a = s.body.assignments;
        layers.add(a.num_conv_layers);
        expect(Object.keys(a).sort()).toEqual(['lr', 'num_conv_layers', ...(a.num_conv_layers !== '1' ? ['filters_2'] : []), ...(a.num_conv_layers === '3' ? ['filters_3'] : [])].sort());
        const loss = (a.filters_3 ?? 100) / 100 + a.lr;
        expect((await call(url, 'POST', `${path}/observations`, { suggestion: s.body.id, value: loss })).status).toBe(200);
      }
      expect(layers.size).toBe(3);
      // the store is the system of record: another server reads the experiment back as it was given
      await app.close();
      ({ app, url } = await serve());
      const again = await call(url, 'GET', path);
      expect(again.body).toMatchObject(shown);
      expect(again.body.parameters).toEqual(e.body.parameters);
      expect(again.body.tunelab.definition.source.conditionals).toEqual([{ name: 'num_conv_layers', values: ['1', '2', '3'] }]);
      // bad conditions are a 400 naming the value and the accepted ones
      const bad = await call(url, 'POST', '/v1/experiments', { ...body, name: 'bad', parameters: [{ ...body.parameters[1], conditions: { num_conv_layers: ['4'] } }] });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toMatch(/"4" is not in 'num_conv_layers'; accepted: "1", "2", "3"/);
    } finally {
      await app.close();
      await store.close();
    }
  });
});
