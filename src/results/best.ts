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
