/**
 * Simulator throughput: wall time of one RS and one ASHA experiment (each benchmark's workers and
 * time budget), results per wall-second, and the speed-up over real time. By default on
 * synthetic-fcnet (3600 simulated s, the budget of the foundation issue's target) and on the
 * default benchmark (a shipped table whose epochs cost milliseconds, so its budget is seconds).
 * Usage: npm run bench  (or node dist/bench/simulator.js [benchmark...] [--repeats N])
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultBenchmarks, formatTable, getBenchmark, getMethod, runExperiment } from '../src/index.js';

const args = process.argv.slice(2);
const repeatsAt = args.indexOf('--repeats');
const repeats = repeatsAt >= 0 ? Number(args.splice(repeatsAt, 2)[1]) : 5;
const benchmarkNames = args.length > 0 ? args : ['synthetic-fcnet', ...defaultBenchmarks()];
const root = mkdtempSync(join(tmpdir(), 'tunelab-bench-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const benchmarkName of benchmarkNames) {
  const benchmark = getBenchmark(benchmarkName);
  const rows: (string | number)[][] = [];
  for (const methodName of ['RS', 'ASHA']) {
    const method = getMethod(methodName);
    // one warm-up run so that JIT compilation is not counted
    await runExperiment({ tag: 'warmup', method, benchmark, seed: 99, masterSeed: 1, resultsRoot: root });
    const walls: number[] = [];
    const results: number[] = [];
    const trials: number[] = [];
    for (let seed = 0; seed < repeats; seed++) {
      const t0 = performance.now();
      const outcome = await runExperiment({ tag: 'bench', method, benchmark, seed, masterSeed: 1, resultsRoot: root });
      walls.push((performance.now() - t0) / 1000);
      results.push(outcome.summary!.numResults);
      trials.push(outcome.summary!.numTrials);
    }
    const wall = median(walls);
    rows.push([
      methodName,
      median(trials),
      median(results),
      wall.toFixed(3),
      Math.round(median(results) / wall),
      Math.round(benchmark.maxWallclockTime / wall),
    ]);
  }
  console.log(`simulator on ${benchmark.name}: ${benchmark.nWorkers} workers, ${benchmark.maxWallclockTime} simulated s, median of ${repeats} seeds (results files written)`);
  console.log(formatTable(['method', 'trials', 'results', 'wall s', 'results/s', 'x real time'], rows));
}
rmSync(root, { recursive: true, force: true });
