import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBlackbox } from '../src/blackbox/repository.js';
import { YahpoLCBenchBlackbox, lcbenchConfigSpace, loadYahpoLCBench } from '../src/blackbox/yahpo-lcbench.js';
import { sampleConfig } from '../src/config-space/index.js';
import { benchmarkDefinitions } from '../src/launchers/benchmarks/index.js';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { createRng } from '../src/util/rng.js';
import { readRows, requireSharedData, tempDir } from './helpers.js';

// the real YAHPO data, read from ../shared/data (never copied into the project)
const yahpo = requireSharedData('yahpo_lcbench');
const shared = join(yahpo.dir, 'yahpo_lcbench');
const M = 6;
const at = (curve: Float64Array, epoch: number) => Array.from(curve.slice((epoch - 1) * M, epoch * M));
/** the bytes of the first `rows` rows of a curve, to compare bit for bit */
const bits = (curve: Float64Array, rows: number) => new Uint8Array(curve.buffer, curve.byteOffset, rows * M * 8);

yahpo.describe('YAHPO LCBench surrogate (ONNX)', () => {
  const bb = new YahpoLCBenchBlackbox(shared, '7593');
  const configs = [
    { batch_size: 64, learning_rate: 0.01, momentum: 0.9, weight_decay: 1e-4, num_layers: 2, max_units: 256, max_dropout: 0.2 },
    { batch_size: 128, learning_rate: 0.05, momentum: 0.5, weight_decay: 0.001, num_layers: 3, max_units: 512, max_dropout: 0.1 },
  ];
  // computed once and checked: accuracy rises with epochs, cross-entropy falls, time grows
  const pinned = [
    {
      1: [13.7647, 1.64145, 0.192808, 1.86298, 0.195974, 18.8618],
      10: [67.8233, 0.733217, 0.72691, 1.55869, 0.73441, 177.596],
      52: [76.5382, 0.506748, 0.784279, 1.49261, 0.790304, 591.146],
    },
    {
      1: [7.40511, 1.85099, 0.14717, 1.92893, 0.148742, 25.7644],
      10: [67.5116, 0.720133, 0.751798, 1.53654, 0.75972, 285.982],
      52: [74.0284, 0.576151, 0.801935, 1.49267, 0.810095, 1378.64],
    },
  ];

  it('maps the objectives in order and pins two learning curves', async () => {
    expect(bb.objectiveNames).toEqual(['val_accuracy', 'val_cross_entropy', 'val_balanced_accuracy', 'test_cross_entropy', 'test_balanced_accuracy', 'time']);
    for (const [i, c] of configs.entries()) {
      const curve = await bb.curve(c);
      expect(curve).toHaveLength(52 * M);
      for (const [epoch, values] of Object.entries(pinned[i])) {
        at(curve, Number(epoch)).forEach((v, m) => expect(v).toBeCloseTo(values[m], values[m] > 100 ? 1 : 3));
      }
      const times = Array.from({ length: 52 }, (_, e) => curve[e * M + 5]);
      for (let e = 1; e < 52; e++) expect(times[e]).toBeGreaterThanOrEqual(times[e - 1]);
      expect(curve[51 * M]).toBeGreaterThan(curve[0] + 50);
    }
  });

  it('a curve is the model output bit for bit (time made non-decreasing), the same when computed again', async () => {
    const ort = await import('onnxruntime-web');
    const session = await ort.InferenceSession.create(readFileSync(join(shared, 'model.onnx')));
    const code = JSON.parse(readFileSync(join(shared, 'encoding.json'), 'utf8')).OpenML_task_id['7593'] as number;
    const inputs = ['batch_size', 'learning_rate', 'momentum', 'weight_decay', 'num_layers', 'max_units', 'max_dropout'] as const;
    for (const c of configs) {
      const cont = Float32Array.from({ length: 52 * 8 }, (_, i) => (i % 8 === 0 ? i / 8 + 1 : c[inputs[(i % 8) - 1]]));
      const out = await session.run({ x_cat: new ort.Tensor('int32', new Int32Array(52).fill(code), [52, 1]), x_cont: new ort.Tensor('float32', cont, [52, 8]) });
      const raw = out[session.outputNames[0]].data as Float32Array; // time, val_accuracy, val_cross_entropy, val_bal_acc, test_cross_entropy, test_bal_acc
      bb.clearCache();
      const curve = await bb.curve(c);
      let time = 0;
      for (let e = 0; e < 52; e++) {
        time = Math.max(time, raw[e * 6]);
        expect(at(curve, e + 1)).toEqual([raw[e * 6 + 1], raw[e * 6 + 2], raw[e * 6 + 3], raw[e * 6 + 4], raw[e * 6 + 5], time]);
      }
      bb.clearCache();
      expect(await bb.curve(c)).toEqual(curve);
    }
  });

  it('a prefix of a curve, computed alone or extended, is its first rows bit for bit; a cached prefix costs no call', async () => {
    const rng = createRng(5);
    for (let i = 0; i < 8; i++) {
      const c = sampleConfig(bb.configSpace, rng);
      bb.clearCache();
      const full = await bb.curve(c);
      for (const upTo of [1, 2, 7, 51]) {
        bb.clearCache();
        const prefix = await bb.curvePrefix(c, 0, upTo);
        expect(prefix).toHaveLength(upTo * M);
        expect(bits(prefix, upTo)).toEqual(bits(full, upTo));
      }
      // the simulator's doubling: each call computes the new rows only
      bb.clearCache();
      const { calls, rows } = bb.computed;
      for (const upTo of [2, 4, 8, 16, 32, 52]) expect(bits(await bb.curvePrefix(c, 0, upTo), upTo)).toEqual(bits(full, upTo));
      expect(bits(await bb.curvePrefix(c, 0, 5), 52)).toEqual(bits(full, 52));
      expect(await bb.curve(c)).toBe(await bb.curvePrefix(c, 0, 52));
      expect(bb.computed).toEqual({ calls: calls + 6, rows: rows + 52 });
    }
  });

  it('has the 7-hyperparameter space of config_space.json with its log scales', () => {
    const json = Object.fromEntries(Object.entries(lcbenchConfigSpace()).map(([k, d]) => [k, (d as { toJSON(): unknown }).toJSON()]));
    expect(json).toEqual({
      batch_size: { type: 'lograndint', lower: 16, upper: 512 },
      learning_rate: { type: 'loguniform', lower: 1e-4, upper: 0.1 },
      momentum: { type: 'uniform', lower: 0.1, upper: 0.99 },
      weight_decay: { type: 'uniform', lower: 1e-5, upper: 0.1 },
      num_layers: { type: 'randint', lower: 1, upper: 5 },
      max_units: { type: 'lograndint', lower: 64, upper: 1024 },
      max_dropout: { type: 'uniform', lower: 0, upper: 1 },
    });
  });

  it('names the unknown task and the missing data', () => {
    expect(() => new YahpoLCBenchBlackbox(shared, '42')).toThrow(/unknown LCBench task '42'; valid tasks: 3945, 7593/);
    const empty = tempDir();
    expect(() => loadYahpoLCBench(empty, '3945')).toThrow(new RegExp(`not in ${empty}/yahpo_lcbench \\(missing model.onnx\\).*\\$TUNELAB_DATA`));
  });

  describe('as benchmarks', () => {
    const data = tempDir();
    const previous = process.env.TUNELAB_DATA;
    beforeAll(() => {
      symlinkSync(shared, join(data, 'yahpo_lcbench'));
      process.env.TUNELAB_DATA = data;
    });
    afterAll(() => {
      if (previous === undefined) delete process.env.TUNELAB_DATA;
      else process.env.TUNELAB_DATA = previous;
    });

    it('registers the 34 tasks with val_accuracy (max)', () => {
      const names = Object.keys(benchmarkDefinitions).filter((n) => n.startsWith('yahpo-lcbench-'));
      expect(names).toHaveLength(34);
      expect(benchmarkDefinitions['yahpo-lcbench-3945']).toMatchObject({ metric: 'val_accuracy', mode: 'max', nWorkers: 4, maxResourceAttr: 'epoch', elapsedTimeAttr: 'time' });
    });

    it('ASHA runs on yahpo-lcbench-3945 with the surrogate’s runtimes', async () => {
      const report = await hpoMain(
        { experimentTag: 'y', method: ['ASHA'], benchmark: ['yahpo-lcbench-3945'], randomSeed: 1, resultsRoot: tempDir(), maxWallclockTime: 600 },
        { log: () => {}, progress: false },
      );
      const o = report.outcomes[0];
      expect(o.metadata.status).toBe('completed');
      const rows = readRows(join(o.folder, 'results.csv.gz'));
      expect(rows.some((r) => r.st_decision === 'stop')).toBe(true);
      expect(Math.max(...rows.map((r) => r.val_accuracy as number))).toBeGreaterThan(90);
      expect(Object.keys(rows[0])).toContain('val_cross_entropy');
    });

    it('the simulator computes the rows that ASHA uses, not whole curves', async () => {
      const b = benchmarkDefinitions['yahpo-lcbench-3945'];
      // the very blackbox the experiment uses (blackboxes are cached per process)
      const bb = (await loadBlackbox({ blackbox: b.blackbox, dataset: b.dataset, surrogate: b.surrogate })) as YahpoLCBenchBlackbox;
      bb.clearCache();
      const before = bb.computed.rows;
      const report = await hpoMain(
        { experimentTag: 'r', method: ['ASHA'], benchmark: ['yahpo-lcbench-3945'], randomSeed: 2, resultsRoot: tempDir(), maxWallclockTime: 600 },
        { log: () => {}, progress: false },
      );
      const rows = readRows(join(report.outcomes[0].folder, 'results.csv.gz'));
      const trials = new Set(rows.map((r) => r.trial_id)).size;
      const computed = bb.computed.rows - before;
      // each reported epoch, the next one per trial (scheduling its event reads it), a few more of the doubling
      expect(computed).toBeGreaterThan(rows.length);
      expect(computed).toBeLessThan((52 * trials) / 4);
    });
  });
});
