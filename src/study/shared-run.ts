import { type ChildProcess, spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type ExperimentDefinition, trialEnvironment } from '../experiment/load.js';
import { UserError } from '../util/errors.js';
import { packageRoot } from '../util/package-info.js';
import { EXHAUSTED, type StudyStatusReport } from './status.js';
import { createSharedStudy, withoutSecrets } from './shared-study.js';

/** The built CLI (also when this module runs from src/, under the tests). */
const CLI = join(packageRoot, 'dist', 'src', 'cli.js');

export interface SharedStudyOptions {
  /** `--storage` (default: the SQLite file under the results root), or a study server's URL. */
  storage?: string;
  /** With a study server: the API token (default: $TUNELAB_TOKEN); the workers get it in their environment. */
  token?: string;
  /** Worker processes to start on this machine (default: the file's parallel_bandwidth). */
  nWorkers?: number;
  /** The study's name (default: the experiment's); an existing study of that name tuning the same problem is continued. */
  name?: string;
  /** Run this instead of the file's command. */
  command?: string[] | string;
  /** `--storage_timeout`: seconds each worker keeps retrying an unreachable store (default 30). */
  storageTimeout?: number;
  log?: (line: string) => void;
  /** Where the workers' output goes (default: this process's stdout and stderr, each line prefixed by the worker). */
  workerOutput?: (workerIndex: number, line: string) => void;
}

/** How one worker process of the run ended. */
export interface WorkerExit {
  /** Its index among the run's workers (the `[worker i]` prefix of its lines). */
  index: number;
  pid: number;
  /** Its id in the study (none if it died before it registered). */
  workerId?: string;
  /** Its exit code, or the signal that killed it. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SharedStudyReport {
  studyId: number;
  name: string;
  /** Each worker process's exit code (null: ended by a signal). */
  exitCodes: (number | null)[];
  workers: WorkerExit[];
  status: StudyStatusReport;
}

/**
 * Why the run failed, when a worker process did not end cleanly: each of them by index, pid and
 * worker id with its signal or exit code, and where the study's budget stands. Undefined when every
 * worker exited with 0.
 */
export function sharedRunFailure(report: SharedStudyReport): string | undefined {
  const died = report.workers.filter((w) => w.code !== 0);
  if (died.length === 0) return undefined;
  const who = died.map((w) => `worker ${w.index} (pid ${w.pid}${w.workerId ? `, ${w.workerId}` : ''}) ${w.signal ? `was killed by ${w.signal}` : `exited with code ${w.code}`}`);
  const s = report.status;
  const count = `${s.observations} / ${s.budget ?? '∞'} observations`;
  const budget =
    s.status === 'completed'
      ? `the study's budget was met (${count})`
      : s.status === 'exhausted'
        ? `the study's space is exhausted (${EXHAUSTED}; ${count})`
        : s.status === 'stopped'
          ? `the study was stopped (${count})`
          : `the budget was not met (${count}): run the same file again, or join with ${joinCommand(s)}, to continue the study`;
  return `${died.length} of ${report.workers.length} worker(s) died: ${who.join('; ')}; ${budget}`;
}

/** How another machine joins the study. */
const joinCommand = (s: Pick<StudyStatusReport, 'id' | 'storage'>) => (/^https?:\/\//.test(s.storage) ? `tunelab study worker ${s.storage}` : `tunelab study worker ${s.id} --storage '${s.storage}'`);

/**
 * `tunelab run -f experiment.yml --storage URL`: creates the study (or continues the one of that
 * name), then starts `nWorkers` `tunelab study worker` processes on this machine and waits for
 * them; workers on other machines join with `tunelab study worker <id> --storage URL`. SIGINT and
 * SIGTERM are passed on to the workers (each abandons its current trial and exits).
 */
export async function runSharedStudy(definition: ExperimentDefinition, options: SharedStudyOptions = {}): Promise<SharedStudyReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  const nWorkers = options.nWorkers ?? definition.parallelBandwidth;
  if (!(Number.isInteger(nWorkers) && nWorkers >= 1)) throw new UserError(`--n_workers must be a positive integer, got ${nWorkers}`);
  // the workers read from_env values from the environment they inherit: one missing is said here, once
  trialEnvironment(definition);
  const { study, workers: target } = await createSharedStudy(definition, { storage: options.storage, token: options.token, name: options.name, storageTimeout: options.storageTimeout, onRetry: log });
  try {
    log(`study ${study.id} (${study.name}) in ${study.location}: starting ${nWorkers} worker(s); join from elsewhere with: ${joinCommand({ id: study.id, storage: study.location })}`);
    const args = ['study', 'worker', target.study, ...(options.storageTimeout !== undefined ? ['--storage_timeout', String(options.storageTimeout)] : [])];
    if (options.command !== undefined) args.push('--', ...(typeof options.command === 'string' ? ['/bin/sh', '-c', `${options.command} "$@"`, 'sh'] : options.command));
    const output = options.workerOutput ?? ((i: number, line: string) => console.log(`[worker ${i}] ${line}`));
    const children: ChildProcess[] = [];
    const forward = (signal: NodeJS.Signals) => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(signal);
    };
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
    for (const s of signals) process.on(s, forward);
    try {
      const ended = await Promise.all(
        Array.from({ length: nWorkers }, (_, i) => {
          const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...withoutSecrets(process.env), ...target.secretEnv } });
          children.push(child);
          for (const stream of [child.stdout!, child.stderr!]) {
            let rest = '';
            stream.setEncoding('utf8');
            stream.on('data', (chunk: string) => {
              const lines = (rest + chunk).split('\n');
              rest = lines.pop()!;
              for (const line of lines) output(i, line);
            });
            stream.on('end', () => rest && output(i, rest));
          }
          return new Promise<WorkerExit>((resolve) => child.on('close', (code, signal) => resolve({ index: i, pid: child.pid!, code, signal })));
        }),
      );
      const status = await study.statusReport();
      const here = hostname();
      for (const w of ended) w.workerId = status.workers.find((s) => s.pid === w.pid && s.host === here)?.workerId;
      return { studyId: study.id, name: study.name, exitCodes: ended.map((w) => w.code), workers: ended, status };
    } finally {
      for (const s of signals) process.off(s, forward);
    }
  } finally {
    await study.close();
  }
}
