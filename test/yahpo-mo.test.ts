import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { YahpoSurrogateBlackbox, loadYahpoSurrogate } from '../src/blackbox/yahpo-surrogates.js';
import { benchmarkDefinitions } from '../src/launchers/benchmarks/index.js';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { normalise } from '../src/results/pareto.js';
import { readRows, requireSharedData, tempDir } from './helpers.js';

// the real YAHPO surrogates, read from ../shared/data (never copied into the project)
const DIRS = ['yahpo_rbv2_xgboost', 'yahpo_rbv2_rpart', 'yahpo_iaml_glmnet'];
const yahpo = requireSharedData(...DIRS);

/** The model's output for raw inputs, run here without tunelab's code. */
async function modelOutput(dir: string, cat: number[], cont: number[]): Promise<Float32Array> {
  const ort = await import('onnxruntime-web');
  const s = await ort.InferenceSession.create(readFileSync(join(yahpo.dir, dir, 'model.onnx')));
  const out = await s.run({ x_cat: new ort.Tensor('int32', Int32Array.from(cat), [1, cat.length]), x_cont: new ort.Tensor('float32', Float32Array.from(cont), [1, cont.length]) });
  return out[s.outputNames[0]].data as Float32Array;
}
const encoding = (dir: string) => JSON.parse(readFileSync(join(yahpo.dir, dir, 'encoding.json'), 'utf8'));

