import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { resultsRoot } from '../results/layout.js';
import { isServerUrl } from '../study/handle.js';
import { workerTarget } from '../study/shared-study.js';
import { parseStorage } from '../study/storage/open.js';
import { UserError, unknownName } from '../util/errors.js';
import { formatTable } from '../util/table.js';
import { mkdirp } from '../util/fs.js';
import { KubernetesExecutor, type KubernetesOptions } from './kubernetes.js';
import { LocalExecutor } from './local.js';
import { SlurmExecutor, type SlurmOptions } from './slurm.js';
import type { Executor, Submission, WorkerInfo, WorkerResources } from './types.js';

export const EXECUTORS = ['local', 'slurm', 'kubernetes'] as const;
export type ExecutorName = (typeof EXECUTORS)[number];

/** The file every submission of a study is recorded in, one JSON line each. */
export const SUBMISSIONS_FILE = 'submissions.jsonl';

export interface LaunchOptions {
  executor: ExecutorName;
  workers: number;
  /** At most this many at once (default all). */
  parallelism?: number;
  /** The store (or study server) URL every worker reaches; it travels by the environment. */
  storage: string;
  /** With a study server: the API token, which travels by the environment too. */
  token?: string;
  /**
   * Seconds a worker keeps retrying an unreachable store before it ends (its --storage_timeout):
   * with the study stopped or done, workers end by themselves, so none runs on after tunelab is gone.
   */
  orphanTimeout?: number;
  /** Run this per suggestion instead of the experiment file's command. */
  command?: string[];
  resources?: WorkerResources;
  /** Results root: the submissions and the workers' output go under `<root>/.study-executors/`. */
  root?: string;
  slurm?: SlurmOptions;
  kubernetes?: Omit<KubernetesOptions, 'image'> & { image?: string };
}

/** Where a study's submissions and its workers' output live on the machine that launched them. */
export const executorFolder = (study: { id: number; name: string }, root?: string) => join(resultsRoot(root), '.study-executors', `${study.id}-${study.name}`);

export function createExecutor(name: string, options: Pick<LaunchOptions, 'slurm' | 'kubernetes'> = {}): Executor {
  if (name === 'local') return new LocalExecutor();
  if (name === 'slurm') return new SlurmExecutor(options.slurm);
  if (name === 'kubernetes') {
    const image = options.kubernetes?.image;
    return new KubernetesExecutor({ ...options.kubernetes, image: image ?? '' });
  }
  throw unknownName('executor', name, EXECUTORS);
}

/** Refuses a store the executor's workers cannot all reach: a SQLite file for workers on other machines. */
export function checkSharedStorage(executor: string, storage: string | undefined): void {
  // a study server: every node reaches it over HTTP
  if (storage !== undefined && isServerUrl(storage)) return;
  const location = parseStorage(storage);
  if (executor !== 'local' && location?.kind === 'sqlite') {
    throw new UserError(
      `--executor ${executor} runs workers on other machines, which cannot share the SQLite file ${location.file} (SQLite's locking holds on one machine's file system only): put the study on PostgreSQL (--storage postgresql://…)`,
    );
  }
}

