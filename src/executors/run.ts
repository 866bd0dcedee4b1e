import type { ExperimentDefinition } from '../experiment/load.js';
import { TOKEN_ENV } from '../study/remote.js';
import { createSharedStudy } from '../study/shared-study.js';
import type { StudyStatusReport } from '../study/status.js';
import { STORAGE_ENV } from '../study/storage/open.js';
import { followWorkerOutput } from './follow.js';
import { type LaunchOptions, checkSharedStorage, executorOf, launchWorkers } from './launch.js';
import type { Submission, WorkerInfo } from './types.js';

export interface ExecutorRunOptions extends Omit<LaunchOptions, 'storage' | 'workers'> {
  /** The store every worker reaches (default $TUNELAB_STORAGE, else the SQLite file, which only `local` takes), or a study server's URL. */
  storage?: string;
  /** With a study server: the API token (default: $TUNELAB_TOKEN); the workers get it in their environment. */
  token?: string;
  /** Workers to submit (default: the file's parallel_bandwidth). */
  workers?: number;
  /** The study's name (default: the experiment's); an existing study of that name is continued. */
  name?: string;
  /** Seconds to keep retrying an unreachable store here. */
  storageTimeout?: number;
  log?: (line: string) => void;
  /** Each line of the workers' output, prefixed by its worker (default: printed). */
  workerOutput?: (line: string) => void;
  /** Milliseconds between looks at the study and the workers (default 1000). */
  pollMs?: number;
}

export interface ExecutorRunReport {
  studyId: number;
  name: string;
  submission: Submission;
  /** The workers as the engine last listed them. */
  workers: WorkerInfo[];
  status: StudyStatusReport;
  /** The signal that ended the run early (its workers were stopped). */
  interrupted?: NodeJS.Signals;
}

const ended = (w: WorkerInfo) => w.state !== 'pending' && w.state !== 'running';

/**
 * `tunelab run -f experiment.yml --executor slurm|kubernetes|local`: creates the study (or continues
 * the one of that name) in a store every node reaches, submits its workers through the executor,
 * then follows their output until the study has ended and its workers with it. Workers not yet
 * started when the study ends are withdrawn (they would find nothing to do). SIGINT and SIGTERM
 * stop this run's workers (each gives its trial back) and end the run; running the file again continues the study.
 */
export async function runOnExecutor(definition: ExperimentDefinition, options: ExecutorRunOptions): Promise<ExecutorRunReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  const storage = options.storage ?? process.env[STORAGE_ENV];
  // refused before a study is created in a store the workers could not share
  checkSharedStorage(options.executor, storage);
  const { study, workers: target } = await createSharedStudy(definition, { storage, token: options.token, name: options.name, storageTimeout: options.storageTimeout, onRetry: log });
  try {
    const submission = await launchWorkers(study, { ...options, workers: options.workers ?? definition.parallelBandwidth, parallelism: options.parallelism, storage: storage ?? study.location, token: target.secretEnv[TOKEN_ENV] });
    log(`study ${study.id} (${study.name}) in ${study.location}: ${submission.workers} worker(s) submitted to ${submission.executor} as ${submission.id}; their output under ${submission.logDir}`);
    const executor = executorOf(submission);
    const abort = new AbortController();
    let interrupted: NodeJS.Signals | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      interrupted = signal;
      abort.abort();
    };
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
    for (const s of signals) process.on(s, onSignal);
    let workers: WorkerInfo[] = [];
    let withdrawn = false;
    try {
      await followWorkerOutput([submission], options.workerOutput ?? ((line) => console.log(line)), {
        pollMs: options.pollMs,
        signal: abort.signal,
        done: async () => {
          const [{ status }, listed] = await Promise.all([study.refresh(), executor.list(submission)]);
          workers = listed;
          if (status !== 'running' && !withdrawn && executor.cancelPending) {
            withdrawn = true;
            await executor.cancelPending(submission);
          }
          // every worker listed and ended: the study is over, or no worker is left to carry it on
          return workers.length === submission.workers && workers.every(ended);
        },
      });
      if (interrupted) {
        await executor.stop(submission);
        log(`${interrupted}: the run's workers were stopped (each gives its trial back); run the same file again to continue study ${study.id}`);
      }
    } finally {
      for (const s of signals) process.off(s, onSignal);
    }
    return { studyId: study.id, name: study.name, submission, workers, status: await study.statusReport(), ...(interrupted ? { interrupted } : {}) };
  } finally {
    await study.close();
  }
}

/** Why the run failed, when a worker failed (with the engine's reason) or the study was left unfinished; undefined otherwise. */
export function executorRunFailure(report: ExecutorRunReport): string | undefined {
  const failed = report.workers.filter((w) => w.state === 'failed');
  const s = report.status;
  if (failed.length === 0 && s.status !== 'running') return undefined;
  const count = `${s.observations} / ${s.budget ?? '∞'} observations`;
  const who = failed.length ? `${failed.length} of ${report.workers.length} worker(s) failed: ${failed.map((w) => `${w.id}${w.reason ? ` (${w.reason})` : ''}`).join('; ')}` : 'every worker ended';
  // a study on a server is named by its URL (no secret in it); one in a store by its id
  const ref = /^https?:\/\//.test(s.storage) ? s.storage : String(s.id);
  const study = s.status === 'running' ? `study ${s.id} is unfinished (${count}): run the same file again, or tunelab study launch ${ref} --executor ${report.submission.executor}, to continue it` : `study ${s.id} is ${s.status} (${count})`;
  return `${who}; ${study}; their output: tunelab study logs ${ref}`;
}
