import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apiWorkerScript, checkAddReady, endChildren, openGate, processesUnder, runCli, settle, startProcess, studyExperiment, until, withStoreAt } from './study-helpers.js';
import { HyperbandScheduler } from '../src/schedulers/hyperband.js';
import type { Searcher } from '../src/schedulers/types.js';
import { type LocalPostgres, freePort, startLocalPostgres } from '../src/study/storage/local-postgres.js';
import { openStore } from '../src/study/storage/open.js';
import { POSTGRES_SCHEMA_VERSION } from '../src/study/storage/postgres.js';
import type { StudyStore } from '../src/study/storage/store.js';
import { createStudy } from '../src/study/study.js';
import { createRng } from '../src/util/rng.js';
import { cliPath, tempDir } from './helpers.js';

// the study module alone: the whole index loads the plotting stack too, seconds per process on two cores

let server: LocalPostgres;
let root: string;
const children: ChildProcess[] = [];
/** Data folders of the servers this file started: their processes must be gone at the end. */
const dataDirs: string[] = [];

beforeAll(async () => {
  server = await startLocalPostgres();
  dataDirs.push(server.dataDir);
});
afterAll(async () => {
  await server?.stop();
  await settle(() => ourProcesses(dataDirs));
  expect(ourProcesses(dataDirs)).toEqual([]);
});
beforeEach(() => {
  root = tempDir('tunelab-study-pg-');
});
afterEach(async () => {
  await endChildren(children, [root]);
});





const ourProcesses = processesUnder;
const cli = (args: string[]) => runCli(root, args);
const start = (argv: string[]) => startProcess(root, children, argv);

let names = 0;
const experiment = (extra: Record<string, unknown> = {}) => studyExperiment(root, `pg-study-${++names}`, { parallel_bandwidth: 16, ...extra });


const withStore = <T>(fn: (store: StudyStore) => Promise<T>, url = server.url) => withStoreAt(url, fn);

