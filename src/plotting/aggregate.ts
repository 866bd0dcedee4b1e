import { type Rng, createRng } from '../util/rng.js';
import type { Run } from './load.js';

export type Aggregation = 'iqm' | 'mean' | 'median';

export interface CurvePoint {
  benchmark: string;
  setup: string;
  /** seconds of st_tuner_time */
  time: number;
  center: number;
  lower: number;
  upper: number;
  /** runs with a result by this time */
  n: number;
}

/** Best-so-far of a run at time t (forward filled), or undefined before its first result. */
export function bestSoFarAt(run: Run, t: number): number | undefined {
  let best: number | undefined;
  for (let i = 0; i < run.times.length && run.times[i] <= t; i++) {
    const v = run.values[i];
    if (best === undefined || (run.mode === 'min' ? v < best : v > best)) best = v;
  }
  return best;
}

/** Best-so-far at each time of an increasing grid, in one pass over the run. */
function bestSoFarOnGrid(run: Run, grid: number[]): (number | undefined)[] {
  const out: (number | undefined)[] = [];
  let best: number | undefined;
  let i = 0;
  for (const t of grid) {
    for (; i < run.times.length && run.times[i] <= t; i++) {
      const v = run.values[i];
      if (best === undefined || (run.mode === 'min' ? v < best : v > best)) best = v;
    }
    out.push(best);
  }
  return out;
}

/** Linear quantile (numpy's default) of sorted values. */
export function quantileSorted(s: number[], q: number): number {
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
}

/** Interquartile mean: the mean of the values left after trimming floor(n/4) from each end. */
export function iqm(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const k = Math.floor(s.length / 4);
  const mid = s.slice(k, s.length - k);
  return mid.reduce((a, b) => a + b, 0) / mid.length;
}

/** Centre and band of values across seeds. */
export function summarise(values: number[], agg: Aggregation, rng: Rng, bootstrap = 1000): { center: number; lower: number; upper: number } {
  const n = values.length;
  const s = [...values].sort((a, b) => a - b);
  if (agg === 'median') return { center: quantileSorted(s, 0.5), lower: quantileSorted(s, 0.25), upper: quantileSorted(s, 0.75) };
  if (agg === 'mean') {
    const mean = values.reduce((a, b) => a + b, 0) / n;
    const se = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) / n) : 0;
    return { center: mean, lower: mean - se, upper: mean + se };
  }
  // IQM with a percentile-bootstrap 95 % band (typed arrays: this runs for every grid point)
  const stats = new Float64Array(bootstrap);
  const sample = new Float64Array(n);
  const k = Math.floor(n / 4);
  for (let b = 0; b < bootstrap; b++) {
    for (let i = 0; i < n; i++) sample[i] = values[Math.floor(rng.next() * n)];
    sample.sort();
    let sum = 0;
    for (let i = k; i < n - k; i++) sum += sample[i];
    stats[b] = sum / (n - 2 * k);
  }
  stats.sort();
  return { center: iqm(values), lower: quantileSorted(Array.from(stats), 0.025), upper: quantileSorted(Array.from(stats), 0.975) };
}

/** Per (benchmark, setup): the aggregated best-so-far curve on a common time grid of `points` times. */
export function aggregateCurves(runs: Run[], options: { agg?: Aggregation; points?: number; seed?: number } = {}): CurvePoint[] {
  const agg = options.agg ?? 'iqm';
  const points = options.points ?? 100;
  const rng = createRng(`plot-bootstrap:${options.seed ?? 0}`);
  const out: CurvePoint[] = [];
  for (const benchmark of unique(runs.map((r) => r.benchmark))) {
    const bruns = runs.filter((r) => r.benchmark === benchmark);
    const end = Math.max(...bruns.map((r) => r.times[r.times.length - 1] ?? 0));
    const grid = Array.from({ length: points }, (_, i) => (end * (i + 1)) / points);
    for (const setup of unique(bruns.map((r) => r.setup))) {
      const sruns = bruns.filter((r) => r.setup === setup);
      const onGrid = sruns.map((r) => bestSoFarOnGrid(r, grid));
      grid.forEach((time, g) => {
        const values = onGrid.map((v) => v[g]).filter((v): v is number => v !== undefined);
        if (values.length === 0) return;
        out.push({ benchmark, setup, time, ...summarise(values, agg, rng), n: values.length });
      });
    }
  }
  return out;
}

