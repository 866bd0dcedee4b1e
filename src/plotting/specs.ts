import type { TopLevelSpec } from 'vega-lite';
import { type Rng, createRng } from '../util/rng.js';
import { type AcrossBenchmarks, type CurvePoint, quantileSorted } from './aggregate.js';

// two panels side by side in a 1400 px window
const WIDTH = 480;
const HEIGHT = 300;
/** The word figures and tables use for a method as run in a study (the CLI's --setups). */
const SETUP = 'setup';

/**
 * Readable at the figure's size: labels of 13 px, titles of 14–17 px. Headless vega measures text
 * without a canvas and overestimates it (about 0.8 em a character): a y title line longer than about
 * 25 characters outgrows the plot's height and opens a gap under the figure's title, and a subtitle
 * longer than about 60 widens the figure: both are kept short.
 */
const CONFIG = {
  font: 'sans-serif',
  axis: { labelFontSize: 13, titleFontSize: 14, titleFontWeight: 'normal' as const },
  legend: { labelFontSize: 13, titleFontSize: 14, labelLimit: 260 },
  title: { fontSize: 17, subtitleFontSize: 13, anchor: 'start' as const, subtitleColor: '#555' },
};

const LINE_LEGEND = { symbolType: 'stroke', symbolOpacity: 1, symbolStrokeWidth: 3, symbolFillColor: 'transparent' };

const base = (title: string, subtitle: string) => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: { text: title, subtitle },
  width: WIDTH,
  height: HEIGHT,
  config: CONFIG,
});

/** How a metric's axis is drawn: linear (an accuracy or a loss reads best so), log only when asked and possible. */
export interface MetricAxis {
  /** Log scale, when every value is positive (`--log_y`). */
  logY?: boolean;
  /** The x title: whose clock the seconds are on (default 'tuner time (s)'). */
  timeTitle?: string;
}

function metricScale(values: number[], axis: MetricAxis): { type: 'log' | 'linear'; zero?: boolean } {
  return axis.logY && values.every((v) => v > 0) ? { type: 'log' } : { type: 'linear', zero: false };
}

/** "simulated time (s)" when every run replayed a benchmark, "wall-clock time (s)" when every run was real, else the tuner's time. */
export function timeTitle(backends: readonly unknown[]): string {
  const simulated = (b: unknown) => b === undefined || b === 'simulator';
  if (backends.every(simulated)) return 'simulated time (s)';
  if (!backends.some(simulated)) return 'wall-clock time (s)';
  return 'tuner time (s): simulated or wall-clock by run';
}

/** One panel: the aggregated best-so-far of every setup on one benchmark, with its band. */
export function benchmarkSpec(benchmark: string, metric: string, points: CurvePoint[], bandLabel: string, axis: MetricAxis = {}): TopLevelSpec {
  const data = points.filter((p) => p.benchmark === benchmark);
  const scale = metricScale(data.flatMap((p) => [p.lower, p.upper, p.center]), axis);
  return {
    ...base(benchmark, `best ${metric} so far: line ${bandLabel.split(',')[0]}, band ${bandLabel.split(', ')[1] ?? bandLabel} over seeds`),
    data: { values: data },
    encoding: {
      x: { field: 'time', type: 'quantitative', title: axis.timeTitle ?? 'tuner time (s)' },
      // the legend shows the line, not the pale band that vega would otherwise draw in it
      color: { field: 'setup', type: 'nominal', title: SETUP, legend: LINE_LEGEND },
    },
    layer: [
      { mark: { type: 'area', opacity: 0.18 }, encoding: { y: { field: 'lower', type: 'quantitative', scale, title: `best ${metric}` }, y2: { field: 'upper' } } },
      { mark: { type: 'line', strokeWidth: 2 }, encoding: { y: { field: 'center', type: 'quantitative', scale } } },
    ],
  } as TopLevelSpec;
}

/** A run's trials as the history plot shows them: each trial's value at its time, per setup. */
export interface HistoryRun {
  setup: string;
  times: readonly number[];
  values: readonly number[];
}

/**
 * One run per setup (no seeds to aggregate over): Optuna's optimization history, every trial's value
 * as a point and the best so far as a step line, per setup.
 */
