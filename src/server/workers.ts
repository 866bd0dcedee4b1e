import type { FastifyRequest } from 'fastify';
import type { WorkerIdentity } from '../study/storage/store.js';
import { REQUEST_ID_HEADER, WORKER_HEADERS } from '../study/wire.js';
import { HttpError } from './errors.js';
import type { ServedStudy } from './studies.js';

/** The worker a tunelab client names in its headers (validated by the route's schema), or undefined for a SigOpt client. */
export function namedWorker(req: FastifyRequest): WorkerIdentity | undefined {
  const h = req.headers as Record<string, string | undefined>;
  const workerId = h[WORKER_HEADERS.id];
  if (!workerId) return undefined;
  return { workerId, host: h[WORKER_HEADERS.host] ?? req.ip, pid: Number(h[WORKER_HEADERS.pid] ?? 0) };
}

/** The named worker, required (heartbeats and log lines belong to a worker). */
export function requiredWorker(req: FastifyRequest): WorkerIdentity {
  const w = namedWorker(req);
  if (!w) throw new HttpError(400, `header ${WORKER_HEADERS.id}: missing; this route is tunelab's own and needs the worker's id (tunelab's clients send it)`, { field: WORKER_HEADERS.id });
  return w;
}

/** A SigOpt client (no worker headers): one worker per client address, as `study status` shows it. */
export const anonymousWorker = (req: FastifyRequest): WorkerIdentity => ({ workerId: `sigopt-${req.ip.replace(/[^A-Za-z0-9.]/g, '_')}`, host: req.ip, pid: 0 });

/**
 * Who reports or observes a suggestion: the named worker, else (a SigOpt client, which may observe
 * any open suggestion) the worker that holds it now.
 */
export async function actingWorker(req: FastifyRequest, served: ServedStudy, suggestionId: number): Promise<WorkerIdentity> {
  const named = namedWorker(req);
  if (named) return named;
  const open = await served.store.listSuggestions(served.study.id, ['open']);
  const s = open.find((x) => x.id === suggestionId);
  if (s?.workerId) return { workerId: s.workerId, host: s.host ?? req.ip, pid: s.pid ?? 0 };
  return anonymousWorker(req);
}

/** The store's key of a request's id (REQUEST_ID_HEADER), the worker's: two clients' ids never meet. */
export function requestKey(req: FastifyRequest, worker: WorkerIdentity): string | undefined {
  const id = req.headers[REQUEST_ID_HEADER];
  return typeof id === 'string' ? `${worker.workerId} ${id}` : undefined;
}
