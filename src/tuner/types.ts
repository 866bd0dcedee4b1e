import type { Config } from '../config-space/index.js';
import type { BackendResult } from '../backends/types.js';
import type { Cell } from '../results/csv.js';
import type { Decision, TrialResult } from '../schedulers/types.js';
import type { Tuner } from './tuner.js';

export type TrialStatus = 'running' | 'paused' | 'stopped' | 'completed' | 'failed';

export interface TrialRecord {
  id: number;
  config: Config;
  status: TrialStatus;
  numResults: number;
  lastResult?: TrialResult;
  /** Why a failed trial failed (the backend's reason, with the end of its stderr). */
  error?: string;
}

/** Any of them ends the run. */
export interface StoppingCriteria {
  /** Seconds on the backend's clock. */
  maxWallclockTime?: number;
  /** No trial is started after this many; the run ends when the started ones have ended. */
  maxNumTrialsStarted?: number;
  maxNumTrialsCompleted?: number;
  maxNumResults?: number;
}

/** Extra columns for every results row, computed from the tuner's state (Syne Tune's ExtraResultsComposer). */
export interface ExtraResultsComposer {
  /** Column names, fixed for the whole run. */
  keys(): string[];
  /** Values for some of the keys, or undefined (empty cells). */
  compose(tuner: Tuner): Record<string, Cell> | undefined;
}

export interface TunerCallback {
  onStart?(tuner: Tuner): void;
  onTrialStart?(tuner: Tuner, trial: TrialRecord, resumed: boolean): void;
  onResult?(tuner: Tuner, trial: TrialRecord, result: BackendResult, decision: Decision): void;
  onTrialEnd?(tuner: Tuner, trial: TrialRecord): void;
  onEnd?(tuner: Tuner, summary: TunerSummary): void;
}

export interface TunerSummary {
  /** 'interrupted' when `requestStop` ended the run early (it can be resumed). */
  status: 'completed' | 'interrupted';
  numTrials: number;
  numResults: number;
  numFailures: number;
  tunerTime: number;
  best?: { trialId: number; value: number; config: Config };
  /** With several objectives: the Pareto front, each point's objective values by metric (src/results/best.ts). */
  front?: FrontPoint[];
}

/** A point of a run's Pareto front: its trial, config and objective values. */
export interface FrontPoint {
  trialId: number;
  values: Record<string, number>;
  config: Config;
}
