import { setTimeout as sleep } from 'node:timers/promises';
import type { SageMakerClient, TrainingJobStatus } from '@aws-sdk/client-sagemaker';
import { describeAwsError } from '../aws/client.js';
import { TAG, nameStem, retryThrottled, sageMakerClient, seedsTag } from '../aws/sagemaker.js';
import { UserError } from '../util/errors.js';
import { datetimeStamp } from '../results/layout.js';
import type { RemoteJob } from './launch-remote.js';

export interface SageMakerJobOptions {
  /** A container image with tunelab installed (docker/Dockerfile); its `tunelab` command runs the job. */
  image: string;
  /** IAM role ARN SageMaker runs the job as. */
  role: string;
  instanceType?: string;
  /** Results go to s3://<bucket>/<prefix>/<tag>/<job>/ (uploaded by the job's `hpo-main --s3_bucket`). */
  bucket: string;
  prefix?: string;
  maxRuntimeSeconds?: number;
  /** Seconds between status checks while waiting (default 30). */
  pollInterval?: number;
  /** First backoff in seconds when SageMaker throttles CreateTrainingJob (default 2). */
  retryDelay?: number;
  client?: SageMakerClient;
}

export interface SageMakerJobOutcome {
  trainingJobName: string;
  status: TrainingJobStatus | 'NotCreated';
  failureReason?: string;
}

/** A SageMaker training job name: [a-zA-Z0-9-], at most 63 characters, unique per launch. */
export function trainingJobName(tag: string, job: string, now = new Date()): string {
  const stamp = datetimeStamp(now).replace(/-/g, '').slice(2, 14); // YYMMDDHHMMSS
  return `${nameStem(`${tag}-${job}`).slice(0, 63 - stamp.length - 1)}-${stamp}`;
}

export const jobS3Path = (options: SageMakerJobOptions, tag: string, job: string) => `s3://${options.bucket}/${options.prefix ?? 'tunelab'}/${tag}/${job}/`;

/**
 * Creates one launch-remote job as a SageMaker training job: the container's `tunelab hpo-main` gets
 * the job's arguments plus the S3 destination, to which it streams its results as it runs.
 */
export async function createSageMakerJob(tag: string, job: RemoteJob, options: SageMakerJobOptions): Promise<SageMakerJobOutcome> {
  const { CreateTrainingJobCommand } = await import('@aws-sdk/client-sagemaker');
  const client = await sageMakerClient(options);
  const prefix = options.prefix ?? 'tunelab';
  const name = trainingJobName(tag, job.name);
  const s3Path = jobS3Path(options, tag, job.name);
  const create = new CreateTrainingJobCommand({
    TrainingJobName: name,
    RoleArn: options.role,
    AlgorithmSpecification: {
      TrainingImage: options.image,
      TrainingInputMode: 'File',
      ContainerEntrypoint: ['tunelab'],
      ContainerArguments: [...job.args, '--s3_bucket', options.bucket, '--s3_prefix', prefix],
    },
    OutputDataConfig: { S3OutputPath: s3Path },
    ResourceConfig: { InstanceType: (options.instanceType ?? 'ml.c5.xlarge') as never, InstanceCount: 1, VolumeSizeInGB: 30 },
    StoppingCondition: { MaxRuntimeInSeconds: options.maxRuntimeSeconds ?? 24 * 3600 },
    Tags: [
      { Key: TAG.experimentTag, Value: tag },
      { Key: TAG.job, Value: job.name },
      { Key: TAG.method, Value: job.method },
      { Key: TAG.seeds, Value: seedsTag(job.seeds) },
      { Key: TAG.s3Path, Value: s3Path },
    ],
  });
  try {
    await retryThrottled(() => client.send(create), undefined, options.retryDelay);
  } catch (e) {
    const n = (e as { attemptsMade?: number }).attemptsMade ?? 1;
    return { trainingJobName: name, status: 'NotCreated', failureReason: `CreateTrainingJob failed: ${describeAwsError(e)}${n > 1 ? ` (after ${n} attempts)` : ''}` };
  }
  return { trainingJobName: name, status: 'InProgress' };
}

/** Polls a training job until it has ended, or until `signal` aborts the wait (the job runs on). */
export async function waitForSageMakerJob(name: string, options: SageMakerJobOptions, signal?: AbortSignal): Promise<SageMakerJobOutcome> {
  const { DescribeTrainingJobCommand } = await import('@aws-sdk/client-sagemaker');
  const client = await sageMakerClient(options);
  const interval = (options.pollInterval ?? 30) * 1000;
  for (;;) {
    let d;
    try {
      d = await client.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
    } catch (e) {
      throw new UserError(`cannot follow SageMaker job ${name}: ${describeAwsError(e)} (the job may still be running; see tunelab jobs)`, 1);
    }
    const status = d.TrainingJobStatus ?? 'InProgress';
    if (status === 'Completed' || status === 'Failed' || status === 'Stopped' || signal?.aborted) return { trainingJobName: name, status, failureReason: d.FailureReason };
    await sleep(interval, undefined, { signal }).catch(() => {});
  }
}
