import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Secret } from 'kubernetes-models/v1/Secret';

/**
 * A loopback stand-in for the few batch/v1 and core/v1 endpoints the Kubernetes executor calls
 * (no API server can run here). Every object created is checked against Kubernetes' published
 * schema (kubernetes-models) and refused with 422, as an API server would; a created Indexed Job
 * gets `parallelism` running pods, whose phase the test then moves on.
 */
export interface FakePod {
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string>; creationTimestamp: string; deletionTimestamp?: string };
  status: Record<string, unknown>;
}

export class FakeKubernetes {
  readonly secrets = new Map<string, Record<string, unknown>>();
  readonly jobs = new Map<string, Record<string, unknown>>();
  pods: FakePod[] = [];
  readonly logs = new Map<string, string>();
  /** Paths answered with this status and message instead (e.g. RBAC refusing a create). */
  readonly refuse = new Map<string, { code: number; message: string }>();
  /** Paths never answered (a silent API server). */
  readonly silent = new Set<string>();
  private server?: Server;
  url = '';
  private created = 0;

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  addPod(job: string, namespace: string, index: number, status: Record<string, unknown>): FakePod {
    const pod: FakePod = {
      metadata: {
        name: `${job}-${index}-${(this.created++).toString(36)}`,
        namespace,
        labels: { 'job-name': job, 'batch.kubernetes.io/job-completion-index': String(index) },
        annotations: { 'batch.kubernetes.io/job-completion-index': String(index) },
        creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, this.created)).toISOString(),
      },
      status,
    };
    this.pods.push(pod);
    return pod;
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url!, 'http://x');
    const key = `${req.method} ${url.pathname}`;
    if (this.silent.has(key)) return;
    const refused = this.refuse.get(key);
    if (refused) return status(res, refused.code, refused.message);
    let body = '';
    for await (const chunk of req) body += chunk;
    const m = /^\/(?:api\/v1|apis\/batch\/v1)\/namespaces\/([^/]+)\/(secrets|jobs|pods)(?:\/([^/]+))?(\/log)?$/.exec(url.pathname);
    if (!m) return status(res, 404, `the fake has no ${key}`);
    const [, namespace, kind, name, log] = m;
    const store = kind === 'secrets' ? this.secrets : this.jobs;
    if (req.method === 'POST' && kind !== 'pods') {
      const object = JSON.parse(body);
      try {
        (kind === 'jobs' ? new Job(object) : new Secret(object)).validate();
      } catch (e) {
        return status(res, 422, `${kind} is invalid: ${(e as Error).message}`);
      }
      const objectName = object.metadata.name as string;
      if (store.has(`${namespace}/${objectName}`)) return status(res, 409, `${kind} "${objectName}" already exists`);
      store.set(`${namespace}/${objectName}`, object);
      if (kind === 'jobs') for (let i = 0; i < object.spec.parallelism; i++) this.addPod(objectName, namespace, i, { phase: 'Running' });
      return json(res, 201, object);
    }
    if (req.method === 'DELETE' && kind !== 'pods') {
      if (!store.delete(`${namespace}/${name}`)) return status(res, 404, `${kind} "${name}" not found`);
      if (kind === 'jobs') this.pods = this.pods.filter((p) => p.metadata.labels['job-name'] !== name);
      return json(res, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success' });
    }
    if (req.method === 'GET' && kind === 'pods' && !name) {
      const selector = url.searchParams.get('labelSelector') ?? '';
      const [k, v] = selector.split('=');
      const items = this.pods.filter((p) => p.metadata.namespace === namespace && (!k || p.metadata.labels[k] === v));
      return json(res, 200, { apiVersion: 'v1', kind: 'PodList', metadata: {}, items });
    }
    if (req.method === 'GET' && kind === 'pods' && log) {
      if (!this.pods.some((p) => p.metadata.name === name)) return status(res, 404, `pods "${name}" not found`);
      res.writeHead(200, { 'content-type': 'text/plain' });
      return res.end(this.logs.get(name) ?? '');
    }
    return status(res, 405, `the fake does not answer ${key}`);
  }
}

function json(res: ServerResponse, code: number, body: unknown) {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Kubernetes' error body. */
function status(res: ServerResponse, code: number, message: string) {
  json(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, code });
}
