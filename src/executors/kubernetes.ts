import type { KubeConfig, V1Job, V1Pod, V1Secret } from '@kubernetes/client-node';
import { UserError } from '../util/errors.js';
import type { Executor, Submission, WorkerInfo, WorkerSpec, WorkerState } from './types.js';

/**
 * Workers as one Indexed Job on Kubernetes, through `@kubernetes/client-node` (1.4: the last line
 * that runs on Node 20). The store URL and any token reach the pods from a Secret, never the pod
 * spec; the image runs `tunelab` (docker/Dockerfile's entrypoint) with the worker's arguments.
 */
export interface KubernetesOptions {
  namespace?: string;
  /** An image whose entrypoint is `tunelab` (docker/Dockerfile, or one built FROM it with the user's code). */
  image: string;
  /** Default: the user's kubeconfig ($KUBECONFIG, ~/.kube/config, or the pod's service account). */
  kubeConfig?: KubeConfig;
  /** Seconds one API call may take (default 30). */
  requestTimeout?: number;
  /** Seconds a finished Job is kept before Kubernetes deletes it (default one day). */
  ttlSecondsAfterFinished?: number;
}

/** The Job's (and its Secret's) name: a DNS label. */
export const jobName = (studyId: number) => `tunelab-study-${studyId}`;

const LABELS = (spec: Pick<WorkerSpec, 'studyId'>) => ({ 'app.kubernetes.io/name': 'tunelab', 'app.kubernetes.io/component': 'study-worker', 'tunelab.dev/study': String(spec.studyId) });

/** The Secret the pods read their environment from. */
export function secretManifest(spec: WorkerSpec, namespace: string): V1Secret {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: jobName(spec.studyId), namespace, labels: LABELS(spec) }, type: 'Opaque', stringData: { ...spec.secretEnv } };
}

/**
 * One Indexed Job of `workers` completions, `parallelism` at once: a failed pod is retried once per
 * index (backoffLimitPerIndex), a pod ended by a disruption (eviction, preemption, a drained node)
 * is not counted as a failure (podFailurePolicy), and the finished Job goes after its TTL.
 */
export function jobManifest(spec: WorkerSpec, options: KubernetesOptions): V1Job {
  const name = jobName(spec.studyId);
  const r = spec.resources ?? {};
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (r.cpus) requests.cpu = String(r.cpus);
  if (r.memory) requests.memory = limits.memory = `${r.memory}Mi`;
  if (r.gpus) limits['nvidia.com/gpu'] = String(r.gpus);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: options.namespace ?? 'default', labels: LABELS(spec) },
    spec: {
      completionMode: 'Indexed',
      completions: spec.workers,
      parallelism: Math.min(spec.parallelism ?? spec.workers, spec.workers),
      backoffLimitPerIndex: 1,
      podFailurePolicy: { rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }] },
      ttlSecondsAfterFinished: options.ttlSecondsAfterFinished ?? 86_400,
      template: {
        metadata: { labels: LABELS(spec) },
        spec: {
          restartPolicy: 'Never',
          // the worker gives its trial back on SIGTERM; this is how long it has before SIGKILL
          terminationGracePeriodSeconds: 60,
          containers: [
            {
              name: 'worker',
              image: options.image,
              args: spec.args,
              envFrom: [{ secretRef: { name } }],
              ...(Object.keys(requests).length + Object.keys(limits).length > 0 ? { resources: { ...(Object.keys(requests).length ? { requests } : {}), ...(Object.keys(limits).length ? { limits } : {}) } } : {}),
            },
          ],
        },
      },
    },
  };
}

/** A pod's phase (and why) as a worker's state. */
export function podState(pod: V1Pod): { state: WorkerState; reason?: string } {
  const status = pod.status ?? {};
  const container = status.containerStatuses?.[0];
  const waiting = container?.state?.waiting?.reason;
  const terminated = container?.state?.terminated;
  const disrupted = status.conditions?.some((c) => c.type === 'DisruptionTarget' && c.status === 'True');
  switch (status.phase) {
    case 'Pending':
      return { state: 'pending', ...(waiting || status.reason ? { reason: waiting ?? status.reason } : {}) };
    case 'Running':
      return { state: pod.metadata?.deletionTimestamp ? 'cancelled' : 'running' };
    case 'Succeeded':
      return { state: 'succeeded' };
    case 'Failed':
      return { state: disrupted ? 'cancelled' : 'failed', reason: status.reason ?? terminated?.reason ?? (terminated?.exitCode !== undefined ? `exit code ${terminated.exitCode}` : undefined) };
    default:
      return { state: 'pending', reason: status.phase ?? 'Unknown' };
  }
}

const COMPLETION_INDEX = 'batch.kubernetes.io/job-completion-index';

export class KubernetesExecutor implements Executor {
  readonly name = 'kubernetes';
  private apis?: Promise<{ batch: import('@kubernetes/client-node').BatchV1Api; core: import('@kubernetes/client-node').CoreV1Api }>;
  constructor(private readonly options: KubernetesOptions) {}

