/**
 * Simulator throughput: wall time of one RS and one ASHA experiment on the default benchmark
 * (its workers and time budget), results per wall-second, and the speed-up over real time.
 * Usage: npm run bench  (or node dist/bench/simulator.js [benchmark] [repeats])
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultBenchmarks, formatTable, getBenchmark, getMethod, runExperiment } from '../src/index.js';

const benchmarkName = process.argv[2] ?? defaultBenchmarks()[0];
const repeats = Number(process.argv[3] ?? 5);
const benchmark = getBenchmark(benchmarkName);
const root = mkdtempSync(join(tmpdir(), 'tunelab-bench-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

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
rmSync(root, { recursive: true, force: true });
console.log(`simulator on ${benchmark.name}: ${benchmark.nWorkers} workers, ${benchmark.maxWallclockTime} simulated s, median of ${repeats} seeds (results files written)`);
console.log(formatTable(['method', 'trials', 'results', 'wall s', 'results/s', 'x real time'], rows));
