import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { join } from 'node:path';
import { expect } from 'vitest';
import { freePort } from '../src/study/storage/local-postgres.js';
import { openStore } from '../src/study/storage/open.js';
import type { StudyStore } from '../src/study/storage/store.js';
import { cliPath } from './helpers.js';
import { type Started, overlaps, startProcess, studyEnv, until } from './study-helpers.js';

/** Shared by the study server's tests over SQLite and PostgreSQL: a real server process, real clients. */

export const PYTHON = '/usr/bin/python3';
export const hasPython = existsSync(PYTHON);
export const clientDir = join(import.meta.dirname, '..', 'python');

export interface ServerProcess extends Started {
  url: string;
  port: number;
}

/** `tunelab server` on a loopback port, waited for until it answers. */
export async function startServerProcess(root: string, children: ChildProcess[], storage: string, options: { port?: number; tokenFile?: string; storageTimeout?: number } = {}): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const flags = [...(options.tokenFile ? ['--token_file', options.tokenFile] : []), ...(options.storageTimeout !== undefined ? ['--storage_timeout', String(options.storageTimeout)] : [])];
  const p = startProcess(root, children, [cliPath, 'server', '--storage', storage, '--port', String(port), ...flags]);
  const url = `http://127.0.0.1:${port}`;
  await until(`the server on ${url}`, async () => {
    if (p.child.exitCode !== null) throw new Error(`the server exited: ${p.out.stderr}`);
    return fetch(`${url}/openapi.json`).then(
      (r) => r.ok,
      () => false,
    );
  });
  return { ...p, url, port };
}

