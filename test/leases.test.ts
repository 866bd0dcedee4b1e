import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { studyStatus } from '../src/study/status.js';
import { createStudy, loadStudy } from '../src/study/study.js';
import { tempDir } from './helpers.js';
import { type Started, postgresForFile, startProcess, until, withStoreAt } from './study-helpers.js';

/**
 * Leases run on the store's clock (issue 21, items 9 and 11): a worker whose clock is two minutes
 * off neither takes a live worker's suggestion nor writes a lease that has run out already, on
 * SQLite and on PostgreSQL; and `study status` shows a dead worker whose suggestion was handed on
 * as lost, while a live idle one stays idle.
 */

const distStudy = join(import.meta.dirname, '..', 'dist', 'src', 'study', 'study.js');
const SKEW_MS = 120_000;

const pg = postgresForFile();
let root: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  root = tempDir('tunelab-leases-');
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/**
 * A worker process whose clock (Date.now, which everything in it reads) is off by `skewMs`: it asks
 * once and prints what it got as a JSON line ("null" if nothing came within `waitMs`, then exits);
 * with a suggestion it holds it (renewing its lease) until killed.
 */
function workerScript(): string {
  const file = join(root, 'skewed-worker.mjs');
  writeFileSync(
    file,
    `import { setTimeout as sleep } from 'node:timers/promises';
const [storage, id, skew, wait] = process.argv.slice(2);
const real = Date.now;
Date.now = () => real() + Number(skew);
const { loadStudy } = await import(${JSON.stringify(distStudy)});
const study = await loadStudy(id, { storage });
const got = await Promise.race([study.ask(), sleep(Number(wait)).then(() => null)]);
console.log(JSON.stringify(got && { ...got, workerId: study.worker.workerId }));
if (!got) process.exit(0);
setInterval(() => {}, 1000);
`,
  );
  return file;
}

function startWorker(storage: string, id: number, skewMs: number, waitMs: number): Started {
  return startProcess(root, children, [workerScript(), storage, String(id), String(skewMs), String(waitMs)]);
}

/** The first line the worker printed, parsed. */
async function answer(w: Started): Promise<{ suggestionId: number; workerId: string } | null> {
  await until('the worker to answer', () => w.out.stdout.includes('\n') || w.child.exitCode !== null);
  expect(w.out.stderr).toBe('');
  return JSON.parse(w.out.stdout.split('\n')[0]);
}

let names = 0;
function experiment(study: Record<string, unknown>): string {
  const name = `leases-${++names}`;
  const file = join(root, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      name,
      parameters: [{ name: 'x', type: 'double', bounds: { min: 0, max: 1 } }],
      metrics: [{ name: 'loss', objective: 'minimize' }],
      command: ['true'],
      method: 'RS',
      budget: { max_trials: 10 },
      // one slot: a second worker gets a suggestion only by taking the first one's
      parallel_bandwidth: 1,
      study,
    }),
  );
  return file;
}


const stores = [
  { kind: 'SQLite', storage: () => join(root, 'studies.db') },
  { kind: 'PostgreSQL', storage: () => pg().url },
];

describe.each(stores)('leases on $kind run on the store clock', ({ storage }) => {
  it.each([
    ['two minutes ahead asks while a live worker holds the only slot', 0, SKEW_MS],
    ['two minutes behind holds the only slot while a worker on time asks', -SKEW_MS, 0],
  ])('a worker %s: the holder keeps it, the asker waits', async (_what, holderSkew, askerSkew) => {
    const study = await createStudy(experiment({ lease_seconds: 60 }), { storage: storage() });
    await study.close();
    const before = await withStoreAt(storage(), (store) => store.now());
    const holder = startWorker(storage(), study.id, holderSkew, 60_000);
    const held = await answer(holder);
    expect(held).not.toBeNull();
    const asker = startWorker(storage(), study.id, askerSkew, 3000);
    expect(await answer(asker)).toBeNull();
    await withStoreAt(storage(), async (store) => {
      const suggestions = await store.listSuggestions(study.id);
      expect(suggestions.map((s) => ({ id: s.id, state: s.state, worker: s.workerId, attempts: s.attempts }))).toEqual([{ id: held!.suggestionId, state: 'open', worker: held!.workerId, attempts: 1 }]);
      // a lease of 60 s from a moment of the store's clock within the test, whatever the holder's clock says
      // (bounds from the store's clock, not a wall-time guess: a loaded machine may take many seconds here)
      const after = await store.now();
      expect(suggestions[0].leaseExpiresAt! - 60_000).toBeGreaterThanOrEqual(before - 1);
      expect(suggestions[0].leaseExpiresAt! - 60_000).toBeLessThanOrEqual(after + 1);
    });
  });

  it('status: a killed worker whose suggestion was handed on is lost once its lease and last_seen are past; a live idle one stays idle', async () => {
    const study = await createStudy(experiment({ lease_seconds: 1 }), { storage: storage() });
    await study.close();
    const dead = startWorker(storage(), study.id, 0, 60_000);
    const first = await answer(dead);
    // waits for the slot, and gets the dead one's suggestion after its lease
    const heir = startWorker(storage(), study.id, 0, 60_000);
    dead.child.kill('SIGKILL');
    await dead.exited;
    const second = await answer(heir);
    expect(second?.suggestionId).toBe(first!.suggestionId);
    // a live worker that waits for the slot longer than a lease
    const idle = startWorker(storage(), study.id, 0, 60_000);
    const loaded = await loadStudy(study.id, { storage: storage() });
    try {
      await until('the idle worker to register', async () => (await studyStatus(loaded)).workers.length === 3);
      await new Promise((r) => setTimeout(r, 2500));
      const states = Object.fromEntries((await studyStatus(loaded)).workers.map((w) => [w.workerId, w.state]));
      expect(states[first!.workerId]).toBe('lost');
      expect(states[second!.workerId]).toBe('running');
      expect(Object.values(states).sort()).toEqual(['idle', 'lost', 'running']);
      expect(idle.out.stdout).toBe('');
    } finally {
      await loaded.close();
    }
  });
});
