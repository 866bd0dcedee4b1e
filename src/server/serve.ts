import { openStore } from '../study/storage/open.js';
import { UserError } from '../util/errors.js';
import { buildApp, type AppOptions } from './app.js';
import { isLoopback, readTokenFile } from './auth.js';

/** PostgreSQL connections of the server: one request's claim holds one while the others tell, read and renew. */
const SERVER_CONNECTIONS = 8;

export interface ServeOptions extends Omit<AppOptions, 'store' | 'tokens'> {
  /** `--storage` (default: the SQLite file under the results root). */
  storage?: string;
  host?: string;
  /** 0: any free port (the tests). */
  port?: number;
  /** One API token a line; required unless the host is a loopback one. */
  tokenFile?: string;
  storageTimeout?: number;
  onRetry?: (line: string) => void;
}

export interface RunningServer {
  /** http://host:port */
  url: string;
  storage: string;
  close(): Promise<void>;
}

/**
 * `tunelab server`: one HTTP process in front of one store. Binds a loopback address unless given
 * tokens: another host refuses to start without --token_file.
 */
export async function startServer(options: ServeOptions = {}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8080;
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new UserError(`--port must be an integer from 0 to 65535, got ${port}`);
  if (!options.tokenFile && !isLoopback(host)) throw new UserError(`--host ${host} lets other machines in: give --token_file F too (one API token a line), or bind 127.0.0.1`);
  const tokens = options.tokenFile ? readTokenFile(options.tokenFile) : undefined;
  // PostgreSQL: connections for concurrent requests (a worker process needs 2); the study's lock still serialises its claims
  const store = await openStore(options.storage, { storageTimeout: options.storageTimeout, onRetry: options.onRetry, maxConnections: SERVER_CONNECTIONS });
  try {
    const { app } = await buildApp({ ...options, store, tokens });
    try {
      await app.listen({ host, port });
    } catch (e) {
      await app.close();
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') throw new UserError(`cannot listen on ${host}:${port}: ${code}; choose another --host or --port`);
      throw e;
    }
    const address = app.server.address();
    const bound = typeof address === 'object' && address ? address.port : port;
    const shown = host.includes(':') ? `[${host}]` : host;
    return {
      url: `http://${shown}:${bound}`,
      storage: store.url,
      close: async () => {
        await app.close();
        await store.close();
      },
    };
  } catch (e) {
    await store.close();
    throw e;
  }
}