export function historySpec(benchmark: string, metric: string, mode: 'min' | 'max', runs: readonly HistoryRun[], what: string, axis: MetricAxis = {}): TopLevelSpec {
  const points = runs.flatMap((r) => r.times.map((time, i) => ({ setup: r.setup, time, value: r.values[i] })));
  const best = runs.flatMap((r) => {
    let b = NaN;
    return r.times.map((time, i) => {
      if (Number.isNaN(b) || (mode === 'min' ? r.values[i] < b : r.values[i] > b)) b = r.values[i];
      return { setup: r.setup, time, best: b };
    });
  });
  const scale = metricScale(points.map((p) => p.value), axis);
  return {
    ...base(benchmark, `${what}; line: the best so far`),
    encoding: { x: { field: 'time', type: 'quantitative', title: axis.timeTitle ?? 'tuner time (s)' }, color: { field: 'setup', type: 'nominal', title: SETUP, legend: LINE_LEGEND } },
    layer: [
      { data: { values: points }, mark: { type: 'point', opacity: 0.6, filled: true, size: 30 }, encoding: { y: { field: 'value', type: 'quantitative', scale, title: metric } } },
      { data: { values: best }, mark: { type: 'line', strokeWidth: 2, interpolate: 'step-after' }, encoding: { y: { field: 'best', type: 'quantitative', scale } } },
    ],
  } as TopLevelSpec;
}

/** A per-setup line over the fraction of the time budget, for a measure aggregated over benchmarks. */
function acrossSpec(values: object[], title: string, subtitle: string, field: 'regret' | 'rank', yTitle: string[], scale: object, interpolate?: 'step-after'): TopLevelSpec {
  return {
    ...base(title, subtitle),
    data: { values },
    mark: { type: 'line', strokeWidth: 2, ...(interpolate ? { interpolate } : {}) },
    encoding: {
      x: { field: 'fraction', type: 'quantitative', title: "fraction of each benchmark's time axis", axis: { format: '.0%' } },
      y: { field, type: 'quantitative', scale, title: yTitle },
      color: { field: 'setup', type: 'nominal', title: SETUP, legend: LINE_LEGEND },
    },
  } as TopLevelSpec;
}

/** Linear regret: 0 = the best value found on the benchmark, 1 = the median first result of its runs. */
export const regretSpec = (across: AcrossBenchmarks) =>
  acrossSpec(
    across.curves.filter((c) => c.regret !== undefined),
    'normalised regret, mean over benchmarks',
    `${across.shared.length} benchmark(s), linear scale; no value before a result on each`,
    'regret',
    ['regret: 0 = best found,', '1 = median first result'],
    { type: 'linear', zero: true },
  );

/** Rank from 1 to the number of setups, with a margin so that the best and worst lines clear the axes. */
export const rankSpec = (across: AcrossBenchmarks) => {
  const n = new Set(across.curves.map((c) => c.setup)).size;
  const scale = { domain: [0.9, n + 0.1], nice: false, zero: false };
  return acrossSpec(across.curves, 'rank, mean over benchmarks', `over ${across.shared.length} benchmarks; ties share the better rank`, 'rank', ['mean rank (1 = best,', 'no result yet = last)'], scale, 'step-after');
};

export interface LearningCurvesOptions extends MetricAxis {
  /** At most this many trials drawn (default 80): the spec and its SVG stay small. */
  maxTrials?: number;
  /** At most this many results a trial (default 20), log-spaced over its results: early epochs change most. */
  pointsPerTrial?: number;
  /** The y axis spans these quantiles of the values (default 2 % and 98 %); values outside are drawn at its edge. */
  clip?: [number, number];
  seed?: number | string;
  /** How each ended trial ended (readExperiment's trialEnds); a trial not in it is coloured by its last row. */
  trialEnds?: ReadonlyMap<number, string>;
}

/**
 * Learning curves of one experiment's trials, coloured by how the trial ended. A study's run holds
 * thousands of trials: up to maxTrials are drawn, half of them (when there are so many) among those that
 * reached the highest resource, the others among the rest, each a seeded random sample; each trial is
 * thinned to pointsPerTrial results; values keep 4 significant digits.
 */
