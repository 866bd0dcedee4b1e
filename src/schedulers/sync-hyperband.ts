import type { RngState } from '../util/rng.js';
import type { RungDecision } from '../results/decisions.js';
import { rungLevels } from './hyperband.js';
import type { Decision, Mode, SearchProblem, Searcher, Suggestion, TrialResult, TrialScheduler } from './types.js';
import { metricValue } from './types.js';

export interface SyncHyperbandOptions {
  maxT: number;
  /** Smallest resource (default 1). */
  gracePeriod?: number;
  /** η (default 3). */
  reductionFactor?: number;
}

/** One rung of one bracket: how many trials it runs, to which level, and their values there. */
interface SyncRung {
  size: number;
  level: number;
  /** trial id → value at the level (Infinity: failed), in arrival order */
  values: Map<number, number>;
}

/**
 * The brackets of synchronous Hyperband (Li et al. 2018): bracket s of s_max..0 starts
 * n = ⌈(s_max + 1)/(s + 1) · η^s⌉ configs at level r_{s_max − s}; each rung waits until all its
 * trials reported at its level, then the best ⌊n_i / η⌋ continue to the next level; brackets run
 * one after another, and round again.
 */
export function hyperbandBrackets(levels: readonly number[], eta: number): { size: number; level: number }[][] {
  const sMax = levels.length - 1;
  const out: { size: number; level: number }[][] = [];
  for (let s = sMax; s >= 0; s--) {
    const n = Math.ceil(((sMax + 1) / (s + 1)) * Math.pow(eta, s));
    out.push(Array.from({ length: s + 1 }, (_, i) => ({ size: Math.max(1, Math.floor(n * Math.pow(eta, -i))), level: levels[sMax - s + i] })));
  }
  return out;
}

/**
 * Synchronous Hyperband: trials pause at their rung's level; when the whole rung has reported, the
 * best continue (resumed), the others stay paused for good; a worker waits (nothing to suggest)
 * while a rung is incomplete — the idle time asynchronous methods avoid, and the baseline BOHB and
 * DEHB papers compare against.
 */
export class SyncHyperbandScheduler implements TrialScheduler {
  readonly metric: string;
  readonly mode: Mode;
  readonly brackets: { size: number; level: number }[][];
  private readonly sign: number;
  /** position: bracket index (cycling), rung index within it */
  private bracket = 0;
  private rung = 0;
  private rungs: SyncRung[] = [];
  /** trials of the current rung not yet started (new configs) or resumed (promotions) */
  private toResume: number[] = [];
  private started = 0;
  private readonly trialRung = new Map<number, number>();
  /** Decisions made since takeDecisions last took them. */
  private decided: RungDecision[] = [];

  constructor(
    private readonly problem: SearchProblem,
    private readonly searcher: Searcher,
    readonly options: SyncHyperbandOptions,
  ) {
    this.metric = problem.metric;
    this.mode = problem.mode;
    this.sign = problem.mode === 'min' ? 1 : -1;
    const eta = options.reductionFactor ?? 3;
    const levels = [...rungLevels(options.gracePeriod ?? 1, eta, options.maxT), options.maxT];
    this.brackets = hyperbandBrackets(levels, eta);
    this.startBracket(0);
  }

  private startBracket(b: number): void {
    this.bracket = b % this.brackets.length;
    this.rung = 0;
    this.rungs = this.brackets[this.bracket].map((r) => ({ ...r, values: new Map() }));
    this.toResume = [];
    this.started = 0;
  }

  suggest(trialId: number, allowNew = true): Suggestion | undefined {
    if (this.rung > 0) {
      const id = this.toResume.shift();
      if (id === undefined) return undefined;
      this.trialRung.set(id, this.rung);
      this.searcher.onTrialResumed(id);
      return { resume: id };
    }
    if (!allowNew || this.started >= this.rungs[0].size) return undefined;
    const config = this.searcher.suggest(trialId, { level: this.rungs[0].level });
    if (!config) return undefined;
    this.started++;
    this.trialRung.set(trialId, 0);
    return { config };
  }

  onTrialResult(trialId: number, result: TrialResult): Decision {
    const value = metricValue(result, this.metric);
    this.searcher.onTrialResult(trialId, result.resource, value, result.metrics);
    const k = this.trialRung.get(trialId);
    if (k === undefined || k !== this.rung) return 'continue';
    const rung = this.rungs[k];
    if (result.resource < rung.level) return 'continue';
    rung.values.set(trialId, this.sign * value);
    // the last rung's level is maxT: the trial ends there by itself
    const last = k === this.rungs.length - 1;
    this.advanceIfComplete();
    if (last) return 'continue';
    this.searcher.onTrialIdle(trialId, 'paused');
    return 'pause';
  }

  /** When every trial of the current rung reported (or failed), promote the best ⌊n/η⌋ — or start the next bracket. */
  private advanceIfComplete(): void {
    const rung = this.rungs[this.rung];
    if (rung.values.size < rung.size) return;
    if (this.rung === this.rungs.length - 1) return this.startBracket(this.bracket + 1);
    const next = this.rungs[this.rung + 1];
    const ranked = [...rung.values].filter(([, v]) => v < Infinity).sort((a, b) => a[1] - b[1] || a[0] - b[0]);
    const best = ranked.slice(0, next.size);
    // every trial of the rung learns its fate now: the best next.size go on, the others stay paused for good
    const threshold = best.length > 0 ? this.sign * best[best.length - 1][1] : null;
    let rank = 0;
    ranked.forEach(([trialId, key], i) => {
      // ties share the better rank
      if (i === 0 || key !== ranked[i - 1][1]) rank = i + 1;
      this.decided.push({ trialId, value: this.sign * key, level: rung.level, rank, size: rung.values.size, keep: next.size, threshold, decision: i < best.length ? 'promote' : 'stop' });
    });
    this.rung++;
    next.size = best.length;
    this.toResume = best.map(([id]) => id);
    if (best.length === 0) this.startBracket(this.bracket + 1);
  }

  takeDecisions(): RungDecision[] {
    const taken = this.decided;
    this.decided = [];
    return taken;
  }

  onTrialComplete(trialId: number): void {
    this.searcher.onTrialIdle(trialId, 'completed');
  }

  onTrialError(trialId: number): void {
    const k = this.trialRung.get(trialId);
    this.searcher.onTrialIdle(trialId, 'failed');
    if (k === undefined || k !== this.rung) return;
    this.rungs[k].values.set(trialId, Infinity);
    this.advanceIfComplete();
  }

  metadata() {
    return { scheduler: 'sync-hyperband', metric: this.metric, mode: this.mode, max_t: this.options.maxT, brackets: this.brackets, ...this.searcher.metadata() };
  }

  state() {
    return {
      rng: this.problem.rng.state(),
      searcher: this.searcher.state(),
      bracket: this.bracket,
      rung: this.rung,
      rungs: this.rungs.map((r) => ({ size: r.size, level: r.level, values: [...r.values] })),
      toResume: this.toResume,
      started: this.started,
      trialRung: [...this.trialRung],
    };
  }

  restore(state: unknown): void {
    const s = state as ReturnType<SyncHyperbandScheduler['state']> & { rng: RngState };
    this.problem.rng.setState(s.rng);
    this.searcher.restore(s.searcher);
    this.bracket = s.bracket;
    this.rung = s.rung;
    this.rungs = s.rungs.map((r) => ({ size: r.size, level: r.level, values: new Map(r.values) }));
    this.toResume = [...s.toResume];
    this.started = s.started;
    this.trialRung.clear();
    for (const [id, k] of s.trialRung) this.trialRung.set(id, k);
  }
}
