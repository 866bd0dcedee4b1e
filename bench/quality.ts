/**
 * Quality: final best value per method over many seeds (median and interquartile range) on the given
 * benchmarks, and a two-sided Mann-Whitney U test of MOBSTER against ASHA and RS, of BO, TPE, REA,
 * DEHB and GRID against RS, of ASHA-TPE against ASHA and of BOHB against HYPERBAND: does each beat its
 * baseline, also when the budget holds only a few full trials?
 * The baselines of issue 26: --methods RS,TPE,REA,DEHB,HYPERBAND,BOHB; prints per benchmark the median, IQM and
 * IQR, then each method's mean rank over (benchmark, seed) and on how many benchmarks each beats its baseline.
 * Usage: node dist/bench/quality.js [--budget_fraction 0.1] [--num_seeds 30] [--methods RS,ASHA,BO,MOBSTER]
 *          [--restrict_configurations] [benchmark ...]   (default: the default benchmarks)
 * --budget_fraction scales each benchmark's own wallclock budget (1: the default budget).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { iqm, quantileSorted } from '../src/plotting/aggregate.js';
import { defaultBenchmarks, formatTable, getBenchmark, getMethod, runExperiment } from '../src/index.js';
import { UserError } from '../src/util/errors.js';
import { mannWhitneyP } from './mann-whitney.js';

/** The value after `flag`, or `fallback`; exits 2 naming the flag when it is not a positive number. */
function numberFlag(args: string[], flag: string, fallback: number): number {
  const i = args.indexOf(flag);
  if (i < 0) return fallback;
  const raw = args[i + 1];
  const v = Number(raw);
  if (raw === undefined || !(v > 0)) {
    console.error(`${flag}: expected a positive number, got ${raw ?? 'nothing'}`);
    process.exit(2);
  }
  args.splice(i, 2);
  return v;
}

/** `f()`, or exit 2 with the message of the UserError it throws (an unknown method or benchmark). */
function orExit<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    console.error(e.message);
    process.exit(2);
  }
}

const args = process.argv.slice(2);
const budgetFraction = numberFlag(args, '--budget_fraction', 1);
const seeds = Math.round(numberFlag(args, '--num_seeds', 30));
const methodsAt = args.indexOf('--methods');
const methods = methodsAt >= 0 ? (args.splice(methodsAt, 2)[1] ?? '').split(',') : ['RS', 'ASHA', 'BO', 'MOBSTER'];
methods.forEach((m) => orExit(() => getMethod(m)));
// tabulated benchmarks: every searcher picks among the table's configs only
const restrictConfigurations = args.includes('--restrict_configurations');
const names = args.filter((a) => a !== '--restrict_configurations');
const benchmarks = (names.length > 0 ? names : defaultBenchmarks()).map((name) => orExit(() => getBenchmark(name)));
/** Which method each method's row is tested against (only those that run). */
const comparisons: Record<string, string[]> = { MOBSTER: ['ASHA', 'RS'], BO: ['RS'], TPE: ['RS'], 'ASHA-TPE': ['ASHA'], BOHB: ['HYPERBAND'], REA: ['RS'], DEHB: ['RS'], GRID: ['RS'] };
const root = mkdtempSync(join(tmpdir(), 'tunelab-quality-'));
/** per method: its rank among the methods on each (benchmark, seed), 1 = best, ties sharing their mean rank */
const ranks = new Map<string, number[]>(methods.map((m) => [m, []]));
/** per comparison "A vs B": the benchmarks where A's median is better, and all */
const medianWins = new Map<string, { wins: string[]; of: number }>();
try {
  for (const benchmark of benchmarks) {
    const maxWallclockTime = benchmark.maxWallclockTime * budgetFraction;
    const finals = new Map<string, number[]>();
    const wall = new Map<string, number>();
    for (const m of methods) {
      const values: number[] = [];
      const t = performance.now();
      for (let seed = 0; seed < seeds; seed++) {
        const o = await runExperiment({ tag: 'q', method: getMethod(m), benchmark, seed, masterSeed: 2026, resultsRoot: root, restrictConfigurations, maxWallclockTime, saveTuner: false });
        if (!o.summary?.best) throw new Error(`${m} on ${benchmark.name}, seed ${seed}: no result (${o.metadata.error ?? o.metadata.status})`);
        values.push(o.summary.best.value);
      }
      finals.set(m, values);
      wall.set(m, (performance.now() - t) / 1000 / seeds);
      rmSync(join(root, 'q'), { recursive: true, force: true });
    }
    const f = (x: number) => Number(x.toPrecision(4));
    const sign = benchmark.mode === 'min' ? 1 : -1;
    for (let seed = 0; seed < seeds; seed++) {
      const at = methods.map((m) => sign * finals.get(m)![seed]);
      methods.forEach((m, i) => ranks.get(m)!.push(1 + at.filter((v) => v < at[i]).length + (at.filter((v) => v === at[i]).length - 1) / 2));
    }
    const median = (m: string) => quantileSorted([...finals.get(m)!].sort((a, b) => a - b), 0.5);
    for (const m of methods) {
      for (const o of (comparisons[m] ?? []).filter((x) => finals.has(x))) {
        const key = `${m} vs ${o}`;
        const entry = medianWins.get(key) ?? { wins: [], of: 0 };
        entry.of++;
        if (sign * median(m) < sign * median(o)) entry.wins.push(benchmark.name);
        medianWins.set(key, entry);
      }
    }
    const rows = methods.map((m) => {
      const s = [...finals.get(m)!].sort((a, b) => a - b);
      const tests = (comparisons[m] ?? []).filter((o) => finals.has(o)).map((o) => `vs ${o}: ${mannWhitneyP(finals.get(m)!, finals.get(o)!).toFixed(3)}`);
      return [m, f(quantileSorted(s, 0.5)), f(iqm(s)), `${f(quantileSorted(s, 0.25))} – ${f(quantileSorted(s, 0.75))}`, tests.join(', ') || '–', wall.get(m)!.toFixed(2)];
    });
    console.log(
      `\n${benchmark.name}: final best ${benchmark.metric} (${benchmark.mode}) over ${seeds} seeds, ${benchmark.nWorkers} workers, ` +
        `${maxWallclockTime} simulated s (${budgetFraction} × the default budget)${restrictConfigurations ? ', configs restricted to the table' : ''}`,
    );
    console.log(formatTable(['method', 'median', 'IQM', 'IQR', 'Mann-Whitney p', 'wall s / run'], rows));
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`\nmean rank over ${benchmarks.length} benchmark(s) × ${seeds} seeds (1 = best of ${methods.length}):`);
  console.log(formatTable(['method', 'mean rank'], methods.map((m) => [m, mean(ranks.get(m)!).toFixed(2)])));
  console.log('\nbetter median final value:');
  for (const [key, { wins, of }] of medianWins) console.log(`  ${key}: ${wins.length} of ${of}${wins.length ? ` (${wins.join(', ')})` : ''}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
