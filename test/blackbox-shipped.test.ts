import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainingSeed } from '../src/blackbox/build/builder.js';
import { loadDataset, trivialBaseline } from '../src/blackbox/build/datasets.js';
import { fcnetTrainingFunction } from '../src/blackbox/build/fcnet-trainer.js';
import { trainCurve } from '../src/blackbox/build/worker.js';
import { readTable } from '../src/blackbox/format.js';
import { loadBlackbox, shippedTablesDir } from '../src/blackbox/repository.js';
import { TabularBlackbox } from '../src/blackbox/tabular.js';
import { benchmarkDefinitions, defaultBenchmarks } from '../src/launchers/benchmarks/index.js';
import { runExperiment } from '../src/launchers/experiment.js';
import { methodDefinitions } from '../src/methods/registry.js';
import { tempDir } from './helpers.js';

const SHIPPED = ['cars', 'penguins', 'weather'];
const fcnetDir = join(shippedTablesDir, 'fcnet');

describe('shipped tables', () => {
  it('are the three data sets, together well under 25 MB', () => {
    expect(readdirSync(fcnetDir).sort()).toEqual(SHIPPED);
    let bytes = 0;
    for (const d of SHIPPED) for (const f of readdirSync(join(fcnetDir, d))) bytes += statSync(join(fcnetDir, d, f)).size;
    expect(bytes).toBeLessThan(25e6);
  });

  describe.each(SHIPPED)('fcnet-%s', (dataset) => {
    // its load time is bench/blackbox.ts's to measure, not a test's (it depends on the machine's load)
    const bb = new TabularBlackbox(readTable(join(fcnetDir, dataset)));
    const { configurations, numSeeds: S, fidelityValues, objectiveNames, objectives } = bb.data;
    const N = configurations.length;
    const F = fidelityValues.length;
    const M = objectiveNames.length;
    const at = (i: number, s: number, f: number, m: number) => objectives[((i * S + s) * F + f) * M + m];
    const meanOverSeeds = (i: number, f: number, m: number) => {
      let x = 0;
      for (let s = 0; s < S; s++) x += at(i, s, f, m) / S;
      return x;
    };

    it('holds at least 1,000 configs × 3 seeds × 27 epochs', () => {
      expect(N).toBeGreaterThanOrEqual(1000);
      expect(S).toBeGreaterThanOrEqual(3);
      expect(F).toBeGreaterThanOrEqual(27);
      expect(objectiveNames[0]).toBe('valid_loss');
      expect(objectiveNames[M - 1]).toBe('elapsed_time');
      expect(objectives.every(Number.isFinite)).toBe(true);
    });

    it('the best tabulated config beats the trivial predictor by a wide margin', () => {
      const trivial = trivialBaseline(loadDataset(dataset));
      let best = 0;
      for (let i = 1; i < N; i++) if (meanOverSeeds(i, F - 1, 0) < meanOverSeeds(best, F - 1, 0)) best = i;
      // validation loss at the last epoch, averaged over the seeds: at most half the trivial one
      expect(meanOverSeeds(best, F - 1, 0)).toBeLessThan(0.5 * trivial.loss);
      // and the score: R² of at least 0.8 (trivial: 0), or accuracy 15 points above the majority class
      const score = meanOverSeeds(best, F - 1, 1);
      if (objectiveNames[1] === 'valid_r2') expect(score).toBeGreaterThan(0.8);
      else expect(score).toBeGreaterThan(trivial.score + 0.15);
    });

    it('curves are not flat, and configs differ', () => {
      // the median config improves its validation loss by at least 10 % from epoch 1 to its best epoch
      const gains: number[] = [];
      for (let i = 0; i < N; i++) {
        const first = at(i, 0, 0, 0);
        let min = first;
        for (let f = 1; f < F; f++) min = Math.min(min, at(i, 0, f, 0));
        gains.push((first - min) / first);
      }
      gains.sort((a, b) => a - b);
      expect(gains[N >> 1]).toBeGreaterThan(0.1);
      const finals = Array.from({ length: N }, (_, i) => meanOverSeeds(i, F - 1, 0)).sort((a, b) => a - b);
      // the best decile and the worst decile are far apart
      expect(finals[Math.floor(0.9 * N)]).toBeGreaterThan(1.5 * finals[Math.floor(0.1 * N)]);
      // seeds differ (init, shuffling, dropout)
      expect(at(0, 0, F - 1, 0)).not.toBe(at(0, 1, F - 1, 0));
    });

    it('reproduces: retraining a tabulated config gives its table values bit for bit (except the measured time)', () => {
      const fn = fcnetTrainingFunction(`fcnet-${dataset}`);
      for (const [i, s] of [[0, 0], [1, 2]]) {
        const curve = trainCurve(fn, configurations[i], trainingSeed(`fcnet-${dataset}`, bb.configSpace, configurations[i], s), F);
        for (let f = 0; f < F; f++) for (let m = 0; m < M - 1; m++) expect(curve[f * M + m]).toBe(at(i, s, f, m));
      }
    });

    it('elapsed time grows with the epochs and with the model size', () => {
      for (let i = 0; i < N; i++) for (let s = 0; s < S; s++) for (let f = 1; f < F; f++) expect(at(i, s, f, M - 1)).toBeGreaterThan(at(i, s, f - 1, M - 1));
      // mean time of the 27 epochs by the size of the network (n_params), in quartiles
      const bySize = Array.from({ length: N }, (_, i) => ({ params: at(i, 0, 0, M - 2), time: meanOverSeeds(i, F - 1, M - 1) })).sort((a, b) => a.params - b.params);
      const quartile = (q: number) => {
        const part = bySize.slice(Math.floor((q * N) / 4), Math.floor(((q + 1) * N) / 4));
        return part.reduce((x, p) => x + p.time, 0) / part.length;
      };
      expect(quartile(1)).toBeGreaterThan(quartile(0));
      expect(quartile(2)).toBeGreaterThan(quartile(1));
      expect(quartile(3)).toBeGreaterThan(2 * quartile(1));
    });
  });
});

describe('registered tabulated benchmarks', () => {
  it('each shipped table is a benchmark: validation loss, min, 4 workers, epoch; fcnet-cars is the default', async () => {
    for (const d of SHIPPED) {
      expect(benchmarkDefinitions[`fcnet-${d}`]).toMatchObject({ blackbox: 'fcnet', dataset: d, metric: 'valid_loss', mode: 'min', nWorkers: 4, maxResourceAttr: 'epoch', elapsedTimeAttr: 'elapsed_time' });
    }
    expect(defaultBenchmarks()).toEqual(['fcnet-cars']);
    expect(benchmarkDefinitions['synthetic-fcnet'].isDefault).toBeFalsy();
  });

  it.each(SHIPPED)('RS evaluates a few hundred configs within the budget of fcnet-%s', async (d) => {
    const benchmark = benchmarkDefinitions[`fcnet-${d}`];
    const bb = await loadBlackbox({ blackbox: 'fcnet', dataset: d, surrogate: benchmark.surrogate });
    expect(bb.configurations).toHaveLength(1000);
    const out = await runExperiment({ tag: 'rs', method: methodDefinitions.RS, benchmark, seed: 0, masterSeed: 2, resultsRoot: tempDir(), saveTuner: false });
    expect(out.metadata.status).toBe('completed');
    expect(out.summary!.numTrials).toBeGreaterThanOrEqual(200);
    expect(out.summary!.numTrials).toBeLessThanOrEqual(600);
  });
});
