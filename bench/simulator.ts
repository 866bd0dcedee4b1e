/**
 * Simulator scaling: the cost of one experiment per method at 1×, 10× and 100× the benchmark's
 * time budget (its workers, results files and tuner.json written as hpo-main writes them), how that
 * cost grows against the budget (target: 10× the budget at most 12× the time), the bytes the run
 * wrote (results, tuner.json, metadata: /proc/self/io's wchar), and promotion-type methods against
 * their stopping-type twins at each budget (target: within 1.5×).
 *
 * Ratios use the process's CPU time (user + system, GC threads included), which a loaded machine
 * disturbs far less than wall time; both are shown. A run that exceeds --time_limit wall seconds is
 * stopped there (as Ctrl-C would): its cost per simulated second stands for the whole budget, which
 * flatters a method whose cost per second grows during the run (BO's GP grows with its data). A run
 * may also end before its budget when the searcher has tried every config of the space.
 *
 * Default: synthetic-fcnet (3600 simulated s) and the default benchmark (a shipped table).
 * Usage: npm run bench  (or node dist/bench/simulator.js [benchmark...] [--methods RS,ASHA,...]
 *        [--scales 1,10,100] [--repeats N] [--time_limit S])
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultBenchmarks, formatTable, getBenchmark, getMethod, runExperiment } from '../src/index.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    methods: { type: 'string', default: 'RS,ASHA,ASHA-PROMOTION,BO,MOBSTER,MOBSTER-PROMOTION' },
    scales: { type: 'string', default: '1,10,100' },
    repeats: { type: 'string', default: '3' },
    time_limit: { type: 'string', default: '300' },
  },
});
const methodNames = values.methods.split(',');
const scales = values.scales.split(',').map(Number);
const repeats = Number(values.repeats);
const timeLimit = Number(values.time_limit);
const benchmarkNames = positionals.length > 0 ? positionals : ['synthetic-fcnet', ...defaultBenchmarks()];
const root = mkdtempSync(join(tmpdir(), 'tunelab-bench-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** Bytes this process has written so far (all files). */
const bytesWritten = () => Number(/^wchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);

interface Run {
  wall: number;
  cpu: number;
  /** simulated seconds reached (the budget unless stopped at the time limit) */
  reached: number;
  stopped: boolean;
  trials: number;
  results: number;
  written: number;
  checkpoint: number;
}

async function runOnce(methodName: string, benchmarkName: string, budget: number, seed: number): Promise<Run> {
  const benchmark = getBenchmark(benchmarkName);
  let stopped = false;
  const w0 = bytesWritten();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const outcome = await runExperiment({
    tag: 'bench',
    method: getMethod(methodName),
    benchmark,
    seed,
    masterSeed: 1,
    resultsRoot: root,
    maxWallclockTime: budget,
    callbacks: [
      {
        onResult: (tuner) => {
          if (!stopped && performance.now() - t0 > timeLimit * 1000) {
            stopped = true;
            tuner.requestStop('time limit');
          }
        },
      },
    ],
  });
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const summary = outcome.summary!;
  const ckpt = join(outcome.folder, 'tuner.json');
  const run = {
    wall,
    cpu: (cpu.user + cpu.system) / 1e6,
    reached: Math.min(budget, summary.tunerTime),
    stopped,
    trials: summary.numTrials,
    results: summary.numResults,
    written: bytesWritten() - w0,
    checkpoint: existsSync(ckpt) ? statSync(ckpt).size : 0,
  };
  rmSync(outcome.folder, { recursive: true, force: true });
  return run;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

for (const benchmarkName of benchmarkNames) {
  const benchmark = getBenchmark(benchmarkName);
  const rows: (string | number)[][] = [];
  /** CPU s per simulated s, by method and scale */
  const cost = new Map<string, number>();
  for (const methodName of methodNames) {
    // one warm-up run so that JIT compilation is not counted
    await runOnce(methodName, benchmarkName, benchmark.maxWallclockTime, 99);
    for (const scale of scales) {
      const budget = scale * benchmark.maxWallclockTime;
      const runs: Run[] = [];
      // larger budgets once: they are long enough to be steady
      for (let seed = 0; seed < (scale === 1 ? repeats : 1); seed++) runs.push(await runOnce(methodName, benchmarkName, budget, seed));
      const run = runs.find((r) => r.cpu === median(runs.map((x) => x.cpu)))!;
      cost.set(`${methodName}@${scale}`, run.cpu / run.reached);
      const base = cost.get(`${methodName}@${scales[0]}`)!;
      const row = [
        methodName,
        `${scale}×`,
        `${Math.round(run.reached)}${run.stopped ? ' (time limit)' : run.reached < budget ? ' (space exhausted)' : ''}`,
        run.trials,
        run.results,
        run.cpu.toFixed(2),
        run.wall.toFixed(2),
        // the whole budget's CPU time against 1×'s: 10 at 10× is linear
        ((run.cpu / run.reached / base) * (budget / (scales[0] * benchmark.maxWallclockTime))).toFixed(1),
        (run.cpu / run.reached / base).toFixed(2),
        mb(run.written),
        mb(run.checkpoint),
      ];
      rows.push(row);
      console.error(`  ${benchmark.name}: ${row.join('  ')}`);
    }
  }
  console.log(
    `simulator on ${benchmark.name}: ${benchmark.nWorkers} workers, budgets ${scales.map((s) => s * benchmark.maxWallclockTime).join(' / ')} simulated s; ` +
      `1×: median of ${repeats} seeds, larger budgets one seed; time limit ${timeLimit} wall s per run (results files and tuner.json written)`,
  );
  console.log(formatTable(['method', 'budget', 'simulated s', 'trials', 'results', 'CPU s', 'wall s', 'cost ×', 'per simulated s ×', 'MB written', 'tuner.json MB'], rows));
  const pairs = [
    ['ASHA-PROMOTION', 'ASHA'],
    ['MOBSTER-PROMOTION', 'MOBSTER'],
  ].filter(([p, s]) => methodNames.includes(p) && methodNames.includes(s));
  if (pairs.length > 0) {
    console.log('promotion type against stopping type (CPU time per simulated second; target ≤ 1.5)');
    console.log(
      formatTable(
        ['methods', ...scales.map((s) => `${s}×`)],
        pairs.map(([p, s]) => [`${p} / ${s}`, ...scales.map((scale) => (cost.get(`${p}@${scale}`)! / cost.get(`${s}@${scale}`)!).toFixed(2))]),
      ),
    );
  }
}
rmSync(root, { recursive: true, force: true });
