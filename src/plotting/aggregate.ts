import { type Rng, createRng } from '../util/rng.js';
import type { Run } from './load.js';

export type Aggregation = 'iqm' | 'mean' | 'median';

export interface CurvePoint {
  benchmark: string;
  setup: string;
  /** seconds of st_tuner_time */
  time: number;
  /** the grid's (i+1)/points: time as a fraction of the benchmark's time axis (its runs' last result) */
  fraction: number;
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
        out.push({ benchmark, setup, time, fraction: (g + 1) / points, ...summarise(values, agg, rng), n: values.length });
      });
    }
  }
  return out;
}

/** One point of an across-benchmark curve: at this fraction of every benchmark's time axis. */
export interface AcrossPoint {
  setup: string;
  fraction: number;
  /** mean rank over the compared benchmarks; a setup without a result yet on one ranks last there */
  rank: number;
  /** mean normalised regret, only once the setup has a result on every compared benchmark */
  regret?: number;
}

export interface FinalRow {
  setup: string;
  /** benchmarks the setup has runs on */
  benchmarks: number;
  /** benchmarks that rank and regret average over: the ones every setup has runs on */
  compared: number;
  rank?: number;
  regret?: number;
}

export interface AcrossBenchmarks {
  curves: AcrossPoint[];
  /** per setup at the end of the time axis, best rank first */
  final: FinalRow[];
  /** the benchmarks every setup ran on */
  shared: string[];
  /** why some benchmarks are left out of the comparison */
  warnings: string[];
}

/**
 * The scale of normalised regret on one benchmark: 0 = the best value any run reached, 1 = the median
 * over runs of their first result. The median, not the worst first result: one run's poor first
 * evaluation would otherwise squash every curve to the bottom of the axis.
 */
export function regretReference(runs: Run[]): { best: number; reference: number } {
  const mode = runs[0].mode;
  let best = NaN;
  for (const r of runs) for (const v of r.values) if (Number.isNaN(best) || (mode === 'min' ? v < best : v > best)) best = v;
  const firsts = runs.filter((r) => r.values.length > 0).map((r) => r.values[0]).sort((a, b) => a - b);
  return { best, reference: quantileSorted(firsts, 0.5) };
}

/**
 * Normalised regret (see regretReference) and the rank of the setups' aggregated curves, averaged over
 * the benchmarks every setup ran on. Each point is every benchmark's value at the same fraction of its
 * own time axis (the grid index of aggregateCurves), never a value from another time.
 */
export function acrossBenchmarks(runs: Run[], curves: CurvePoint[]): AcrossBenchmarks {
  const setups = unique(curves.map((c) => c.setup));
  const benchmarks = unique(curves.map((c) => c.benchmark));
  const ranOn = new Map(setups.map((s) => [s, new Set(curves.filter((c) => c.setup === s).map((c) => c.benchmark))]));
  const shared = benchmarks.filter((b) => setups.every((s) => ranOn.get(s)!.has(b)));
  const warnings: string[] = [];
  if (shared.length < benchmarks.length) {
    const lacking = setups.filter((s) => ranOn.get(s)!.size < benchmarks.length).map((s) => `${s} lacks ${benchmarks.filter((b) => !ranOn.get(s)!.has(b)).join(', ')}`);
    warnings.push(
      shared.length > 0
        ? `rank and regret across benchmarks compare the setups on the ${shared.length} of ${benchmarks.length} benchmarks they all ran on (${shared.join(', ')}): ${lacking.join('; ')}`
        : `no benchmark was run by every setup, so there is no rank or regret across benchmarks: ${lacking.join('; ')}`,
    );
  }
  const key = (b: string, s: string, f: number) => `${b}\u0000${s}\u0000${f}`;
  const center = new Map(curves.map((c) => [key(c.benchmark, c.setup, c.fraction), c.center]));
  const scale = new Map(shared.map((b) => [b, regretReference(runs.filter((r) => r.benchmark === b))]));
  const mode = new Map(shared.map((b) => [b, runs.find((r) => r.benchmark === b)!.mode]));
  const fractions = unique(curves.filter((c) => shared.includes(c.benchmark)).map((c) => c.fraction)).sort((x, y) => x - y);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const out: AcrossBenchmarks = { curves: [], final: [], shared, warnings };
  for (const f of fractions) {
    const ranks = new Map(setups.map((s) => [s, [] as number[]]));
    const regrets = new Map(setups.map((s) => [s, [] as number[]]));
    const started = new Set<string>();
    for (const b of shared) {
      const { best, reference } = scale.get(b)!;
      const better = (x: number, y: number) => (mode.get(b) === 'min' ? x < y : x > y);
      const values = setups.map((s) => center.get(key(b, s, f)));
      const present = values.filter((v): v is number => v !== undefined);
      setups.forEach((s, i) => {
        const v = values[i];
        // ties share the better rank; no result yet ranks after every setup that has one
        ranks.get(s)!.push(1 + (v === undefined ? present.length : present.filter((o) => better(o, v)).length));
        if (v === undefined) return;
        started.add(s);
        regrets.get(s)!.push((v - best) / (reference - best || 1));
      });
    }
    for (const s of setups) {
      if (!started.has(s)) continue;
      const r = regrets.get(s)!;
      out.curves.push({ setup: s, fraction: f, rank: mean(ranks.get(s)!), ...(r.length === shared.length ? { regret: mean(r) } : {}) });
    }
  }
  for (const s of setups) {
    const mine = out.curves.filter((c) => c.setup === s);
    const last = mine[mine.length - 1];
    out.final.push({ setup: s, benchmarks: ranOn.get(s)!.size, compared: shared.length, rank: last?.rank, regret: last?.regret });
  }
  const undef = (x: number | undefined) => x ?? Infinity;
  out.final.sort((a, b) => undef(a.rank) - undef(b.rank) || undef(a.regret) - undef(b.regret) || (a.setup < b.setup ? -1 : 1));
  return out;
}

