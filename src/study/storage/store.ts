import type { Config } from '../../config-space/index.js';
import type { ExperimentFileData } from '../../experiment/schema.js';
import type { RungReason } from '../../results/decisions.js';

/**
 * The study store (DESIGN.md §7): one small interface that every backend implements (sqlite.ts,
 * postgres.ts), in the manner of Optuna's storages. A backend only reads and writes rows: what to
 * suggest, and when, is decided by plain functions (planner.ts) that get the study's state as data
 * and return the changes to make, which the backend applies in the same transaction.
 */

/** `ready`: generated ahead (the buffer), not yet handed out; `open`: held by a worker under a lease. */
export type SuggestionState = 'ready' | 'open' | 'completed' | 'failed' | 'abandoned';
export const SUGGESTION_STATES: readonly SuggestionState[] = ['ready', 'open', 'completed', 'failed', 'abandoned'];

/** `stopped`: by `study stop`; `completed`: the budget is met; `exhausted`: every config of a finite space was tried before it was. */
export type StudyStatus = 'running' | 'stopped' | 'completed' | 'exhausted';
/** How running trials end after `study stop`: they finish and report, or are abandoned at once. */
export type StopMode = 'finish' | 'abandon';

/** What a study is created from: the experiment file as parsed, and where it came from. */
export interface StoredDefinition {
  source: ExperimentFileData;
  /** The experiment file's path, when there was one (the command's cwd is resolved against it). */
  file?: string;
  /** The command's working folder, resolved when the study was created. */
  cwd: string;
  /** The method the study runs (the file's, or the default). */
  method: string;
  /** The study's master seed (the file's random_seed, or drawn at creation). */
  randomSeed: number;
  /** SigOpt's experiment metadata, for a study made through the study server. */
  metadata?: Record<string, unknown>;
}

export interface StudyRecord {
  id: number;
  name: string;
  status: StudyStatus;
  stopMode: StopMode | null;
  definition: StoredDefinition;
  /** Milliseconds since the epoch, on the store's clock (every time a store writes is on its own clock: see StudyStore.now). */
  createdAt: number;
  /** When the buffer was last refilled, and the observation count then (CANDLE's batching). */
  refillAt: number;
  refillObservations: number;
}

export interface WorkerIdentity {
  workerId: string;
  host: string;
  pid: number;
}

export interface SuggestionRecord {
  id: number;
  config: Config;
  state: SuggestionState;
  workerId: string | null;
  host: string | null;
  pid: number | null;
  /** ms, on the store's clock; null unless open */
  leaseExpiresAt: number | null;
  /** how many times it was handed out (more than 1: recovered from a dead worker) */
  attempts: number;
  createdAt: number;
  assignedAt: number | null;
  endedAt: number | null;
}

export interface ObservationRecord {
  id: number;
  suggestionId: number;
  /** The (first) objective; null when failed. */
  value: number | null;
  /**
   * Every objective's value, in the study's objective order (the file's `optimize` metrics); null
   * when failed. A study with one objective holds [value]; a store upgraded from a version before
   * vector values holds that for each of its observations.
   */
  objectiveValues: number[] | null;
  /** Every metric reported with the final result (the objectives among them). */
  values: Record<string, number>;
  failed: boolean;
  /** worker id, host, pid, duration, and what the script reported besides the metrics */
  metadata: Record<string, unknown>;
  createdAt: number;
}

export interface ReportRecord {
  id: number;
  suggestionId: number;
  resource: number;
  value: number;
  metrics: Record<string, number>;
  decision: 'continue' | 'stop';
  /** Why, recorded when the store decided (rows.ts reportReason); null: no new rung reached, no rule, or a report stored before reasons were. */
  reason: RungReason | null;
  workerId: string;
  createdAt: number;
}

export interface LogLine {
  suggestionId: number;
  workerId: string;
  stream: 'stdout' | 'stderr';
  line: string;
  time: number;
}

export interface LogRecord extends LogLine {
  id: number;
}

export interface WorkerRecord extends WorkerIdentity {
  startedAt: number;
  lastSeen: number;
  endedAt: number | null;
}

/** A page of rows in id order: at most `limit`, after the id `afterId`. */
export interface Page {
  afterId: number;
  limit: number;
}

/** Where incremental reads continue from: the largest ids seen so far. */
export interface Cursor {
  observation: number;
  suggestion: number;
}

/** What a suggestion transaction sees, under the study's lock. */
export interface StudyView {
  study: StudyRecord;
  /** The store's clock when the view was read: what leases and the wall-clock budget are judged by. */
  now: number;
  /** Observations (completed + failed) so far: what the budget counts. */
  done: number;
  /** Every open suggestion (expired leases among them) and every ready one. */
  open: SuggestionRecord[];
  ready: SuggestionRecord[];
  /** Rows added since the cursor (caches add them to what they hold). */
  newObservations: ObservationRecord[];
  newSuggestions: { id: number; config: Config }[];
}

