/**
 * Executors (DESIGN.md §10): where a study's workers run. An executor starts and stops
 * `tunelab study worker` processes on an engine (this machine, Slurm, Kubernetes); it never
 * schedules trials — the study does.
 */

/** What every worker of one submission runs, and with what. */
export interface WorkerSpec {
  studyId: number;
  studyName: string;
  /** How many workers (array tasks, pods, processes). */
  workers: number;
  /** At most this many at once (Slurm's `%P` throttle, Kubernetes' parallelism); default all. */
  parallelism?: number;
  /** tunelab's arguments for each worker, e.g. ['study', 'worker', '7']: each executor knows how tunelab is started where it runs. */
  args: string[];
  /**
   * Variables each worker gets by the environment, never by argv or a file another user reads:
   * the store URL with its password, an API token.
   */
  secretEnv: Record<string, string>;
  /** The trial's resources from the experiment file. */
  resources?: WorkerResources;
  /** Folder for the submission's record, its script and the workers' output. */
  logDir: string;
}

export interface WorkerResources {
  cpus?: number;
  gpus?: number;
  /** Megabytes. */
  memory?: number;
}

export type WorkerState = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface WorkerInfo {
  /** The worker's index in its submission (array task id, completion index). */
  index: number;
  /** The engine's own id of the worker (e.g. `123_4`, a pod name). */
  id: string;
  state: WorkerState;
  /** The engine's word for why, when it has one ("Resources", "TIMEOUT", "Error 1" …). */
  reason?: string;
}

/** One submission of workers, as recorded beside the study's logs. */
export interface Submission {
  executor: string;
  /** The engine's id of the whole submission (a Slurm array job id, a Job name). */
  id: string;
  workers: number;
  logDir: string;
  submittedAt: string;
  /** What the executor needs to find the submission again (e.g. a Kubernetes namespace). */
  settings?: Record<string, string>;
}

export interface Executor {
  readonly name: string;
  submit(spec: WorkerSpec): Promise<Submission>;
  /** Every worker of the submission with its state (finished ones too, while the engine remembers them). */
  list(submission: Submission): Promise<WorkerInfo[]>;
  /**
   * Worker `index`'s output after its first `from` bytes (default 0), as far as it is written: a file
   * under the log folder, or the engine's log of it. Following a worker asks from where it left off.
   */
  output(submission: Submission, index: number, from?: number): Promise<Buffer>;
  /** Ends every worker of the submission that has not ended. */
  stop(submission: Submission): Promise<void>;
  /** Withdraws the workers that have not started (the running ones finish their trials and end by themselves). */
  cancelPending?(submission: Submission): Promise<void>;
}
