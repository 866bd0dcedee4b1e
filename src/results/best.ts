import { type HypervolumeSetting, dominates, normalise, normalisedHypervolume } from './pareto.js';
import { Staircase2D } from './staircase.js';

/**
 * The one definition of a trial's value and of an experiment's best, for every reader (run's summary
 * and progress, `best`, `status`, studies, plots, the notebook API), so that they all give one answer.
 *
 * - `last`: a trial's value is its last report (what its checkpoint holds); the best trial is the one
 *   whose last report is best. The default of `tunelab run -f` and of studies.
 * - `any`: a trial's value is its best report at any resource (Syne Tune's plots); the default of
 *   simulated benchmarks, whose tables hold every epoch.
 *
 * A report that violates a constraint is infeasible: under `any` it never counts, under `last` a trial
 * whose last report is infeasible has no feasible value.
 */
export type BestRule = 'last' | 'any';
export const BEST_RULES: readonly BestRule[] = ['last', 'any'];

/** The rule a folder's metadata says (`best`), else the default of what wrote it: `last` for an experiment file's run, `any` for a benchmark's. */
export function bestRuleOf(metadata: Readonly<Record<string, unknown>>): BestRule {
  if (metadata.best === 'last' || metadata.best === 'any') return metadata.best;
  return metadata.experiment !== undefined ? 'last' : 'any';
}

/** A report as the tracker sees it: `order` is its position in time (row index), `value` NaN when missing. */
export interface Report<T> {
  trialId: number;
  value: number;
  feasible: boolean;
  order: number;
  /** what the caller wants back for the best (a row, a result) */
  item: T;
}

const isBetter = (mode: 'min' | 'max', a: number, b: number) => (mode === 'min' ? a < b : a > b);
const counts = (r: Report<unknown>) => r.feasible && !Number.isNaN(r.value);

/**
 * What a tracker may assume of its reports. `oncePerTrial`: each trial reports once and a failed
 * trial never (a study's observations: one per suggestion). Then a trial's value never changes, so
 * the tracker holds only the best (the front), not every trial's value: a study of a million
 * observations costs it nothing per observation.
 */
export interface TrackerOptions {
  oncePerTrial?: boolean;
}

/**
 * Tracks each trial's value and the best trial as reports come, in time order. A failed trial has no
 * value (as in SigOpt and Optuna). A report costs O(1), except that when the best trial's value gets
 * worse (`last`) or it fails, the next `best()` looks over the trials once.
 */
export class BestTracker<T> {
  private bestReport: Report<T> | undefined;
  private readonly valueOf = new Map<number, Report<T>>();
  private readonly failed = new Set<number>();
  private stale = false;

  constructor(
    readonly rule: BestRule,
    readonly mode: 'min' | 'max',
    private readonly options: TrackerOptions = {},
  ) {}

  /** Ties go to the earlier report. */
  private beats(a: Report<T>, b: Report<T> | undefined): boolean {
    return counts(a) && (!b || isBetter(this.mode, a.value, b.value) || (a.value === b.value && a.order < b.order));
  }

  /** The report that holds a trial's value once `r` came: the last one, or the best that counts (else the last). */
  private pick(held: Report<T> | undefined, r: Report<T>): Report<T> {
    if (this.rule === 'last' || !held || !counts(held)) return r;
    return counts(r) && isBetter(this.mode, r.value, held.value) ? r : held;
  }

  add(r: Report<T>): void {
    if (this.options.oncePerTrial) {
      if (this.beats(r, this.bestReport)) this.bestReport = r;
      return;
    }
    if (this.failed.has(r.trialId)) return;
    const held = this.valueOf.get(r.trialId);
    const next = this.pick(held, r);
    if (next === held) return;
    this.valueOf.set(r.trialId, next);
    if (this.stale) return;
    if (this.bestReport?.trialId === r.trialId) {
      if (this.beats(next, this.bestReport)) this.bestReport = next;
      else this.stale = true;
    } else if (this.beats(next, this.bestReport)) this.bestReport = next;
  }

  /** The trial failed: it has no value, whatever it reported. */
  fail(trialId: number): void {
    if (this.options.oncePerTrial) return;
    this.failed.add(trialId);
    this.valueOf.delete(trialId);
    if (this.bestReport?.trialId === trialId) this.stale = true;
  }

