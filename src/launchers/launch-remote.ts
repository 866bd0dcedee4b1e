import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type JobState, type LocalJobRecord, jobsDir, writeJobRecord } from '../cloud/local-jobs.js';
import pLimit from 'p-limit';
import { availableParallelism } from 'node:os';
import { datetimeStamp, resultsRoot } from '../results/layout.js';
import { UserError } from '../util/errors.js';
import { checkPathPart } from '../util/path-part.js';
import { mkdirpUser } from '../util/fs.js';
import { packageRoot } from '../util/package-info.js';
import { type BenchmarkDefinition, benchmarkDefinitions, defaultBenchmarks, getBenchmark } from './benchmarks/index.js';
import { checkStudy } from './study-check.js';
import type { HpoMainOptions } from './hpo-main.js';
import { checkRunLimits } from './hpo-main.js';
import { seedRange } from './run-folder.js';
import { type MethodDefinition, getMethod, methodDefinitions } from '../methods/registry.js';
import { formatTable } from '../util/table.js';
import type { Log } from './reporting.js';
import { seedsTag } from '../aws/sagemaker.js';
import { type SageMakerJobOptions, type SageMakerJobOutcome, createSageMakerJob, jobS3Path, waitForSageMakerJob } from './sagemaker-jobs.js';

export interface RemoteJob {
  /** `<method>` for a cheap method (all its seeds in one job), `<method>-<seed>` for an expensive one. */
  name: string;
  method: string;
  seeds: number[];
  /** Arguments of `tunelab hpo-main` that run this job. */
  args: string[];
}

export interface LaunchRemoteOptions extends HpoMainOptions {
  maxParallelJobs?: number;
  dryRun?: boolean;
  /** Where jobs run: a local process pool (default) or SageMaker training jobs. */
  jobBackend?: 'local' | 'sagemaker';
  sagemaker?: SageMakerJobOptions;
  /** SageMaker: wait until every job has ended (default: return once every job is created). */
  wait?: boolean;
}

export interface JobOutcome {
  job: RemoteJob;
  /** The job's state when the launcher returned; NotCreated / NotStarted: it never ran. */
  state: JobState | 'NotCreated' | 'NotStarted';
  ok: boolean;
  /** exit code and log file (local), or training job name and status (SageMaker) */
  detail: string;
}

export interface LaunchReport {
  randomSeed: number;
  outcomes: JobOutcome[];
  /** The signal that stopped the launch: the jobs were passed it and waited for (or killed by a second one). */
  interrupted?: NodeJS.Signals;
}

type JobRunner = (job: RemoteJob) => Promise<JobOutcome>;

/**
 * SIGINT / SIGTERM of the launcher: no new job starts, and the running ones get the same signal
 * (hpo-main stops gracefully: rows flushed, checkpoint written, status stopped) and are waited
 * for; a second signal kills them (SIGKILL to each job's process group).
 */
class LaunchSignals {
  signal: NodeJS.Signals | undefined;
  readonly abort = new AbortController();
  readonly groups = new Set<number>();
  private readonly handler = (signal: NodeJS.Signals) => this.on(signal);

