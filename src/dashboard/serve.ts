import type { FastifyError, FastifyInstance } from 'fastify';
import { BASIC_CHALLENGE, isLoopback, readTokenFile, tokenRefusal } from '../server/auth.js';
import { UserError } from '../util/errors.js';
import { Hub } from './live.js';
import { dashboardRoutes } from './routes.js';
import { DashboardData } from './sources.js';

export interface DashboardOptions {
  /** Study stores (`--storage`, any number), opened read-only. */
  storages: readonly string[];
  /** The results root whose experiment tags are shown (undefined: none). */
  resultsRoot?: string;
  host?: string;
  /** 0: any free port. */
  port?: number;
  tokenFile?: string;
  storageTimeout?: number;
  /** ms between two reads of the stores while a page is open (default 1000). */
  interval?: number;
  onRetry?: (line: string) => void;
  log?: (line: string) => void;
}

export interface RunningDashboard {
  url: string;
  close(): Promise<void>;
}

/** The dashboard's routes on an app that already exists (the study server's), over its store. */
export async function addDashboard(app: FastifyInstance, data: DashboardData, options: Pick<DashboardOptions, 'interval' | 'log'> = {}): Promise<void> {
  const hub = new Hub(data, options.interval ?? 1000, options.log);
  await dashboardRoutes(app, data, hub);
}

/**
 * `tunelab dashboard`: the pages alone, over read-only stores and a results root. Binds a loopback
 * address unless given tokens (the browser asks for one as the basic-auth user name).
 */
export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8080;
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new UserError(`--port must be an integer from 0 to 65535, got ${port}`);
  if (!options.tokenFile && !isLoopback(host)) throw new UserError(`--host ${host} lets other machines in: give --token_file F too (one token a line), or bind 127.0.0.1`);
  const tokens = options.tokenFile ? readTokenFile(options.tokenFile) : undefined;
  const data = await DashboardData.open(options.storages, options.resultsRoot, { storageTimeout: options.storageTimeout, onRetry: options.onRetry });
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false, requestTimeout: 30_000, connectionTimeout: 60_000, forceCloseConnections: true, return503OnClosing: true });
  app.addHook('onClose', async () => data.close());
  try {
    if (tokens) {
      app.addHook('onRequest', async (req, reply) => {
        const refusal = tokenRefusal(tokens, req.headers.authorization);
        if (refusal) return reply.code(401).header('www-authenticate', BASIC_CHALLENGE).send({ error: { message: refusal, status: 401 } });
      });
    }
    app.setErrorHandler((err: FastifyError, _req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      if (status === 500) options.log?.(`internal error: ${err.stack ?? err.message}`);
      void reply.code(status).send({ error: { message: status === 500 ? 'internal server error (the dashboard logged it)' : err.message, status } });
    });
    app.setNotFoundHandler((req, reply) => void reply.code(404).send({ error: { message: `no page ${req.url.split('?')[0]}`, status: 404 } }));
    await addDashboard(app, data, options);
    try {
      await app.listen({ host, port });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') throw new UserError(`cannot listen on ${host}:${port}: ${code}; choose another --host or --port`);
      throw e;
    }
  } catch (e) {
    await app.close();
    throw e;
  }
  const address = app.server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`, close: () => app.close() };
}
