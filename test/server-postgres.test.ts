import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LocalPostgres, startLocalPostgres } from '../src/study/storage/local-postgres.js';
import { tempDir } from './helpers.js';
import { fleetScenario, hasPython, PYTHON, retriedRequests } from './server-helpers.js';
import { buildApp } from '../src/server/app.js';
import { openStore } from '../src/study/storage/open.js';
import { processesUnder } from './study-helpers.js';

// the study server over embedded PostgreSQL: the same fleet as over SQLite (server-helpers.ts)

let pg: LocalPostgres;
let root: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  pg = await startLocalPostgres();
});
afterAll(async () => {
  await pg?.stop();
});
beforeEach(() => {
  root = tempDir('tunelab-server-pg-');
});
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  const deadline = Date.now() + 15_000;
  while (processesUnder([root]).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(processesUnder([root])).toEqual([]);
});

describe('tunelab server over PostgreSQL: retries', () => {
  it('a request retried with the same Idempotency-Key is answered as the first was: one suggestion claimed, one observation recorded', async () => {
    const store = await openStore(pg.url);
    const { app } = await buildApp({ store });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      await retriedRequests(url, store, 'retried');
      await retriedRequests(url, store, 'retried, finite', [{ name: 'x', type: 'categorical', categorical_values: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] }]);
    } finally {
      await app.close();
      await store.close();
    }
  });
});

describe.skipIf(!hasPython)('tunelab server over PostgreSQL', () => {
  it('8 Python clients + 8 study workers over HTTP, two clients and the server killed with kill -9: exactly the budget observed, no suggestion held twice', async () => {
    await fleetScenario(root, children, pg.url, 300);
  }, 300_000);
});

if (!hasPython) console.warn(`skipped the study server's PostgreSQL fleet: no ${PYTHON} on this machine`);