  /** The report that makes the best trial's value; undefined when no trial has a feasible value. */
  best(): Report<T> | undefined {
    if (this.stale) {
      this.stale = false;
      this.bestReport = undefined;
      for (const r of this.valueOf.values()) if (this.beats(r, this.bestReport)) this.bestReport = r;
    }
    return this.bestReport;
  }

  /** Every trial's value report (its last report when none counts), by trial id; failed trials are left out. */
  values(): ReadonlyMap<number, Report<T>> {
    return this.valueOf;
  }

  /** Continues from a checkpoint's `values()`. */
  restore(values: readonly Report<T>[]): void {
    this.valueOf.clear();
    for (const r of values) this.valueOf.set(r.trialId, r);
    this.stale = true;
  }
}

/** Reports in time order, some trials failed: each trial's value and the best trial's report. */
export function bestOfReports<T>(reports: Iterable<Report<T>>, failed: Iterable<number>, rule: BestRule, mode: 'min' | 'max'): BestTracker<T> {
  const tracker = new BestTracker<T>(rule, mode);
  for (const r of reports) tracker.add(r);
  for (const id of failed) tracker.fail(id);
  return tracker;
}

/** The trials a folder's metadata.json lists as failed (`failed_trials`, written by `run` and `study export`). */
export function failedTrialIds(metadata: Readonly<Record<string, unknown>>): Set<number> {
  const list = Array.isArray(metadata.failed_trials) ? (metadata.failed_trials as { trial_id?: unknown }[]) : [];
  return new Set(list.map((f) => Number(f.trial_id)).filter((id) => Number.isInteger(id)));
}

/**
 * The points a run's best-so-far curve goes through, in time order, so that it ends at the run's best:
 * under `any` every report, under `last` each trial's value at the time of its last report; failed
 * trials' reports are left out.
 */
export function curvePoints(times: ArrayLike<number>, trialIds: ArrayLike<number>, values: ArrayLike<number>, rule: BestRule, failed: ReadonlySet<number>): { times: Float64Array; values: Float64Array } {
  let idx: number[];
  if (rule === 'any') idx = Array.from({ length: times.length }, (_, i) => i).filter((i) => !failed.has(trialIds[i]));
  else {
    const lastAt = new Map<number, number>();
    for (let i = 0; i < trialIds.length; i++) if (!failed.has(trialIds[i])) lastAt.set(trialIds[i], i);
    idx = [...lastAt.values()].sort((a, b) => a - b);
  }
  return { times: Float64Array.from(idx, (i) => times[i]), values: Float64Array.from(idx, (i) => values[i]) };
}

/**
 * With several objectives a report carries a point: the objectives' values signed so that smaller
 * is better (src/results/pareto.ts `signed`), NaN where one is missing.
 */
export interface PointReport<T> {
  trialId: number;
  point: number[];
  feasible: boolean;
  order: number;
  item: T;
}

const pointCounts = (r: PointReport<unknown>) => r.feasible && !r.point.some(Number.isNaN);
const samePoint = (a: readonly number[], b: readonly number[]) => a.every((v, k) => v === b[k]);

/**
 * The best of several objectives: the Pareto front of the trials' values, under the same rules as
 * one objective (`last`: a trial's value is its last report; `any`: each of its feasible reports is
 * a point, so a trial may be on the front at several resources). Infeasible and failed ones never
 * count; of equal points the earlier report is kept. A report costs O(front size), except that when
 * a front member's value changes (`last`) or its trial fails, the next `front()` looks over the
 * trials once.
 */
export class ParetoTracker<T> {
  /** per trial: its last report (`last`), or its own non-dominated feasible reports (`any`) */
  private readonly pointsOf = new Map<number, PointReport<T>[]>();
  private readonly failed = new Set<number>();
  private current: PointReport<T>[] = [];
  private stale = false;

  constructor(
    readonly rule: BestRule,
    private readonly options: TrackerOptions = {},
  ) {}

  /** Inserts r into a front unless a member dominates or equals it; drops the members it dominates. */
  private static insert<T>(front: PointReport<T>[], r: PointReport<T>): boolean {
    if (!pointCounts(r)) return false;
    for (const f of front) if (dominates(f.point, r.point) || samePoint(f.point, r.point)) return false;
    let w = 0;
    for (const f of front) if (!dominates(r.point, f.point)) front[w++] = f;
    front.length = w;
    front.push(r);
    return true;
  }

