import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { availableParallelism } from 'node:os';
import { datetimeStamp, resultsRoot } from '../results/layout.js';
import { UserError } from '../util/errors.js';
import { mkdirp } from '../util/fs.js';
import { packageRoot } from '../util/package-info.js';
import { benchmarkDefinitions, getBenchmark } from './benchmarks/index.js';
import type { HpoMainOptions } from './hpo-main.js';
import { seedRange } from './hpo-main.js';
import { type MethodDefinition, getMethod, methodDefinitions } from './methods.js';
import { type Log, formatTable } from './reporting.js';
import { type SageMakerJobOptions, runSageMakerJob } from './sagemaker-jobs.js';

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
}

export interface JobOutcome {
  job: RemoteJob;
  ok: boolean;
  /** exit code and log file (local), or training job name and status (SageMaker) */
  detail: string;
}

type JobRunner = (job: RemoteJob) => Promise<JobOutcome>;

function localRunner(logDir: string, log: Log): JobRunner {
  const cli = join(packageRoot, 'dist', 'src', 'cli.js');
  return (job) =>
    new Promise<JobOutcome>((resolve) => {
      const logFile = join(logDir, `${job.name}.log`);
      const out = createWriteStream(logFile);
      log(`${job.name}: started (log ${logFile})`);
      const child = spawn(process.execPath, [cli, ...job.args], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.pipe(out, { end: false });
      child.stderr.pipe(out, { end: false });
      child.on('close', (exitCode) => {
        out.end();
        log(`${job.name}: ${exitCode === 0 ? 'done' : `failed (exit code ${exitCode}; see ${logFile})`}`);
        resolve({ job, ok: exitCode === 0, detail: `exit code ${exitCode}, log ${logFile}` });
      });
    });
}

function sagemakerRunner(tag: string, options: SageMakerJobOptions, log: Log): JobRunner {
  return async (job) => {
    log(`${job.name}: submitting a SageMaker training job`);
    const r = await runSageMakerJob(tag, job, options);
    const ok = r.status === 'Completed';
    log(`${job.name}: SageMaker job ${r.trainingJobName} ${r.status}${r.failureReason ? `: ${r.failureReason}` : ''}`);
    return { job, ok, detail: `${r.trainingJobName} ${r.status}${r.failureReason ? `: ${r.failureReason}` : ''}` };
  };
}

/**
 * Fans a study out into jobs as Syne Tune's launch_remote does: a cheap method runs its seeds one
 * after the other in one job, an expensive one gets one job per seed. Every job receives the same
 * master seed, so the study equals one `hpo-main` run over everything.
 */
export function planJobs(options: HpoMainOptions & { randomSeed: number; jobBackend?: 'local' | 'sagemaker' }, registry: Record<string, MethodDefinition> = methodDefinitions): RemoteJob[] {
  const methods = (options.method?.length ? options.method : Object.keys(registry)).map((m) => getMethod(m, registry));
  for (const b of options.benchmark ?? []) getBenchmark(b, benchmarkDefinitions);
  const seeds = seedRange(options.numSeeds ?? 1, options.startSeed ?? 0);
  const common: string[] = ['--experiment_tag', options.experimentTag, '--random_seed', String(options.randomSeed)];
  if (options.benchmark?.length) common.push('--benchmark', ...options.benchmark);
  const optional: [string, unknown][] = [
    ['--n_workers', options.nWorkers],
    ['--max_wallclock_time', options.maxWallclockTime],
    ['--results_root', options.resultsRoot],
    ['--max_failures', options.maxFailures],
  ];
  for (const [flag, v] of optional) if (v !== undefined) common.push(flag, String(v));
  if (options.restrictConfigurations) common.push('--restrict_configurations');
  if (options.resume) common.push('--resume');
  if (options.saveTuner === false) common.push('--no-save_tuner');
  // SageMaker jobs get their S3 destination from the runner; local jobs upload when asked
  if (options.s3Bucket && options.jobBackend !== 'sagemaker') common.push('--s3_bucket', options.s3Bucket, '--s3_prefix', options.s3Prefix ?? 'tunelab');
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

/** Runs the jobs in a local process pool (at most `maxParallelJobs` at once), each logging to a file. */
export async function launchRemote(options: LaunchRemoteOptions, log: Log = (l) => console.log(l)): Promise<JobOutcome[]> {
  const randomSeed = options.randomSeed ?? randomInt(0, 2 ** 32);
  const jobs = planJobs({ ...options, randomSeed });
  const parallel = options.maxParallelJobs ?? availableParallelism();
  if (!(Number.isInteger(parallel) && parallel >= 1)) throw new UserError(`--max_parallel_jobs must be a positive integer, got ${parallel}`);
  if (options.jobBackend === 'sagemaker' && !options.sagemaker) {
    throw new UserError('--backend sagemaker needs --sagemaker_image, --sagemaker_role and --s3_bucket');
  }
  log(`random_seed ${randomSeed}; ${jobs.length} job(s), at most ${parallel} at once`);
  if (options.dryRun) {
    for (const j of jobs) log(`${j.name}: tunelab ${j.args.join(' ')}`);
    return [];
  }
  // job logs stay out of <root>/<tag>/, which holds experiment folders only
  let run: JobRunner;
  if (options.jobBackend === 'sagemaker') {
    run = sagemakerRunner(options.experimentTag, options.sagemaker!, log);
  } else {
    // job logs stay out of <root>/<tag>/, which holds experiment folders only
    const logDir = join(resultsRoot(options.resultsRoot), '.jobs', options.experimentTag, datetimeStamp(new Date()));
    mkdirp(logDir);
    run = localRunner(logDir, log);
  }
  const limit = pLimit(parallel);
  const outcomes = await Promise.all(jobs.map((job) => limit(() => run(job))));
  log(formatTable(['job', 'seeds', 'status', 'detail'], outcomes.map((o) => [o.job.name, o.job.seeds.join(','), o.ok ? 'done' : 'FAILED', o.detail])));
  return outcomes;
}
