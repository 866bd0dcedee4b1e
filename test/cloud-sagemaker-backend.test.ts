import { CreateTrainingJobCommand, DescribeTrainingJobCommand, SageMakerClient, StopTrainingJobCommand } from '@aws-sdk/client-sagemaker';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SageMakerBackend } from '../src/backends/sagemaker.js';
import type { BackendResult, PollResult } from '../src/backends/types.js';
import { S3_ENV, getObject, startS3rver, testS3Client } from './cloud-helpers.js';
import { cliPath, readRows, tempDir } from './helpers.js';
import { runExperimentFile } from '../src/launchers/run.js';

// SageMaker's control plane is mocked; each "training job" is a local process that runs the
// container's command line (tunelab sagemaker-trial … -- the script) and writes to s3rver as the
// container would. CheckpointConfig's S3 URI maps to a local folder, as SageMaker syncs it.
const sm = mockClient(SageMakerClient);
let s3: Awaited<ReturnType<typeof startS3rver>>;
const saved = { ...process.env };
const jobs = new Map<string, { child: ChildProcess; exit?: number | null; stopped?: boolean }>();
const checkpointDirs = new Map<string, string>();
let script = '';

beforeAll(async () => {
  s3 = await startS3rver(['trials']);
  Object.assign(process.env, S3_ENV, { AWS_ENDPOINT_URL_S3: s3.endpoint });
  script = join(tempDir(), 'train.mjs');
  // 4 epochs, checkpointed; resumes after its checkpoint; x = 9 crashes
  writeFileSync(
    script,
    `import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
const cfg = JSON.parse(process.env.TUNELAB_CONFIG);
const x = Number(process.argv[process.argv.indexOf('--x') + 1]);
if (x !== cfg.x) throw new Error('arguments and $TUNELAB_CONFIG disagree');
if (x === 9) { console.error('boom'); process.exit(3); }
const dir = process.env.TUNELAB_CHECKPOINT_DIR;
mkdirSync(dir, { recursive: true });
const ck = dir + '/epoch';
const from = existsSync(ck) ? Number(readFileSync(ck, 'utf8')) : 0;
for (let epoch = from + 1; epoch <= 4; epoch++) {
  await sleep(200);
  writeFileSync(ck, String(epoch));
  console.log('[tunelab] ' + JSON.stringify({ epoch, loss: x / epoch }));
}
`,
  );
});
afterAll(async () => {
  process.env = saved;
  for (const j of jobs.values()) if (j.exit === undefined) j.child.kill('SIGKILL');
  await s3.close();
});
afterEach(() => sm.reset());

type CreateInput = NonNullable<ConstructorParameters<typeof CreateTrainingJobCommand>[0]>;

/** The mocked control plane: CreateTrainingJob starts the container's command line as a local process. */
function simulateSageMaker(create?: (input: CreateInput) => void) {
  sm.on(CreateTrainingJobCommand).callsFake((input: CreateInput) => {
    create?.(input);
    const spec = input.AlgorithmSpecification!;
    const ck = input.CheckpointConfig!.S3Uri!;
    if (!checkpointDirs.has(ck)) checkpointDirs.set(ck, tempDir());
    const [tunelab, ...rest] = [...spec.ContainerEntrypoint!, ...spec.ContainerArguments!];
    expect(tunelab).toBe('tunelab');
    const child = spawn(process.execPath, [cliPath, ...rest], { stdio: 'ignore', env: { ...process.env, ...input.Environment, TUNELAB_CHECKPOINT_DIR: checkpointDirs.get(ck)! } });
    const job: { child: ChildProcess; exit?: number | null; stopped?: boolean } = { child };
    child.on('exit', (code) => (job.exit = code));
    jobs.set(input.TrainingJobName!, job);
    return { TrainingJobArn: `arn:aws:sagemaker:us-east-1:1:training-job/${input.TrainingJobName}` };
  });
  sm.on(DescribeTrainingJobCommand).callsFake(({ TrainingJobName }: { TrainingJobName: string }) => {
    const j = jobs.get(TrainingJobName)!;
    if (j.exit === undefined) return { TrainingJobStatus: j.stopped ? 'Stopping' : 'InProgress' };
    if (j.stopped) return { TrainingJobStatus: 'Stopped' };
    return j.exit === 0 ? { TrainingJobStatus: 'Completed' } : { TrainingJobStatus: 'Failed', FailureReason: `AlgorithmError: ExecuteUserScriptError: exit code ${j.exit}` };
  });
  sm.on(StopTrainingJobCommand).callsFake(({ TrainingJobName }: { TrainingJobName: string }) => {
    const j = jobs.get(TrainingJobName)!;
    j.stopped = true;
    j.child.kill('SIGTERM');
    return {};
  });
}

