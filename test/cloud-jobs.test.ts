import { DescribeTrainingJobCommand, ListTagsCommand, ListTrainingJobsCommand, SageMakerClient, StopTrainingJobCommand } from '@aws-sdk/client-sagemaker';
import type { ChildProcess } from 'node:child_process';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sageMakerStudyJobs, stopStudyJobs } from '../src/cloud/jobs.js';
import { readLocalJobs } from '../src/cloud/local-jobs.js';
import { S3_ENV, completeRowsInS3, getObject, listKeys, startS3rver, testS3Client } from './cloud-helpers.js';
import { cliPath, tempDir } from './helpers.js';
import { processesUnder, runCli, startProcess, until } from './study-helpers.js';

// SageMaker's control plane cannot run here: the AWS SDK's own mock stands in for it.
const sm = mockClient(SageMakerClient);
afterEach(() => sm.reset());
const client = new SageMakerClient({ region: 'us-east-1' });

describe('tunelab jobs on SageMaker', () => {
  const job = (name: string, minute: number) => ({ TrainingJobName: name, TrainingJobArn: `arn:aws:sagemaker:us-east-1:1:training-job/${name}`, CreationTime: new Date(Date.UTC(2026, 10, 1, 0, minute)), TrainingJobStatus: 'InProgress' as const });
  const tags: Record<string, Record<string, string>> = {
    'docs-2-RS-261101000000': { job: 'RS', method: 'RS', seeds: '0-19', tag: 'docs-2' },
    'docs-2-MOBSTER-TANH-13-261101000100': { job: 'MOBSTER-TANH-13', method: 'MOBSTER-TANH', seeds: '13', tag: 'docs-2' },
    'docs-2-BO-0-261101000200': { job: 'BO-0', method: 'BO', seeds: '0', tag: 'docs-2' },
    'docs-2-ASHA-261101000300': { job: 'ASHA', method: 'ASHA', seeds: '0-19', tag: 'docs-2' },
    // another study whose name holds this one's: told apart by its tag
    'docs-2b-RS-261101000400': { job: 'RS', method: 'RS', seeds: '0', tag: 'docs-2b' },
  };
  const state: Record<string, { TrainingJobStatus: 'InProgress' | 'Completed' | 'Failed' | 'Stopped'; FailureReason?: string }> = {
    'docs-2-RS-261101000000': { TrainingJobStatus: 'Completed' },
    'docs-2-MOBSTER-TANH-13-261101000100': { TrainingJobStatus: 'Failed', FailureReason: 'AlgorithmError: out of memory' },
    'docs-2-BO-0-261101000200': { TrainingJobStatus: 'InProgress' },
    'docs-2-ASHA-261101000300': { TrainingJobStatus: 'Stopped' },
  };
  const mockStudy = () => {
    const names = Object.keys(tags);
    // two pages of ListTrainingJobs, newest first as SageMaker lists them
    sm.on(ListTrainingJobsCommand, { NextToken: undefined }).resolves({ TrainingJobSummaries: names.slice(3).reverse().map((n) => job(n, names.indexOf(n))), NextToken: 'page-2' });
    sm.on(ListTrainingJobsCommand, { NextToken: 'page-2' }).resolves({ TrainingJobSummaries: names.slice(0, 3).reverse().map((n) => job(n, names.indexOf(n))) });
    sm.on(ListTagsCommand).callsFake(({ ResourceArn }: { ResourceArn: string }) => {
      const t = tags[ResourceArn.split('/').pop()!];
      return {
        Tags: [
          { Key: 'tunelab:experiment_tag', Value: t.tag },
          { Key: 'tunelab:job', Value: t.job },
          { Key: 'tunelab:method', Value: t.method },
          { Key: 'tunelab:seeds', Value: t.seeds },
          { Key: 'tunelab:s3_path', Value: `s3://b/tunelab/${t.tag}/${t.job}/` },
        ],
      };
    });
    sm.on(DescribeTrainingJobCommand).callsFake(({ TrainingJobName }: { TrainingJobName: string }) => state[TrainingJobName]);
  };

  it("lists the study's jobs from every page, each state with its failure reason, method, seeds and S3 path, and only this study's", async () => {
    mockStudy();
    const jobs = await sageMakerStudyJobs('docs-2', { client });
    expect(jobs.map((j) => [j.job, j.state, j.method, j.seeds, j.destination])).toEqual([
      ['RS', 'Completed', 'RS', '0-19', 's3://b/tunelab/docs-2/RS/'],
      ['MOBSTER-TANH-13', 'Failed', 'MOBSTER-TANH', '13', 's3://b/tunelab/docs-2/MOBSTER-TANH-13/'],
      ['BO-0', 'InProgress', 'BO', '0', 's3://b/tunelab/docs-2/BO-0/'],
      ['ASHA', 'Stopped', 'ASHA', '0-19', 's3://b/tunelab/docs-2/ASHA/'],
    ]);
    expect(jobs[1].detail).toBe('AlgorithmError: out of memory');
    const lists = sm.commandCalls(ListTrainingJobsCommand).map((c) => c.args[0].input);
    expect(lists).toEqual([
      { NameContains: 'docs-2', NextToken: undefined, MaxResults: 100 },
      { NameContains: 'docs-2', NextToken: 'page-2', MaxResults: 100 },
    ]);
    // the other study's job is never described
    expect(sm.commandCalls(DescribeTrainingJobCommand).map((c) => c.args[0].input.TrainingJobName)).not.toContain('docs-2b-RS-261101000400');
  });

  it('--stop stops the running jobs only (StopTrainingJob)', async () => {
    mockStudy();
    sm.on(StopTrainingJobCommand).resolves({});
    const stopped = await stopStudyJobs(await sageMakerStudyJobs('docs-2', { client }), 'sagemaker', { client });
    expect(stopped.map((j) => j.job)).toEqual(['BO-0']);
    expect(sm.commandCalls(StopTrainingJobCommand).map((c) => c.args[0].input)).toEqual([{ TrainingJobName: 'docs-2-BO-0-261101000200' }]);
  });

  it('a SageMaker error is a clear error naming the call', async () => {
    sm.on(ListTrainingJobsCommand).rejects(Object.assign(new Error('User is not authorized to perform: sagemaker:ListTrainingJobs'), { name: 'AccessDeniedException' }));
    await expect(sageMakerStudyJobs('docs-2', { client })).rejects.toThrow(/SageMaker ListTrainingJobs failed: AccessDeniedException: User is not authorized/);
  });
});

