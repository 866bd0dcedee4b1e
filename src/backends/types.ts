import type { Config } from '../config-space/index.js';
import type { TrialResult } from '../trial/result.js';

/** A result as a backend delivers it, stamped with its clock. */
export interface BackendResult {
  trialId: number;
  result: TrialResult;
  /** Backend clock at the time of the result (seconds since the experiment started). */
  time: number;
  /** Seconds the trial itself has trained so far. */
  workerTime: number;
  /** 0-based index of this result among the trial's results. */
  workerIter: number;
  /** The trial's last result: it completes with it. */
  final?: boolean;
}

export interface PollResult {
  results: BackendResult[];
  /** Trials that ran to their end since the last poll. */
  completed: number[];
  failed: { trialId: number; error: string }[];
}

/**
 * Runs trials (DESIGN.md §3). The tuner starts, pauses, resumes and stops them and polls for
 * results; the backend owns the clock (real time, or a simulated clock).
 */
export interface TrialBackend {
  /** Name of the resource attribute in results (e.g. 'epoch'). */
  readonly resourceAttr: string;
  /** Metric names every result carries (besides the resource). */
  readonly metricNames: readonly string[];
  start(trialId: number, config: Config): Promise<void>;
  pause(trialId: number): Promise<void>;
  resume(trialId: number): Promise<void>;
  stop(trialId: number): Promise<void>;
  /**
   * Wait for new events, but not beyond `deadline` on the backend clock. At most one result per
   * trial: the tuner decides on it (and may pause or stop the trial) before the trial's next one
   * is handed out, or a result it could no longer take would be lost.
   */
  poll(deadline: number): Promise<PollResult>;
  /** Make a waiting `poll` return now (e.g. the tuner was asked to stop); optional for backends that never wait. */
  interrupt?(): void;
  now(): number;
  /** Plain-JSON state for tuner.json, and its inverse. */
  state(): unknown;
  restore(state: unknown): Promise<void>;
  close(): Promise<void>;
}
