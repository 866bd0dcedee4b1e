import { MinHeap } from '../util/heap.js';
import { RankTree } from '../util/rank-tree.js';
import type { RngState } from '../util/rng.js';
import type { RungDecision, RungDecisionKind } from '../results/decisions.js';
import type { Decision, Mode, SearchProblem, Searcher, Suggestion, TrialResult, TrialScheduler } from './types.js';
import { metricValue } from './types.js';

export interface HyperbandOptions {
  /** 'stopping': a trial below the top 1/η at a rung is stopped. 'promotion': trials pause at rungs and the best get promoted. */
  type: 'stopping' | 'promotion';
  /** The largest resource a trial can reach (e.g. the number of epochs). */
  maxT: number;
  /** Smallest rung level (default 1). */
  gracePeriod?: number;
  /** η (default 3). */
  reductionFactor?: number;
  /** 1 = ASHA; more = asynchronous Hyperband, bracket b starting at rung b. */
  brackets?: number;
}

interface RungEntry {
  value: number;
  /** promotion type: the trial left this rung (promoted) or can never leave it (failed) */
  done: boolean;
}

/** A paused trial at a rung, ordered by its value (smaller key is better) and then by arrival. */
interface Waiting {
  key: number;
  seq: number;
  trialId: number;
}
const waitingLess = (a: Waiting, b: Waiting) => a.key < b.key || (a.key === b.key && a.seq < b.seq);

/**
 * The trials that reached one rung level. Every decision needs a rank among all values recorded
 * here (strictly better ones counted), and promotion the best trial not yet done: a rank tree and a
 * heap make both O(log n) instead of a pass over the rung.
 */
class Rung {
  /** by trial id, in arrival order (the order checkpoints store) */
  readonly entries = new Map<number, RungEntry>();
  private readonly ranks = new RankTree();
  private readonly waiting = new MinHeap<Waiting>(waitingLess);

  /** `sign` turns values into keys where smaller is better (1 for min, -1 for max). */
  constructor(private readonly sign: number) {}

  get size(): number {
    return this.entries.size;
  }

  add(trialId: number, entry: RungEntry): void {
    const key = this.sign * entry.value;
    if (!entry.done) this.waiting.push({ key, seq: this.entries.size, trialId });
    this.entries.set(trialId, entry);
    this.ranks.insert(key);
  }

  /** Number of values recorded here strictly better than `value`. */
  rank(value: number): number {
    return this.ranks.countBelow(this.sign * value);
  }

  /** Why `value` goes on or not when `keep` of the rung go on: its rank and the keep-th best value. */
  reason(level: number, value: number, keep: number, decision: RungDecisionKind, trialId: number): RungDecision {
    const threshold = keep > 0 ? this.sign * this.ranks.select(keep - 1)! : null;
    return { trialId, value, level, rank: this.rank(value) + 1, size: this.size, keep, threshold, decision };
  }

  /**
   * The best trial not done, if it is in the top `quota` (fewer than `quota` values better than its
   * own), marked done. The best such trial has the smallest rank, so no other one can qualify.
   */
  promote(quota: number): number | undefined {
    for (;;) {
      const top = this.waiting.peek();
      if (!top) return undefined;
      const entry = this.entries.get(top.trialId)!;
      // a failed trial is marked done where it is; its heap item is dropped when it surfaces
      if (entry.done) {
        this.waiting.pop();
        continue;
      }
      if (this.ranks.countBelow(top.key) >= quota) return undefined;
      this.waiting.pop();
      entry.done = true;
      return top.trialId;
    }
  }
}

interface TrialInfo {
  bracket: number;
  /** index into the bracket's rungs of the next rung the trial has not reached yet */
  nextRung: number;
}

/** The rung levels of a scheduler's options (`who` names it in the errors), each option checked first. */
export function checkedRungLevels(who: string, maxT: number, gracePeriod: number, reductionFactor: number): number[] {
  if (!(maxT >= 1)) throw new Error(`${who}: maxT must be >= 1, got ${maxT}`);
  if (!(gracePeriod >= 1 && gracePeriod <= maxT)) throw new Error(`${who}: gracePeriod must be in [1, maxT=${maxT}], got ${gracePeriod}`);
  if (!(reductionFactor >= 2)) throw new Error(`${who}: reductionFactor must be >= 2, got ${reductionFactor}`);
  return rungLevels(gracePeriod, reductionFactor, maxT);
}

