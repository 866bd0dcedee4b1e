import { CreateTrainingJobCommand, DescribeTrainingJobCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { launchRemote } from '../src/launchers/launch-remote.js';
import { trainingJobName } from '../src/launchers/sagemaker-jobs.js';

// SageMaker's control plane cannot run here: the AWS SDK's own mock stands in for it.
const sm = mockClient(SageMakerClient);
afterEach(() => sm.reset());

const sagemaker = { image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/tunelab:0.1', role: 'arn:aws:iam::123456789012:role/sm', bucket: 'my-bucket', pollInterval: 0.01, client: new SageMakerClient({ region: 'us-east-1' }) };

describe('launch-remote on SageMaker', () => {
  it('submits one training job per job, with the hpo-main arguments and the S3 layout, and waits for them', async () => {
    sm.on(CreateTrainingJobCommand).resolves({ TrainingJobArn: 'arn:job' });
    sm.on(DescribeTrainingJobCommand)
      .resolvesOnce({ TrainingJobStatus: 'InProgress' })
      .resolves({ TrainingJobStatus: 'Completed' });
    const outcomes = await launchRemote(
      { experimentTag: 'docs-2', method: ['RS', 'ASHA'], numSeeds: 2, randomSeed: 2465497701, jobBackend: 'sagemaker', sagemaker, maxParallelJobs: 2 },
      () => {},
    );
    expect(outcomes.map((o) => o.ok)).toEqual([true, true]);
    const calls = sm.commandCalls(CreateTrainingJobCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(2);
    const rs = calls.find((c) => c.TrainingJobName!.startsWith('docs-2-RS-'))!;
    expect(rs.TrainingJobName).toMatch(/^docs-2-RS-\d{12}$/);
    expect(rs.AlgorithmSpecification).toEqual({
      TrainingImage: sagemaker.image,
      TrainingInputMode: 'File',
      ContainerEntrypoint: ['tunelab'],
      ContainerArguments: ['hpo-main', '--experiment_tag', 'docs-2', '--random_seed', '2465497701', '--method', 'RS', '--start_seed', '0', '--num_seeds', '2', '--s3_bucket', 'my-bucket', '--s3_prefix', 'tunelab'],
    });
    expect(rs.OutputDataConfig).toEqual({ S3OutputPath: 's3://my-bucket/tunelab/docs-2/RS/' });
    expect(rs.RoleArn).toBe(sagemaker.role);
    expect(sm.commandCalls(DescribeTrainingJobCommand).length).toBeGreaterThanOrEqual(3);
  });

  it('reports a failed job with its failure reason, and a job that could not be created', async () => {
    sm.on(CreateTrainingJobCommand).callsFake((input: { TrainingJobName: string }) => {
      if (input.TrainingJobName.includes('-ASHA-')) throw Object.assign(new Error('Could not assume role'), { name: 'ValidationException' });
      return { TrainingJobArn: 'arn:rs' };
    });
    sm.on(DescribeTrainingJobCommand).resolves({ TrainingJobStatus: 'Failed', FailureReason: 'AlgorithmError: exit code 1' });
    const outcomes = await launchRemote({ experimentTag: 't', method: ['RS', 'ASHA'], randomSeed: 1, jobBackend: 'sagemaker', sagemaker }, () => {});
    expect(outcomes[0]).toMatchObject({ ok: false, detail: expect.stringMatching(/^t-RS-\d+ Failed: AlgorithmError: exit code 1$/) });
    expect(outcomes[1]).toMatchObject({ ok: false, detail: expect.stringMatching(/NotCreated: CreateTrainingJob failed: ValidationException: Could not assume role/) });
  });

  it('makes valid, unique-per-launch job names', () => {
    const name = trainingJobName('my_study.v2', 'MOBSTER-TANH-13', new Date(Date.UTC(2026, 10, 24, 5, 6, 7)));
    expect(name).toBe('my-study-v2-MOBSTER-TANH-13-261124050607');
    expect(trainingJobName('x'.repeat(80), 'RS').length).toBeLessThanOrEqual(63);
  });

  it('needs the SageMaker settings', async () => {
    await expect(launchRemote({ experimentTag: 't', method: ['RS'], jobBackend: 'sagemaker' }, () => {})).rejects.toThrow(/--backend sagemaker needs --sagemaker_image, --sagemaker_role and --s3_bucket/);
  });
});
