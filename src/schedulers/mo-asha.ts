import { crowdingDistance, lexInsertionIndex, ranksInOrder, signed } from '../results/pareto.js';
import type { RngState } from '../util/rng.js';
import { partitionPoint } from '../util/sorted.js';
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

/** A point of a 2-D rung in its front: coordinates, arrival index. */
interface Member {
  x: number;
  y: number;
  seq: number;
  point: number[];
}

/**
 * The points recorded at one rung level (signed objectives), kept in arrival order (what checkpoints
 * store) and placed in the rung's order: by non-dominated front, then by crowding distance within the
 * front (larger first), an earlier arrival first on ties.
 *
 * In 2-D the fronts are kept from one arrival to the next, each a staircase sorted by the first
 * objective: the new point's front is found by binary search (the fronts that dominate it form a
 * prefix, and a staircase dominates it when its last member left of it does), the members it
 * dominates move one front down, the members those dominate one more, and so on. A point costs
 * O(log² n) plus the members moved and the crowding distances of its own front, where sorting the
 * whole rung again cost O(n log n). With more objectives the rung is sorted again for each point.
 */
export class Rung {
  /** arrival order (what checkpoints store) */
  readonly entries: { trialId: number; point: number[] }[] = [];
  /** 2-D: the fronts, best first, each sorted by x (y then strictly decreasing, equal points adjacent) */
  private readonly fronts: Member[][] = [];
  /** more objectives: the points in lexicographic order, and the arrival index of each */
  private readonly sorted: number[][] = [];
  private readonly seqOf: number[] = [];
  private order = new Int32Array(0);

  get size(): number {
    return this.entries.length;
  }

  /**
   * Records a point and returns its position in the rung's order (0 = best). With `place` false
   * (restoring a checkpoint) the position is not computed (-1).
   */
  add(trialId: number, point: number[], place = true): number {
    const seq = this.entries.length;
    this.entries.push({ trialId, point });
    if (point.length === 2) return this.add2d({ x: point[0], y: point[1], seq, point }, place);
    const at = lexInsertionIndex(this.sorted, point);
    this.sorted.splice(at, 0, point);
    this.seqOf.splice(at, 0, seq);
    if (!place) return -1;
    const ranks = ranksInOrder(this.sorted, this.identity());
    const f = ranks[at];
    let before = 0;
    const front: number[] = [];
    for (let i = 0; i < ranks.length; i++) {
      if (ranks[i] < f) before++;
      else if (ranks[i] === f) front.push(i);
    }
    return before + this.aheadInFront(front.map((i) => ({ seq: this.seqOf[i], point: this.sorted[i] })));
  }

  /** 0 .. size − 1, grown by doubling (the sorted points are their own order). */
  private identity(): Int32Array {
    const n = this.sorted.length;
    if (this.order.length < n) this.order = Int32Array.from({ length: 2 * n }, (_, i) => i);
    return this.order.subarray(0, n);
  }

  /** The members of the new point's front ahead of it: crowding at least its own (it arrived last). */
  private aheadInFront(front: { seq: number; point: number[] }[]): number {
    // in arrival order, as the tie-breaks of crowdingDistance and of the rung order go by it
    front.sort((a, b) => a.seq - b.seq);
    const crowd = crowdingDistance(front.map((f) => f.point));
    const mine = crowd[front.length - 1];
    let ahead = 0;
    for (let j = 0; j < front.length - 1; j++) if (crowd[j] >= mine) ahead++;
    return ahead;
  }

  private add2d(p: Member, place: boolean): number {
    const { fronts } = this;
    // the fronts that dominate p form a prefix: the first that does not is p's
    const f = partitionPoint(fronts.length, (i) => Rung.frontDominates(fronts[i], p));
    if (f === fronts.length) fronts.push([]);
    const front = fronts[f];
    // the members p dominates: right of it, down to its y (an equal point stays: equal points share a front)
    let i = Rung.firstAtOrRight(front, p.x);
    const moved: Member[] = [];
    let w = i;
    for (; i < front.length && front[i].y >= p.y; i++) {
      if (front[i].x === p.x && front[i].y === p.y) front[w++] = front[i];
      else moved.push(front[i]);
    }
    front.splice(w, i - w);
    front.splice(Rung.insertionIndex(front, p), 0, p);
    this.cascade(f + 1, moved);
    if (!place) return -1;
    let before = 0;
    for (let k = 0; k < f; k++) before += fronts[k].length;
    return before + Rung.aheadInFront2d(front, p);
  }

