/**
 * Tabulated benchmarks: build throughput and load time.
 * - trainer: epochs trained per second by the fcnet network in this process, over 40 configs of
 *   the build space (1 seed, 27 epochs), per data set;
 * - builder: epochs per wall second of `buildBlackbox` with 1 worker process and with one per core
 *   (the same 40 configs; includes process start-up and the journal);
 * - shipped tables: size on disk, load time (readTable + TabularBlackbox; first load in the process
 *   and median of 5), best validation loss against the trivial predictor.
 * Usage: node dist/bench/blackbox.js [dataset...]   (default: every data set with a shipped table)
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBlackbox, sampleDistinctConfigs } from '../src/blackbox/build/builder.js';
import { loadDataset, trivialBaseline } from '../src/blackbox/build/datasets.js';
import { fcnetBuildSpace, fcnetTrainingFunction } from '../src/blackbox/build/fcnet-trainer.js';
import { trainCurve } from '../src/blackbox/build/worker.js';
import { readTable } from '../src/blackbox/format.js';
import { shippedTablesDir } from '../src/blackbox/repository.js';
import { TabularBlackbox } from '../src/blackbox/tabular.js';
import { formatTable } from '../src/index.js';

const shipped = existsSync(join(shippedTablesDir, 'fcnet')) ? readdirSync(join(shippedTablesDir, 'fcnet')).sort() : [];
const datasets = process.argv.length > 2 ? process.argv.slice(2) : shipped;
const EPOCHS = 27;
const CONFIGS = 40;
const configs = sampleDistinctConfigs(fcnetBuildSpace(), CONFIGS, 12345);

const speed: (string | number)[][] = [];
for (const d of datasets) {
  const fn = fcnetTrainingFunction(`fcnet-${d}`);
  trainCurve(fn, configs[0], 0, 2); // warm-up
  let t = performance.now();
  for (const c of configs) trainCurve(fn, c, 0, EPOCHS);
  const inProcess = (CONFIGS * EPOCHS) / ((performance.now() - t) / 1000);
  const row: (string | number)[] = [d, inProcess.toFixed(0)];
  for (const workers of [1, availableParallelism()]) {
    const dir = mkdtempSync(join(tmpdir(), 'tunelab-bench-build-'));
    t = performance.now();
    const r = await buildBlackbox({ trainer: `fcnet-${d}`, out: join(dir, d), numConfigs: CONFIGS, samplingSeed: 12345, numSeeds: 1, epochs: EPOCHS, workers, progress: false, log: () => {} });
    row.push(r.epochsPerSecond.toFixed(0));
    rmSync(dir, { recursive: true, force: true });
  }
  const full = 1000 * 3 * EPOCHS;
  row.push(`${((full / Number(row[row.length - 1])) / 60).toFixed(1)} min`);
  speed.push(row);
}
console.log(`build throughput, epochs trained per second (${CONFIGS} sampled configs × 1 seed × ${EPOCHS} epochs; ${availableParallelism()} cores):`);
console.log(formatTable(['dataset', 'trainer, in process', 'builder, 1 worker', `builder, ${availableParallelism()} workers`, '1000×3×27 table at that rate'], speed));

const loads: (string | number)[][] = [];
for (const d of shipped) {
  const dir = join(shippedTablesDir, 'fcnet', d);
  const bytes = readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  const times: number[] = [];
  let bb: TabularBlackbox | undefined;
  for (let i = 0; i < 6; i++) {
    const t = performance.now();
    bb = new TabularBlackbox(readTable(dir));
    times.push(performance.now() - t);
  }
  const first = times.shift()!;
  times.sort((a, b) => a - b);
  const { configurations, numSeeds: S, fidelityValues, objectiveNames, objectives } = bb!.data;
  const F = fidelityValues.length;
  const M = objectiveNames.length;
  // best config: the lowest validation loss at any epoch, averaged over seeds
  let best = Infinity;
  let bestScore = 0;
  for (let i = 0; i < configurations.length; i++) {
    for (let f = 0; f < F; f++) {
      let loss = 0;
      let score = 0;
      for (let s = 0; s < S; s++) {
        loss += objectives[((i * S + s) * F + f) * M] / S;
        score += objectives[((i * S + s) * F + f) * M + 1] / S;
      }
      if (loss < best) {
        best = loss;
        bestScore = score;
      }
    }
  }
  const trivial = trivialBaseline(loadDataset(d));
  loads.push([
    `fcnet-${d}`,
    `${configurations.length}×${S}×${F}`,
    `${(bytes / 1e6).toFixed(2)} MB`,
    first.toFixed(0),
    times[2].toFixed(0),
    Number(trivial.loss.toPrecision(4)),
    Number(best.toPrecision(4)),
    `${(trivial.loss / best).toFixed(1)}×`,
    `${objectiveNames[1]} ${bestScore.toFixed(3)} (trivial ${trivial.score.toFixed(3)})`,
  ]);
}
console.log('\nshipped tables (load = readTable + TabularBlackbox, ms):');
console.log(formatTable(['benchmark', 'configs×seeds×epochs', 'size', 'first load', 'median load', 'trivial valid_loss', 'best valid_loss', 'margin', 'best config score'], loads));
