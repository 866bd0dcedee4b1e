import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import { call, clientDir, experimentBody, fleetScenario, hasPython, PYTHON, retriedRequests, startServerProcess, tcpGate } from './server-helpers.js';
import { buildApp } from '../src/server/app.js';
import { openStore } from '../src/study/storage/open.js';
import { endChildren, postgresForFile, studyEnv, until } from './study-helpers.js';
import { loadStudy } from '../src/study/study.js';

// the study server over embedded PostgreSQL: the same fleet as over SQLite (server-helpers.ts)

const pg = postgresForFile();
let root: string;
const children: ChildProcess[] = [];

beforeEach(() => {
  root = tempDir('tunelab-server-pg-');
});
afterEach(async () => {
  await endChildren(children, [root]);
});

describe('tunelab server over PostgreSQL: retries', () => {
  it('a request retried with the same Idempotency-Key is answered as the first was: one suggestion claimed, one observation recorded', async () => {
    const store = await openStore(pg().url);
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
    await fleetScenario(root, children, pg().url, 300);
  }, 300_000);
});

/** A Python client that optimizes in process and prints its counts and each transient answer it retried (the client's own retry, observed by wrapping its one request). */
function countingClient(dir: string): string {
  const file = join(dir, 'counting-client.py');
  writeFileSync(
    file,
    `import json, sys, time
sys.path.insert(0, ${JSON.stringify(clientDir)})
import tunelab_client
retried = []
once = tunelab_client._Api._once
def counting(self, *args):
    try:
        return once(self, *args)
    except tunelab_client._Transient as e:
        retried.append(str(e))
        raise
tunelab_client._Api._once = counting
study = tunelab_client.Study.connect(sys.argv[1], retry_seconds=90)
def objective(config):
    time.sleep(0.1)
    return (config['x'] - 0.3) ** 2
counts = study.optimize(objective, n_workers=2)
print(json.dumps({'counts': counts, 'retried': retried}))
`,
  );
  return file;
}

describe.skipIf(!hasPython)('tunelab server over PostgreSQL: the store fails', () => {
  it('PostgreSQL unreachable past the server\'s --storage_timeout: a 503 naming the store (never a 400); RemoteStudy and the Python client retry it and the budget is met exactly', async () => {
    // the server reaches PostgreSQL through a relay the test cuts: the store gone for 4 s, the server giving up after 1 s
    const gate = await tcpGate(pg().port);
    try {
      const storage = pg().url.replace(`:${pg().port}/`, `:${gate.port}/`);
      const password = pg().url.match(/:([^:@/]+)@/)![1];
      const server = await startServerProcess(root, children, storage, { storageTimeout: 1 });
      // 4 evaluations of 0.1 s at a time: at least 3 s of work, so that the outage falls mid-study on a quiet machine too
      const budget = 120;
      const created = await call(server.url, 'POST', '/v1/experiments', experimentBody('outage', { observation_budget: budget, parallel_bandwidth: 8 }));
      expect(created.status).toBe(200);
      const studyUrl = `${server.url}/v1/experiments/${created.body.id}` as const;

      const py = spawn(PYTHON, [countingClient(root), studyUrl], { stdio: ['ignore', 'pipe', 'pipe'], env: studyEnv(root), cwd: root });
      children.push(py);
      const pyOut = { stdout: '', stderr: '' };
      py.stdout.on('data', (d) => (pyOut.stdout += d));
      py.stderr.on('data', (d) => (pyOut.stderr += d));
      const pyExited = new Promise<number | null>((r) => py.on('close', (c) => r(c)));
      const retries: string[] = [];
      const study = await loadStudy(studyUrl, { storageTimeout: 90, onRetry: (line) => retries.push(line) });
      const optimized = study.optimize(
        async (config) => {
          await new Promise((r) => setTimeout(r, 100));
          return Number(config.x);
        },
        { workers: 2 },
      );
      // awaited below, after the outage: a rejection meanwhile is the test's failure there, not an unhandled one
      optimized.catch(() => undefined);
      const observed = async () => (await call(server.url, 'GET', `/v1/experiments/${created.body.id}`)).body.progress.observation_count as number;
      await until('a quarter of the budget', async () => (await observed()) >= budget / 4, 120_000);

      await gate.cut();
      const outage = Date.now();
      const refused = await call(server.url, 'POST', `/v1/experiments/${created.body.id}/suggestions`, {}, { 'x-tunelab-worker': 'probe', 'x-tunelab-host': 'h', 'x-tunelab-pid': '1' }).catch(async (e) => {
        // no answer at all: the server died (its stderr says why)
        await new Promise((r) => setTimeout(r, 500));
        throw new Error(`${e}; the server: exit ${server.child.exitCode}, ${server.out.stderr}`);
      });
      expect(refused.status, JSON.stringify(refused.body)).toBe(503);
      expect(refused.body.error.status).toBe(503);
      expect(refused.body.error.message).toMatch(new RegExp(`study store postgresql://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${gate.port}/tunelab`));
      expect(refused.body.error.message).not.toContain(password);
      await new Promise((r) => setTimeout(r, Math.max(0, 4000 - (Date.now() - outage))));
      await gate.restore();

      expect(await optimized).toMatchObject({ lost: 0 });
      expect(await pyExited, pyOut.stderr).toBe(0);
      await study.close();
      const python = JSON.parse(pyOut.stdout.trim().split('\n').pop()!) as { counts: { observations: number; lost: number }; retried: string[] };
      // both clients met the 503 and retried it: a 400 would have ended them with an error
      expect(retries.some((l) => /HTTP 503/.test(l)), retries.join('\n')).toBe(true);
      expect(python.retried).toContain('HTTP 503');
      expect(python.counts.lost).toBe(0);

      const store = await openStore(pg().url);
      try {
        const observations = await store.listObservations(Number(created.body.id));
        expect(observations.length).toBe(budget);
        expect(new Set(observations.map((o) => o.suggestionId)).size).toBe(budget);
        expect(observations.filter((o) => o.metadata.pid !== process.pid).length).toBe(python.counts.observations);
        expect(await store.listSuggestions(Number(created.body.id), ['open'])).toEqual([]);
        expect((await store.findStudy(created.body.id))?.status).toBe('completed');
      } finally {
        await store.close();
      }
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    } finally {
      await gate.close();
    }
  }, 180_000);
});

if (!hasPython) console.warn(`skipped the study server's PostgreSQL fleet: no ${PYTHON} on this machine`);
