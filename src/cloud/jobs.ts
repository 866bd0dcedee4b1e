import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import pLimit from 'p-limit';
import { TAG, nameStem, sageMakerClient, seedsTag } from '../aws/sagemaker.js';
import { UserError } from '../util/errors.js';
import { describeAwsError } from '../aws/client.js';
import { type JobState, readLocalJobs } from './local-jobs.js';

/** One job of a study as `tunelab jobs` lists it, from either job runner. */
export interface StudyJob {
  job: string;
  state: JobState | 'Stopping';
  method: string;
  seeds: string;
  /** Where its results go (S3 URI or local folder). */
  destination: string;
  /** Failure reason, or what identifies the job (training job name, launch and pid). */
  detail: string;
  /** SageMaker: the training job name; local: the pid of the job's process group. */
  handle: string;
}

/** The tag's jobs in the local pool's records (every launch, oldest first). */
export function localStudyJobs(root: string, tag: string): StudyJob[] {
  return readLocalJobs(root, tag).map((r) => ({
    job: r.name,
    state: r.state,
    method: r.method,
    seeds: seedsTag(r.seeds),
    destination: r.destination,
    detail: r.failureReason ?? `launch ${r.launch}, pid ${r.pid} on ${r.host}, log ${r.log}`,
    handle: String(r.pid),
  }));
}

const CALLS_AT_ONCE = 4;

/**
 * The tag's SageMaker training jobs: ListTrainingJobs pages (names hold the tag's stem, so that
 * filter is exact enough to be cheap), then each candidate's tags (the tag must match exactly: names
 * are truncated and sanitised) and DescribeTrainingJob for its state and failure reason.
 */
export async function sageMakerStudyJobs(tag: string, options: { client?: SageMakerClient } = {}): Promise<StudyJob[]> {
  const { DescribeTrainingJobCommand, ListTagsCommand, ListTrainingJobsCommand } = await import('@aws-sdk/client-sagemaker');
  const client = await sageMakerClient(options);
  const call = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      throw new UserError(`SageMaker ${what} failed: ${describeAwsError(e)}`, 1);
    }
  };
  const summaries: { name: string; arn: string; created: number }[] = [];
  let token: string | undefined;
  do {
    const page = await call('ListTrainingJobs', () => client.send(new ListTrainingJobsCommand({ NameContains: nameStem(tag).slice(0, 50), NextToken: token, MaxResults: 100 })));
    for (const s of page.TrainingJobSummaries ?? []) summaries.push({ name: s.TrainingJobName!, arn: s.TrainingJobArn!, created: s.CreationTime?.getTime() ?? 0 });
    token = page.NextToken;
  } while (token);
  const limit = pLimit(CALLS_AT_ONCE);
  const rows = await Promise.all(
    summaries.map((s) =>
      limit(async (): Promise<(StudyJob & { created: number }) | undefined> => {
        const tags = new Map<string, string>();
        let next: string | undefined;
        do {
          const page = await call(`ListTags of ${s.name}`, () => client.send(new ListTagsCommand({ ResourceArn: s.arn, NextToken: next })));
          for (const t of page.Tags ?? []) tags.set(t.Key!, t.Value ?? '');
          next = page.NextToken;
        } while (next);
        if (tags.get(TAG.experimentTag) !== tag) return undefined;
        const d = await call(`DescribeTrainingJob ${s.name}`, () => client.send(new DescribeTrainingJobCommand({ TrainingJobName: s.name })));
        return {
          job: tags.get(TAG.job) ?? '?',
          state: (d.TrainingJobStatus ?? 'InProgress') as StudyJob['state'],
          method: tags.get(TAG.method) ?? '?',
          seeds: tags.get(TAG.seeds) ?? '?',
          destination: tags.get(TAG.s3Path) ?? d.OutputDataConfig?.S3OutputPath ?? '?',
          detail: d.FailureReason ?? `${s.name}${d.SecondaryStatus ? ` (${d.SecondaryStatus})` : ''}`,
          handle: s.name,
          created: s.created,
        };
      }),
    ),
  );
  return rows
    .filter((r) => r !== undefined)
    .sort((a, b) => a.created - b.created || a.job.localeCompare(b.job))
    .map(({ created: _, ...r }) => r);
}

/** Stops the jobs that still run: StopTrainingJob, or SIGTERM to the local job's process group (it stops gracefully). */
export async function stopStudyJobs(jobs: StudyJob[], backend: 'local' | 'sagemaker', options: { client?: SageMakerClient } = {}): Promise<StudyJob[]> {
  const live = jobs.filter((j) => j.state === 'InProgress');
  if (backend === 'local') {
    for (const j of live) {
      try {
        process.kill(-Number(j.handle), 'SIGTERM');
      } catch {
        // ended meanwhile
      }
    }
    return live;
  }
  const { StopTrainingJobCommand } = await import('@aws-sdk/client-sagemaker');
  const client = await sageMakerClient(options);
  const limit = pLimit(CALLS_AT_ONCE);
  await Promise.all(
    live.map((j) =>
      limit(async () => {
        try {
          await client.send(new StopTrainingJobCommand({ TrainingJobName: j.handle }));
        } catch (e) {
          throw new UserError(`SageMaker StopTrainingJob ${j.handle} failed: ${describeAwsError(e)}`, 1);
        }
      }),
    ),
  );
  return live;
}
