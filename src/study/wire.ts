import type { Config } from '../config-space/index.js';
import type { StoredDefinition, StudyStatus } from './storage/store.js';

/**
 * The study server's wire format (DESIGN.md §9): SigOpt's v1 objects for what the seeds use, and
 * tunelab's own for what SigOpt lacks. Shared by the server (src/server), which answers with them,
 * and the HTTP client of the workers (remote.ts), which reads them. Ids are strings, as SigOpt's.
 */

/** SigOpt's error body; `reason` and `field` are tunelab's additions for programs. */
export interface ApiError {
  error: {
    message: string;
    status: number;
    /** Why no suggestion was given (409): the budget is met, the study stopped, the space is exhausted, or every slot is taken for now (`wait`). */
    reason?: 'budget' | 'stopped' | 'exhausted' | 'wait' | 'refused' | 'exists';
    /** The request field at fault (400). */
    field?: string;
    /** The experiment of that name (409 `exists` of POST /v1/experiments). */
    experiment?: string;
  };
}

export interface ApiMetricEvaluation {
  object: 'metric_evaluation';
  name: string;
  value: number;
  value_stddev: number | null;
}

export interface ApiObservation {
  object: 'observation';
  id: string;
  experiment: string;
  suggestion: string;
  assignments: Config;
  /** The optimized metric (null when failed). */
  value: number | null;
  value_stddev: number | null;
  values: ApiMetricEvaluation[];
  failed: boolean;
  metadata: Record<string, unknown> | null;
  /** Seconds since the epoch. */
  created: number;
}

export interface ApiProgress {
  object: 'progress';
  observation_count: number;
  observation_budget_consumed: number;
  first_observation: ApiObservation | null;
  last_observation: ApiObservation | null;
  best_observation: ApiObservation | null;
}

export interface ApiExperiment {
  object: 'experiment';
  id: string;
  name: string;
  type: 'offline';
  state: 'active';
  created: number;
  parameters: unknown[];
  /** SigOpt's conditionals: `{object: 'conditional', name, values: [{object: 'conditional_value', name, enum_index}]}` */
  conditionals: unknown[];
  metrics: unknown[];
  observation_budget: number | null;
  parallel_bandwidth: number;
  metadata: Record<string, unknown> | null;
  progress: ApiProgress;
  /** tunelab's own: what a worker needs to run the study's trials. */
  tunelab: {
    status: StudyStatus;
    stop_mode: 'finish' | 'abandon' | null;
    method: string;
    definition: StoredDefinition;
  };
}

export interface ApiSuggestion {
  object: 'suggestion';
  id: string;
  experiment: string;
  assignments: Config;
  state: 'open' | 'closed';
  created: number;
  metadata: Record<string, unknown> | null;
  deleted: boolean;
}

export interface ApiPagination<T> {
  object: 'pagination';
  count: number;
  data: T[];
  paging: { before: string | null; after: string | null };
}

/** tunelab's lease renewal: the worker's suggestions it still holds, and the study's state (for `study stop`). */
export interface ApiHeartbeat {
  object: 'heartbeat';
  lost: string[];
  status: StudyStatus;
  stop_mode: 'finish' | 'abandon' | null;
}

/**
 * tunelab's one-call cycle (POST …/tell_and_ask): the observation (recorded, or refused and why:
 * the suggestion was lost) and the worker's next suggestion, or why there is none (as a 409 of
 * POST …/suggestions would say; `wait`: ask again later).
 */
export interface ApiTellAndAsk {
  object: 'tell_and_ask';
  recorded: boolean;
  refused: string | null;
  suggestion: ApiSuggestion | null;
  reason: 'budget' | 'stopped' | 'exhausted' | 'wait' | null;
}

/** The headers naming the asking worker (tunelab's clients send them; a SigOpt client does not). */
export const WORKER_HEADERS = { id: 'x-tunelab-worker', host: 'x-tunelab-host', pid: 'x-tunelab-pid' } as const;

/** GET …/logs: trial output lines in id order (tunelab's own, for `study logs`). */
export interface ApiLogs {
  object: 'logs';
  data: { id: number; suggestion: string; worker: string; stream: 'stdout' | 'stderr'; line: string; time: number }[];
}

/**
 * A client's id of one request (POST …/suggestions, …/tell_and_ask), sent again with each retry of
 * it: the server answers a retry as it answered the first, so a retry after a timeout neither
 * records twice nor loses the suggestion the first attempt claimed. Stripe's header name.
 */
export const REQUEST_ID_HEADER = 'idempotency-key';