yahpo.describe('YAHPO surrogates with several outputs (ONNX)', () => {
  it('rbv2_xgboost: the space without instance and fidelities, booster-conditional; outputs the model gives for the YAHPO input order', async () => {
    const bb = loadYahpoSurrogate(yahpo.dir, 'rbv2_xgboost', '40981');
    expect(Object.keys(bb.configSpace).sort()).toEqual(['alpha', 'booster', 'colsample_bylevel', 'colsample_bytree', 'eta', 'gamma', 'lambda', 'max_depth', 'min_child_weight', 'nrounds', 'num.impute.selected.cpo', 'rate_drop', 'skip_drop', 'subsample']);
    expect(bb.objectiveNames).toEqual(['acc', 'bac', 'auc', 'brier', 'f1', 'logloss', 'timetrain', 'timepredict', 'memory']);
    const enc = encoding('yahpo_rbv2_xgboost');
    // gblinear: the tree parameters are inactive, given to the model as 0 (YAHPO's loader does the same)
    const linear = { alpha: 0.01, booster: 'gblinear', lambda: 1, nrounds: 100, 'num.impute.selected.cpo': 'impute.mean', subsample: 0.8 };
    const expected = await modelOutput('yahpo_rbv2_xgboost', [enc.task_id['40981'], enc.booster.gblinear, enc['num.impute.selected.cpo']['impute.mean']], [100, 0, 0, 1, 0.01, 0.8, 0, 0, 0, 0, 0, 0, 1, 10]);
    const got = await bb.curve(linear);
    expect([...got]).toEqual([...expected].map((v, i) => (i === 6 ? Math.max(0, v) : v)));
    // a dart config: every input active, in the documented order
    const dart = { ...linear, booster: 'dart', eta: 0.1, gamma: 0.01, max_depth: 6, min_child_weight: 3, colsample_bytree: 0.7, colsample_bylevel: 0.6, rate_drop: 0.2, skip_drop: 0.3 };
    const expectedDart = await modelOutput('yahpo_rbv2_xgboost', [enc.task_id['40981'], enc.booster.dart, enc['num.impute.selected.cpo']['impute.mean']], [100, 0.1, 0.01, 1, 0.01, 0.8, 6, 3, 0.7, 0.6, 0.2, 0.3, 1, 10]);
    expect([...(await bb.curve(dart))]).toEqual([...expectedDart]);
    // accuracies in [0, 1], times positive
    for (const c of [linear, dart]) {
      const v = await bb.curve(c);
      expect(v[0]).toBeGreaterThan(0.3);
      expect(v[0]).toBeLessThan(1);
      expect(v[6]).toBeGreaterThan(0);
    }
  });

  it('rbv2_rpart and iaml_glmnet: outputs in YAHPO order', async () => {
    const rpart = new YahpoSurrogateBlackbox(join(yahpo.dir, 'yahpo_rbv2_rpart'), 'rbv2_rpart', '40981');
    const e1 = encoding('yahpo_rbv2_rpart');
    const c1 = { cp: 0.01, maxdepth: 10, minbucket: 5, minsplit: 20, 'num.impute.selected.cpo': 'impute.hist' };
    const x1 = await modelOutput('yahpo_rbv2_rpart', [e1.task_id['40981'], e1['num.impute.selected.cpo']['impute.hist']], [0.01, 10, 5, 20, 1, 10]);
    expect([...(await rpart.curve(c1))]).toEqual([...x1].map((v, i) => (i === 6 ? Math.max(0, v) : v)));
    const glmnet = new YahpoSurrogateBlackbox(join(yahpo.dir, 'yahpo_iaml_glmnet'), 'iaml_glmnet', '40981');
    expect(glmnet.objectiveNames).toEqual(['mmce', 'f1', 'auc', 'logloss', 'ramtrain', 'rammodel', 'rampredict', 'timetrain', 'timepredict', 'mec', 'ias', 'nf']);
    const e2 = encoding('yahpo_iaml_glmnet');
    const x2 = await modelOutput('yahpo_iaml_glmnet', [e2.task_id['40981']], [0.5, 0.001, 1]);
    expect([...(await glmnet.curve({ alpha: 0.5, s: 0.001 }))]).toEqual([...x2].map((v, i) => (i === 7 ? Math.max(0, v) : v)));
  });

  it('names the unknown task and the missing data', () => {
    expect(() => loadYahpoSurrogate(yahpo.dir, 'rbv2_rpart', '999')).toThrow(/unknown rbv2_rpart task '999'; valid tasks: .*40981/);
    const empty = tempDir();
    expect(() => loadYahpoSurrogate(empty, 'rbv2_xgboost', '40981')).toThrow(/not in .*yahpo_rbv2_xgboost \(missing model.onnx\): run 'tunelab blackbox download yahpo-rbv2_xgboost'/);
  });

  describe('as two-objective benchmarks', () => {
    const data = tempDir();
    const previous = process.env.TUNELAB_DATA;
    beforeAll(() => {
      for (const d of DIRS) symlinkSync(join(yahpo.dir, d), join(data, d));
      process.env.TUNELAB_DATA = data;
    });
    afterAll(() => {
      if (previous === undefined) delete process.env.TUNELAB_DATA;
      else process.env.TUNELAB_DATA = previous;
    });

    it('registers yahpo-<scenario>-mo with fixed bounds; MO-RS runs and the metadata holds the documented reference', async () => {
      expect(benchmarkDefinitions['yahpo-rbv2_xgboost-mo']).toMatchObject({ objectives: [{ metric: 'acc', mode: 'max' }, { metric: 'timetrain', mode: 'min' }], dataset: '40981' });
      expect(benchmarkDefinitions['yahpo-iaml_glmnet-mo'].objectives).toEqual([{ metric: 'mmce', mode: 'min' }, { metric: 'nf', mode: 'min' }]);
      const run = async () => {
        const report = await hpoMain({ experimentTag: 'y', method: ['MO-RS'], benchmark: ['yahpo-rbv2_rpart-mo'], randomSeed: 3, resultsRoot: tempDir(), maxWallclockTime: 60 }, { log: () => {}, progress: false });
        return report.outcomes[0];
      };
      const o = await run();
      expect(o.metadata.status).toBe('completed');
      const setting = o.metadata.hypervolume!;
      // acc is maximised: its signed bounds are negated
      expect(setting).toEqual({ lower: [-0.9142728, 0.20948845], upper: [-0.47117698, 1.3112533], reference: [1.1, 1.1] });
      const rows = readRows(join(o.folder, 'results.csv.gz'));
      expect(rows.length).toBeGreaterThan(20);
      for (const r of rows) {
        const [a, t] = normalise([-Number(r.acc), Number(r.timetrain)], setting);
        expect(a).toBeGreaterThan(-0.5);
        expect(t).toBeGreaterThan(-0.5);
      }
      // the same seed, the same file
      expect(readFileSync(join((await run()).folder, 'results.csv.gz')).equals(readFileSync(join(o.folder, 'results.csv.gz')))).toBe(true);
    });
  });
});
