import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, request } from 'node:http';
import { type Socket, createServer as createTcpServer } from 'node:net';
import S3rver from 's3rver';
import { afterAll, beforeAll } from 'vitest';
import { cliPath, readRows, tempDir } from './helpers.js';

/** Shared by the S3 and cloud tests: a real S3-compatible server on loopback, and faults put in front of it. */
export const S3_ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

/** What s3rver is doing under a path prefix: requests not yet answered, and when the last one ended. */
export interface S3Traffic {
  inFlight: number;
  lastEnded: number;
}

export async function startS3rver(buckets: string[]): Promise<{ endpoint: string; close: () => Promise<void>; traffic: (pathPrefix: string) => S3Traffic }> {
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: tempDir(), configureBuckets: buckets.map((name) => ({ name, configs: [] })) });
  const { port } = (await server.run()) as unknown as { port: number };
  const requests: { url: string; ended?: number }[] = [];
  (server as unknown as { httpServer: import('node:http').Server }).httpServer.on('request', (req, res) => {
    const entry: { url: string; ended?: number } = { url: req.url ?? '' };
    requests.push(entry);
    res.on('close', () => (entry.ended = Date.now()));
  });
  const traffic = (pathPrefix: string): S3Traffic => {
    const mine = requests.filter((r) => r.url.startsWith(pathPrefix));
    return { inFlight: mine.filter((r) => r.ended === undefined).length, lastEnded: Math.max(0, ...mine.map((r) => r.ended ?? 0)) };
  };
  return { endpoint: `http://127.0.0.1:${port}`, close: () => server.close(), traffic };
}

export const testS3Client = (endpoint: string) =>
  new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });

/** Every key under `prefix` (paginated). */
export async function listKeys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return keys.sort();
}

export async function getObject(client: S3Client, bucket: string, key: string): Promise<Buffer> {
  const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

/** The rows of a results.csv.gz's bytes. */
export function rowsOf(body: Buffer): ReturnType<typeof readRows> {
  const file = join(tempDir(), 'r.csv.gz');
  writeFileSync(file, body);
  return readRows(file);
}

/**
 * The rows of a results.csv.gz in S3 once it reads whole, else undefined: s3rver replaces an object
 * by deleting it first, and serves it while its PUT still writes it, so a read may fall in between
 * or see a part.
 */
export async function completeRowsInS3(client: S3Client, bucket: string, key: string): Promise<ReturnType<typeof readRows> | undefined> {
  const body = await getObject(client, bucket, key).catch(() => undefined);
  if (!body) return undefined;
  try {
    return rowsOf(body);
  } catch {
    return undefined;
  }
}

/**
 * A loopback HTTP proxy in front of `target` that answers the requests `fault(n)` picks (n counts
 * requests from 0) with S3's throttling (503 SlowDown) or an internal error (500), as S3 does under load.
 */
export async function faultProxy(target: string, fault: (n: number) => 'slowdown' | 'internal' | undefined) {
  const stats = { requests: 0, injected: 0 };
  const server = createServer((req, res) => {
    const f = fault(stats.requests++);
    if (f) {
      stats.injected++;
      req.resume();
      req.on('end', () => {
        const [status, code] = f === 'slowdown' ? [503, 'SlowDown'] : [500, 'InternalError'];
        res.writeHead(status, { 'content-type': 'application/xml' }).end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected</Message></Error>`);
      });
      return;
    }
    const up = request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { endpoint: `http://127.0.0.1:${port}`, stats, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/**
 * A loopback S3 endpoint in front of `target` that shows keys no S3-compatible test server can hold
 * (s3rver normalises `../` away; real S3 keeps it): `shown` maps a key stored in `target` to the
 * key this endpoint lists instead, and a request for the shown key is served the stored one.
 */
export async function renamingProxy(target: string, bucket: string, shown: Record<string, string>) {
  const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const stored = new Map(Object.entries(shown).map(([k, v]) => [`/${bucket}/${v}`, `/${bucket}/${k}`]));
  const server = createServer((req, res) => {
    const [path, query] = (req.url ?? '').split('?');
    const url = `${stored.get(decodeURIComponent(path)) ?? path}${query === undefined ? '' : `?${query}`}`;
    const up = request(`${target}${url}`, { method: req.method, headers: req.headers }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => {
        let body = Buffer.concat(chunks);
        if (/list-type=2/.test(query ?? '')) {
          let xml = body.toString('utf8');
          for (const [from, to] of Object.entries(shown)) xml = xml.split(`<Key>${escapeXml(from)}</Key>`).join(`<Key>${escapeXml(to)}</Key>`);
          body = Buffer.from(xml);
        }
        const { 'transfer-encoding': _chunked, ...headers } = r.headers;
        res.writeHead(r.statusCode!, { ...headers, 'content-length': String(body.length) }).end(body);
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { endpoint: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** A loopback TCP server that accepts connections and never answers (counting them). */
export async function silentServer() {
  const sockets = new Set<Socket>();
  const stats = { connections: 0 };
  const server = createTcpServer((s) => {
    stats.connections++;
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/**
 * `tunelab <args>` to its end without blocking this process (spawnSync would: an s3rver in this
 * process could not answer the CLI's requests).
 */
export function runCliAsync(root: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** An s3rver for the test file, with the environment pointing the CLI and s3Client() at it (restored after). */
export function s3rverForTests(buckets: string[]): { endpoint: string } {
  const state = { endpoint: '' };
  let server: Awaited<ReturnType<typeof startS3rver>> | undefined;
  const saved = { ...process.env };
  beforeAll(async () => {
    server = await startS3rver(buckets);
    state.endpoint = server.endpoint;
    Object.assign(process.env, S3_ENV, { AWS_ENDPOINT_URL_S3: server.endpoint });
  });
  afterAll(async () => {
    process.env = saved;
    await server?.close();
  });
  return state;
}
