/**
 * Why MOBSTER and ASHA differ on a multi-fidelity benchmark, seed by seed: the quality bench's score
 * (the best value reported at any resource) beside what the model and ASHA's rungs see (the best value
 * at a rung level or the maximal resource) and the best value at the maximal resource; how many
 * trials each starts and how many reach the top; how many configs came from the model. On a table,
 * also how far its best curves dip between the rung levels (values no rung-based model observes).
 * With --replicates K, each method against itself: its median over the same seeds under K other
 * master seeds, the spread a median shows by chance alone.
 * Usage: node dist/bench/mobster-diagnosis.js [--num_seeds 30] [--replicates 0] [benchmark]   (default fcnet-penguins)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TabularBlackbox } from '../src/blackbox/tabular.js';
import type { Blackbox } from '../src/blackbox/types.js';
import type { BenchmarkDefinition } from '../src/launchers/benchmarks/types.js';
import { formatTable, getBenchmark, getMethod, runExperiment } from '../src/index.js';
import { benchmarkBlackbox } from '../src/launchers/experiment.js';
import { quantileSorted } from '../src/plotting/aggregate.js';
import { readExperiment } from '../src/results/read.js';
import { rungLevels } from '../src/schedulers/hyperband.js';
import { UserError } from '../src/util/errors.js';
import { mannWhitneyP } from './mann-whitney.js';

const args = process.argv.slice(2);
/** The integer after `flag` (at least `min`), or `fallback`; exits 2 naming the flag otherwise. */
function integerFlag(flag: string, fallback: number, min: number): number {
  const i = args.indexOf(flag);
  if (i < 0) return fallback;
  const raw = args.splice(i, 2)[1];
  const v = Number(raw);
  if (raw === undefined || !(Number.isInteger(v) && v >= min)) {
    console.error(`${flag}: expected an integer of at least ${min}, got ${raw ?? 'nothing'}`);
    process.exit(2);
  }
  return v;
}
const seeds = integerFlag('--num_seeds', 30, 1);
const replicates = integerFlag('--replicates', 0, 0);
let benchmark: BenchmarkDefinition;
let blackbox: Blackbox;
try {
  benchmark = getBenchmark(args[0] ?? 'fcnet-penguins');
  blackbox = await benchmarkBlackbox(benchmark);
} catch (e) {
  // an unknown benchmark, or its data missing: the message, no stack
  if (!(e instanceof UserError)) throw e;
  console.error(e.message);
  process.exit(2);
}
const maxT = blackbox.fidelityValues[blackbox.fidelityValues.length - 1];
// ASHA's and MOBSTER's defaults: grace period 1, reduction factor 3
const levels = new Set([...rungLevels(1, 3, maxT), maxT]);
const sign = benchmark.mode === 'min' ? 1 : -1;
const median = (xs: number[]) => quantileSorted([...xs].sort((a, b) => a - b), 0.5);
const f = (x: number) => Number(x.toPrecision(4));

if (blackbox instanceof TabularBlackbox) {
  // every (config, seed) curve of the table: its best at any resource and its best at the levels
  const { configurations, numSeeds, fidelityValues, objectiveNames } = blackbox.data;
  const m = objectiveNames.indexOf(benchmark.metric);
  const curves: { any: number; atLevels: number }[] = [];
  for (let row = 0; row < configurations.length; row++) {
    for (let s = 0; s < numSeeds; s++) {
      const c = blackbox.rowCurve(row, s);
      let any = Infinity;
      let atLevels = Infinity;
      fidelityValues.forEach((r, k) => {
        const y = sign * c[k * objectiveNames.length + m];
        any = Math.min(any, y);
        if (levels.has(r)) atLevels = Math.min(atLevels, y);
      });
      curves.push({ any, atLevels });
    }
  }
  const top = curves.sort((a, b) => a.any - b.any).slice(0, Math.max(1, Math.round(curves.length / 100)));
  const gap = top.reduce((s, c) => s + (c.atLevels - c.any), 0) / top.length;
  console.log(`${benchmark.name}'s table: on its best 1 % of curves (${top.length} of ${curves.length}, by the best value at any resource), the best value at the levels ${[...levels].join(', ')} is worse by ${f(gap)} on average`);
}

