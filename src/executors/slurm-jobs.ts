import { randomInt } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobState } from '../cloud/local-jobs.js';
import type { StudyJob } from '../cloud/jobs.js';
import { type JobOutcome, type LaunchRemoteOptions, type LaunchReport, planJobs } from '../launchers/launch-remote.js';
import type { Log } from '../launchers/reporting.js';
import { writeJsonAtomic } from '../results/metadata.js';
import { datetimeStamp, resultsRoot } from '../results/layout.js';
import { seedsTag } from '../aws/sagemaker.js';
import { UserError } from '../util/errors.js';
import { formatTable } from '../util/table.js';
import { SlurmExecutor, type SlurmOptions } from './slurm.js';
import type { Submission, WorkerInfo } from './types.js';

/**
 * `launch-remote --backend slurm`: a study's jobs (planJobs: one per cheap method, one per seed of
 * an expensive one, every one with the same master seed) as the tasks of one Slurm job array
 * throttled by --max_parallel_jobs, each task one `tunelab hpo-main`. Recorded in
 * `<root>/.slurm-jobs/<tag>/<launch>/array.json` for `tunelab jobs --backend slurm`.
 */

interface ArrayRecord {
  jobId: string;
  randomSeed: number;
  logDir: string;
  submittedAt: string;
  jobs: { index: number; name: string; method: string; seeds: number[]; destination: string }[];
}

const RECORD = 'array.json';
export const slurmJobsDir = (root: string, tag: string) => join(root, '.slurm-jobs', tag);

/** The array as a submission the Slurm executor lists, reads and cancels (task output `job-<index>.out`). */
const asSubmission = (r: ArrayRecord): Submission => ({ executor: 'slurm', id: r.jobId, workers: r.jobs.length, logDir: r.logDir, submittedAt: r.submittedAt });

/** A task's state in the words `tunelab jobs` uses for every job runner. */
function jobState(w: WorkerInfo | undefined): JobState {
  if (!w || w.state === 'pending' || w.state === 'running') return 'InProgress';
  return w.state === 'succeeded' ? 'Completed' : w.state === 'cancelled' ? 'Stopped' : 'Failed';
}

class SlurmJobsExecutor extends SlurmExecutor {
  outputFile(submission: Submission, index: number): string {
    return join(submission.logDir, `job-${index}.out`);
  }
}

export interface SlurmLaunchOptions extends LaunchRemoteOptions {
  slurm?: SlurmOptions;
  /** Seconds between looks at the array while waiting (default 2). */
  pollSeconds?: number;
}