  private get namespace() {
    return this.options.namespace ?? 'default';
  }

  /** The client (a few MB of code) is loaded when a Kubernetes command runs, never at start-up. */
  private clients() {
    this.apis ??= import('@kubernetes/client-node').then((k8s) => {
      let kc = this.options.kubeConfig;
      if (!kc) {
        kc = new k8s.KubeConfig();
        kc.loadFromDefault();
      }
      return { batch: kc.makeApiClient(k8s.BatchV1Api), core: kc.makeApiClient(k8s.CoreV1Api) };
    });
    return this.apis;
  }

  /** Every API call bounded in time, its failure one line naming the call and Kubernetes' own message. */
  private async call<T>(what: string, request: () => Promise<T>): Promise<T> {
    const seconds = this.options.requestTimeout ?? 30;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new UserError(`Kubernetes: ${what}: no answer in ${seconds} s`, 1)), seconds * 1000);
    });
    try {
      return await Promise.race([request(), timeout]);
    } catch (e) {
      if (e instanceof UserError) throw e;
      const err = e as Error & { code?: number; body?: string };
      let message = err.message;
      try {
        message = (JSON.parse(err.body ?? '') as { message?: string }).message ?? message;
      } catch {
        // not a Status body: keep the client's message
      }
      throw Object.assign(new UserError(`Kubernetes: ${what}: ${message}`, 1), { code: err.code });
    } finally {
      clearTimeout(timer);
    }
  }

  async submit(spec: WorkerSpec): Promise<Submission> {
    if (!(Number.isInteger(spec.workers) && spec.workers >= 1)) throw new UserError(`workers must be a positive integer, got ${spec.workers}`);
    const { batch, core } = await this.clients();
    const namespace = this.namespace;
    const name = jobName(spec.studyId);
    await this.call(`create Secret ${namespace}/${name}`, () => core.createNamespacedSecret({ namespace, body: secretManifest(spec, namespace) }));
    await this.call(`create Job ${namespace}/${name}`, () => batch.createNamespacedJob({ namespace, body: jobManifest(spec, this.options) }));
    return { executor: this.name, id: name, workers: spec.workers, logDir: spec.logDir, submittedAt: new Date().toISOString(), settings: { namespace } };
  }

  private async pods(submission: Submission): Promise<V1Pod[]> {
    const { core } = await this.clients();
    const list = await this.call(`list pods of Job ${this.namespace}/${submission.id}`, () => core.listNamespacedPod({ namespace: this.namespace, labelSelector: `job-name=${submission.id}` }));
    return list.items;
  }

  /** The newest pod of each completion index (a retried index has several). */
  private async newestPods(submission: Submission): Promise<Map<number, V1Pod>> {
    const byIndex = new Map<number, V1Pod>();
    for (const pod of await this.pods(submission)) {
      const index = Number(pod.metadata?.annotations?.[COMPLETION_INDEX] ?? pod.metadata?.labels?.[COMPLETION_INDEX]);
      if (!Number.isInteger(index)) continue;
      const seen = byIndex.get(index);
      const created = (p: V1Pod) => new Date(p.metadata?.creationTimestamp ?? 0).getTime();
      if (!seen || created(pod) > created(seen)) byIndex.set(index, pod);
    }
    return byIndex;
  }

  async list(submission: Submission): Promise<WorkerInfo[]> {
    const pods = await this.newestPods(submission);
    return Array.from({ length: submission.workers }, (_, index) => {
      const pod = pods.get(index);
      if (!pod) return { index, id: `${submission.id}-${index}`, state: 'pending' as const, reason: 'no pod yet' };
      return { index, id: pod.metadata?.name ?? `${submission.id}-${index}`, ...podState(pod) };
    });
  }

  /** The pod log API has no byte offset: the log is fetched whole and cut at `from`. */
  async output(submission: Submission, index: number, from = 0): Promise<Buffer> {
    const pod = (await this.newestPods(submission)).get(index);
    if (!pod?.metadata?.name || pod.status?.phase === 'Pending') return Buffer.alloc(0);
    const { core } = await this.clients();
    const name = pod.metadata.name;
    const log = await this.call(`logs of pod ${this.namespace}/${name}`, () => core.readNamespacedPodLog({ name, namespace: this.namespace }));
    return Buffer.from(log, 'utf8').subarray(from);
  }

  async stop(submission: Submission): Promise<void> {
    const { batch, core } = await this.clients();
    const namespace = this.namespace;
    const gone = (e: unknown) => {
      if ((e as { code?: number }).code !== 404) throw e;
    };
    // Background: the Job goes at once, its pods are ended (SIGTERM, then SIGKILL after the grace period) by the garbage collector
    await this.call(`delete Job ${namespace}/${submission.id}`, () => batch.deleteNamespacedJob({ name: submission.id, namespace, propagationPolicy: 'Background' })).catch(gone);
    await this.call(`delete Secret ${namespace}/${submission.id}`, () => core.deleteNamespacedSecret({ name: submission.id, namespace })).catch(gone);
  }
}