  /**
   * `aheadInFront` for a 2-D front, whose order by x is kept: sorted by x it is sorted by y
   * reversed, so crowding distances need no sort. The arithmetic is crowdingDistance's, term for
   * term (equal points ordered by arrival, as its tie-break), so the position is the same.
   */
  private static aheadInFront2d(front: Member[], p: Member): number {
    const n = front.length;
    // by x, equal points (runs of equal x) by arrival
    const byX = front.slice();
    for (let i = 1; i < n; i++) {
      const m = byX[i];
      let j = i - 1;
      for (; j >= 0 && byX[j].x === m.x && byX[j].seq > m.seq; j--) byX[j + 1] = byX[j];
      byX[j + 1] = m;
    }
    // by y: the runs in reverse order, each still by arrival (indices into byX)
    const byY = new Int32Array(n);
    let w = 0;
    for (let end = n; end > 0; ) {
      let start = end - 1;
      while (start > 0 && byX[start - 1].x === byX[end - 1].x) start--;
      for (let i = start; i < end; i++) byY[w++] = i;
      end = start;
    }
    const d = new Float64Array(n);
    d[0] = Infinity;
    d[n - 1] = Infinity;
    const spanX = byX[n - 1].x - byX[0].x;
    if (spanX !== 0) for (let r = 1; r < n - 1; r++) d[r] += (byX[r + 1].x - byX[r - 1].x) / spanX;
    d[byY[0]] = Infinity;
    d[byY[n - 1]] = Infinity;
    const spanY = byX[byY[n - 1]].y - byX[byY[0]].y;
    if (spanY !== 0) for (let r = 1; r < n - 1; r++) d[byY[r]] += (byX[byY[r + 1]].y - byX[byY[r - 1]].y) / spanY;
    const mine = d[byX.indexOf(p)];
    let ahead = 0;
    for (let i = 0; i < n; i++) if (byX[i] !== p && d[i] >= mine) ahead++;
    return ahead;
  }

  /** Members dominated by a member of the front above moved into front k, and so on down. */
  private cascade(k: number, moving: Member[]): void {
    const { fronts } = this;
    while (moving.length > 0) {
      if (k === fronts.length) fronts.push([]);
      const front = fronts[k];
      // moving is a staircase (sorted by x): a member q is dominated when the last mover left of it is not above it
      const next: Member[] = [];
      const kept: Member[] = [];
      const last = moving[moving.length - 1];
      let j = 0;
      const start = Rung.firstAtOrRight(front, moving[0].x);
      let i = start;
      for (; i < front.length; i++) {
        const q = front[i];
        if (q.x >= last.x && q.y < last.y) break;
        while (j + 1 < moving.length && moving[j + 1].x <= q.x) j++;
        const m = moving[j];
        if (m.x <= q.x && m.y <= q.y && (m.x < q.x || m.y < q.y)) next.push(q);
        else kept.push(q);
      }
      // the kept members and the movers, merged by x (ties: the earlier-placed member first)
      const merged: Member[] = [];
      let a = 0;
      let b = 0;
      while (a < kept.length || b < moving.length) {
        if (b === moving.length || (a < kept.length && (kept[a].x < moving[b].x || (kept[a].x === moving[b].x && kept[a].y <= moving[b].y)))) merged.push(kept[a++]);
        else merged.push(moving[b++]);
      }
      // every mover lies right of the members before `start` and left of front[i], where the scan stopped
      front.splice(start, i - start, ...merged);
      moving = next;
      k++;
    }
  }

  /** True when a member of the front dominates p: the last member with x ≤ p.x decides. */
  private static frontDominates(front: Member[], p: Member): boolean {
    const i = Rung.firstAtOrRight(front, p.x) - 1;
    let k = i;
    // members at exactly p.x: the last of them has the smallest y
    while (k + 1 < front.length && front[k + 1].x === p.x) k++;
    if (k < 0) return false;
    const q = front[k];
    return q.y <= p.y && (q.x < p.x || q.y < p.y);
  }

  /** First index whose member's x is ≥ x. */
  private static firstAtOrRight(front: Member[], x: number): number {
    return partitionPoint(front.length, (i) => front[i].x < x);
  }

  /** Where p goes in a front sorted by x (after equal points). */
  private static insertionIndex(front: Member[], p: Member): number {
    return partitionPoint(front.length, (i) => front[i].x < p.x || (front[i].x === p.x && front[i].y <= p.y));
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