export interface AcrossBenchmarks {
  /** per setup and fraction of the time budget: mean normalised regret and mean rank over benchmarks */
  curves: { setup: string; fraction: number; regret: number; rank: number }[];
  /** per setup at the end: mean rank and mean normalised regret */
  final: { setup: string; rank: number; regret: number }[];
}

/**
 * Normalised regret (0 = best value any method reached on the benchmark, 1 = the worst initial value)
 * and the average rank of the setups' aggregated curves, over benchmarks.
 */
export function acrossBenchmarks(runs: Run[], curves: CurvePoint[]): AcrossBenchmarks {
  const setups = unique(curves.map((c) => c.setup));
  const benchmarks = unique(curves.map((c) => c.benchmark));
  const points = Math.max(...benchmarks.map((b) => unique(curves.filter((c) => c.benchmark === b).map((c) => c.time)).length));
  const acc = new Map<string, { regret: number[]; rank: number[] }[]>(setups.map((s) => [s, Array.from({ length: points }, () => ({ regret: [], rank: [] }))]));
  for (const b of benchmarks) {
    const bruns = runs.filter((r) => r.benchmark === b);
    const mode = bruns[0].mode;
    const better = (x: number, y: number) => (mode === 'min' ? x < y : x > y);
    let best = bruns[0].values[0];
    let worst = bruns[0].values[0];
    for (const r of bruns) {
      for (const v of r.values) if (better(v, best)) best = v;
      if (r.values.length && better(worst, r.values[0])) worst = r.values[0];
    }
    const span = Math.abs(worst - best) || 1;
    const times = unique(curves.filter((c) => c.benchmark === b).map((c) => c.time)).sort((x, y) => x - y);
    times.forEach((t, i) => {
      const at = curves.filter((c) => c.benchmark === b && c.time === t);
      for (const c of at) {
        const regret = Math.abs(c.center - best) / span;
        // rank: 1 + number of setups strictly better at this time (ties share the better rank)
        const rank = 1 + at.filter((o) => better(o.center, c.center)).length;
        const slot = acc.get(c.setup)![Math.min(points - 1, Math.round(((i + 1) / times.length) * points) - 1)];
        slot.regret.push(regret);
        slot.rank.push(rank);
      }
    });
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const out: AcrossBenchmarks = { curves: [], final: [] };
  for (const s of setups) {
    acc.get(s)!.forEach((slot, i) => {
      if (slot.regret.length) out.curves.push({ setup: s, fraction: (i + 1) / points, regret: mean(slot.regret), rank: mean(slot.rank) });
    });
    const last = [...acc.get(s)!].reverse().find((slot) => slot.regret.length)!;
    out.final.push({ setup: s, rank: mean(last.rank), regret: mean(last.regret) });
  }
  out.final.sort((a, b) => a.rank - b.rank || a.regret - b.regret);
  return out;
}

export function finalTableMarkdown(final: AcrossBenchmarks['final']): string {
  const f = (x: number) => x.toFixed(3);
  return ['| setup | mean rank | mean normalised regret |', '|---|---|---|', ...final.map((r) => `| ${r.setup} | ${f(r.rank)} | ${f(r.regret)} |`)].join('\n') + '\n';
}

export function finalTableCsv(final: AcrossBenchmarks['final']): string {
  return ['setup,mean_rank,mean_regret', ...final.map((r) => `${r.setup},${r.rank},${r.regret}`)].join('\n') + '\n';
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
