import { crowdingDistance, lexInsertionIndex, ranksInOrder, signed } from '../results/pareto.js';
import type { RngState } from '../util/rng.js';
import { checkedRungLevels } from './hyperband.js';
import { type Decision, type Mode, objectivesOf, type ResultScalar, type SearchProblem, type Searcher, type Suggestion, type TrialResult, type TrialScheduler } from './types.js';
import { metricValue } from './types.js';

export interface MOASHAOptions {
  /** The largest resource a trial can reach (e.g. the number of epochs). */
  maxT: number;
  /** Smallest rung level (default 1). */
  gracePeriod?: number;
  /** η (default 3). */
  reductionFactor?: number;
}

/**
 * The points recorded at one rung level (signed objectives), kept in arrival order and in
 * lexicographic order, so that placing a new point costs one pass of non-dominated sorting over
 * sorted points (O(n log fronts) in 2-D) plus the crowding distances of its own front.
 */
export class Rung {
  /** arrival order (what checkpoints store) */
  readonly entries: { trialId: number; point: number[] }[] = [];
  private readonly sorted: number[][] = [];
  /** arrival index of each sorted point */
  private readonly seqOf: number[] = [];

  private order = new Int32Array(0);

  get size(): number {
    return this.entries.length;
  }

  /** 0 .. size − 1, grown by doubling (the sorted points are their own order). */
  private identity(): Int32Array {
    const n = this.sorted.length;
    if (this.order.length < n) this.order = Int32Array.from({ length: 2 * n }, (_, i) => i);
    return this.order.subarray(0, n);
  }

  /**
   * Records a point and returns its position in the rung's order (0 = best): by front, then by
   * crowding distance within the front (larger first), an earlier arrival first on ties. With
   * `place` false (restoring a checkpoint) the position is not computed (-1).
   */
  add(trialId: number, point: number[], place = true): number {
    const at = lexInsertionIndex(this.sorted, point);
    this.sorted.splice(at, 0, point);
    this.seqOf.splice(at, 0, this.entries.length);
    this.entries.push({ trialId, point });
    if (!place) return -1;
    const ranks = ranksInOrder(this.sorted, this.identity());
    const f = ranks[at];
    let before = 0;
    const front: number[] = [];
    for (let i = 0; i < ranks.length; i++) {
      if (ranks[i] < f) before++;
      else if (ranks[i] === f) front.push(i);
    }
    // in arrival order, as the tie-breaks of crowdingDistance and of the rung order go by it
    front.sort((a, b) => this.seqOf[a] - this.seqOf[b]);
    const crowd = crowdingDistance(front.map((i) => this.sorted[i]));
    const mine = crowd[front.indexOf(at)];
    // the new point arrived last: within its front, every other point with crowding ≥ its own is before it
    for (let j = 0; j < front.length; j++) if (front[j] !== at && crowd[j] >= mine) before++;
    return before;
  }
}

/**
 * MO-ASHA (Schmucker et al. 2021, "Multi-objective Asynchronous Successive Halving"): ASHA of the
 * stopping type whose rung ranking is by several objectives. A trial reaching a rung continues when
 * its position among the rung's recorded points is in the top ceil(n/η), positions being by
 * non-dominated front and, within a front, by crowding distance (NSGA-II's tie-break, one of the
 * two the paper evaluates; the other is the ε-net). The new trial's position is its place in that
 * total order of the rung (ties in crowding go to the earlier arrival). One bracket, as the paper.
 */
export class MOASHAScheduler implements TrialScheduler {
  readonly metric: string;
  readonly mode: Mode;
  readonly maxT: number;
  readonly gracePeriod: number;
  readonly reductionFactor: number;
  readonly levels: number[];
  private rungs: Rung[];
  /** per trial: index of the next rung it has not reached */
  private nextRung = new Map<number, number>();
  /** per trial: the position its latest result took at the rung it reached (none: that result reached no rung) */
  private readonly lastPosition = new Map<number, number>();
  /**
   * The results column `mo_asha_rank`: the position (0 = best) a result took among its rung's points
   * by front and crowding, the trial continuing when it is below ⌈n/η⌉; empty for a result at no rung.
   */
  readonly scalar: ResultScalar = { column: 'mo_asha_rank', of: (trialId) => this.lastPosition.get(trialId) };