async function pgQuery(sql: string, database = 'tunelab') {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: server.url.replace(/\/tunelab$/, `/${database}`) });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('shared study on PostgreSQL', () => {
  it('16 worker processes meet a budget of 400 exactly: every suggestion held by one worker at a time, none lost', async () => {
    // no worker dies here: a lease that a starved machine cannot outlast, so that any second hand-out is a bug (recovery has its own test)
    const study = await createStudy(experiment({ study: { lease_seconds: 60 } }), { storage: server.url });
    await study.close();
    const script = apiWorkerScript(root);
    const log = join(root, 'held.log');
    const workers = Array.from({ length: 16 }, () => start([script, server.url, String(study.id), log]));
    const codes = await Promise.all(workers.map((w) => w.exited));
    expect(codes, workers.map((w) => w.out.stderr).join('\n')).toEqual(Array(16).fill(0));
    await withStore(async (store) => {
      const observations = await store.listObservations(study.id);
      expect(observations).toHaveLength(400);
      expect(new Set(observations.map((o) => o.suggestionId)).size).toBe(400);
      const suggestions = await store.listSuggestions(study.id);
      expect(suggestions).toHaveLength(400);
      expect(suggestions.filter((s) => s.state !== 'completed' || s.attempts !== 1)).toEqual([]);
      expect(new Set(observations.map((o) => o.metadata.pid)).size).toBeGreaterThan(1);
    });
    const held = new Map<number, { start: number; end: number }[]>();
    for (const line of readFileSync(log, 'utf8').trim().split('\n')) {
      const [id, , s, e] = line.split(' ').map(Number);
      held.set(id, [...(held.get(id) ?? []), { start: s, end: e }]);
    }
    expect(held.size).toBe(400);
    expect([...held.values()].filter((l) => l.length !== 1)).toEqual([]);
  });

  it('the buffer is refilled in one step within the bandwidth, buffer and budget, without configs already handed out', async () => {
    await withStore(async (store) => {
      const study = await createStudy(experiment({ budget: { max_trials: 5 } }), { store });
      await checkAddReady(store, study.id);
      await study.close();
    });
  });

  it('a finite space tried in full before the budget ends the study exhausted; a budget met first, completed', async () => {
    // 4 × 2 = 8 configs
    const parameters = [
      { name: 'k', type: 'int', bounds: { min: 1, max: 4 } },
      { name: 'c', type: 'categorical', categorical_values: ['a', 'b'] },
    ];
    for (const [budget, status, observations] of [[20, 'exhausted', 8], [5, 'completed', 5]] as const) {
      const study = await createStudy(experiment({ parameters, budget: { max_trials: budget }, parallel_bandwidth: 2 }), { storage: server.url });
      const summary = await study.optimize(async (config) => Number(config.k), { workers: 2 });
      expect(summary.observations).toBe(observations);
      expect((await study.refresh()).status).toBe(status);
      await study.close();
    }
  });

  it('kill -9 of two workers mid-trial: their suggestions are recovered after the lease and the budget is met exactly', async () => {
    writeFileSync(join(root, 'trial.sh'), `sleep 1\nawk -v x="$2" 'BEGIN { printf "[tunelab] {\\"loss\\": %.6f}\\n", (x - 0.3) ^ 2 }'\n`);
    const created = cli(['study', 'create', '-f', experiment({ budget: { max_trials: 16 }, parallel_bandwidth: 4 }), '--storage', server.url]);
    expect(created.code, created.stderr).toBe(0);
    const id = Number(created.stdout.trim());
    const workers = Array.from({ length: 4 }, () => start([cliPath, 'study', 'worker', String(id), '--storage', server.url]));
    let victims: { pid: number; suggestion: number; workerId: string }[] = [];
    await withStore((store) =>
      until('two workers holding suggestions', async () => {
        // handed out within the last 300 ms: the 1 s trial is surely still running when the kill comes
        const open = (await store.listSuggestions(id, ['open'])).filter((s) => (s.assignedAt ?? 0) > Date.now() - 300);
        const byPid = new Map(open.map((s) => [s.pid!, s]));
        if (byPid.size < 2 || (await store.listObservations(id)).length < 2) return false;
        victims = [...byPid.values()].slice(0, 2).map((s) => ({ pid: s.pid!, suggestion: s.id, workerId: s.workerId! }));
        return true;
      }),
    );
    for (const v of victims) process.kill(v.pid, 'SIGKILL');
    const codes = await Promise.all(workers.map((w) => w.exited));
    expect(codes.filter((c) => c === 0)).toHaveLength(2);
    await withStore(async (store) => {
      const observations = await store.listObservations(id);
      expect(observations).toHaveLength(16);
      const suggestions = await store.listSuggestions(id);
      expect(suggestions.filter((s) => s.state !== 'completed')).toEqual([]);
      for (const v of victims) {
        expect(suggestions.find((s) => s.id === v.suggestion)!.attempts).toBe(2);
        expect(observations.find((o) => o.suggestionId === v.suggestion)!.metadata.worker_id).not.toBe(v.workerId);
      }
    });
  });

  it('ASHA across worker processes stops the trials that a single-process ASHA on the same reports stops', async () => {
    const study = await createStudy(experiment({ method: 'ASHA', resource: { name: 'epoch', max: 9 }, budget: { max_trials: 60 }, parallel_bandwidth: 4 }), { storage: server.url });
    await study.close();
    const script = apiWorkerScript(root);
    const gate = mkdtempSync(join(root, 'gate-'));
    const workers = Array.from({ length: 4 }, () => start([script, server.url, String(study.id), join(root, 'held.log'), 'asha', gate]));
    await openGate(gate, 4);
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0, 0, 0]);
    const reports = await withStore((store) => store.listReports(study.id));
    const searcher: Searcher = { suggest: () => ({}), onTrialResult: () => undefined, onTrialIdle: () => undefined, onTrialResumed: () => undefined, metadata: () => ({}), state: () => null, restore: () => undefined };
    const scheduler = new HyperbandScheduler({ configSpace: {}, metric: 'loss', mode: 'min', rng: createRng(0) }, searcher, { type: 'stopping', maxT: 9, gracePeriod: 1, reductionFactor: 3 });
    const known = new Set<number>();
    const decisions = reports.map((r) => {
      if (!known.has(r.suggestionId)) scheduler.suggest(r.suggestionId);
      known.add(r.suggestionId);
      return scheduler.onTrialResult(r.suggestionId, { resource: r.resource, metrics: { loss: r.value } });
    });
    expect(reports.map((r) => r.decision)).toEqual(decisions);
    expect(reports.filter((r) => r.decision === 'stop').length).toBeGreaterThan(10);
    expect(new Set(reports.map((r) => r.workerId)).size).toBeGreaterThan(1);
  });

  it('an unreachable store is a clear error naming the URL without its password, after retries with backoff', async () => {
    const port = await freePort();
    const url = `postgresql://tuner:s3cret@127.0.0.1:${port}/tunelab`;
    const r = cli(['study', 'worker', '1', '--storage', url, '--storage_timeout', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`cannot reach the study store postgresql://tuner:\\*\\*\\*@127\\.0\\.0\\.1:${port}/tunelab: .*ECONNREFUSED.*\\d+ attempts over [23] s; --storage_timeout`));
    expect(r.stderr).toMatch(/unreachable while trying to connect .*retrying in \d+\.\d s/);
    expect(r.stderr).not.toMatch(/s3cret/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    // wrong credentials are refused at once, not retried
    const wrong = cli(['study', 'list', '--storage', server.url.replace(/:[^:@]+@/, ':wrong@')]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/cannot open the study store postgresql:\/\/postgres:\*\*\*@.*password authentication failed/);
  });

  it('a worker whose store is not up yet keeps retrying and joins once it is', async () => {
    const port = await freePort();
    const password = 'later';
    // the server's own database: it exists as soon as the server accepts connections
    const url = `postgresql://postgres:${password}@127.0.0.1:${port}/postgres`;
    const waiting = start([cliPath, 'study', 'list', '--storage', url, '--storage_timeout', '60']);
    await new Promise((r) => setTimeout(r, 1500));
    const late = await startLocalPostgres({ port, password });
    dataDirs.push(late.dataDir);
    try {
      expect(await waiting.exited, waiting.out.stderr).toBe(0);
      expect(waiting.out.stderr).toMatch(/retrying in/);
      expect(waiting.out.stdout).toMatch(/no studies/);
    } finally {
      await late.stop();
    }
  });

  it('an old-version store is upgraded, a newer one refused', async () => {
    await pgQuery('CREATE DATABASE oldstore');
    const oldUrl = server.url.replace(/\/tunelab$/, '/oldstore');
    const old = await openStore(oldUrl, { schemaVersion: 1 });
    await (await createStudy(experiment(), { store: old })).close();
    await old.close();
    expect((await pgQuery('SELECT version FROM tunelab_schema', 'oldstore')).rows[0].version).toBe(1);
    const listed = cli(['study', 'list', '--storage', oldUrl]);
    expect(listed.stdout, listed.stderr).toMatch(/^1\s+pg-study-\d+\s+RS/m);
    expect((await pgQuery('SELECT version FROM tunelab_schema', 'oldstore')).rows[0].version).toBe(POSTGRES_SCHEMA_VERSION);
    await pgQuery('UPDATE tunelab_schema SET version = 99', 'oldstore');
    const newer = cli(['study', 'list', '--storage', oldUrl]);
    expect(newer.code).toBe(2);
    expect(newer.stderr).toContain(`schema version 99, newer than this tunelab's ${POSTGRES_SCHEMA_VERSION}; upgrade tunelab`);
    expect(newer.stderr).not.toContain(server.url.split('@')[0].split(':')[2]);
  });
});
