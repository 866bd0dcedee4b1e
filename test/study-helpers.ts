import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { type LocalPostgres, startLocalPostgres } from '../src/study/storage/local-postgres.js';
import { openStore } from '../src/study/storage/open.js';
import type { StudyStore } from '../src/study/storage/store.js';

/** Shared by the SQLite and PostgreSQL study tests. */
import { cliPath } from './helpers.js';

const distStudy = join(import.meta.dirname, '..', 'dist', 'src', 'study', 'study.js');

/**
 * A zero-cost API worker: optimize() with the objective recording when it held which suggestion
 * (pid, start, end), so that the test can check that no suggestion was held by two workers at once;
 * with 'asha', a learning curve reported per epoch.
 */
export function apiWorkerScript(dir: string): string {
  const file = join(dir, 'api-worker.mjs');
  writeFileSync(
    file,
    `import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadStudy } from ${JSON.stringify(distStudy)};
const [storage, id, log, asha, gate] = process.argv.slice(2);
const study = await loadStudy(id, { storage });
// with a gate folder: say ready, then wait for 'go', so that on a loaded machine no worker has run
// the whole budget before the others have started
if (gate) {
  writeFileSync(gate + '/ready-' + process.pid, '');
  while (!existsSync(gate + '/go')) await sleep(20);
}
const held = [];
await study.optimize(async (config, trial) => {
  const start = Date.now();
  let value = (config.x - 0.3) ** 2;
  if (asha) {
    for (let epoch = 1; epoch <= 9; epoch++) {
      value = config.x + 1 / epoch;
      if ((await trial.report(epoch, value)) === 'stop') break;
      await sleep(2);
    }
  } else await sleep(Math.random() * 3);
  held.push([trial.suggestionId, process.pid, start, Date.now()].join(' '));
  return value;
});
appendFileSync(log, held.map((l) => l + '\\n').join(''));
await study.close();
`,
  );
  return file;
}

/** Opens the gate of apiWorkerScript's workers once `count` of them are ready (see its gate argument). */
export async function openGate(gate: string, count: number): Promise<void> {
  await until(`${count} workers ready`, () => readdirSync(gate).filter((f) => f.startsWith('ready-')).length >= count, 100_000);
  writeFileSync(join(gate, 'go'), '');
}

/** (suggestion, pid, start, end) intervals from every worker's log: no suggestion in two of them at once. */
export function overlaps(logFile: string): string[] {
  const bySuggestion = new Map<number, { pid: number; start: number; end: number }[]>();
  for (const line of readFileSync(logFile, 'utf8').trim().split('\n')) {
    const [id, pid, start, end] = line.split(' ').map(Number);
    const list = bySuggestion.get(id) ?? [];
    list.push({ pid, start, end });
    bySuggestion.set(id, list);
  }
  const out: string[] = [];
  for (const [id, list] of bySuggestion) {
    for (let i = 0; i < list.length; i++) for (let j = i + 1; j < list.length; j++) if (list[i].start < list[j].end && list[j].start < list[i].end) out.push(`suggestion ${id}: ${JSON.stringify([list[i], list[j]])}`);
  }
  return out;
}

/** Processes whose command line names one of `marks`, or whose working folder is under one. */
export function processesUnder(marks: string[]): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      if (marks.some((m) => cmd.includes(m) || cwd.startsWith(m))) found.push(`${pid}: ${cmd}`);
    } catch {
      // it ended while we looked
    }
  }
  return found;
}

/** The environment of a test's processes: results under its folder. */
export const studyEnv = (root: string) => ({ ...process.env, TUNELAB_ROOT: join(root, 'results') });

