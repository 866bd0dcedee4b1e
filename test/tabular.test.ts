import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTable, writeTable } from '../src/blackbox/format.js';
import { syntheticBlackbox } from '../src/blackbox/synthetic.js';
import { TabularBlackbox, tabulate } from '../src/blackbox/tabular.js';
import { configKey, sampleConfig } from '../src/config-space/index.js';
import type { BenchmarkDefinition } from '../src/launchers/benchmarks/index.js';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { methodDefinitions } from '../src/methods/registry.js';
import { createRng } from '../src/util/rng.js';
import { readRows, tempDir, tinyBlackbox } from './helpers.js';

describe('tabulated blackbox', () => {
  it('answers tabulated configs from the table, by seed', () => {
    const bb = tinyBlackbox();
    expect([...bb.curve({ x: 'b' }, 0)]).toEqual([5, 3, 4, 6, 3, 9]);
    expect(bb.rowOfConfig({ x: 'a' })).toBe(0);
  });

  it('answers other configs with the nearest tabulated one on the encoding', async () => {
    const source = syntheticBlackbox('synthetic-branin');
    const grid = [-5, 0, 5, 10].flatMap((x1) => [0, 7.5, 15].map((x2) => ({ x1, x2 })));
    const bb = new TabularBlackbox(await tabulate(source, grid, [0]));
    expect(bb.rowOfConfig({ x1: 4.4, x2: 8 })).toBeUndefined();
    // (4.4, 8) is nearest to (5, 7.5)
    expect([...bb.curve({ x1: 4.4, x2: 8 }, 0)]).toEqual([...bb.curve({ x1: 5, x2: 7.5 }, 0)]);
    expect([...bb.curve({ x1: -4, x2: 14 }, 0)]).toEqual([...bb.curve({ x1: -5, x2: 15 }, 0)]);
  });

  it('rejects a table whose sizes disagree', () => {
    const data = { ...tinyBlackbox().data, objectives: new Float32Array(5) };
    expect(() => new TabularBlackbox(data)).toThrow(/hold 5 values, expected 2 configs × 1 seeds × 3 fidelities × 2 objectives = 12/);
  });
});

describe('--restrict_configurations', () => {
  const dataDir = tempDir();
  const previous = process.env.TUNELAB_DATA;
  let tabulated: Set<string>;
  const source = syntheticBlackbox('synthetic-fcnet');
  const benchmarks: Record<string, BenchmarkDefinition> = {
    'table-fcnet': {
      name: 'table-fcnet',
      description: 'a 60-config table of synthetic-fcnet',
      blackbox: 'test-table',
      dataset: 'fcnet60',
      metric: 'valid_loss',
      mode: 'min',
      elapsedTimeAttr: 'elapsed_time',
      maxResourceAttr: 'epoch',
      maxWallclockTime: 3600,
      nWorkers: 4,
    },
  };

  beforeAll(async () => {
    process.env.TUNELAB_DATA = dataDir;
    const rng = createRng(2);
    const configs = Array.from({ length: 60 }, () => sampleConfig(source.configSpace, rng));
    tabulated = new Set(configs.map((c) => configKey(source.configSpace, c)));
    const table = await tabulate(source, configs, [0, 1]);
    writeTable(join(dataDir, 'test-table', 'fcnet60'), table);
    expect(readTable(join(dataDir, 'test-table', 'fcnet60')).objectives).toEqual(table.objectives);
  });
  afterAll(() => {
    if (previous === undefined) delete process.env.TUNELAB_DATA;
    else process.env.TUNELAB_DATA = previous;
  });

  it('suggests tabulated configs only, also for a restricted method (ASHA-TANH)', async () => {
    for (const method of ['RS', 'ASHA-TANH']) {
      const report = await hpoMain(
        { experimentTag: 'rc', method: [method], benchmark: ['table-fcnet'], randomSeed: 1, resultsRoot: tempDir(), restrictConfigurations: true },
        { benchmarks, methods: methodDefinitions, log: () => {}, progress: false },
      );
      const outcome = report.outcomes[0];
      expect(outcome.metadata.status).toBe('completed');
      const rows = readRows(join(outcome.folder, 'results.csv.gz'));
      const configs = new Set(
        rows.map((r) => configKey(source.configSpace, Object.fromEntries(Object.keys(source.configSpace).map((k) => [k, r[`config_${k}`] as string | number])))),
      );
      for (const k of configs) expect(tabulated.has(k)).toBe(true);
      if (method === 'ASHA-TANH') expect(rows.every((r) => r.config_hp_activation_fn_1 === 'tanh' && r.config_hp_activation_fn_2 === 'tanh')).toBe(true);
      // RS runs out of the 60 configs within the budget, and says so by stopping early
      if (method === 'RS') expect(configs.size).toBe(60);
    }
  });

  it('is refused for a closed-form benchmark', async () => {
    await expect(
      hpoMain({ experimentTag: 'rc', method: ['RS'], benchmark: ['synthetic-fcnet'], randomSeed: 1, resultsRoot: tempDir(), restrictConfigurations: true }, { log: () => {}, progress: false }),
    ).rejects.toThrow(/--restrict_configurations needs a tabulated benchmark; synthetic-fcnet is computed in closed form/);
  });
});