/** One JSON request; the status and the parsed body. */
export async function call(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const r = await fetch(`${url}${path}`, { method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

/** A SigOpt experiment body: RS over x in [0, 1] and k in 1..50, minimising loss; `extra` overrides. */
export const experimentBody = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  parameters: [
    { name: 'x', type: 'double', bounds: { min: 0, max: 1 } },
    { name: 'k', type: 'int', bounds: { min: 1, max: 50 } },
  ],
  metrics: [{ name: 'loss', objective: 'minimize' }],
  observation_budget: 20,
  parallel_bandwidth: 4,
  method: 'RS',
  ...extra,
});

/**
 * A Python client process: optimize() in process, each evaluation logged as "suggestion pid start
 * end" (the test checks that no suggestion was held by two workers at once); with `slow`, each
 * evaluation first writes the suggestion it holds to held-<pid> and then sleeps a minute (the test
 * kills it with kill -9 mid-trial).
 */
export function pythonClientScript(dir: string): string {
  const file = join(dir, 'client.py');
  writeFileSync(
    file,
    `import os, sys, time, random
sys.path.insert(0, ${JSON.stringify(clientDir)})
from tunelab_client import Study
url, log, slow = sys.argv[1], sys.argv[2], len(sys.argv) > 3
study = Study.connect(url, retry_seconds=90)
held = []
def objective(config, trial):
    start = int(time.time() * 1000)
    if slow:
        with open(os.path.join(os.path.dirname(log), 'held-%d' % os.getpid()), 'w') as f:
            f.write(trial.id)
        time.sleep(60)
    time.sleep(random.random() * 0.01)
    held.append('%s %d %d %d' % (trial.id, os.getpid(), start, int(time.time() * 1000)))
    if config['k'] == 13:
        raise ValueError('an objective that fails')
    return (config['x'] - 0.3) ** 2
counts = study.optimize(objective, n_workers=2)
with open(log, 'a') as f:
    f.write(''.join(l + '\\n' for l in held))
print(counts)
`,
  );
  return file;
}

/** The command of the study workers' trials: logs "suggestion pid start end" and reports loss (a shell, so that a trial costs little). */
export function trialScript(dir: string, log: string): string {
  const file = join(dir, 'trial.sh');
  writeFileSync(file, `start=$(date +%s%3N)\necho "[tunelab] {\\"loss\\": 0.$TUNELAB_TRIAL_ID}"\necho "$TUNELAB_TRIAL_ID $$ $start $(date +%s%3N)" >> ${JSON.stringify(log)}\n`);
  return file;
}

/**
 * The fleet on one study: 8 Python clients (in-process objective, 2 threads each) and 8
 * `tunelab study worker` processes over HTTP, a budget of `budget`; two clients are killed with
 * kill -9 mid-trial (their suggestions recovered after the lease), and the server is killed with
 * kill -9 and restarted mid-study (an outage shorter than the lease: longer, and every holder loses
 * its suggestion to the first worker that asks). Exactly the budget is observed, no suggestion held twice at
 * once, every worker ends on the budget.
 */
export async function fleetScenario(root: string, children: ChildProcess[], storage: string, budget: number): Promise<void> {
  const log = join(root, 'held.log');
  const first = await startServerProcess(root, children, storage);
  const created = await call(first.url, 'POST', '/v1/experiments', experimentBody('fleet', { observation_budget: budget, parallel_bandwidth: 40, command: ['/bin/sh', trialScript(root, log)], study: { lease_seconds: 8 } }));
  expect(created.status).toBe(200);
  const studyUrl = `${first.url}/v1/experiments/${created.body.id}`;
  const client = pythonClientScript(root);
  const observed = async () => (await call(first.url, 'GET', `/v1/experiments/${created.body.id}`).catch(() => undefined))?.body?.progress?.observation_count ?? 0;

  const py = (slow: boolean) => {
    const child = spawn(PYTHON, [client, studyUrl, log, ...(slow ? ['slow'] : [])], { stdio: ['ignore', 'pipe', 'pipe'], env: studyEnv(root), cwd: root });
    children.push(child);
    const out = { stdout: '', stderr: '' };
    child.stdout.on('data', (d) => (out.stdout += d));
    child.stderr.on('data', (d) => (out.stderr += d));
    return { child, out, exited: new Promise<number | null>((r) => child.on('close', (c) => r(c))) };
  };
  const victims = [py(true), py(true)];
  const clients = Array.from({ length: 6 }, () => py(false));
  const workers = Array.from({ length: 8 }, () => startProcess(root, children, [cliPath, 'study', 'worker', studyUrl, '--storage_timeout', '90']));

  // two clients mid-trial: killed; what they held must be recovered after the lease
  const heldBy = (pid: number | undefined) => (readdirSync(root).includes(`held-${pid}`) ? readFileSync(join(root, `held-${pid}`), 'utf8').trim() : '');
  await until('the slow clients to hold suggestions', () => victims.every((v) => /^\d+$/.test(heldBy(v.child.pid))), 60_000);
  const lostIds = victims.map((v) => heldBy(v.child.pid));
  for (const v of victims) v.child.kill('SIGKILL');

  // the server too, mid-study; a new one on the same port and store
  await until('a third of the budget', async () => (await observed()) >= budget / 3, 120_000);
  first.child.kill('SIGKILL');
  await first.exited;
  await new Promise((r) => setTimeout(r, 1000));
  const second = await startServerProcess(root, children, storage, { port: first.port });

  const codes = await Promise.all([...clients.map((c) => c.exited), ...workers.map((w) => w.exited)]);
  const diagnostics = [...clients.map((c) => c.out.stderr), ...workers.map((w) => w.out.stderr)].filter(Boolean).join('\n---\n');
  expect(codes, diagnostics).toEqual(Array(14).fill(0));
  workers.forEach((w, i) => expect(w.out.stdout, `study worker ${i} (pid ${w.child.pid}, exit ${codes[clients.length + i]}); its stderr: ${w.out.stderr}`).toMatch(/ended: budget/));

  const store = await openStore(storage);
  try {
    const observations = await store.listObservations(Number(created.body.id));
    expect(observations.length).toBe(budget);
    expect(new Set(observations.map((o) => o.suggestionId)).size).toBe(budget);
    // the killed clients' suggestions: handed out again after their leases and observed by another worker
    for (const id of lostIds) {
      const o = observations.find((x) => x.suggestionId === Number(id));
      expect(o, `suggestion ${id} of a killed client`).toBeDefined();
      expect(victims.map((v) => String(v.child.pid))).not.toContain(String(o!.metadata.pid));
    }
    // failed objectives (k = 13) are observed as failed; the loop went on
    for (const o of observations.filter((x) => x.failed)) expect(String(o.metadata.error ?? '')).toMatch(/ValueError|failed|without reporting/);
    expect((await store.listSuggestions(Number(created.body.id), ['open'])).length).toBe(0);
    const study = await store.findStudy(created.body.id);
    expect(study?.status).toBe('completed');
  } finally {
    await store.close();
  }
  expect(overlaps(log)).toEqual([]);
  second.child.kill('SIGTERM');
  await second.exited;
}

/** A suggestion's answer without its creation time (the server stamps it when it answers). */
const sameSuggestion = (s: { id: string; assignments: unknown; state: string } | null) => s && { id: s.id, assignments: s.assignments, state: s.state };

/**
 * Requests sent twice with the same Idempotency-Key, as a client retries one whose answer a timeout
 * lost, on a server over `store`: an ask gets the same suggestion and claims one; a tell_and_ask
 * records one observation and gives the same next suggestion; an observation POSTed twice is one
 * observation. The same key from another worker is another request. With `parameters` of a finite
 * space, random search plans under the study's lock (the store's suggest) instead of its one-step claim.
 */
export async function retriedRequests(url: string, store: StudyStore, name: string, parameters?: unknown[]): Promise<void> {
  const e = await call(url, 'POST', '/v1/experiments', experimentBody(name, { observation_budget: 6, parallel_bandwidth: 3, ...(parameters && { parameters }) }));
  expect(e.status).toBe(200);
  const id = Number(e.body.id);
  const path = `/v1/experiments/${id}`;
  const w1 = { 'x-tunelab-worker': 'w-1', 'x-tunelab-host': 'h', 'x-tunelab-pid': '1' };
  const w2 = { ...w1, 'x-tunelab-worker': 'w-2' };
  const keyed = (key: string, w: Record<string, string>) => ({ ...w, 'idempotency-key': key });
  const open = async () => (await store.listSuggestions(id, ['open'])).map((s) => [s.id, s.workerId]);

  const a1 = await call(url, 'POST', `${path}/suggestions`, {}, keyed('ask-1', w1));
  const a2 = await call(url, 'POST', `${path}/suggestions`, {}, keyed('ask-1', w1));
  expect([a1.status, a2.status]).toEqual([200, 200]);
  expect(sameSuggestion(a2.body)).toEqual(sameSuggestion(a1.body));
  expect(await open()).toEqual([[Number(a1.body.id), 'w-1']]);
  // another worker's request with the same key is its own
  const b = await call(url, 'POST', `${path}/suggestions`, {}, keyed('ask-1', w2));
  expect(b.body.id).not.toBe(a1.body.id);

  const body = { suggestion: a1.body.id, values: [{ name: 'loss', value: 0.5 }] };
  const t1 = await call(url, 'POST', `${path}/tell_and_ask`, body, keyed('tell-1', w1));
  const t2 = await call(url, 'POST', `${path}/tell_and_ask`, body, keyed('tell-1', w1));
  expect(t1.body).toMatchObject({ recorded: true, refused: null, reason: null });
  expect({ ...t2.body, suggestion: sameSuggestion(t2.body.suggestion) }).toEqual({ ...t1.body, suggestion: sameSuggestion(t1.body.suggestion) });
  expect((await store.listObservations(id)).map((o) => [o.suggestionId, o.value])).toEqual([[Number(a1.body.id), 0.5]]);
  expect(await open()).toEqual([
    [Number(b.body.id), 'w-2'],
    [Number(t1.body.suggestion.id), 'w-1'],
  ]);
  // without a key the same body is a new request: told already (the same worker's retry), and a new suggestion
  const t3 = await call(url, 'POST', `${path}/tell_and_ask`, body, w1);
  expect(t3.body.recorded).toBe(true);
  expect(t3.body.suggestion.id).not.toBe(t1.body.suggestion.id);
  expect(await store.listObservations(id)).toHaveLength(1);

  // SigOpt's POST …/observations, sent twice: one observation, answered with it both times
  const o1 = await call(url, 'POST', `${path}/observations`, { suggestion: b.body.id, value: 0.25 }, keyed('obs-1', w2));
  const o2 = await call(url, 'POST', `${path}/observations`, { suggestion: b.body.id, value: 0.25 }, keyed('obs-1', w2));
  expect([o1.status, o2.status, o2.body.id]).toEqual([200, 200, o1.body.id]);
  expect(await store.listObservations(id)).toHaveLength(2);

  // a key that is not a header token: 400 naming it
  const bad = await call(url, 'POST', `${path}/suggestions`, {}, keyed('two words', w1));
  expect([bad.status, bad.body.error.field]).toEqual([400, 'idempotency-key']);
}

export interface TcpGate {
  port: number;
  /** Every relayed connection reset and new ones refused: the store is gone. */
  cut(): Promise<void>;
  /** Connections relayed again, on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** A loopback TCP relay to `target` that a test cuts and restores: a store server that goes away and comes back, the store itself untouched. */
export async function tcpGate(target: number): Promise<TcpGate> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = (port: number) =>
    new Promise<Server>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(target, '127.0.0.1');
        for (const [a, b] of [
          [client, upstream],
          [upstream, client],
        ]) {
          sockets.add(a);
          a.pipe(b);
          a.on('error', () => b.destroy());
          a.on('close', () => {
            sockets.delete(a);
            b.destroy();
          });
        }
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve(s));
    });
  server = await listen(0);
  const port = (server.address() as { port: number }).port;
  const cut = async () => {
    const s = server;
    server = undefined;
    if (!s) return;
    const closed = new Promise((r) => s.close(r));
    for (const socket of sockets) socket.resetAndDestroy();
    await closed;
  };
  return {
    port,
    cut,
    restore: async () => {
      server ??= await listen(port);
    },
    close: cut,
  };
}
