import { readJsonLines } from './jsonl.js';

/**
 * Why a rung-based scheduler (ASHA, Hyperband, BOHB, MOBSTER, DEHB; the study store's ASHA) decided
 * what it did for a trial at a rung, recorded when it decided: the results' decisions.jsonl and the
 * study store's reports keep it, and the dashboard shows it.
 */
export type RungDecisionKind = 'continue' | 'stop' | 'pause' | 'promote';

export interface RungReason {
  /** The rung's resource level. */
  level: number;
  /** 1 = the best value at the rung when the decision was made (ties share the better rank). */
  rank: number;
  /** Values recorded at the rung then, this trial's included. */
  size: number;
  /** How many of the rung go on: ⌈size/η⌉ for stopping, ⌊size/η⌋ for promotion (or a synchronous rung's quota). */
  keep: number;
  /** The keep-th best value at the rung, which a trial must match to go on; null when keep is 0. */
  threshold: number | null;
  decision: RungDecisionKind;
}

/** A scheduler's decision on one trial with its reason, and the trial's value at the rung. */
export interface RungDecision extends RungReason {
  trialId: number;
  value: number;
}

/** A line of decisions.jsonl: the decision and when (the results' st_tuner_time clock). */
export interface DecisionLine extends RungDecision {
  time: number;
}

/**
 * One line per decision, beside results.csv.gz, appended at the same flushes and cut back with it on
 * a resume. A file of its own keeps results.csv.gz as it was (same columns, same bytes) and holds the
 * decisions a row cannot: a promotion happens when a worker frees up, with no result to attach it to.
 */
export const DECISIONS_FILE = 'decisions.jsonl';

const KINDS: readonly string[] = ['continue', 'stop', 'pause', 'promote'] satisfies RungDecisionKind[];

/** The line written for a decision: snake_case and st_tuner_time as in the results' columns. */
export function decisionLine(d: RungDecision, time: number): Record<string, unknown> {
  return { trial_id: d.trialId, st_tuner_time: time, level: d.level, value: d.value, rank: d.rank, size: d.size, keep: d.keep, threshold: d.threshold, decision: d.decision };
}

const isNum = (v: unknown): v is number => typeof v === 'number';

/** The decisions of a results folder in the order made (empty for a run that kept none). */
export function readDecisions(folder: string): DecisionLine[] {
  return readJsonLines(folder, DECISIONS_FILE, (l) =>
    Number.isInteger(l.trial_id) && isNum(l.st_tuner_time) && isNum(l.level) && isNum(l.value) && isNum(l.rank) && isNum(l.size) && isNum(l.keep) && (l.threshold === null || isNum(l.threshold)) && KINDS.includes(l.decision as string)
      ? { trialId: l.trial_id as number, time: l.st_tuner_time, level: l.level, value: l.value, rank: l.rank, size: l.size, keep: l.keep, threshold: l.threshold as number | null, decision: l.decision as RungDecisionKind }
      : undefined,
  );
}