describe('tunelab jobs on the local pool', () => {
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    s3 = await startS3rver(['jobs-bucket']);
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await s3.close();
  });

  it('a local job killed mid-run leaves its partial results in S3, and jobs shows it failed', async () => {
    const root = tempDir();
    const env = { ...S3_ENV, AWS_ENDPOINT_URL_S3: s3.endpoint };
    Object.assign(process.env, env);
    const run = startProcess(root, children, [
      cliPath, 'launch-remote', '--experiment_tag', 'kj', '--method', 'RS', 'ASHA', '--benchmark', 'synthetic-fcnet', '--random_seed', '2', '--results_root', root,
      '--max_wallclock_time', '50000000', '--s3_bucket', 'jobs-bucket', '--s3_sync_interval', '5', '--max_parallel_jobs', '2',
    ]);
    const c = testS3Client(s3.endpoint);
    let key = '';
    await until('RS streaming rows to S3', async () => {
      key = (await listKeys(c, 'jobs-bucket', 'tunelab/kj/RS/')).find((k) => k.endsWith('results.csv.gz')) ?? '';
      if (!key) return false;
      return ((await completeRowsInS3(c, 'jobs-bucket', key))?.length ?? 0) > 0;
    }, 100_000);
    const rs = readLocalJobs(root, 'kj').find((r) => r.name === 'RS')!;
    expect(rs.state).toBe('InProgress');
    // s3rver, unlike S3, keeps the part of an object whose PUT a kill cut off, so the kill must land
    // between upload rounds (5 s apart): none of RS's requests in flight, its last one ended 0.5–2.5 s ago
    await until('RS between upload rounds', () => {
      const { inFlight, lastEnded } = s3.traffic('/jobs-bucket/tunelab/kj/RS/');
      const quiet = Date.now() - lastEnded;
      return inFlight === 0 && quiet >= 500 && quiet <= 2500;
    }, 60_000);
    process.kill(rs.pid, 'SIGKILL');
    await until('RS recorded failed', () => readLocalJobs(root, 'kj').some((r) => r.name === 'RS' && r.state === 'Failed'));
    const listed = runCli(root, ['jobs', '--experiment_tag', 'kj', '--results_root', root]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/RS +Failed +RS +0 +s3:\/\/jobs-bucket\/tunelab\/kj\/ +killed by SIGKILL/);
    expect(listed.stdout).toMatch(/ASHA +InProgress +ASHA +0 /);
    const prefix = key.slice(0, -'results.csv.gz'.length);
    expect(JSON.parse((await getObject(c, 'jobs-bucket', `${prefix}metadata.json`)).toString()).status).toBe('running');
    // --stop: the running job is sent SIGTERM, stops gracefully, and the launcher ends
    const stop = runCli(root, ['jobs', '--experiment_tag', 'kj', '--results_root', root, '--stop']);
    expect(stop.stdout).toMatch(/asked 1 job\(s\) to stop: ASHA/);
    expect(await run.exited).toBe(1);
    expect(readLocalJobs(root, 'kj').map((r) => [r.name, r.state])).toEqual([
      ['ASHA', 'Stopped'],
      ['RS', 'Failed'],
    ]);
    // the ASHA experiment's end (status stopped) reached S3 too
    const asha = (await listKeys(c, 'jobs-bucket', 'tunelab/kj/ASHA/')).find((k) => k.endsWith('metadata.json'))!;
    expect(JSON.parse((await getObject(c, 'jobs-bucket', asha)).toString()).status).toBe('stopped');
    expect(processesUnder([root])).toEqual([]);
  });
});