  /**
   * Adds a report; says what became of the front: `joined` (r is on it now, the members it dominates
   * gone), `none` (unchanged), `stale` (a member's value changed: the next `front()` recomputes it).
   */
  add(r: PointReport<T>): 'joined' | 'none' | 'stale' {
    if (this.options.oncePerTrial) return ParetoTracker.insert(this.current, r) ? 'joined' : 'none';
    if (this.failed.has(r.trialId)) return 'none';
    const held = this.pointsOf.get(r.trialId);
    if (this.rule === 'last' || !held) {
      const wasOnFront = held !== undefined && this.current.includes(held[0]);
      this.pointsOf.set(r.trialId, [r]);
      if (wasOnFront) this.stale = true;
    } else if (!ParetoTracker.insert(held, r)) return 'none';
    if (this.stale) return 'stale';
    return ParetoTracker.insert(this.current, r) ? 'joined' : 'none';
  }

  /** The trial failed: it has no value, whatever it reported. */
  fail(trialId: number): void {
    if (this.options.oncePerTrial) return;
    this.failed.add(trialId);
    this.pointsOf.delete(trialId);
    if (this.current.some((f) => f.trialId === trialId)) this.stale = true;
  }

  /** The reports on the Pareto front, in time order; empty when no trial has a feasible value. */
  front(): PointReport<T>[] {
    if (this.stale) {
      this.stale = false;
      const all = [...this.pointsOf.values()].flat().sort((a, b) => a.order - b.order);
      this.current = [];
      for (const r of all) ParetoTracker.insert(this.current, r);
    }
    return [...this.current].sort((a, b) => a.order - b.order);
  }

  /** Every trial's points (its last report under `last`), by trial id; failed trials are left out. Empty with `oncePerTrial`. */
  values(): ReadonlyMap<number, readonly PointReport<T>[]> {
    return this.pointsOf;
  }

  /** Continues from a checkpoint's `values()`, flattened. */
  restore(values: readonly PointReport<T>[]): void {
    this.pointsOf.clear();
    for (const r of values) {
      const held = this.pointsOf.get(r.trialId);
      if (held) held.push(r);
      else this.pointsOf.set(r.trialId, [r]);
    }
    this.stale = true;
  }
}

/** Reports in time order, some trials failed: the Pareto front of the trials' values. */
export function paretoOfReports<T>(reports: Iterable<PointReport<T>>, failed: Iterable<number>, rule: BestRule): ParetoTracker<T> {
  const tracker = new ParetoTracker<T>(rule);
  for (const r of reports) tracker.add(r);
  for (const id of failed) tracker.fail(id);
  return tracker;
}

/**
 * A run's hypervolume over time, the curve plots aggregate over seeds when there are several
 * objectives (as best-so-far for one): a point at each report that changes the front, failed trials'
 * reports left out (as `curvePoints`). Under `any` it never decreases.
 *
 * The front's volume is not recomputed at every report: only a report that joins the front changes
 * it. In 2-D the new point's exclusive contribution is added to a staircase of the front
 * (Staircase2D: O(log n) plus the steps it removes); in 3-D the front's volume is recomputed by HV3D
 * (O(n log n) in the front's size) when the front changed. A front member's value changing (`last`)
 * rebuilds the front once.
 */
export function hypervolumeCurve<T>(reports: Iterable<PointReport<T> & { time: number }>, failed: ReadonlySet<number>, rule: BestRule, setting: HypervolumeSetting): { times: Float64Array; values: Float64Array } {
  const tracker = new ParetoTracker<T>(rule);
  const times: number[] = [];
  const values: number[] = [];
  const twoD = setting.reference.length === 2;
  const staircase = () => new Staircase2D(setting.reference[0], setting.reference[1]);
  let stairs = staircase();
  let hv = 0;
  let last = -1;
  for (const r of reports) {
    if (failed.has(r.trialId)) continue;
    const change = tracker.add(r);
    if (change === 'joined' && twoD) {
      const [x, y] = normalise(r.point, setting);
      stairs.add(x, y);
      hv = stairs.volume;
    } else if (change === 'stale' && twoD) {
      stairs = staircase();
      for (const f of tracker.front()) {
        const [x, y] = normalise(f.point, setting);
        stairs.add(x, y);
      }
      hv = stairs.volume;
    } else if (change !== 'none') hv = normalisedHypervolume(tracker.front().map((f) => f.point), setting);
    if (hv !== last || times.length === 0) {
      times.push(r.time);
      values.push(hv);
      last = hv;
    }
  }
  return { times: Float64Array.from(times), values: Float64Array.from(values) };
}