/** The rows added since a cursor, each read once: what a cache of the study's history needs. */
export type NewRows = Pick<StudyView, 'newObservations' | 'newSuggestions'>;

/** The changes a planner asks for; applied in the transaction that produced the view. */
export interface SuggestionChanges {
  abandon?: number[];
  /** An open suggestion (expired lease) or a ready one, handed to the asking worker. */
  claim?: number;
  /** New suggestions; with claimFirst the first goes to the asking worker, the others wait as ready. */
  create?: { configs: Config[]; claimFirst: boolean };
  /** The study ends: its budget met (`completed`), or every config of its finite space tried (`exhausted`). */
  end?: 'completed' | 'exhausted';
}

export interface SuggestionOutcome {
  /** The suggestion handed to the worker, if any. */
  claimed?: SuggestionRecord;
  /** What the planner saw (callers add its new rows to their caches). */
  view: StudyView;
}

export type TellOutcome = { recorded: true } | { recorded: false; reason: string };

/** A tell and the next claim, made in one transaction (a worker's loop in one round trip). */
export interface TellAndClaim {
  told: TellOutcome;
  next?: FreeClaim | FreeRefusal;
}

/**
 * Why the one-step claim gave nothing, when that is also what the planner would answer: the study
 * is not running, or every slot (bandwidth, budget) is held by a live open suggestion. A backend
 * may say it, so that the many asks of a study near its budget cost no view of its open set.
 */
export interface FreeRefusal {
  none: 'wait' | 'stopped';
}

export interface RenewOutcome {
  /** Suggestions this worker no longer holds (recovered by another, abandoned, or told). */
  lost: number[];
  status: StudyStatus;
  stopMode: StopMode | null;
}

export interface NewObservation {
  values: Record<string, number>;
  value: number | null;
  /** Every objective's value in the study's order (value is the first); null when failed. */
  objectiveValues: number[] | null;
  failed: boolean;
  metadata: Record<string, unknown>;
}

/** What a study allows at once: observations + open suggestions within the budget, open ones within the bandwidth, no new one after the deadline (ms on the store's clock; null: none). */
export interface SuggestionLimits {
  budget: number;
  bandwidth: number;
  deadline: number | null;
}

/** What the buffer may hold: open + ready suggestions at most `outstanding`, and with the observations within `budget`. */
export interface BufferLimits {
  outstanding: number;
  budget: number;
}

/** A suggestion claimed in one step, with what the study held just before (for the buffer's refill). */
export interface FreeClaim {
  claimed: SuggestionRecord;
  done: number;
  open: number;
  ready: number;
  /** The answer a first call with the same request id got (a client's retry): nothing was claimed now. */
  replayed?: boolean;
}

/** ASHA's stopping rule across workers: rung levels, η and the mode (DESIGN.md §3, HyperbandScheduler). */
export interface RungRule {
  levels: readonly number[];
  reductionFactor: number;
  mode: 'min' | 'max';
  maxResource: number;
}

export interface NewReport {
  resource: number;
  value: number;
  metrics: Record<string, number>;
}

export interface StudySummary {
  id: number;
  name: string;
  status: StudyStatus;
  method: string;
  createdAt: number;
  observations: number;
  open: number;
  budget: number | null;
}

/**
 * suggest, claimIfFree and tellAndClaim take an optional request id (a client's, for its retries):
 * the first call with it that changes something (a claim; a tell and its claim) stores its answer
 * in the same transaction, and a later call with the same id gets that answer again (a FreeClaim
 * marked `replayed`; suggest's `claimed`) and changes nothing. A retry after a timeout therefore
 * neither records an observation twice nor claims a second suggestion and loses the first.
 */