const backend = (extra: Partial<ConstructorParameters<typeof SageMakerBackend>[0]> = {}) =>
  new SageMakerBackend({
    image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/my-trainer:1',
    role: 'arn:aws:iam::123456789012:role/sm',
    command: [process.execPath, script],
    name: 'my_study.v2',
    bucket: 'trials',
    prefix: `tunelab/my_study.v2/run-${Math.random().toString(36).slice(2, 8)}`,
    resourceAttr: 'epoch',
    metricNames: ['loss'],
    pollInterval: 0.1,
    reportInterval: 0.1,
    retryDelay: 0.01,
    client: new SageMakerClient({ region: 'us-east-1' }),
    ...extra,
  });

/** Polls until `done` says so, collecting everything. */
async function pollUntil(b: SageMakerBackend, done: (all: PollResult) => boolean): Promise<PollResult> {
  const all: PollResult = { results: [], completed: [], failed: [] };
  for (let i = 0; i < 400 && !done(all); i++) {
    const p = await b.poll(b.now() + 0.5);
    all.results.push(...p.results);
    all.completed.push(...p.completed);
    all.failed.push(...p.failed);
  }
  return all;
}
const epochs = (rs: BackendResult[], id: number) => rs.filter((r) => r.trialId === id).map((r) => [r.result.resource, r.result.metrics.loss]);