/** Rung levels round(gracePeriod · η^k) below maxT. */
export function rungLevels(gracePeriod: number, reductionFactor: number, maxT: number): number[] {
  const levels: number[] = [];
  for (let k = 0; ; k++) {
    const level = Math.round(gracePeriod * Math.pow(reductionFactor, k));
    if (level >= maxT) break;
    if (levels[levels.length - 1] !== level) levels.push(level);
  }
  return levels;
}

/**
 * Asynchronous successive halving (ASHA) and asynchronous Hyperband, stopping and promotion variants.
 * Rungs keep the metric value of every trial that reached them; decisions compare against those.
 */
export class HyperbandScheduler implements TrialScheduler {
  readonly metric: string;
  readonly mode: Mode;
  readonly type: 'stopping' | 'promotion';
  readonly maxT: number;
  readonly gracePeriod: number;
  readonly reductionFactor: number;
  readonly levels: number[];
  readonly numBrackets: number;
  /** rungs[bracket][k] holds trials that reached level levels[bracket + k] */
  private rungs: Rung[][];
  private trials = new Map<number, TrialInfo>();
  private readonly bracketWeights: number[];
  /** Decisions made since takeDecisions last took them. */
  private decided: RungDecision[] = [];

  constructor(
    private readonly problem: SearchProblem,
    private readonly searcher: Searcher,
    options: HyperbandOptions,
  ) {
    this.metric = problem.metric;
    this.mode = problem.mode;
    this.type = options.type;
    this.maxT = options.maxT;
    this.gracePeriod = options.gracePeriod ?? 1;
    this.reductionFactor = options.reductionFactor ?? 3;
    const brackets = options.brackets ?? 1;
    this.levels = checkedRungLevels('hyperband', this.maxT, this.gracePeriod, this.reductionFactor);
    const maxBrackets = Math.max(1, this.levels.length);
    if (!Number.isInteger(brackets) || brackets < 1 || brackets > maxBrackets) {
      throw new Error(`hyperband: brackets must be an integer in [1, ${maxBrackets}] for rung levels [${this.levels.join(', ')}], got ${brackets}`);
    }
    this.numBrackets = brackets;
    this.rungs = this.emptyRungs();
    // asynchronous Hyperband: bracket b gets the share of trials it would start in synchronous Hyperband
    const B = brackets;
    this.bracketWeights = Array.from({ length: B }, (_, b) => (B / (B - b)) * Math.pow(this.reductionFactor, B - 1 - b));
  }

  private emptyRungs(): Rung[][] {
    const sign = this.mode === 'min' ? 1 : -1;
    return Array.from({ length: this.numBrackets }, (_, b) => this.bracketLevels(b).map(() => new Rung(sign)));
  }

  private bracketLevels(bracket: number): number[] {
    return this.levels.slice(bracket);
  }

  private sampleBracket(): number {
    if (this.numBrackets === 1) return 0;
    const total = this.bracketWeights.reduce((a, b) => a + b, 0);
    let u = this.problem.rng.next() * total;
    for (let b = 0; b < this.numBrackets; b++) {
      u -= this.bracketWeights[b];
      if (u < 0) return b;
    }
    return this.numBrackets - 1;
  }

  suggest(trialId: number, allowNew = true): Suggestion | undefined {
    if (this.type === 'promotion') {
      const promoted = this.findPromotable();
      if (promoted !== undefined) {
        this.searcher.onTrialResumed(promoted);
        return { resume: promoted };
      }
    }
    if (!allowNew) return undefined;
    const bracket = this.sampleBracket();
    const config = this.searcher.suggest(trialId, { level: this.levels[bracket] ?? this.maxT });
    if (!config) return undefined;
    this.trials.set(trialId, { bracket, nextRung: 0 });
    return { config };
  }

  /** Best paused trial in the top 1/η of its rung, searching rungs from the highest down. */
  private findPromotable(): number | undefined {
    for (let b = 0; b < this.numBrackets; b++) {
      const rungs = this.rungs[b];
      for (let k = rungs.length - 1; k >= 0; k--) {
        const quota = Math.floor(rungs[k].size / this.reductionFactor);
        if (quota === 0) continue;
        const promoted = rungs[k].promote(quota);
        if (promoted !== undefined) {
          this.decided.push(rungs[k].reason(this.bracketLevels(b)[k], rungs[k].entries.get(promoted)!.value, quota, 'promote', promoted));
          return promoted;
        }
      }
    }
    return undefined;
  }

