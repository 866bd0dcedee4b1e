/**
 * GP speed: time of one hyperparameter fit + one suggestion of the BO searcher on the fcnet space
 * (d = 9 hyperparameters, 17 encoded inputs) with n = 100, 500, 1000 observations and 4 pending
 * trials; and the wall time of one RS, BO, ASHA and MOBSTER experiment (4 workers, the benchmark's budget).
 * Usage: node dist/bench/gp.js [benchmark]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, GPSearcher, configKey, createRng, defaultBenchmarks, encodedDim, fcnetConfigSpace, formatTable, getBenchmark, getMethod, runExperiment, sampleConfig, syntheticBlackbox } from '../src/index.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const space = fcnetConfigSpace();
const blackbox = syntheticBlackbox('synthetic-fcnet');
const rows: (string | number)[][] = [];
// two untimed passes at n = 100 first let V8 compile and optimise the GP code, whose compilation would
// otherwise be billed to the first row
for (const [n, timed] of [[100, false], [100, false], [100, true], [500, true], [1000, true]] as const) {
  const cold: number[] = [];
  const warm: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const problem = { configSpace: space, metric: 'valid_loss', mode: 'min' as const, rng: createRng(rep) };
    const searcher = new GPSearcher(problem);
    const dataRng = createRng(1000 + rep);
    // n finished trials and 4 running ones, loaded as a checkpoint would be (no model fit on the way)
    const trials = [];
    for (let i = 0; i < n + 4; i++) {
      const config = sampleConfig(space, dataRng);
      const curve = await blackbox.curve(config, i);
      trials.push([i, { config, values: i < n ? [[100, curve[99 * 2]]] : [], running: i >= n }]);
    }
    searcher.restore({ random: { seen: trials.map(([, t]) => configKey(space, (t as { config: Config }).config)), nextPoint: 0 }, theta: null, lastFitSize: 0, trials, levelObservations: [] });
    let t = performance.now();
    searcher.suggest(n + 4); // fits from scratch (restarts) and suggests
    cold.push(performance.now() - t);
    searcher.onTrialResult(n, 100, 0.1);
    searcher.onTrialIdle(n);
    t = performance.now();
    searcher.suggest(n + 5); // a typical later step: warm-started refit when due, new posterior, suggestion
    warm.push(performance.now() - t);
  }
  if (timed) rows.push([n, encodedDim(space), median(cold).toFixed(0), median(warm).toFixed(0)]);
}
console.log('BO searcher on the fcnet space, 4 pending trials (median of 3; the model uses at most 500 points, the hyperparameter fit at most 128):');
console.log(formatTable(['observations', 'encoded d', 'fit + suggest, cold (ms)', 'suggest, warm (ms)'], rows));

const benchmarkName = process.argv[2] ?? defaultBenchmarks()[0];
const benchmark = getBenchmark(benchmarkName);
const root = mkdtempSync(join(tmpdir(), 'tunelab-bench-'));
const exp: (string | number)[][] = [];
for (const m of ['RS', 'BO', 'ASHA', 'MOBSTER']) {
  const t = performance.now();
  const o = await runExperiment({ tag: 'bench', method: getMethod(m), benchmark, seed: 0, masterSeed: 1, resultsRoot: root });
  exp.push([m, o.summary!.numTrials, o.summary!.numResults, ((performance.now() - t) / 1000).toFixed(2), Number(o.summary!.best!.value.toPrecision(5))]);
}
rmSync(root, { recursive: true, force: true });
console.log(`\none experiment per method on ${benchmark.name} (${benchmark.nWorkers} workers, ${benchmark.maxWallclockTime} simulated s, seed 0):`);
console.log(formatTable(['method', 'trials', 'results', 'wall s', `best ${benchmark.metric}`], exp));
