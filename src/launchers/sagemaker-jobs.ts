import type { SageMakerClient, TrainingJobStatus } from '@aws-sdk/client-sagemaker';
import { UserError } from '../util/errors.js';
import { datetimeStamp } from '../results/layout.js';
import type { RemoteJob } from './launch-remote.js';

export interface SageMakerJobOptions {
  /** A container image with tunelab installed; its `tunelab` command runs the job. */
  image: string;
  /** IAM role ARN SageMaker runs the job as. */
  role: string;
  instanceType?: string;
  /** Results go to s3://<bucket>/<prefix>/<tag>/<job>/ (uploaded by the job's `hpo-main --s3_bucket`). */
  bucket: string;
  prefix?: string;
  maxRuntimeSeconds?: number;
  /** Seconds between status checks (default 30). */
  pollInterval?: number;
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
  const base = `${tag}-${job}`.replace(/[^a-zA-Z0-9-]/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
  return `${base.slice(0, 63 - stamp.length - 1)}-${stamp}`;
}

/**
 * Runs one launch-remote job as a SageMaker training job: the container's `tunelab hpo-main` gets the
 * job's arguments plus the S3 destination, and this waits until the job has ended.
 */
export async function runSageMakerJob(tag: string, job: RemoteJob, options: SageMakerJobOptions): Promise<SageMakerJobOutcome> {
  // the SDK takes ~1 s to load: only a SageMaker launch pays for it
  const { CreateTrainingJobCommand, DescribeTrainingJobCommand, SageMakerClient } = await import('@aws-sdk/client-sagemaker');
  const client = options.client ?? new SageMakerClient({});
  const prefix = options.prefix ?? 'tunelab';
  const name = trainingJobName(tag, job.name);
  try {
    await client.send(
      new CreateTrainingJobCommand({
        TrainingJobName: name,
        RoleArn: options.role,
        AlgorithmSpecification: {
          TrainingImage: options.image,
          TrainingInputMode: 'File',
          ContainerEntrypoint: ['tunelab'],
          ContainerArguments: [...job.args, '--s3_bucket', options.bucket, '--s3_prefix', prefix],
        },
        OutputDataConfig: { S3OutputPath: `s3://${options.bucket}/${prefix}/${tag}/${job.name}/` },
        ResourceConfig: { InstanceType: (options.instanceType ?? 'ml.c5.xlarge') as never, InstanceCount: 1, VolumeSizeInGB: 30 },
        StoppingCondition: { MaxRuntimeInSeconds: options.maxRuntimeSeconds ?? 24 * 3600 },
        Tags: [
          { Key: 'tunelab:experiment_tag', Value: tag },
          { Key: 'tunelab:job', Value: job.name },
        ],
      }),
    );
  } catch (e) {
    return { trainingJobName: name, status: 'NotCreated', failureReason: `CreateTrainingJob failed: ${(e as Error).name}: ${(e as Error).message}` };
  }
  const interval = (options.pollInterval ?? 30) * 1000;
  for (;;) {
    let status: TrainingJobStatus | undefined;
    let failureReason: string | undefined;
    try {
      const d = await client.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
      status = d.TrainingJobStatus;
      failureReason = d.FailureReason;
    } catch (e) {
      throw new UserError(`cannot follow SageMaker job ${name}: ${(e as Error).name}: ${(e as Error).message} (the job may still be running)`, 1);
    }
    if (status === 'Completed' || status === 'Failed' || status === 'Stopped') return { trainingJobName: name, status, failureReason };
    await new Promise((r) => setTimeout(r, interval));
  }
}
