import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesExecutor, jobManifest } from '../src/executors/kubernetes.js';
import type { WorkerSpec } from '../src/executors/types.js';
import { FakeKubernetes } from './kubernetes-fake.js';

const spec = (over: Partial<WorkerSpec> = {}): WorkerSpec => ({
  studyId: 7,
  studyName: 'mlp',
  workers: 4,
  parallelism: 2,
  args: ['study', 'worker', '7', '--storage_timeout', '60'],
  secretEnv: { TUNELAB_STORAGE: 'postgresql://tuner:s3cret@db.internal:5432/hpo' },
  resources: { cpus: 2, gpus: 1, memory: 4096 },
  logDir: '/unused',
  ...over,
});

function kubeConfigFor(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
    users: [{ name: 'tester', token: 'test-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'tester', namespace: 'hpo' }],
    currentContext: 'fake',
  });
  return kc;
}

describe('the Kubernetes executor against a loopback fake of batch/v1 and core/v1', () => {
  let fake: FakeKubernetes;
  let executor: KubernetesExecutor;
  beforeEach(async () => {
    fake = await new FakeKubernetes().start();
    executor = new KubernetesExecutor({ namespace: 'hpo', image: 'registry.example/tunelab-mlp:1', kubeConfig: kubeConfigFor(fake.url), requestTimeout: 2 });
  });
  afterEach(() => fake.close());

  it('submits one Indexed Job that passes the Kubernetes schema, the store URL only in its Secret', async () => {
    const submission = await executor.submit(spec());
    expect(submission).toMatchObject({ executor: 'kubernetes', id: 'tunelab-study-7', workers: 4 });
    const job = fake.jobs.get('hpo/tunelab-study-7') as ReturnType<typeof jobManifest>;
    expect(job.spec).toMatchObject({ completionMode: 'Indexed', completions: 4, parallelism: 2, backoffLimitPerIndex: 1, ttlSecondsAfterFinished: 86_400 });
    expect(job.spec!.podFailurePolicy!.rules[0]).toEqual({ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] });
    const container = job.spec!.template.spec!.containers[0];
    expect(container).toMatchObject({ image: 'registry.example/tunelab-mlp:1', args: ['study', 'worker', '7', '--storage_timeout', '60'], envFrom: [{ secretRef: { name: 'tunelab-study-7' } }] });
    expect(container.resources).toEqual({ requests: { cpu: '2', memory: '4096Mi' }, limits: { memory: '4096Mi', 'nvidia.com/gpu': '1' } });
    expect(JSON.stringify(job)).not.toContain('s3cret');
    expect(fake.secrets.get('hpo/tunelab-study-7')).toMatchObject({ stringData: { TUNELAB_STORAGE: 'postgresql://tuner:s3cret@db.internal:5432/hpo' } });
  });

  it('an object the schema refuses is a clear error naming the call, not a stack trace', async () => {
    const bad = new KubernetesExecutor({ namespace: 'hpo', image: 'x', kubeConfig: kubeConfigFor(fake.url) });
    // checked before anything is created
    await expect(bad.submit(spec({ workers: 1.5 }))).rejects.toThrow(/workers must be a positive integer, got 1.5/);
    fake.refuse.set('POST /apis/batch/v1/namespaces/hpo/jobs', { code: 403, message: 'jobs.batch is forbidden: User "tester" cannot create resource "jobs"' });
    await expect(executor.submit(spec())).rejects.toThrow('Kubernetes: create Job hpo/tunelab-study-7: jobs.batch is forbidden: User "tester" cannot create resource "jobs"');
    expect(fake.jobs.size).toBe(0);
  });

  it('lists every completion index with its pod state and the engine reason; the newest pod of a retried index counts', async () => {
    const submission = await executor.submit(spec());
    // index 0 ran and succeeded; index 1 failed once, its retry is pulling a missing image
    fake.pods[0].status = { phase: 'Succeeded' };
    fake.pods[1].status = { phase: 'Failed', reason: undefined, containerStatuses: [{ name: 'worker', state: { terminated: { exitCode: 1, reason: 'Error' } } }] };
    fake.addPod('tunelab-study-7', 'hpo', 1, { phase: 'Pending', containerStatuses: [{ name: 'worker', state: { waiting: { reason: 'ImagePullBackOff' } } }] });
    // index 2 was evicted: a disruption, not a failure
    fake.addPod('tunelab-study-7', 'hpo', 2, { phase: 'Failed', reason: 'Evicted', conditions: [{ type: 'DisruptionTarget', status: 'True' }] });
    const workers = await executor.list(submission);
    expect(workers.map(({ index, state, reason }) => ({ index, state, reason }))).toEqual([
      { index: 0, state: 'succeeded', reason: undefined },
      { index: 1, state: 'pending', reason: 'ImagePullBackOff' },
      { index: 2, state: 'cancelled', reason: 'Evicted' },
      { index: 3, state: 'pending', reason: 'no pod yet' },
    ]);
    fake.logs.set(fake.pods[0].metadata.name, 'worker w-1 on study 7\ntrial 3: loss 0.25\n');
    expect((await executor.output(submission, 0)).toString()).toBe('worker w-1 on study 7\ntrial 3: loss 0.25\n');
    expect((await executor.output(submission, 3)).toString()).toBe('');
  });

  it('stop deletes the Job (its pods with it) and the Secret, and is safe to repeat', async () => {
    const submission = await executor.submit(spec());
    await executor.stop(submission);
    expect(fake.jobs.size).toBe(0);
    expect(fake.secrets.size).toBe(0);
    expect(fake.pods).toEqual([]);
    await executor.stop(submission);
  });

  it('a silent API server is an error after the request timeout', async () => {
    fake.silent.add('GET /api/v1/namespaces/hpo/pods');
    const submission = await executor.submit(spec());
    await expect(executor.list(submission)).rejects.toThrow('Kubernetes: list pods of Job hpo/tunelab-study-7: no answer in 2 s');
  });
});