/** The final best value per seed of a method under one master seed, at the benchmark's default budget. */
async function finals(method: string, masterSeed: number, root: string, each?: (folder: string, run: Run) => void): Promise<Run[]> {
  const out: Run[] = [];
  for (let seed = 0; seed < seeds; seed++) {
    const o = await runExperiment({ tag: 'd', method: getMethod(method), benchmark, seed, masterSeed, resultsRoot: root, saveTuner: false, log: () => {} });
    const run: Run = { any: sign * o.summary!.best!.value, atLevels: Infinity, atMax: Infinity, trials: o.summary!.numTrials, reachedMax: 0, model: o.metadata.suggestions?.model ?? 0 };
    each?.(o.folder, run);
    out.push(run);
    rmSync(o.folder, { recursive: true, force: true });
  }
  return out;
}

interface Run {
  any: number;
  atLevels: number;
  atMax: number;
  trials: number;
  reachedMax: number;
  model: number;
}
const root = mkdtempSync(join(tmpdir(), 'tunelab-mobster-diagnosis-'));
const runs = new Map<string, Run[]>();
const replicateMedians = new Map<string, number[]>([
  ['ASHA', []],
  ['MOBSTER', []],
]);
try {
  /** what a run's results file says beyond its best: the best at the levels and at the maximal resource */
  const readLevels = (folder: string, run: Run) => {
    for (const row of readExperiment(folder).rows) {
      const r = Number(row[blackbox.fidelityName]);
      const y = sign * Number(row[benchmark.metric]);
      if (levels.has(r)) run.atLevels = Math.min(run.atLevels, y);
      if (r === maxT) {
        run.atMax = Math.min(run.atMax, y);
        run.reachedMax++;
      }
    }
  };
  // the quality bench's settings (master seed 2026), so that its figures and these are the same runs
  for (const name of ['ASHA', 'MOBSTER']) runs.set(name, await finals(name, 2026, root, readLevels));
  for (const [name, medians] of replicateMedians) {
    for (let k = 1; k <= replicates; k++) medians.push(median((await finals(name, 2026 + k, root)).map((r) => sign * r.any)));
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

const [asha, mobster] = [runs.get('ASHA')!, runs.get('MOBSTER')!];
const measures: [string, (r: Run) => number, boolean][] = [
  ['best at any resource (the quality bench)', (r) => sign * r.any, true],
  ['best at the rung levels and max', (r) => sign * r.atLevels, true],
  [`best at the maximal resource (${maxT})`, (r) => sign * r.atMax, true],
  ['trials started', (r) => r.trials, false],
  [`trials that reached ${maxT}`, (r) => r.reachedMax, false],
  ['configs from the model', (r) => r.model, false],
];
console.log(`\n${benchmark.name}: ASHA and MOBSTER over ${seeds} seeds (master seed 2026, the default budget of ${benchmark.maxWallclockTime} simulated s)`);
console.log(
  formatTable(
    ['measure', 'ASHA median', 'MOBSTER median', 'Mann-Whitney p', 'seeds where MOBSTER is better'],
    measures.map(([label, get, isValue]) => {
      const a = asha.map(get);
      const b = mobster.map(get);
      const better = isValue ? b.filter((v, i) => sign * v < sign * a[i]).length : '–';
      return [label, f(median(a)), f(median(b)), mannWhitneyP(a, b).toFixed(3), better];
    }),
  ),
);
if (replicates > 0) {
  console.log(`\neach method against itself: its median over the same ${seeds} seeds under master seeds 2027–${2026 + replicates}`);
  for (const [name, medians] of replicateMedians) {
    const sorted = [...medians].sort((a, b) => a - b);
    console.log(`  ${name}: ${sorted.map(f).join(', ')} (range ${f(sorted[0])}–${f(sorted[sorted.length - 1])})`);
  }
}
