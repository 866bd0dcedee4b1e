import type { Config, ConfigSpace } from '../config-space/index.js';
import type { Rng } from '../util/rng.js';
import type { TrialResult } from '../trial/result.js';
import type { Constraint } from './constraints.js';
import type { Objective } from '../results/pareto.js';
import type { RungDecision } from '../results/decisions.js';

export type { TrialResult };

export type Mode = 'min' | 'max';
export type Decision = 'continue' | 'pause' | 'stop';


/** What a free worker should do: start a new config, or resume a paused trial. */
export type Suggestion = { config: Config } | { resume: number };

/**
 * The scheduler interface (DESIGN.md §3): asynchronous and event driven, one object per experiment.
 * The tuner calls `suggest` whenever a worker is free, and `onTrialResult` for every reported result.
 */
export interface TrialScheduler {
  readonly metric: string;
  readonly mode: Mode;
  /**
   * `trialId` is the id a new trial will get if a config is returned. Undefined: nothing to do now.
   * `allowNew` false (the run's trial budget is spent): only a paused trial to resume, and no config
   * is drawn (one drawn and dropped would use up the searcher's choices and random numbers).
   */
  suggest(trialId: number, allowNew?: boolean): Suggestion | undefined;
  onTrialResult(trialId: number, result: TrialResult): Decision;
  onTrialComplete(trialId: number): void;
  onTrialError(trialId: number): void;
  /**
   * A rung-based scheduler's decisions since the last call, each with its reason (rung, rank, size,
   * threshold): those of `onTrialResult` (continue, stop, pause) and of `suggest` (promote). The
   * tuner takes them after every call and writes them beside the results.
   */
  takeDecisions?(): RungDecision[];
  /** Settings, for metadata.json. */
  metadata(): Record<string, unknown>;
  /** A model-based searcher's: where the configs came from, for metadata.json at the run's end. */
  suggestionCounts?(): SuggestionCounts | undefined;
  /** The method's scalar of each result, when it has one (a results column). */
  readonly scalar?: ResultScalar;
  /** Plain-JSON state for tuner.json; `restore` continues exactly where `state` was taken. */
  state(): unknown;
  restore(state: unknown): void;
}

/**
 * A method's own scalar of a trial's latest result, written in every results row as a named column
 * (MO-BO: the ParEGO scalarization the trial was proposed under; MO-ASHA: the position its result
 * took at the rung it reached). Methods without one write no column.
 */
export interface ResultScalar {
  readonly column: string;
  /** The scalar of the trial's latest result (undefined: it has none, an empty cell). */
  of(trialId: number): number | undefined;
}

/** Where a searcher's configs came from: its model, or random draws (initial ones, or the model not ready). */
export interface SuggestionCounts {
  model: number;
  random: number;
}

/** Everything a searcher or scheduler needs to know about the problem. */
export interface SearchProblem {
  configSpace: ConfigSpace;
  /** The first objective (the only one of a single-objective problem). */
  metric: string;
  mode: Mode;
  /** Every objective, when there are several; multi-objective searchers and schedulers read them. */
  objectives?: readonly Objective[];
  rng: Rng;
  /** When set, only these configs may be suggested (tabulated benchmarks). */
  restrictTo?: readonly Config[];
  /** Configs to evaluate first, in order. */
  pointsToEvaluate?: readonly Config[];
  /** Outcome constraints: model-based searchers steer towards configs likely to satisfy them. */
  constraints?: readonly Constraint[];
}

/**
 * Proposes configs. Plugs into FIFO and hyperband schedulers; it sees every result and which trials
 * are still pending, so that model-based searchers can avoid proposing duplicates to parallel workers.
 */
export interface Searcher {
  /**
   * A new config for trial `trialId`, or undefined when the space is exhausted. A hyperband
   * scheduler tells the resource level where the trial's bracket first judges it (DEHB evolves a
   * population per level).
   */
  suggest(trialId: number, context?: { level?: number }): Config | undefined;
  /** `value` is the objective; `metrics` all of the result's metrics (constraint metrics among them). */
  onTrialResult(trialId: number, resource: number, value: number, metrics: Readonly<Record<string, number>>): void;
  /** The trial is no longer running (paused, stopped, completed or failed). */
  onTrialIdle(trialId: number, reason: 'paused' | 'stopped' | 'completed' | 'failed'): void;
  /** A paused trial runs again. */
  onTrialResumed(trialId: number): void;
  metadata(): Record<string, unknown>;
  /** Model-based searchers: how many configs came from the model and how many were random. */
  suggestionCounts?(): SuggestionCounts;
  /** The searcher's scalar of each result, when it has one (a FIFO scheduler's results column). */
  readonly scalar?: ResultScalar;
  state(): unknown;
  restore(state: unknown): void;
}

export function metricValue(result: TrialResult, metric: string): number {
  const v = result.metrics[metric];
  if (typeof v !== 'number' || Number.isNaN(v)) {
    throw new Error(`result lacks metric '${metric}' (has ${Object.keys(result.metrics).join(', ') || 'nothing'})`);
  }
  return v;
}

/** True if a is strictly better than b. */
export const better = (mode: Mode, a: number, b: number) => (mode === 'min' ? a < b : a > b);

/** The problem's objectives: its `objectives`, else its one metric. */
export const objectivesOf = (p: Pick<SearchProblem, 'metric' | 'mode' | 'objectives'>): readonly Objective[] => p.objectives ?? [{ metric: p.metric, mode: p.mode }];