/** `tunelab <args>` run to its end in the test's folder. */
export function runCli(root: string, args: string[]) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', env: studyEnv(root), cwd: root });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** An embedded PostgreSQL for the test file, started before its first test and stopped after its last: call the returned function inside a test. */
export function postgresForFile(): () => LocalPostgres {
  let server: LocalPostgres | undefined;
  beforeAll(async () => {
    server = await startLocalPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('the test PostgreSQL is not running: call this inside a test');
    return server;
  };
}

/** Waits (up to 15 s) until `find` finds nothing. */
export async function settle(find: () => string[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (find().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}

/** A test's end: its children still running killed, then no process left under `roots` (named if any is). */
export async function endChildren(children: ChildProcess[], roots: string[]): Promise<void> {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await settle(() => processesUnder(roots));
  expect(processesUnder(roots)).toEqual([]);
}

/** `fn` on the store at `storage` (a file or a postgres:// URL), closed after whatever `fn` does. */
export async function withStoreAt<T>(storage: string, fn: (store: StudyStore) => Promise<T>): Promise<T> {
  const store = await openStore(storage);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** The study tests' two parameters: x in [0, 1] and an integer k in 1..50. */
export const STUDY_PARAMETERS = [
  { name: 'x', type: 'double', bounds: { min: 0, max: 1 } },
  { name: 'k', type: 'int', bounds: { min: 1, max: 50 } },
];

/** An experiment file `name`.json in `root`: STUDY_PARAMETERS, loss minimised by `root`/trial.sh, random search, 400 trials 8 at a time, 2-second leases; `fields` replace any of these. */
export function studyExperiment(root: string, name: string, fields: Record<string, unknown> = {}): string {
  const file = join(root, `${name}.json`);
  const data = {
    name,
    parameters: STUDY_PARAMETERS,
    metrics: [{ name: 'loss', objective: 'minimize' }],
    command: ['/bin/sh', join(root, 'trial.sh')],
    method: 'RS',
    budget: { max_trials: 400 },
    parallel_bandwidth: 8,
    study: { lease_seconds: 2 },
    ...fields,
  };
  writeFileSync(file, JSON.stringify(data));
  return file;
}

export interface Started {
  child: ChildProcess;
  out: { stdout: string; stderr: string };
  exited: Promise<number | null>;
}

/** A node process started in the test's folder, its output collected; it joins `children` so the test can end it. */
export function startProcess(root: string, children: ChildProcess[], argv: string[]): Started {
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: studyEnv(root), cwd: root });
  children.push(child);
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d) => (out.stdout += d));
  child.stderr!.on('data', (d) => (out.stderr += d));
  const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  return { child, out, exited };
}

export async function until(what: string, cond: () => Promise<boolean> | boolean, timeout = 60_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The buffer's one-step refill (StudyStore.addReady) on a running study with no observations:
 * it adds only as many as the limits leave room for, skips configs an open or ready suggestion
 * holds (and repeats within the batch), records the refill, and adds nothing once the study stopped.
 */
export async function checkAddReady(store: StudyStore, studyId: number): Promise<void> {
  const [a, b, c, d] = [0.1, 0.2, 0.3, 0.4].map((x) => ({ x, k: 1 }));
  const worker = { workerId: 'w', host: 'h', pid: 1 };
  const claimed = await store.claimIfFree(studyId, worker, 60, a, { budget: 5, bandwidth: 4, deadline: null });
  expect(claimed?.claimed.config).toEqual(a);
  // room: min(outstanding 3, budget 5 - 0 observed) - 1 open = 2; a is open, b repeats
  const before = await store.now();
  expect(await store.addReady(studyId, [a, b, b, c, d], { outstanding: 3, budget: 5 })).toBe(2);
  const after = await store.now();
  const ready = await store.listSuggestions(studyId, ['ready']);
  expect(ready.map((s) => s.config)).toEqual([b, c]);
  // recorded on the store's clock
  const refillAt = (await store.findStudy(String(studyId)))!.refillAt;
  expect(refillAt).toBeGreaterThanOrEqual(before);
  expect(refillAt).toBeLessThanOrEqual(after);
  expect(await store.addReady(studyId, [d], { outstanding: 3, budget: 5 })).toBe(0);
  // the budget bounds it too: 3 outstanding of a budget of 3
  expect(await store.addReady(studyId, [d], { outstanding: 10, budget: 3 })).toBe(0);
  expect(await store.addReady(studyId, [d], { outstanding: 10, budget: 4 })).toBe(1);
  await store.setStatus(studyId, 'stopped', 'finish');
  expect(await store.addReady(studyId, [{ x: 0.5, k: 1 }], { outstanding: 10, budget: 10 })).toBe(0);
}
