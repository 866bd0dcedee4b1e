import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readTable } from '../src/blackbox/format.js';
import { FCNET_OBJECTIVES } from '../src/blackbox/importers/fcnet.js';
import { importBlackbox } from '../src/blackbox/importers/index.js';
import { scanNestedJson } from '../src/blackbox/importers/lcbench.js';
import { NB201_OBJECTIVES, parseArchString } from '../src/blackbox/importers/nasbench201.js';
import { loadBlackbox } from '../src/blackbox/repository.js';
import { configKey } from '../src/config-space/index.js';
import { benchmarkDefinitions } from '../src/launchers/benchmarks/index.js';
import { runExperiment } from '../src/launchers/experiment.js';
import { methodDefinitions } from '../src/methods/registry.js';
import { readRows, tempDir } from './helpers.js';

const quiet = () => {};

/** The value a fixture file holds at (config i, seed s, epoch e, series k): distinct everywhere. */
const fcnetValue = (i: number, s: number, e: number, k: number) => Math.fround(1 / (1 + i + 0.1 * s + 0.01 * e) + k);

const FCNET_CONFIGS = [
  { activation_fn_1: 'relu', activation_fn_2: 'tanh', batch_size: 8, dropout_1: 0.0, dropout_2: 0.3, init_lr: 0.0005, lr_schedule: 'cosine', n_units_1: 16, n_units_2: 512 },
  { activation_fn_1: 'tanh', activation_fn_2: 'tanh', batch_size: 64, dropout_1: 0.6, dropout_2: 0.0, init_lr: 0.1, lr_schedule: 'const', n_units_1: 512, n_units_2: 32 },
  { activation_fn_1: 'relu', activation_fn_2: 'relu', batch_size: 16, dropout_1: 0.3, dropout_2: 0.6, init_lr: 0.01, lr_schedule: 'cosine', n_units_1: 64, n_units_2: 128 },
];
const S = 4;
const F = 100;