export function learningCurvesSpec(title: string, resourceAttr: string, metric: string, rows: Record<string, unknown>[], options: LearningCurvesOptions = {}): TopLevelSpec {
  const maxTrials = options.maxTrials ?? 80;
  const pointsPerTrial = options.pointsPerTrial ?? 20;
  const [qlo, qhi] = options.clip ?? [0.02, 0.98];
  const ended = new Map<unknown, string>();
  const reached = new Map<unknown, number>();
  for (const r of rows) {
    if (typeof r[metric] !== 'number' || typeof r[resourceAttr] !== 'number') continue;
    ended.set(r.trial_id, options.trialEnds?.get(Number(r.trial_id)) ?? String(r.st_decision === 'stop' ? 'stopped' : r.st_status));
    reached.set(r.trial_id, Math.max(reached.get(r.trial_id) ?? -Infinity, r[resourceAttr] as number));
  }
  const top = Math.max(...reached.values());
  const rng = createRng(`learning-curves:${options.seed ?? 0}`);
  const full = shuffle([...reached.keys()].filter((t) => reached.get(t) === top), rng);
  const rest = shuffle([...reached.keys()].filter((t) => reached.get(t) !== top), rng);
  // half of the curves from each group (what early stopping ended and what it let finish), the rest from either
  const keptFull = Math.min(full.length, Math.max(maxTrials - rest.length, Math.ceil(maxTrials / 2)));
  const kept = new Set([...full.slice(0, keptFull), ...rest.slice(0, maxTrials - keptFull)]);
  const round = (x: number) => Number(x.toPrecision(4));
  const byTrial = new Map<unknown, Record<string, unknown>[]>();
  for (const r of rows) {
    if (kept.has(r.trial_id) && typeof r[metric] === 'number' && typeof r[resourceAttr] === 'number') byTrial.set(r.trial_id, [...(byTrial.get(r.trial_id) ?? []), r]);
  }
  const values = [...byTrial.values()].flatMap((trial) =>
    thin(trial, pointsPerTrial).map((r, i, kept) => ({ trial_id: r.trial_id, resource: r[resourceAttr], value: round(r[metric] as number), ended: ended.get(r.trial_id), ...(i === kept.length - 1 ? { last: true } : {}) })),
  );
  const sorted = values.map((v) => v.value).sort((a, b) => a - b);
  const domain = [quantileSorted(sorted, qlo), quantileSorted(sorted, qhi)];
  const pct = (q: number) => `${Math.round(q * 100)}`;
  return {
    ...base(title, `${kept.size} of ${reached.size} trials: ${keptFull} of ${full.length} reaching ${resourceAttr} ${top}, ${kept.size - keptFull} others`),
    data: { values },
    encoding: {
      x: { field: 'resource', type: 'quantitative', title: resourceAttr },
      y: { field: 'value', type: 'quantitative', scale: { ...metricScale(domain, options), domain, clamp: true }, title: [metric, `(${pct(qlo)}–${pct(qhi)} % quantiles)`] },
      color: { field: 'ended', type: 'nominal', title: 'trial ended', legend: LINE_LEGEND },
    },
    layer: [
      { mark: { type: 'line', strokeWidth: 1, opacity: 0.6, clip: true }, encoding: { detail: { field: 'trial_id', type: 'nominal' } } },
      // where each trial ended: a trial stopped after its first result is a point, no line
      { transform: [{ filter: 'datum.last' }], mark: { type: 'point', size: 14, filled: true, opacity: 0.8, clip: true } },
    ],
  } as TopLevelSpec;
}

/** n of the items at log-spaced positions (distinct, dense at the start), always the first and the last. */
function thin<T>(xs: T[], n: number): T[] {
  if (xs.length <= n) return xs;
  const out: T[] = [];
  for (let i = 0, prev = -1; i < n; i++) {
    prev = Math.min(xs.length - (n - i), Math.max(prev + 1, Math.round(Math.exp((Math.log(xs.length) * i) / (n - 1))) - 1));
    out.push(xs[prev]);
  }
  return out;
}

function shuffle<T>(xs: T[], rng: Rng): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/** A point of a run's final Pareto front, for the scatter of fronts per setup. */
export interface FrontScatterPoint {
  setup: string;
  seed: number;
  trial: number;
  x: number;
  y: number;
}

/** The final Pareto fronts of a benchmark's runs (first two objectives), one colour per setup, a step line per run. */
export function paretoSpec(title: string, x: { metric: string; mode: 'min' | 'max' }, y: { metric: string; mode: 'min' | 'max' }, points: FrontScatterPoint[]): TopLevelSpec {
  const dir = (o: { mode: 'min' | 'max' }) => (o.mode === 'min' ? 'lower is better' : 'higher is better');
  const enc = {
    x: { field: 'x', type: 'quantitative' as const, title: `${x.metric} (${dir(x)})`, scale: { zero: false } },
    y: { field: 'y', type: 'quantitative' as const, title: `${y.metric} (${dir(y)})`, scale: { zero: false } },
    color: { field: SETUP, type: 'nominal' as const, title: SETUP },
  };
  return {
    ...base(title, 'final Pareto front of each run (every seed)'),
    data: { values: points.map((p) => ({ ...p, [SETUP]: p.setup })) },
    layer: [
      { mark: { type: 'line', interpolate: x.mode === y.mode ? 'step-after' : 'step-before', opacity: 0.35 }, encoding: { ...enc, detail: { field: 'seed', type: 'nominal' as const }, order: { field: 'x', type: 'quantitative' as const } } },
      { mark: { type: 'point', filled: true, size: 40 }, encoding: { ...enc, tooltip: [{ field: SETUP }, { field: 'seed' }, { field: 'trial' }, { field: 'x', title: x.metric }, { field: 'y', title: y.metric }] } },
    ],
  } as TopLevelSpec;
}