  onTrialResult(trialId: number, result: TrialResult): Decision {
    const value = metricValue(result, this.metric);
    // the searcher sees every metric (for outcome constraints); rung decisions use the objective alone
    this.searcher.onTrialResult(trialId, result.resource, value, result.metrics);
    const info = this.trials.get(trialId);
    if (!info) throw new Error(`hyperband: result for unknown trial ${trialId}`);
    if (result.resource >= this.maxT) return 'continue';
    const levels = this.bracketLevels(info.bracket);
    let decision: Decision = 'continue';
    while (info.nextRung < levels.length && result.resource >= levels[info.nextRung]) {
      const rung = this.rungs[info.bracket][info.nextRung];
      // a result past the next rung too (a sparse fidelity, or a report a crash lost) carries the trial
      // past this one: it never waits here, so it is never promoted from here (it runs, or waits higher)
      const passed = info.nextRung + 1 < levels.length && result.resource >= levels[info.nextRung + 1];
      rung.add(trialId, { value, done: passed });
      info.nextRung++;
      const level = levels[info.nextRung - 1];
      if (this.type === 'stopping') {
        // continue only if in the top ceil(n/η) of the values recorded at this rung so far
        const keep = Math.ceil(rung.size / this.reductionFactor);
        const here: Decision = rung.rank(value) >= keep ? 'stop' : 'continue';
        if (here === 'stop') decision = 'stop';
        this.decided.push(rung.reason(level, value, keep, here, trialId));
      } else {
        decision = 'pause';
        // a trial carried past this rung goes on through it; it pauses at the last one it reached
        this.decided.push(rung.reason(level, value, Math.floor(rung.size / this.reductionFactor), passed ? 'continue' : 'pause', trialId));
      }
    }
    if (decision === 'stop') this.searcher.onTrialIdle(trialId, 'stopped');
    if (decision === 'pause') this.searcher.onTrialIdle(trialId, 'paused');
    return decision;
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
    // a failed trial keeps its recorded values (they are real observations) but is never promoted
    for (const rungs of this.rungs) for (const rung of rungs) {
      const e = rung.entries.get(trialId);
      if (e) e.done = true;
    }
    this.searcher.onTrialIdle(trialId, 'failed');
  }

  /** Per rung level: how many trials reached it (summed over brackets). */
  informationForRungs(): { level: number; count: number }[] {
    return this.levels.map((level) => {
      let count = 0;
      for (let b = 0; b < this.numBrackets; b++) {
        const k = this.bracketLevels(b).indexOf(level);
        if (k >= 0) count += this.rungs[b][k].size;
      }
      return { level, count };
    });
  }

  suggestionCounts() {
    return this.searcher.suggestionCounts?.();
  }

  metadata() {
    return {
      scheduler: 'hyperband',
      type: this.type,
      metric: this.metric,
      mode: this.mode,
      max_t: this.maxT,
      grace_period: this.gracePeriod,
      reduction_factor: this.reductionFactor,
      brackets: this.numBrackets,
      rung_levels: this.levels,
      ...this.searcher.metadata(),
    };
  }

  state() {
    return {
      rng: this.problem.rng.state(),
      searcher: this.searcher.state(),
      trials: [...this.trials],
      rungs: this.rungs.map((rs) => rs.map((r) => [...r.entries])),
    };
  }

  restore(state: unknown) {
    const s = state as {
      rng: RngState;
      searcher: unknown;
      trials: [number, TrialInfo][];
      rungs: [number, RungEntry][][][];
    };
    if (s.rungs.length !== this.numBrackets || s.rungs.some((rs, b) => rs.length !== this.rungs[b].length)) {
      throw new Error('hyperband: checkpoint has different brackets or rung levels');
    }
    this.problem.rng.setState(s.rng);
    this.searcher.restore(s.searcher);
    this.trials = new Map(s.trials.map(([id, t]) => [id, { ...t }]));
    this.rungs = this.emptyRungs();
    s.rungs.forEach((rs, b) => rs.forEach((r, k) => r.forEach(([id, e]) => this.rungs[b][k].add(id, { ...e }))));
  }
}