describe('SageMaker trial backend', () => {
  it('runs each trial as a training job (config as hyperparameters, arguments and $TUNELAB_CONFIG; checkpoint and report URIs) and streams its reports back from S3', async () => {
    const created: CreateInput[] = [];
    simulateSageMaker((i) => created.push(i));
    const b = backend();
    await b.start(0, { x: 1 });
    await b.start(1, { x: 2 });
    const all = await pollUntil(b, (a) => a.completed.length === 2);
    expect(all.completed.sort()).toEqual([0, 1]);
    expect(epochs(all.results, 0)).toEqual([[1, 1], [2, 0.5], [3, 1 / 3], [4, 0.25]]);
    expect(epochs(all.results, 1)).toEqual([[1, 2], [2, 1], [3, 2 / 3], [4, 0.5]]);
    expect(all.results.filter((r) => r.trialId === 0).map((r) => r.workerIter)).toEqual([0, 1, 2, 3]);
    const c = created[0];
    expect(c.TrainingJobName).toMatch(/^my-study-v2-t0-1-[a-z0-9]+$/);
    expect(c.TrainingJobName!.length).toBeLessThanOrEqual(63);
    const base = `s3://trials/${(b as unknown as { options: { prefix: string } }).options.prefix}/trial-0`;
    expect(c.AlgorithmSpecification).toEqual({
      TrainingImage: '123456789012.dkr.ecr.us-east-1.amazonaws.com/my-trainer:1',
      TrainingInputMode: 'File',
      ContainerEntrypoint: ['tunelab', 'sagemaker-trial', '--report_uri', `${base}/reports-1.txt`, '--sync_interval', '0.1', '--', process.execPath, script],
      ContainerArguments: ['--x', '1'],
    });
    expect(c.HyperParameters).toEqual({ x: '1' });
    expect(c.Environment).toEqual({ TUNELAB_TRIAL_ID: '0', TUNELAB_CONFIG: '{"x":1}', TUNELAB_CHECKPOINT_DIR: '/opt/ml/checkpoints' });
    expect(c.CheckpointConfig).toEqual({ S3Uri: `${base}/checkpoints/`, LocalPath: '/opt/ml/checkpoints' });
    expect(c.RoleArn).toBe('arn:aws:iam::123456789012:role/sm');
    await b.close();
  });

  it('pause = StopTrainingJob; resume = a new job on the same checkpoint URI once the paused one has ended, continuing after its checkpoint', async () => {
    const created: CreateInput[] = [];
    // whether the job before had ended when each job was created (its container saves the checkpoint until then)
    const previousEnded: boolean[] = [];
    simulateSageMaker((i) => {
      if (created.length > 0) previousEnded.push(jobs.get(created[created.length - 1].TrainingJobName!)!.exit !== undefined);
      created.push(i);
    });
    const b = backend();
    await b.start(0, { x: 4 });
    const first = await pollUntil(b, (a) => a.results.length >= 1);
    await b.pause(0);
    expect(sm.commandCalls(StopTrainingJobCommand).map((s) => s.args[0].input.TrainingJobName)).toEqual([created[0].TrainingJobName]);
    await b.resume(0);
    const rest = await pollUntil(b, (a) => a.completed.length === 1);
    expect(created).toHaveLength(2);
    expect(previousEnded).toEqual([true]);
    expect(created[1].CheckpointConfig).toEqual(created[0].CheckpointConfig);
    expect(created[1].AlgorithmSpecification!.ContainerEntrypoint![3]).toMatch(/\/reports-2\.txt$/);
    const resources = [...first.results, ...rest.results].map((r) => r.result.resource);
    expect(resources).toEqual([...new Set(resources)].sort());
    expect(resources[resources.length - 1]).toBe(4);
    expect(resources[0]).toBe(1);
    // the second job started after its checkpoint, not from epoch 1
    const second = created[1].AlgorithmSpecification!.ContainerEntrypoint![3].replace('s3://trials/', '');
    const firstLine = (await getObject(testS3Client(s3.endpoint), 'trials', second)).toString().split('\n')[0];
    expect(JSON.parse(firstLine.replace('[tunelab] ', '')).epoch).toBeGreaterThan(1);
    await b.close();
  });

  it('tunelab run -f with the SageMaker backend: every trial a training job, the standard folder written from their streamed reports', async () => {
    const created: CreateInput[] = [];
    simulateSageMaker((i) => created.push(i));
    const dir = tempDir();
    const file = join(dir, 'experiment.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'on-sm',
        parameters: [{ name: 'x', type: 'int', bounds: { min: 1, max: 3 } }],
        metrics: [{ name: 'loss', objective: 'minimize' }],
        command: [process.execPath, script],
        resource: { name: 'epoch', max: 4 },
        method: 'RS',
        budget: { max_trials: 3 },
        parallel_bandwidth: 2,
        random_seed: 5,
      }),
    );
    const report = await runExperimentFile(
      { file, resultsRoot: dir, sagemaker: { image: 'img:1', role: 'arn:aws:iam::1:role/sm', bucket: 'trials', prefix: 'tunelab/on-sm/trials', pollInterval: 0.1, reportInterval: 0.1, client: new SageMakerClient({ region: 'us-east-1' }) } },
      { log: () => {}, progress: false },
    );
    expect(report.metadata).toMatchObject({ status: 'completed', backend: 'sagemaker' });
    expect(created).toHaveLength(3);
    expect(created.map((c) => c.AlgorithmSpecification!.ContainerArguments![0])).toEqual(['--x', '--x', '--x']);
    const rows = readRows(join(report.folder!, 'results.csv.gz'));
    expect(rows).toHaveLength(12);
    for (const r of rows) expect(r.loss).toBeCloseTo(Number(r.config_x) / Number(r.epoch));
  });

  it("a job that dies is a failed trial with SageMaker's reason; throttled creation is retried; a refused role or image is a clear error naming them", async () => {
    let calls = 0;
    simulateSageMaker(() => {
      calls++;
      if (calls === 1) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      if (calls === 2) throw Object.assign(new Error('The account-level service limit is exceeded'), { name: 'ResourceLimitExceeded' });
    });
    const b = backend();
    await b.start(0, { x: 9 });
    expect(calls).toBe(3);
    const all = await pollUntil(b, (a) => a.failed.length === 1);
    expect(all.failed[0]).toEqual({ trialId: 0, error: expect.stringMatching(/^SageMaker job my-study-v2-t0-1-\w+ Failed: AlgorithmError: ExecuteUserScriptError: exit code 3$/) });
    sm.reset();
    sm.on(CreateTrainingJobCommand).rejects(Object.assign(new Error('Could not assume role arn:aws:iam::123456789012:role/sm'), { name: 'ValidationException' }));
    await expect(backend().start(1, { x: 1 })).rejects.toThrow(/SageMaker refused trial 1's training job: Could not assume role .* \(role arn:aws:iam::123456789012:role\/sm, image 123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/my-trainer:1\)/);
  });
});