/** An fcnet HDF5 file as the public fcnet_tabular_benchmarks has them: a group per config named by its JSON. */
async function writeFcnetFixture(path: string, configs: Record<string, unknown>[], python = false): Promise<void> {
  const h5wasm = await import('h5wasm/node');
  await h5wasm.ready;
  const f = new h5wasm.File(path, 'w');
  configs.forEach((c, i) => {
    // the public files name groups with json.dumps(config, sort_keys=True)
    const sorted = Object.fromEntries(Object.entries(c).sort(([a], [b]) => (a < b ? -1 : 1)));
    let name = JSON.stringify(sorted).replace(/,"/g, ', "').replace(/":/g, '": ');
    if (python) name = name.replace(/"/g, "'");
    f.create_group(name);
    const g = f.get(name) as unknown as { create_dataset(o: { name: string; data: number[]; shape: number[]; dtype: string }): void };
    const curve = (k: number) => Array.from({ length: S * F }, (_, j) => fcnetValue(i, Math.floor(j / F), j % F, k));
    g.create_dataset({ name: 'valid_loss', data: curve(0), shape: [S, F], dtype: '<f' });
    g.create_dataset({ name: 'train_loss', data: curve(1), shape: [S, F], dtype: '<f' });
    g.create_dataset({ name: 'valid_mse', data: curve(0), shape: [S, F], dtype: '<f' });
    g.create_dataset({ name: 'train_mse', data: curve(1), shape: [S, F], dtype: '<f' });
    g.create_dataset({ name: 'final_test_error', data: Array.from({ length: S }, (_, s) => 0.01 * (i + s)), shape: [S], dtype: '<d' });
    g.create_dataset({ name: 'n_params', data: Array.from({ length: S }, () => 1000 * (i + 1)), shape: [S], dtype: '<d' });
    g.create_dataset({ name: 'runtime', data: Array.from({ length: S }, (_, s) => 100 + 10 * i + s), shape: [S], dtype: '<d' });
  });
  f.close();
}

// first: the blackbox loader caches per process, and the import test below loads fcnet/protein_structure
describe('missing imported data', () => {
  it('fcnet-protein without its data fails with the import command to run', async () => {
    const prev = process.env.TUNELAB_DATA;
    process.env.TUNELAB_DATA = tempDir();
    try {
      const b = benchmarkDefinitions['fcnet-protein'];
      await expect(runExperiment({ tag: 'x', method: methodDefinitions.RS, benchmark: b, seed: 0, masterSeed: 1, resultsRoot: tempDir() })).rejects.toThrow(
        /no data for blackbox 'fcnet\/protein_structure'.*tunelab blackbox import fcnet <folder or fcnet_protein_structure_data\.hdf5>/,
      );
      for (const name of ['fcnet-naval', 'fcnet-parkinsons', 'fcnet-slice']) expect(benchmarkDefinitions[name]).toMatchObject({ blackbox: 'fcnet', metric: 'metric_valid_loss' });
    } finally {
      if (prev === undefined) delete process.env.TUNELAB_DATA;
      else process.env.TUNELAB_DATA = prev;
    }
  });
});

describe('tunelab blackbox import fcnet', () => {
  const dataRoot = tempDir();
  const src = tempDir();

  beforeAll(async () => {
    await writeFcnetFixture(join(src, 'fcnet_protein_structure_data.hdf5'), FCNET_CONFIGS);
    await writeFcnetFixture(join(src, 'fcnet_naval_propulsion_data.hdf5'), FCNET_CONFIGS.slice(0, 2), true);
  });

  it('maps every group and dataset of the HDF5 file to the table, field by field', async () => {
    const dirs = await importBlackbox('fcnet', src, dataRoot, quiet);
    expect(dirs).toEqual([join(dataRoot, 'fcnet', 'naval_propulsion'), join(dataRoot, 'fcnet', 'protein_structure')]);
    const t = readTable(join(dataRoot, 'fcnet', 'protein_structure'));
    expect(t.objectiveNames).toEqual(FCNET_OBJECTIVES);
    expect(t.fidelityValues).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(t.numSeeds).toBe(4);
    expect(t.elapsedTimeAttr).toBe('metric_elapsed_time');
    const keys = t.configurations.map((c) => configKey(t.configSpace, c));
    const M = FCNET_OBJECTIVES.length;
    FCNET_CONFIGS.forEach((c, i) => {
      const config = Object.fromEntries(Object.entries(c).map(([k, v]) => [`hp_${k}`, v]));
      const row = keys.indexOf(configKey(t.configSpace, config));
      expect(row).toBeGreaterThanOrEqual(0);
      for (const s of [0, 3]) {
        for (const e of [0, 41, 99]) {
          const o = ((row * S + s) * F + e) * M;
          expect(t.objectives[o]).toBe(fcnetValue(i, s, e, 0)); // valid_loss
          expect(t.objectives[o + 1]).toBe(fcnetValue(i, s, e, 1)); // train_loss
          expect(t.objectives[o + 2]).toBe(Math.fround(0.01 * (i + s))); // final_test_error
          expect(t.objectives[o + 3]).toBe(1000 * (i + 1)); // n_params
          expect(t.objectives[o + 4]).toBe(Math.fround(((100 + 10 * i + s) * (e + 1)) / 100)); // runtime × epoch / 100
        }
      }
    });
    // group names written as Python dict literals (single quotes) read the same
    expect(readTable(join(dataRoot, 'fcnet', 'naval_propulsion')).configurations).toHaveLength(2);
  });

  it('the fcnet-protein benchmark runs on the imported table', async () => {
    const prev = process.env.TUNELAB_DATA;
    process.env.TUNELAB_DATA = dataRoot;
    try {
      const b = benchmarkDefinitions['fcnet-protein'];
      expect(b).toMatchObject({ blackbox: 'fcnet', dataset: 'protein_structure', metric: 'metric_valid_loss', mode: 'min', nWorkers: 4, maxWallclockTime: 3600, maxResourceAttr: 'epochs' });
      const bb = await loadBlackbox({ blackbox: 'fcnet', dataset: 'protein_structure', surrogate: b.surrogate });
      expect(bb.fidelityName).toBe('epochs');
      const out = await runExperiment({ tag: 'imp', method: methodDefinitions.ASHA, benchmark: b, seed: 0, masterSeed: 1, resultsRoot: tempDir(), saveTuner: false, maxWallclockTime: 2000 });
      expect(out.metadata.status).toBe('completed');
    } finally {
      if (prev === undefined) delete process.env.TUNELAB_DATA;
      else process.env.TUNELAB_DATA = prev;
    }
  });

  it('rejects a file with a config outside the fcnet space, naming it', async () => {
    const bad = tempDir();
    await writeFcnetFixture(join(bad, 'fcnet_slice_localization_data.hdf5'), [{ ...FCNET_CONFIGS[0], batch_size: 12 }]);
    await expect(importBlackbox('fcnet', bad, tempDir(), quiet)).rejects.toThrow(/hp_batch_size=12 is outside/);
    await expect(importBlackbox('fcnet', join(bad, 'nope.hdf5'), tempDir(), quiet)).rejects.toThrow(/does not exist/);
    await expect(importBlackbox('hpobench', bad, tempDir(), quiet)).rejects.toThrow(/unknown import format 'hpobench'; valid import formats: fcnet, lcbench, nasbench201/);
  });
});

describe('tunelab blackbox import lcbench', () => {
  const tags = ['Train/val_accuracy', 'time', 'Train/val_balanced_accuracy', 'Train/val_cross_entropy', 'Train/test_result', 'Train/test_balanced_accuracy', 'Train/test_cross_entropy', 'Train/loss'];
  const E = 52;
  const value = (task: number, id: number, tag: number, e: number) => Math.fround(tag === 1 ? 3 * (e + 1) + id : 50 + id + task + 0.1 * tag + 0.01 * e);
  const config = (id: number) => ({
    batch_size: 16 + id,
    imputation_strategy: 'mean',
    learning_rate_scheduler: 'cosine_annealing',
    loss: 'CrossEntropyLoss',
    network: 'shapedmlpnet',
    max_dropout: 0.1 * id,
    normalization_strategy: 'standardize',
    optimizer: 'sgd',
    cosine_annealing_T_max: 50,
    cosine_annealing_eta_min: 1e-8,
    activation: 'relu',
    max_units: 64 + 100 * id,
    mlp_shape: 'funnel',
    num_layers: 1 + id,
    learning_rate: 0.001 * (id + 1),
    momentum: 0.5,
    weight_decay: 0.01,
  });
  const run = (task: number, id: number) => ({
    config: config(id),
    log: { ...Object.fromEntries(tags.map((t, k) => [t, Array.from({ length: E }, (_, e) => value(task, id, k, e))])), epoch: Array.from({ length: E }, (_, e) => e + 1) },
    results: { final_val_accuracy: 1, final_test_accuracy: 1 },
  });

  it('streams the JSON and maps config, log tags and epochs field by field', async () => {
    const dir = tempDir();
    const file = join(dir, 'data_2k_lw.json');
    // ids out of order and a multi-line layout, as json.dump(indent=...) writes
    // (written by hand: JavaScript would put integer-like keys in order)
    const j = (v: unknown) => JSON.stringify(v, null, 2);
    writeFileSync(file, `{"APSFailure": {"1": ${j(run(0, 1))}, "0": ${j(run(0, 0))},\n "2": ${j(run(0, 2))}},\n "Fashion-MNIST": {"0": ${j(run(1, 0))}, "1": ${j(run(1, 1))}}}`);
    const root = tempDir();
    const dirs = await importBlackbox('lcbench', file, root, quiet);
    expect(dirs.sort()).toEqual([join(root, 'lcbench', 'APSFailure'), join(root, 'lcbench', 'Fashion-MNIST')]);
    const t = readTable(join(root, 'lcbench', 'APSFailure'));
    expect(t.objectiveNames).toEqual(['val_accuracy', 'time', 'val_balanced_accuracy', 'val_cross_entropy', 'test_accuracy', 'test_balanced_accuracy', 'test_cross_entropy', 'train_loss']);
    expect(t.elapsedTimeAttr).toBe('time');
    expect(t.fidelityValues).toHaveLength(E);
    expect(t.configurations).toEqual([0, 1, 2].map((id) => {
      const c = config(id);
      return { num_layers: c.num_layers, max_units: c.max_units, batch_size: c.batch_size, learning_rate: c.learning_rate, weight_decay: c.weight_decay, momentum: c.momentum, max_dropout: c.max_dropout };
    }));
    const M = tags.length;
    for (const id of [0, 1, 2]) for (const e of [0, 25, 51]) for (let k = 0; k < M; k++) expect(t.objectives[(id * E + e) * M + k]).toBe(value(0, id, k, e));
    expect(readTable(join(root, 'lcbench', 'Fashion-MNIST')).objectives[(1 * E + 3) * M + 0]).toBe(value(1, 1, 0, 3));
    // the streaming scanner gives the same runs when every object and key spans chunk boundaries
    const whole = [...scanNestedJson(file)];
    expect(whole.map((r) => `${r.outer}/${r.inner}`)).toEqual(['APSFailure/1', 'APSFailure/0', 'APSFailure/2', 'Fashion-MNIST/0', 'Fashion-MNIST/1']);
    expect([...scanNestedJson(file, 7)]).toEqual(whole);
  });

  it('keeps only the required tags when the file lacks the others, and names a missing required one', async () => {
    const dir = tempDir();
    const r = run(0, 0);
    const slim = { ...r, log: { 'Train/val_accuracy': r.log['Train/val_accuracy'], time: r.log.time } };
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ task: { '0': slim } }));
    const root = tempDir();
    await importBlackbox('lcbench', join(dir, 'a.json'), root, quiet);
    expect(readTable(join(root, 'lcbench', 'task')).objectiveNames).toEqual(['val_accuracy', 'time']);
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ task: { '0': { ...r, log: { time: r.log.time } } } }));
    await expect(importBlackbox('lcbench', join(dir, 'b.json'), root, quiet)).rejects.toThrow(/task\/0: log lacks 'Train\/val_accuracy'/);
  });
});

