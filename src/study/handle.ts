import type { ExperimentDefinition } from '../experiment/load.js';
import type { StudyBest, StudyFront, StudyStatusReport } from './status.js';
import type { LogLine, LogRecord, StudyStatus, WorkerIdentity } from './storage/store.js';
import type { AskResult, StudyOptions, TellOptions } from './study.js';

/**
 * What a worker needs of a study, wherever it lives: in a store this process opens (Study), or
 * behind a study server reached over HTTP (RemoteStudy). `tunelab study worker` is written against
 * this, so that it behaves alike with a store URL and a server URL.
 */
export interface StudyHandle {
  readonly id: number;
  readonly name: string;
  /** When the study was created (epoch seconds): with its id, tells it from a later study of the same id and name in another store. */
  readonly createdSeconds: number;
  readonly method: string;
  readonly definition: ExperimentDefinition;
  /** This process's worker. */
  readonly worker: WorkerIdentity;
  /** Where the study lives, for messages (never with a password or token). */
  readonly location: string;
  /** Called when `study stop` is seen (while renewing leases). */
  onStop(listener: (mode: 'finish' | 'abandon') => void): void;
  /** Called when a held suggestion was lost (its lease expired and another worker took it, or it was abandoned). */
  onLost(listener: (suggestionId: number) => void): void;
  /** A suggestion, waiting while every slot is taken; undefined once the budget is met or the study stopped. */
  ask(): Promise<AskResult | undefined>;
  /** The study's status as it is now. */
  refresh(): Promise<{ status: StudyStatus }>;
  /** An intermediate result; 'stop' when ASHA (across every worker's reports) stops the trial. */
  report(suggestionId: number, resource: number, value: number, metrics?: Record<string, number>): Promise<'continue' | 'stop'>;
  isLost(suggestionId: number): boolean;
  abandon(suggestionId: number): Promise<void>;
  /** Gives a held suggestion back, ready for the next worker to continue (from its checkpoint folder) under the same id. */
  release(suggestionId: number): Promise<void>;
  /** The observation; a StudyError when it is refused (the suggestion was lost). */
  tell(suggestionId: number, values: number | Record<string, number> | undefined, options?: TellOptions): Promise<void>;
  /**
   * tell, then ask for this worker, in one step where the store or server allows it (a worker's
   * loop); the next suggestion comes even when the observation is refused (`refused` says why).
   */
  tellAndAsk(suggestionId: number, values: number | Record<string, number> | undefined, options?: TellOptions): Promise<{ next?: AskResult; refused?: string }>;
  appendLogs(lines: readonly LogLine[]): Promise<void>;
  /** Records that a worker of this process ended. */
  workerExited(worker: WorkerIdentity): Promise<void>;
  /**
   * Called once when a lease renewal fails for good (the store or server unreachable past the
   * timeout): the leases will lapse, so the caller should give its trials up and end.
   */
  onStoreFailure(listener: (error: Error) => void): void;
  close(): Promise<void>;
}

/**
 * What `study status | logs | stop | best` and the runs that start workers (`run -f --storage`,
 * `--executor`) need of a study, wherever it lives: in a store (Study) or on a server (RemoteStudy).
 */
export interface StudyOverview {
  readonly id: number;
  readonly name: string;
  readonly definition: ExperimentDefinition;
  /** Where the study lives, for messages (never with a password or token). */
  readonly location: string;
  refresh(): Promise<{ status: StudyStatus }>;
  statusReport(): Promise<StudyStatusReport>;
  /** The best feasible observation. */
  best(): Promise<StudyBest | undefined>;
  /** With several objectives: the Pareto front of the feasible observations (undefined with one). */
  front(): Promise<StudyFront | undefined>;
  /** `study stop`: workers finish their trials (or abandon them), then exit. */
  stop(abandon: boolean): Promise<void>;
  /** Trial output lines with ids above `after`, oldest first. */
  readLogs(after: number, limit: number): Promise<LogRecord[]>;
  /** How many suggestions are open (held by workers) now. */
  openCount(): Promise<number>;
  close(): Promise<void>;
}

/** `token`: for a server URL (default: $TUNELAB_TOKEN). */
export type OpenStudyOptions = StudyOptions;

/** A server URL (`http(s)://host:port/v1/experiments/<id>`) rather than a study id or name. */
export const isServerUrl = (study: string | number) => typeof study === 'string' && /^https?:\/\//i.test(study);

/** Opens a study by id or name in a store, or on a study server by its URL or by its id with the server's URL as `storage`. */
export async function openStudy(study: string | number, options: OpenStudyOptions = {}): Promise<StudyHandle> {
  const { loadStudy } = await import('./study.js');
  return loadStudy(study, options);
}
