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
  it('with --wait: submits one training job per job, with the hpo-main arguments, the S3 layout and the study tags, and waits for them', async () => {
    sm.on(CreateTrainingJobCommand).resolves({ TrainingJobArn: 'arn:job' });
    sm.on(DescribeTrainingJobCommand)
      .resolvesOnce({ TrainingJobStatus: 'InProgress' })
      .resolves({ TrainingJobStatus: 'Completed' });
    const { outcomes } = await launchRemote(
      { experimentTag: 'docs-2', method: ['RS', 'ASHA'], numSeeds: 2, randomSeed: 2465497701, jobBackend: 'sagemaker', sagemaker, maxParallelJobs: 2, wait: true },
      () => {},
    );
    expect(outcomes.map((o) => [o.ok, o.state])).toEqual([
      [true, 'Completed'],
      [true, 'Completed'],
    ]);
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
    expect(rs.Tags).toEqual([
      { Key: 'tunelab:experiment_tag', Value: 'docs-2' },
      { Key: 'tunelab:job', Value: 'RS' },
      { Key: 'tunelab:method', Value: 'RS' },
      { Key: 'tunelab:seeds', Value: '0-1' },
      { Key: 'tunelab:s3_path', Value: 's3://my-bucket/tunelab/docs-2/RS/' },
    ]);
    expect(sm.commandCalls(DescribeTrainingJobCommand).length).toBeGreaterThanOrEqual(3);
  });

  it('reports a failed job with its failure reason, and a job that could not be created', async () => {
    sm.on(CreateTrainingJobCommand).callsFake((input: { TrainingJobName: string }) => {
      if (input.TrainingJobName.includes('-ASHA-')) throw Object.assign(new Error('Could not assume role'), { name: 'ValidationException' });
      return { TrainingJobArn: 'arn:rs' };
    });
    sm.on(DescribeTrainingJobCommand).resolves({ TrainingJobStatus: 'Failed', FailureReason: 'AlgorithmError: exit code 1' });
    const { outcomes } = await launchRemote({ experimentTag: 't', method: ['RS', 'ASHA'], randomSeed: 1, jobBackend: 'sagemaker', sagemaker, wait: true }, () => {});
    expect(outcomes[0]).toMatchObject({ ok: false, detail: expect.stringMatching(/^t-RS-\d+ Failed: AlgorithmError: exit code 1$/) });
    expect(outcomes[1]).toMatchObject({ ok: false, detail: expect.stringMatching(/NotCreated: CreateTrainingJob failed: ValidationException: Could not assume role/) });
  });

  it('without --wait: returns once every job is created, printing each name and S3 path, and never polls', async () => {
    sm.on(CreateTrainingJobCommand).resolves({ TrainingJobArn: 'arn:job' });
    const lines: string[] = [];
    const { outcomes } = await launchRemote({ experimentTag: 'walk', method: ['RS', 'BO'], numSeeds: 2, randomSeed: 5, jobBackend: 'sagemaker', sagemaker }, (l) => lines.push(l));
    expect(outcomes.map((o) => [o.job.name, o.state])).toEqual([
      ['RS', 'InProgress'],
      ['BO-0', 'InProgress'],
      ['BO-1', 'InProgress'],
    ]);
    expect(sm.commandCalls(CreateTrainingJobCommand)).toHaveLength(3);
    expect(sm.commandCalls(DescribeTrainingJobCommand)).toHaveLength(0);
    expect(lines.join('\n')).toMatch(/BO-1: SageMaker job walk-BO-1-\d{12} created; results to s3:\/\/my-bucket\/tunelab\/walk\/BO-1\//);
    expect(lines.join('\n')).toMatch(/tunelab jobs --experiment_tag walk --backend sagemaker/);
  });

  it('waits out throttling and a full account quota on CreateTrainingJob (backoff), and says how often it tried when it gives up', async () => {
    sm.on(CreateTrainingJobCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .rejectsOnce(Object.assign(new Error('The account-level service limit is exceeded'), { name: 'ResourceLimitExceeded' }))
      .resolves({ TrainingJobArn: 'arn:job' });
    const quick = { ...sagemaker, retryDelay: 0.001 };
    const ok = await launchRemote({ experimentTag: 'q', method: ['RS'], randomSeed: 1, jobBackend: 'sagemaker', sagemaker: quick }, () => {});
    expect(ok.outcomes[0].state).toBe('InProgress');
    expect(sm.commandCalls(CreateTrainingJobCommand)).toHaveLength(3);
    sm.reset();
    sm.on(CreateTrainingJobCommand).rejects(Object.assign(new Error('The account-level service limit is exceeded'), { name: 'ResourceLimitExceeded' }));
    const no = await launchRemote({ experimentTag: 'q', method: ['RS'], randomSeed: 1, jobBackend: 'sagemaker', sagemaker: quick }, () => {});
    expect(no.outcomes[0]).toMatchObject({ state: 'NotCreated', detail: expect.stringMatching(/ResourceLimitExceeded: The account-level service limit is exceeded \(after 8 attempts\)$/) });
    expect(sm.commandCalls(CreateTrainingJobCommand)).toHaveLength(8);
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