/** Starts `workers` study workers with the executor and records the submission. */
export async function launchWorkers(study: { id: number; name: string }, options: LaunchOptions): Promise<Submission> {
  if (!(EXECUTORS as readonly string[]).includes(options.executor)) throw unknownName('executor', options.executor, EXECUTORS);
  if (!(Number.isInteger(options.workers) && options.workers >= 1)) throw new UserError(`--workers must be a positive integer, got ${options.workers}`);
  if (options.parallelism !== undefined && !(Number.isInteger(options.parallelism) && options.parallelism >= 1)) throw new UserError(`--parallelism must be a positive integer, got ${options.parallelism}`);
  checkSharedStorage(options.executor, options.storage);
  if (options.executor === 'kubernetes' && !options.kubernetes?.image) throw new UserError('--executor kubernetes needs --k8s_image: an image whose entrypoint is tunelab (docker/Dockerfile, or one built FROM it with your code)');
  const logDir = join(executorFolder(study, options.root), options.executor);
  mkdirp(logDir);
  const target = workerTarget(study, options.storage, options.token);
  const args = ['study', 'worker', target.study, '--storage_timeout', String(options.orphanTimeout ?? 300), ...(options.command?.length ? ['--', ...options.command] : [])];
  const submission = await createExecutor(options.executor, options).submit({
    studyId: study.id,
    studyName: study.name,
    workers: options.workers,
    parallelism: options.parallelism,
    args,
    secretEnv: target.secretEnv,
    resources: options.resources,
    logDir,
  });
  appendFileSync(join(executorFolder(study, options.root), SUBMISSIONS_FILE), `${JSON.stringify(submission)}\n`);
  return submission;
}

/** Every submission of the study launched from this machine, oldest first. */
export function submissionsOf(study: { id: number; name: string }, root?: string): Submission[] {
  const file = join(executorFolder(study, root), SUBMISSIONS_FILE);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as Submission);
}

/** The executor that made a recorded submission, set as it was. */
export const executorOf = (s: Submission) => createExecutor(s.executor, { kubernetes: { namespace: s.settings?.namespace } });

/** The cluster side of a study: each submission's workers with their state and the engine's reason. */
export async function clusterWorkers(study: { id: number; name: string }, root?: string): Promise<ClusterSubmission[]> {
  return Promise.all(
    submissionsOf(study, root).map(async (submission) => {
      try {
        return { submission, workers: await executorOf(submission).list(submission) };
      } catch (e) {
        // the study's own status still prints when the engine cannot be asked from here
        return { submission, workers: [], error: (e as Error).message };
      }
    }),
  );
}

export interface ClusterSubmission {
  submission: Submission;
  workers: WorkerInfo[];
  /** Why the engine could not list them. */
  error?: string;
}

/**
 * After `study stop`: workers not yet started are withdrawn (running ones finish or abandon their
 * trials as the stop says and end by themselves); with `all`, every worker is ended now.
 */
export async function stopClusterWorkers(study: { id: number; name: string }, all: boolean, root?: string): Promise<number> {
  const submissions = submissionsOf(study, root);
  for (const s of submissions) {
    const executor = executorOf(s);
    if (all || !executor.cancelPending) await executor.stop(s);
    else await executor.cancelPending(s);
  }
  return submissions.length;
}

/**
 * `study delete`: every worker of the study's submissions ended (Slurm tasks cancelled, the
 * Kubernetes Job and its Secret deleted); with `data`, the submissions' record and the workers'
 * output removed too. Returns how many submissions there were.
 */
export async function deleteClusterWorkers(study: { id: number; name: string }, data: boolean, root?: string): Promise<number> {
  const n = await stopClusterWorkers(study, true, root);
  if (data) rmSync(executorFolder(study, root), { recursive: true, force: true });
  return n;
}

/** The cluster side of `study status`: a row per worker, as the Orchestrator's pod table. */
export function formatClusterWorkers(cluster: readonly ClusterSubmission[]): string {
  const rows = cluster.flatMap(({ submission, workers }) => workers.map((w) => [submission.executor, submission.id, w.index, w.id, w.state, w.reason ?? '']));
  const counts = new Map<string, number>();
  for (const { workers } of cluster) for (const w of workers) counts.set(w.state, (counts.get(w.state) ?? 0) + 1);
  const errors = cluster.filter((c) => c.error).map((c) => `${c.submission.executor} ${c.submission.id}: cannot list its workers: ${c.error}`);
  return [`workers on executors: ${[...counts].map(([state, n]) => `${n} ${state}`).join(', ') || 'none listed'}`, formatTable(['executor', 'submission', 'index', 'id', 'state', 'reason'], rows), ...errors].join('\n');
}