export async function launchSlurmJobs(options: SlurmLaunchOptions, log: Log = (l) => console.log(l)): Promise<LaunchReport> {
  const randomSeed = options.randomSeed ?? randomInt(0, 2 ** 32);
  const jobs = planJobs({ ...options, randomSeed });
  const parallel = options.maxParallelJobs ?? jobs.length;
  if (!(Number.isInteger(parallel) && parallel >= 1)) throw new UserError(`--max_parallel_jobs must be a positive integer, got ${parallel}`);
  log(`random_seed ${randomSeed}; ${jobs.length} job(s) as one Slurm array, at most ${parallel} at once`);
  if (options.dryRun) {
    for (const [i, j] of jobs.entries()) log(`task ${i} ${j.name}: tunelab ${j.args.join(' ')}`);
    return { randomSeed, outcomes: [] };
  }
  const root = resultsRoot(options.resultsRoot);
  const logDir = join(slurmJobsDir(root, options.experimentTag), datetimeStamp(new Date()));
  const executor = new SlurmJobsExecutor(options.slurm);
  // no --signal: at its time limit a task gets Slurm's SIGTERM, on which hpo-main stops gracefully (resumable)
  const jobId = await executor.submitArray({ jobName: `tunelab-jobs-${options.experimentTag}`, tasks: jobs.map((j) => j.args), parallelism: parallel, logDir, output: 'job' });
  const destination = options.s3Bucket ? `s3://${options.s3Bucket}/${options.s3Prefix ?? 'tunelab'}/${options.experimentTag}/` : join(root, options.experimentTag);
  const record: ArrayRecord = { jobId, randomSeed, logDir, submittedAt: new Date().toISOString(), jobs: jobs.map((j, index) => ({ index, name: j.name, method: j.method, seeds: j.seeds, destination })) };
  writeJsonAtomic(join(logDir, RECORD), record);
  log(`Slurm array ${jobId}: ${jobs.map((j, i) => `${jobId}_${i} ${j.name}`).join(', ')}; output under ${logDir}`);
  const submission = asSubmission(record);
  const outcome = (workers: WorkerInfo[]): JobOutcome[] =>
    jobs.map((job, i) => {
      const w = workers.find((x) => x.index === i);
      const state = jobState(w);
      return { job, state, ok: state === 'Completed' || (state === 'InProgress' && !options.wait), detail: `${jobId}_${i}${w?.reason ? ` ${w.reason}` : ''}, log ${executor.outputFile(submission, i)}` };
    });
  if (!options.wait) {
    log(`follow them with: tunelab jobs --experiment_tag ${options.experimentTag} --backend slurm`);
    return { randomSeed, outcomes: outcome(await executor.list(submission)) };
  }
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted ??= signal;
    // scancel's SIGTERM: each hpo-main stops gracefully (rows flushed, status stopped, resumable)
    executor.stop(submission).catch((e: Error) => log(`${signal}: ${e.message}`));
    log(`${signal}: the array's tasks are cancelled (each hpo-main stops gracefully; continue with --resume)`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    let workers = await executor.list(submission);
    while (!(workers.length === jobs.length && workers.every((w) => w.state !== 'pending' && w.state !== 'running'))) {
      await sleep((options.pollSeconds ?? 2) * 1000);
      workers = await executor.list(submission);
    }
    const outcomes = outcome(workers);
    log(formatTable(['job', 'seeds', 'state', 'detail'], outcomes.map((o) => [o.job.name, seedsTag(o.job.seeds), o.state, o.detail])));
    return { randomSeed, outcomes, ...(interrupted ? { interrupted } : {}) };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function arrays(root: string, tag: string): ArrayRecord[] {
  const dir = slurmJobsDir(root, tag);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .filter((launch) => existsSync(join(dir, launch, RECORD)))
    .map((launch) => JSON.parse(readFileSync(join(dir, launch, RECORD), 'utf8')) as ArrayRecord);
}

/** `tunelab jobs --backend slurm`: every task of the tag's arrays with Slurm's state of it, oldest launch first. */
export async function slurmStudyJobs(root: string, tag: string, slurm?: SlurmOptions): Promise<StudyJob[]> {
  const executor = new SlurmJobsExecutor(slurm);
  const out: StudyJob[] = [];
  for (const r of arrays(root, tag)) {
    const submission = asSubmission(r);
    const workers = await executor.list(submission);
    for (const j of r.jobs) {
      const w = workers.find((x) => x.index === j.index);
      out.push({
        job: j.name,
        state: jobState(w),
        method: j.method,
        seeds: seedsTag(j.seeds),
        destination: j.destination,
        detail: `${r.jobId}_${j.index}${w?.reason ? ` ${w.reason}` : ''}, log ${executor.outputFile(submission, j.index)}`,
        handle: `${r.jobId}_${j.index}`,
      });
    }
  }
  return out;
}

/** Cancels the given tasks (scancel's SIGTERM: each hpo-main stops gracefully); returns those that were running or pending. */
export async function stopSlurmJobs(jobs: StudyJob[], slurm?: SlurmOptions): Promise<StudyJob[]> {
  const live = jobs.filter((j) => j.state === 'InProgress');
  if (live.length) await new SlurmExecutor(slurm).cancel(live.map((j) => j.handle));
  return live;
}