/** The final best value of every run of one (benchmark, setup), summarised over seeds. */
export interface FinalValue {
  benchmark: string;
  setup: string;
  metric: string;
  mode: 'min' | 'max';
  seeds: number;
  iqm: number;
  q25: number;
  q75: number;
}

/** Per (benchmark, setup): the IQM and interquartile range over seeds of each run's best value. */
export function finalValues(runs: Run[]): FinalValue[] {
  const out: FinalValue[] = [];
  for (const benchmark of unique(runs.map((r) => r.benchmark))) {
    for (const setup of unique(runs.filter((r) => r.benchmark === benchmark).map((r) => r.setup))) {
      const sruns = runs.filter((r) => r.benchmark === benchmark && r.setup === setup && r.values.length > 0);
      if (sruns.length === 0) continue;
      const { metric, mode } = sruns[0];
      const bests = sruns.map((r) => (mode === 'min' ? Math.min(...r.values) : Math.max(...r.values))).sort((a, b) => a - b);
      out.push({ benchmark, setup, metric, mode, seeds: bests.length, iqm: iqm(bests), q25: quantileSorted(bests, 0.25), q75: quantileSorted(bests, 0.75) });
    }
  }
  return out;
}

/** A table as header and string cells: what the Markdown, CSV and HTML renderings share. */
export interface Table {
  header: string[];
  rows: string[][];
}

const fmt = (x: number | undefined) => (x === undefined ? '' : x.toPrecision(4));

/**
 * The final table: per setup its mean rank and regret over the compared benchmarks, how many benchmarks
 * that is of the ones it ran on, and per benchmark its final best value (IQM and IQR over seeds).
 */
export function finalTable(final: FinalRow[], values: FinalValue[] = []): Table {
  const benchmarks = unique(values.map((v) => v.benchmark));
  const cell = new Map(values.map((v) => [`${v.benchmark}\u0000${v.setup}`, v]));
  return {
    header: ['setup', 'mean rank', 'mean normalised regret', 'benchmarks compared / run', ...benchmarks.map((b) => { const v = values.find((x) => x.benchmark === b)!; return `${b}: best ${v.metric} (${v.mode}), IQM (IQR) over seeds`; })],
    rows: final.map((r) => [
      r.setup,
      r.rank === undefined ? '' : r.rank.toFixed(3),
      r.regret === undefined ? '' : r.regret.toFixed(3),
      `${r.compared} / ${r.benchmarks}`,
      ...benchmarks.map((b) => {
        const v = cell.get(`${b}\u0000${r.setup}`);
        return v ? `${fmt(v.iqm)} (${fmt(v.q25)}–${fmt(v.q75)}), ${v.seeds} seeds` : '';
      }),
    ]),
  };
}

export function markdownTable(t: Table): string {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(t.header), `|${t.header.map(() => '---').join('|')}|`, ...t.rows.map(line)].join('\n') + '\n';
}

export function finalTableMarkdown(final: FinalRow[], values: FinalValue[] = []): string {
  return markdownTable(finalTable(final, values));
}

/** The final table as CSV: numbers unformatted, one column per statistic. */
export function finalTableCsv(final: FinalRow[], values: FinalValue[] = []): string {
  const benchmarks = unique(values.map((v) => v.benchmark));
  const cell = new Map(values.map((v) => [`${v.benchmark}\u0000${v.setup}`, v]));
  const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const header = ['setup', 'mean_rank', 'mean_regret', 'benchmarks_compared', 'benchmarks_run', ...benchmarks.flatMap((b) => ['iqm', 'q25', 'q75', 'seeds'].map((k) => `${b}_${k}`))];
  const rows = final.map((r): (string | number)[] => [
    r.setup,
    r.rank ?? '',
    r.regret ?? '',
    r.compared,
    r.benchmarks,
    ...benchmarks.flatMap((b): (string | number)[] => {
      const v = cell.get(`${b}\u0000${r.setup}`);
      return v ? [v.iqm, v.q25, v.q75, v.seeds] : ['', '', '', ''];
    }),
  ]);
  return [header, ...rows].map((cells) => cells.map((c) => quote(String(c))).join(',')).join('\n') + '\n';
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