describe('tunelab blackbox import nasbench201', () => {
  const fixture = join(import.meta.dirname, 'fixtures', 'nasbench201-tiny.pickle.pbz2');
  // the closed forms of test/fixtures/make-nasbench201-fixture.py
  const acc = (a: number, d: number, s: number, e: number, train: boolean) => Math.round((40 + (50 * (e + 1)) / 200 - 5 * a - 3 * d + 0.01 * (s - 777) + (train ? 2 : 0)) * 100) / 100;
  const time = (a: number, d: number, e: number, kind: 'train' | 'eval') => Math.round(((10 + a + d) * (kind === 'train' ? 1.5 : 0.5) + 0.01 * e) * 100) / 100;

  it('reads the bzip2 pickle and maps architectures, seeds and epochs field by field', async () => {
    const root = tempDir();
    await importBlackbox('nasbench201', fixture, root, quiet);
    const datasets = ['cifar10', 'cifar100', 'ImageNet16-120'];
    const seeds = [777, 888, 999];
    const M = NB201_OBJECTIVES.length;
    datasets.forEach((dataset, d) => {
      const t = readTable(join(root, 'nasbench201', dataset));
      expect(t.configurations[0]).toEqual({ hp_x0: 'nor_conv_3x3', hp_x1: 'nor_conv_3x3', hp_x2: 'avg_pool_3x3', hp_x3: 'skip_connect', hp_x4: 'nor_conv_3x3', hp_x5: 'skip_connect' });
      expect(t.fidelityValues).toHaveLength(200);
      for (const a of [0, 1]) {
        for (let s = 0; s < 3; s++) {
          let elapsed = 0;
          for (let e = 0; e < 200; e++) {
            const o = ((a * 3 + s) * 200 + e) * M;
            const runtime = time(a, d, e, 'train') + time(a, d, e, 'eval');
            elapsed += runtime;
            // architecture 1 lacks seed 999 on cifar100: the mean of its other seeds
            const missing = a === 1 && dataset === 'cifar100' && s === 2;
            const valid = missing ? (2 - acc(a, d, 777, e, false) / 100 - acc(a, d, 888, e, false) / 100) / 2 : 1 - acc(a, d, seeds[s], e, false) / 100;
            if (e % 50 === 0 || e === 199) {
              expect(t.objectives[o]).toBeCloseTo(valid, 6);
              const train = missing ? (2 - acc(a, d, 777, e, true) / 100 - acc(a, d, 888, e, true) / 100) / 2 : 1 - acc(a, d, seeds[s], e, true) / 100;
              expect(t.objectives[o + 1]).toBeCloseTo(train, 6);
              expect(t.objectives[o + 2]).toBeCloseTo(runtime, 4);
              expect(t.objectives[o + 3]).toBeCloseTo(elapsed, 2);
              expect(t.objectives[o + 4]).toBeCloseTo(0.01 + a / 100 + d / 1000, 6);
              expect(t.objectives[o + 5]).toBe(10 + a + d);
              expect(t.objectives[o + 6]).toBeCloseTo(0.5 + a + d / 10, 6);
            }
          }
        }
      }
    });
  });

  it('the nasbench201-<dataset> benchmarks name the import command without data, and run on the imported table', async () => {
    const prev = process.env.TUNELAB_DATA;
    const root = tempDir();
    process.env.TUNELAB_DATA = root;
    try {
      const b = benchmarkDefinitions['nasbench201-cifar10'];
      expect(b).toMatchObject({ blackbox: 'nasbench201', dataset: 'cifar10', metric: 'metric_valid_error', mode: 'min', elapsedTimeAttr: 'metric_elapsed_time', nWorkers: 4, maxWallclockTime: 18000 });
      expect(benchmarkDefinitions['nasbench201-ImageNet16-120']).toMatchObject({ nWorkers: 8, maxWallclockTime: 28800 });
      await expect(loadBlackbox({ blackbox: 'nasbench201', dataset: 'cifar10' })).rejects.toThrow(/import it with: tunelab blackbox import nasbench201/);
      await importBlackbox('nasbench201', fixture, root, quiet);
      const table = readTable(join(root, 'nasbench201', 'cifar10'));
      const M = NB201_OBJECTIVES.length;
      const out = await runExperiment({ tag: 'nb', method: methodDefinitions.ASHA, benchmark: b, seed: 0, masterSeed: 1, resultsRoot: tempDir(), saveTuner: false, maxWallclockTime: 3000 });
      expect(out.metadata.status).toBe('completed');
      const rows = readRows(join(out.folder, 'results.csv.gz'));
      expect(rows.length).toBeGreaterThan(10);
      // every reported error is the table's value of one of its 2 architectures × 3 seeds at that epoch
      for (const row of rows) {
        const e = (row.epoch as number) - 1;
        const tabulated = [0, 1].flatMap((a) => [0, 1, 2].map((sd) => table.objectives[((a * 3 + sd) * 200 + e) * M]));
        expect(tabulated).toContain(row.metric_valid_error);
      }
    } finally {
      if (prev === undefined) delete process.env.TUNELAB_DATA;
      else process.env.TUNELAB_DATA = prev;
    }
  });

  it('parses arch strings and rejects bad ones', () => {
    expect(parseArchString('|none~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|')).toEqual(['none', 'skip_connect', 'nor_conv_1x1', 'avg_pool_3x3', 'none', 'nor_conv_3x3']);
    expect(() => parseArchString('|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|')).toThrow(/expected 6 operations of avg_pool_3x3/);
  });
});