export interface StudyStore {
  /** The storage URL without its password. */
  readonly url: string;
  /**
   * The store's clock (ms since the epoch): the database server's for PostgreSQL, SQLite's for a
   * SQLite file. Every time a store writes (leases above all) is taken from it and compared with
   * it, never with a worker's clock, so that a worker whose clock is off neither takes a live
   * worker's suggestion nor writes a lease that has already run out.
   */
  now(): Promise<number>;
  createStudy(name: string, definition: StoredDefinition): Promise<StudyRecord>;
  /** By id (digits) or name. */
  findStudy(idOrName: string): Promise<StudyRecord | undefined>;
  listStudies(): Promise<StudySummary[]>;
  setStatus(studyId: number, status: StudyStatus, stopMode: StopMode | null): Promise<void>;
  /** Removes the study and every row of it (suggestions, observations, reports, rungs, workers, logs) in one transaction; false if there was no such study. */
  deleteStudy(studyId: number): Promise<boolean>;
  /**
   * The one serialised step: under the study's lock, reads the view (rows newer than `since`),
   * lets `plan` decide, and applies its changes before the lock is released. Two workers therefore
   * never see the same open suggestion as free, and the budget and bandwidth are never exceeded.
   */
  suggest(studyId: number, worker: WorkerIdentity, leaseSeconds: number, since: Cursor, plan: (view: StudyView) => SuggestionChanges, request?: string): Promise<SuggestionOutcome>;
  /**
   * The common cases in one step: under the study's lock, if nothing else needs doing (the study
   * running and within its limits, no expired lease to recover), hands this worker the oldest ready
   * suggestion (no `config`: a model-based searcher's buffer), or creates `config` as its open
   * suggestion when none is ready (random search on an infinite space, which needs no view).
   * Otherwise a FreeRefusal when the answer is certain without the planner, or undefined: the
   * caller then takes `suggest`.
   */
  claimIfFree(studyId: number, worker: WorkerIdentity, leaseSeconds: number, config: Config | undefined, limits: SuggestionLimits, request?: string): Promise<FreeClaim | FreeRefusal | undefined>;
  /**
   * Adds ready suggestions (the buffer, proposed off the lock) in one short step under the study's
   * lock: as many as the limits leave room for, skipping configs that an open or ready suggestion
   * holds, and only while the study runs; the refill is recorded (CANDLE's batching). Returns how
   * many were added.
   */
  addReady(studyId: number, configs: readonly Config[], limits: BufferLimits): Promise<number>;
  /** The same view without the lock: a consistent snapshot that may be stale once used (the buffer's refill reads it). */
  readView(studyId: number, since: Cursor): Promise<StudyView>;
  /** Only the rows added since the cursor (no open or ready suggestions): a read whose cost is the new work, not the study's size. */
  readNew(studyId: number, since: Cursor): Promise<NewRows>;
  /** Extends the leases of the worker's suggestions (none: the worker is alive and idle) and its last_seen; reports the study's status (for `stop`). */
  renew(studyId: number, worker: WorkerIdentity, suggestionIds: readonly number[], leaseSeconds: number): Promise<RenewOutcome>;
  /**
   * Records an intermediate result; with a rule, applies ASHA's stopping rule across every worker's
   * reports, in the order the store serialises them.
   */
  report(studyId: number, suggestionId: number, worker: WorkerIdentity, report: NewReport, rule: RungRule | undefined): Promise<'continue' | 'stop'>;
  /**
   * Ends an open suggestion with its observation. Accepted from the worker that holds it, or from
   * anyone once its lease expired; a suggestion handed to another worker meanwhile is refused.
   */
  tell(studyId: number, suggestionId: number, worker: WorkerIdentity, observation: NewObservation): Promise<TellOutcome>;
  /**
   * tell, then claimIfFree for the same worker, as one transaction: what a worker's loop does
   * between two evaluations, in one round trip and one turn of the study's lock.
   */
  tellAndClaim(studyId: number, suggestionId: number, worker: WorkerIdentity, observation: NewObservation, leaseSeconds: number, config: Config | undefined, limits: SuggestionLimits, request?: string): Promise<TellAndClaim>;
  /** Abandons suggestions that are open or ready (by hand, or a worker giving its own up); returns those it did. */
  abandon(studyId: number, suggestionIds: readonly number[]): Promise<number[]>;
  /**
   * Gives open suggestions back (their worker was stopped by a signal: Slurm's time-limit notice, a
   * scancel): ready again, their leases cleared, so that the next worker to ask claims them under the
   * same id and continues each trial from its checkpoint folder. Returns those it did.
   */
  release(studyId: number, suggestionIds: readonly number[]): Promise<number[]>;
  /** With `page`: at most `limit` of them after the id `afterId` (a reader that holds a big study reads it in pages). */
  listSuggestions(studyId: number, states?: readonly SuggestionState[], page?: Page): Promise<SuggestionRecord[]>;
  listObservations(studyId: number, afterId?: number, limit?: number): Promise<ObservationRecord[]>;
  listReports(studyId: number, afterId?: number, limit?: number): Promise<ReportRecord[]>;
  registerWorker(studyId: number, worker: WorkerIdentity): Promise<void>;
  workerExited(studyId: number, workerId: string): Promise<void>;
  listWorkers(studyId: number): Promise<WorkerRecord[]>;
  appendLogs(studyId: number, lines: readonly LogLine[]): Promise<void>;
  readLogs(studyId: number, afterId: number, limit: number): Promise<LogRecord[]>;
  close(): Promise<void>;
}

/** The store's data is not what this version of tunelab can read (another version's schema, or not a store). */
export class StoreVersionError extends Error {}