  constructor(
    private readonly problem: SearchProblem,
    private readonly searcher: Searcher,
    options: MOASHAOptions,
  ) {
    this.metric = problem.metric;
    this.mode = problem.mode;
    this.maxT = options.maxT;
    this.gracePeriod = options.gracePeriod ?? 1;
    this.reductionFactor = options.reductionFactor ?? 3;
    this.levels = checkedRungLevels('MO-ASHA', this.maxT, this.gracePeriod, this.reductionFactor);
    this.rungs = this.levels.map(() => new Rung());
  }

  suggest(trialId: number, allowNew = true): Suggestion | undefined {
    if (!allowNew) return undefined;
    const config = this.searcher.suggest(trialId, { level: this.levels[0] ?? this.maxT });
    if (!config) return undefined;
    this.nextRung.set(trialId, 0);
    return { config };
  }

  onTrialResult(trialId: number, result: TrialResult): Decision {
    this.searcher.onTrialResult(trialId, result.resource, metricValue(result, this.metric), result.metrics);
    let next = this.nextRung.get(trialId);
    if (next === undefined) throw new Error(`MO-ASHA: result for unknown trial ${trialId}`);
    this.lastPosition.delete(trialId);
    if (result.resource >= this.maxT) return 'continue';
    const point = signed(objectivesOf(this.problem), result.metrics);
    let decision: Decision = 'continue';
    while (next < this.levels.length && result.resource >= this.levels[next]) {
      const rung = this.rungs[next];
      next++;
      // a point lacking an objective is stopped and not recorded (NaN would make the order arbitrary)
      if (point.some(Number.isNaN)) {
        decision = 'stop';
        continue;
      }
      const position = rung.add(trialId, point);
      this.lastPosition.set(trialId, position);
      if (position >= Math.ceil(rung.size / this.reductionFactor)) decision = 'stop';
    }
    this.nextRung.set(trialId, next);
    if (decision === 'stop') this.searcher.onTrialIdle(trialId, 'stopped');
    return decision;
  }

  onTrialComplete(trialId: number): void {
    this.searcher.onTrialIdle(trialId, 'completed');
  }

  onTrialError(trialId: number): void {
    this.searcher.onTrialIdle(trialId, 'failed');
  }

  suggestionCounts() {
    return this.searcher.suggestionCounts?.();
  }

  metadata() {
    return {
      scheduler: 'mo-asha',
      type: 'stopping',
      objectives: objectivesOf(this.problem),
      tie_break: 'crowding distance',
      max_t: this.maxT,
      grace_period: this.gracePeriod,
      reduction_factor: this.reductionFactor,
      rung_levels: this.levels,
      ...this.searcher.metadata(),
    };
  }

  state() {
    return { rng: this.problem.rng.state(), searcher: this.searcher.state(), next_rung: [...this.nextRung], rungs: this.rungs.map((r) => r.entries) };
  }

  restore(state: unknown) {
    const s = state as { rng: RngState; searcher: unknown; next_rung: [number, number][]; rungs: { trialId: number; point: (number | null)[] }[][] };
    if (s.rungs.length !== this.levels.length) throw new Error('MO-ASHA: checkpoint has different rung levels');
    this.problem.rng.setState(s.rng);
    this.searcher.restore(s.searcher);
    this.nextRung = new Map(s.next_rung);
    this.rungs = s.rungs.map((r) => {
      const rung = new Rung();
      for (const e of r) rung.add(e.trialId, e.point as number[], false);
      return rung;
    });
  }
}
