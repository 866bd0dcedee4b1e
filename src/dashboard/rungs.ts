import { levelsReached, rungDecision } from '../study/storage/rows.js';
import type { ReportRecord, RungRule } from '../study/storage/store.js';
import { partitionPoint } from '../util/sorted.js';

/**
 * Why ASHA stopped or let a trial go on, rung by rung: the store decides each report under the
 * study's lock, in the order it serialises the reports (their ids), from the values recorded at the
 * rung so far. Replaying the reports in id order with the same rule (rows.ts: levelsReached,
 * rungDecision) gives, for every decision, the rung it was made at, the rank the value had there,
 * the rung's size and the threshold: the ⌈size/η⌉-th best value, which a trial must match to go on.
 */
export interface RungCall {
  reportId: number;
  suggestionId: number;
  /** The rung's resource level. */
  level: number;
  value: number;
  /** 1 = the best value at the rung when the decision was made (ties share the better rank). */
  rank: number;
  size: number;
  /** How many of the rung go on: ⌈size/η⌉. */
  keep: number;
  threshold: number;
  decision: 'continue' | 'stop';
  time: number;
  /** Recorded by the store when it decided (migration 'rung_*' columns), or replayed here (a report stored before reasons were). */
  source: 'recorded' | 'replayed';
}

/**
 * The calls of a report: the replay's, with the one the store recorded in its place (the store
 * keeps one reason a report, of the rung that decided it; the replay gives the other rungs a report
 * reached at once). The replay runs on all the same, so that reports stored before reasons were,
 * mixed with newer ones, still get theirs.
 */
export function reportCalls(r: ReportRecord, replayed: readonly RungCall[]): RungCall[] {
  const reason = r.reason;
  if (!reason) return [...replayed];
  const recorded: RungCall = { reportId: r.id, suggestionId: r.suggestionId, level: reason.level, value: r.value, rank: reason.rank, size: reason.size, keep: reason.keep, threshold: reason.threshold ?? NaN, decision: r.decision, time: r.createdAt, source: 'recorded' };
  const others = replayed.filter((c) => c.level !== reason.level);
  return [...others, recorded].sort((a, b) => a.level - b.level);
}

/** The rungs, replayed report by report: a report costs O(log n + rung size) (a sorted insert). */
export class RungReplay {
  /** Each level's values, best first. */
  private readonly rungs = new Map<number, number[]>();
  private readonly reached = new Map<number, number[]>();

  constructor(readonly rule: RungRule) {}

  private better(a: number, b: number): boolean {
    return this.rule.mode === 'min' ? a < b : a > b;
  }

  /** Position of the first value at the rung not better than `v` (= how many are strictly better). */
  private countBetter(values: readonly number[], v: number): number {
    return partitionPoint(values.length, (i) => this.better(values[i], v));
  }

  /** The calls a report made (none when it reached no new rung); a results row serves as one too. */
  add(r: Pick<ReportRecord, 'id' | 'suggestionId' | 'resource' | 'value' | 'createdAt'>): RungCall[] {
    const recorded = this.reached.get(r.suggestionId) ?? [];
    const calls: RungCall[] = [];
    for (const level of levelsReached(this.rule, r.resource, recorded)) {
      recorded.push(level);
      const values = this.rungs.get(level) ?? [];
      this.rungs.set(level, values);
      const better = this.countBetter(values, r.value);
      values.splice(better, 0, r.value);
      const keep = Math.ceil(values.length / this.rule.reductionFactor);
      calls.push({ reportId: r.id, suggestionId: r.suggestionId, level, value: r.value, rank: better + 1, size: values.length, keep, threshold: values[keep - 1], decision: rungDecision(better, values.length, this.rule.reductionFactor), time: r.createdAt, source: 'replayed' });
    }
    this.reached.set(r.suggestionId, recorded);
    return calls;
  }
}