  constructor(private readonly log: Log) {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  private on(signal: NodeJS.Signals): void {
    const again = this.signal !== undefined;
    this.signal ??= signal;
    this.abort.abort();
    if (again) this.log(`${signal} again: killing ${this.groups.size} job(s)`);
    else this.log(`${signal}: no new jobs; passing ${signal} to ${this.groups.size} running job(s) and waiting for them to stop (${signal} again kills them)`);
    for (const pgid of this.groups) {
      try {
        process.kill(-pgid, again ? 'SIGKILL' : signal);
      } catch {
        // it ended meanwhile
      }
    }
  }

  close(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }
}

const notStarted = (job: RemoteJob, why: string): JobOutcome => ({ job, state: 'NotStarted', ok: false, detail: why });

/** The last non-empty line of a log (the reason a failed hpo-main gave). */
function lastLine(file: string): string {
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  return lines[lines.length - 1] ?? '';
}

function localRunner(logDir: string, destination: string, signals: LaunchSignals, log: Log): JobRunner {
  const cli = join(packageRoot, 'dist', 'src', 'cli.js');
  return (job) =>
    new Promise<JobOutcome>((resolve) => {
      if (signals.signal) return resolve(notStarted(job, `not started (${signals.signal})`));
      const logFile = join(logDir, `${job.name}.log`);
      // the job writes its log itself: it stays whole even if the launcher goes first
      const fd = openSync(logFile, 'a');
      // its own process group, so that a terminal's Ctrl-C reaches the launcher alone, which passes it on
      const child = spawn(process.execPath, [cli, ...job.args], { stdio: ['ignore', fd, fd], detached: true });
      closeSync(fd);
      const record: LocalJobRecord = { name: job.name, method: job.method, seeds: job.seeds, state: 'InProgress', pid: child.pid!, host: hostname(), log: logFile, destination, started: new Date().toISOString() };
      writeJobRecord(logDir, record);
      signals.groups.add(child.pid!);
      log(`${job.name}: started, pid ${child.pid} (log ${logFile}; results to ${destination})`);
      child.on('close', (exitCode, signal) => {
        signals.groups.delete(child.pid!);
        const stopped = exitCode === 130 || exitCode === 143;
        const state: JobState = exitCode === 0 ? 'Completed' : stopped ? 'Stopped' : 'Failed';
        const how = signal ? `killed by ${signal}` : `exit code ${exitCode}`;
        const failureReason = state === 'Failed' ? `${how}: ${lastLine(logFile)}` : undefined;
        writeJobRecord(logDir, { ...record, state, ended: new Date().toISOString(), failureReason });
        log(`${job.name}: ${state === 'Completed' ? 'done' : state === 'Stopped' ? `stopped (${how}; continue with --resume)` : `failed (${how}; see ${logFile})`}`);
        resolve({ job, state, ok: state === 'Completed', detail: `${how}, log ${logFile}` });
      });
    });
}

function sagemakerRunner(tag: string, options: SageMakerJobOptions, wait: boolean, signals: LaunchSignals, log: Log): JobRunner {
  const describe = (r: SageMakerJobOutcome) => `${r.trainingJobName} ${r.status}${r.failureReason ? `: ${r.failureReason}` : ''}`;
  return async (job) => {
    if (signals.signal) return notStarted(job, `not created (${signals.signal})`);
    const created = await createSageMakerJob(tag, job, options);
    if (created.status === 'NotCreated') {
      log(`${job.name}: ${describe(created)}`);
      return { job, state: 'NotCreated', ok: false, detail: describe(created) };
    }
    log(`${job.name}: SageMaker job ${created.trainingJobName} created; results to ${jobS3Path(options, tag, job.name)}`);
    if (!wait) return { job, state: 'InProgress', ok: true, detail: `${created.trainingJobName} InProgress, results to ${jobS3Path(options, tag, job.name)}` };
    const r = await waitForSageMakerJob(created.trainingJobName, options, signals.abort.signal);
    log(`${job.name}: SageMaker job ${describe(r)}`);
    const state = r.status as JobState;
    return { job, state, ok: r.status === 'Completed', detail: describe(r) };
  };
}

/** The methods and benchmarks a study's jobs run (hpo-main's defaults when none are named). */
function studyPairs(options: HpoMainOptions, registry: Record<string, MethodDefinition>): { methods: MethodDefinition[]; benchmarks: BenchmarkDefinition[] } {
  const methods = (options.method?.length ? options.method : Object.keys(registry)).map((m) => getMethod(m, registry));
  const benchmarks = (options.benchmark?.length ? options.benchmark : defaultBenchmarks(benchmarkDefinitions)).map((b) => getBenchmark(b, benchmarkDefinitions));
  return { methods, benchmarks };
}

/**
 * Fans a study out into jobs as Syne Tune's launch_remote does: a cheap method runs its seeds one
 * after the other in one job, an expensive one gets one job per seed. Every job receives the same
 * master seed, so the study equals one `hpo-main` run over everything.
 */
export function planJobs(options: HpoMainOptions & { randomSeed: number; jobBackend?: 'local' | 'sagemaker' }, registry: Record<string, MethodDefinition> = methodDefinitions): RemoteJob[] {
  checkPathPart('--experiment_tag', options.experimentTag);
  const { methods } = studyPairs(options, registry);
  // a job is named after its method: its log file and record are named after the job
  for (const m of methods) checkPathPart('a method name', m.name);
  // what each job's hpo-main would refuse, refused before any job starts
  checkRunLimits(options);
  const seeds = seedRange(options.numSeeds ?? 1, options.startSeed ?? 0);
  const common: string[] = ['--experiment_tag', options.experimentTag, '--random_seed', String(options.randomSeed)];
  if (options.benchmark?.length) common.push('--benchmark', ...options.benchmark);
  const optional: [string, unknown][] = [
    ['--n_workers', options.nWorkers],
    ['--max_wallclock_time', options.maxWallclockTime],
    ['--max_num_trials_started', options.maxNumTrialsStarted],
    ['--results_root', options.resultsRoot],
    ['--max_failures', options.maxFailures],
  ];
  for (const [flag, v] of optional) if (v !== undefined) common.push(flag, String(v));
  if (options.restrictConfigurations) common.push('--restrict_configurations');
  if (options.resume) common.push('--resume');
  if (options.saveTuner === false) common.push('--no-save_tuner');
  // SageMaker jobs get their S3 destination from the runner; local jobs upload when asked
  if (options.s3Bucket && options.jobBackend !== 'sagemaker') common.push('--s3_bucket', options.s3Bucket, '--s3_prefix', options.s3Prefix ?? 'tunelab');
  if (options.s3Bucket && options.s3SyncInterval !== undefined) common.push('--s3_sync_interval', String(options.s3SyncInterval));
  const jobs: RemoteJob[] = [];
  for (const m of methods) {
    const seedArgs = (from: number, to: number) => ['--start_seed', String(from), '--num_seeds', String(to)];
    if (m.expensive) {
      for (const s of seeds) jobs.push({ name: `${m.name}-${s}`, method: m.name, seeds: [s], args: ['hpo-main', ...common, '--method', m.name, ...seedArgs(s, s + 1)] });
    } else {
      jobs.push({ name: m.name, method: m.name, seeds, args: ['hpo-main', ...common, '--method', m.name, ...seedArgs(seeds[0], seeds[seeds.length - 1] + 1)] });
    }
  }
  return jobs;
}

/**
 * Runs the jobs in a local process pool (at most `maxParallelJobs` at once, each in its own process
 * group, logging to a file and recording its state for `tunelab jobs`), or creates them as SageMaker
 * training jobs and returns (waits for them with `wait`).
 */
export async function launchRemote(options: LaunchRemoteOptions, log: Log = (l) => console.log(l)): Promise<LaunchReport> {
  const randomSeed = options.randomSeed ?? randomInt(0, 2 ** 32);
  const jobs = planJobs({ ...options, randomSeed });
  const parallel = options.maxParallelJobs ?? availableParallelism();
  if (!(Number.isInteger(parallel) && parallel >= 1)) throw new UserError(`--max_parallel_jobs must be a positive integer, got ${parallel}`);
  if (options.jobBackend === 'sagemaker' && !options.sagemaker) {
    throw new UserError('--backend sagemaker needs --sagemaker_image, --sagemaker_role and --s3_bucket');
  }
  // every (method, benchmark) pair, before any job exists; SageMaker jobs bring data this machine may lack
  const { methods, benchmarks } = studyPairs(options, methodDefinitions);
  const { unchecked } = await checkStudy(methods, benchmarks, { restrictConfigurations: options.restrictConfigurations, dataElsewhere: options.jobBackend === 'sagemaker' });
  for (const u of unchecked) log(`not checked here (the jobs will): ${u}`);
  log(`random_seed ${randomSeed}; ${jobs.length} job(s), at most ${parallel} at once`);
  if (options.dryRun) {
    for (const j of jobs) log(`${j.name}: tunelab ${j.args.join(' ')}`);
    return { randomSeed, outcomes: [] };
  }
  const signals = new LaunchSignals(log);
  try {
    let run: JobRunner;
    if (options.jobBackend === 'sagemaker') {
      run = sagemakerRunner(options.experimentTag, options.sagemaker!, options.wait ?? false, signals, log);
    } else {
      const root = resultsRoot(options.resultsRoot);
      const logDir = join(jobsDir(root, options.experimentTag), datetimeStamp(new Date()));
      mkdirpUser(logDir, 'the --results_root folder');
      const destination = options.s3Bucket ? `s3://${options.s3Bucket}/${options.s3Prefix ?? 'tunelab'}/${options.experimentTag}/` : join(root, options.experimentTag);
      run = localRunner(logDir, destination, signals, log);
    }
    const limit = pLimit(parallel);
    const outcomes = await Promise.all(jobs.map((job) => limit(() => run(job))));
    log(formatTable(['job', 'seeds', 'state', 'detail'], outcomes.map((o) => [o.job.name, seedsTag(o.job.seeds), o.state, o.detail])));
    if (options.jobBackend === 'sagemaker' && !options.wait) log(`follow them with: tunelab jobs --experiment_tag ${options.experimentTag} --backend sagemaker`);
    return { randomSeed, outcomes, interrupted: signals.signal };
  } finally {
    signals.close();
  }
}
