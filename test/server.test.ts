import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/server/app.js';
import { readTokenFile } from '../src/server/auth.js';
import { experimentCreateBody, observationCreateBody } from '../src/server/schemas.js';
import { openStore } from '../src/study/storage/open.js';
import type { StudyStore } from '../src/study/storage/store.js';
import { createStudy } from '../src/study/study.js';
import { parseExperiment } from '../src/experiment/load.js';
import { experimentFileOptions } from '../src/methods/registry.js';
import { tempDir } from './helpers.js';
import { PYTHON, call, experimentBody, fleetScenario, hasPython, retriedRequests } from './server-helpers.js';
import { processesUnder, runCli, studyEnv } from './study-helpers.js';

let root: string;
let store: StudyStore;
let app: FastifyInstance | undefined;
const children: ChildProcess[] = [];
const TOKEN = 'tok-0123456789abcdef-0123456789';

beforeEach(async () => {
  root = tempDir('tunelab-server-');
  store = await openStore(join(root, 'studies.db'));
});
afterEach(async () => {
  await app?.close();
  app = undefined;
  await store.close();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  const deadline = Date.now() + 15_000;
  while (processesUnder([root]).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(processesUnder([root])).toEqual([]);
});

/** The app on a loopback port of this process, over the test's store. */
async function serve(options: { tokens?: boolean; requestTimeout?: number } = {}): Promise<string> {
  let tokens;
  if (options.tokens) {
    const file = join(root, 'tokens');
    writeFileSync(file, `# the server's tokens\n${TOKEN}\nanother-token-0123456789\n`);
    tokens = readTokenFile(file);
  }
  ({ app } = await buildApp({ store, tokens, requestTimeout: options.requestTimeout }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const basic = (t: string) => ({ authorization: `Basic ${Buffer.from(`${t}:`).toString('base64')}` });

describe('tunelab server: SigOpt v1 resources', () => {
  it('experiments, suggestions (never a duplicate of an open one; 409 at the bandwidth and the budget), observations, paging, best_assignments, deletes', async () => {
    const url = await serve();
    const e = await call(url, 'POST', '/v1/experiments', experimentBody('Classifier Accuracy', { observation_budget: 4, parallel_bandwidth: 2, metadata: { team: 'a', n: 1 } }));
    expect(e.status).toBe(200);
    expect(e.body).toMatchObject({ object: 'experiment', name: 'Classifier Accuracy', observation_budget: 4, parallel_bandwidth: 2, metadata: { team: 'a', n: 1 }, progress: { observation_count: 0, best_observation: null } });
    const path = `/v1/experiments/${e.body.id}`;
    const s1 = await call(url, 'POST', `${path}/suggestions`, {});
    const s2 = await call(url, 'POST', `${path}/suggestions`);
    expect([s1.status, s2.status]).toEqual([200, 200]);
    expect(s1.body.id).not.toBe(s2.body.id);
    expect(s1.body.assignments).not.toEqual(s2.body.assignments);
    const full = await call(url, 'POST', `${path}/suggestions`, {});
    expect(full.status).toBe(409);
    expect(full.body.error).toMatchObject({ reason: 'wait', status: 409 });
    expect(full.body.error.message).toMatch(/parallel_bandwidth 2/);
    const open = await call(url, 'GET', `${path}/suggestions?state=open`);
    expect(open.body.data.map((s: { id: string }) => s.id).sort()).toEqual([s1.body.id, s2.body.id].sort());

    const o1 = await call(url, 'POST', `${path}/observations`, { suggestion: s1.body.id, values: [{ name: 'loss', value: 0.5, value_stddev: 0.1 }], metadata: { hostname: 'h1' } });
    expect(o1.status).toBe(200);
    expect(o1.body).toMatchObject({ object: 'observation', suggestion: s1.body.id, value: 0.5, value_stddev: 0.1, assignments: s1.body.assignments, failed: false, metadata: { hostname: 'h1' } });
    const again = await call(url, 'POST', `${path}/observations`, { suggestion: s1.body.id, value: 0.1 });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/has an observation already/);
    // the same observation again (a retried request): answered with the one recorded, nothing added
    const retried = await call(url, "POST", `${path}/observations`, { suggestion: s1.body.id, values: [{ name: "loss", value: 0.5, value_stddev: 0.1 }] });
    expect([retried.status, retried.body.id]).toEqual([200, o1.body.id]);
    expect((await call(url, 'POST', `${path}/observations`, { suggestion: s2.body.id, failed: true })).status).toBe(200);
    const s3 = await call(url, 'POST', `${path}/suggestions`, {});
    // given back (a worker stopped by a signal): the next ask gets the same suggestion, to continue it
    expect((await call(url, 'POST', `${path}/suggestions/${s3.body.id}/release`)).status).toBe(204);
    expect((await call(url, 'POST', `${path}/suggestions/${s3.body.id}/release`)).status).toBe(404);
    const back = await call(url, 'POST', `${path}/suggestions`, {});
    expect([back.body.id, back.body.assignments]).toEqual([s3.body.id, s3.body.assignments]);
    expect((await call(url, 'DELETE', `${path}/suggestions/${s3.body.id}`)).status).toBe(204);
    expect((await call(url, 'DELETE', `${path}/suggestions/${s3.body.id}`)).status).toBe(404);
    const s4 = await call(url, 'POST', `${path}/suggestions`, {});
    await call(url, 'POST', `${path}/suggestions`, {});
    expect((await call(url, 'DELETE', `${path}/suggestions?state=open`)).status).toBe(204);
    expect((await call(url, 'GET', `${path}/suggestions?state=open`)).body.count).toBe(0);
    for (const v of [0.2, 0.3]) {
      const s = await call(url, 'POST', `${path}/suggestions`, {});
      expect((await call(url, 'POST', `${path}/observations`, { suggestion: Number(s.body.id), value: v })).status).toBe(200);
    }
    // the budget (4 observations) is met: no more suggestions, said so
    const done = await call(url, 'POST', `${path}/suggestions`, {});
    expect(done.status).toBe(409);
    expect(done.body.error.reason).toBe('budget');
    expect(s4.body.id).toBeDefined();

    const exp = await call(url, 'GET', path);
    expect(exp.body.progress).toMatchObject({ observation_count: 4, best_observation: { value: 0.2 } });
    expect(exp.body.tunelab.status).toBe('completed');
    const best = await call(url, 'GET', `${path}/best_assignments`);
    expect(best.body.data).toHaveLength(1);
    expect(best.body.data[0]).toMatchObject({ object: 'best_assignments', value: 0.2 });

    // SigOpt's paging: newest first, before → older, after → newer
    const p1 = await call(url, 'GET', `${path}/observations?limit=3`);
    expect(p1.body.count).toBe(4);
    expect(p1.body.data.map((o: { value: number | null }) => o.value)).toEqual([0.3, 0.2, null]);
    expect(p1.body.paging.after).toBeNull();
    const p2 = await call(url, 'GET', `${path}/observations?limit=3&before=${p1.body.paging.before}`);
    expect(p2.body.data.map((o: { value: number }) => o.value)).toEqual([0.5]);
    expect(p2.body.paging.before).toBeNull();
    const p3 = await call(url, 'GET', `${path}/observations?limit=2&after=${p2.body.paging.after}`);
    expect(p3.body.data.map((o: { value: number | null }) => o.value)).toEqual([0.2, null]);

    // the store is the system of record: another app on the same store reads it all back
    await app!.close();
    app = undefined;
    const url2 = await serve();
    expect((await call(url2, 'GET', path)).body.progress).toMatchObject({ observation_count: 4, best_observation: { value: 0.2 } });
    expect((await call(url2, 'POST', '/v1/experiments', experimentBody('Classifier Accuracy'))).status).toBe(409);
  });

  it("tell_and_ask: the observation and the worker's next suggestion in one call; a lost suggestion's observation refused, the next one given all the same", async () => {
    const url = await serve();
    const e = await call(url, 'POST', '/v1/experiments', experimentBody('one call', { observation_budget: 3, parallel_bandwidth: 2 }));
    const path = `/v1/experiments/${e.body.id}`;
    const w1 = { 'x-tunelab-worker': 'w-1', 'x-tunelab-host': 'h', 'x-tunelab-pid': '1' };
    const w2 = { ...w1, 'x-tunelab-worker': 'w-2' };
    // tunelab's own route: a worker names itself
    const anonymous = await call(url, 'POST', `${path}/tell_and_ask`, { suggestion: '1', value: 1 });
    expect([anonymous.status, anonymous.body.error.field]).toEqual([400, 'x-tunelab-worker']);
    const s1 = await call(url, 'POST', `${path}/suggestions`, {}, w1);
    const r1 = await call(url, 'POST', `${path}/tell_and_ask`, { suggestion: s1.body.id, values: [{ name: 'loss', value: 0.4 }], metadata: { note: 'n' } }, w1);
    expect(r1.status).toBe(200);
    expect(r1.body).toMatchObject({ object: 'tell_and_ask', recorded: true, refused: null, reason: null, suggestion: { object: 'suggestion', state: 'open' } });
    const s2 = r1.body.suggestion;
    expect(s2.id).not.toBe(s1.body.id);
    const open = await store.listSuggestions(Number(e.body.id), ['open']);
    expect(open.map((s) => [String(s.id), s.workerId])).toEqual([[s2.id, 'w-1']]);
    const [o1] = await store.listObservations(Number(e.body.id));
    expect(o1).toMatchObject({ suggestionId: Number(s1.body.id), value: 0.4, failed: false, metadata: { note: 'n', worker_id: 'w-1' } });
    // another worker's observation of w-1's live suggestion is refused, and w-2 still gets a suggestion
    const r2 = await call(url, 'POST', `${path}/tell_and_ask`, { suggestion: s2.id, value: 0.1 }, w2);
    expect(r2.status).toBe(200);
    expect(r2.body.recorded).toBe(false);
    expect(r2.body.refused).toMatch(/held by worker w-1/);
    const s3 = r2.body.suggestion;
    expect(s3.id).not.toBe(s2.id);
    // the last observation of the budget: recorded, and no next suggestion, saying why
    await call(url, 'POST', `${path}/observations`, { suggestion: s2.id, failed: true }, w1);
    const last = await call(url, 'POST', `${path}/tell_and_ask`, { suggestion: s3.id, value: 0.2 }, w2);
    expect(last.body).toMatchObject({ recorded: true, suggestion: null, reason: 'budget' });
    expect((await call(url, 'GET', path)).body.progress).toMatchObject({ observation_count: 3, best_observation: { value: 0.2 } });
    // a malformed body is a 400 naming the field, as POST …/observations says it
    const bad = await call(url, 'POST', `${path}/tell_and_ask`, { suggestion: s3.id, values: [{ name: 'loss', value: 'high' }] }, w2);
    expect([bad.status, bad.body.error.field]).toEqual([400, 'values[0].value']);
  });

  it('a request retried with the same Idempotency-Key is answered as the first was: one suggestion claimed, one observation recorded', async () => {
    const url = await serve();
    await retriedRequests(url, store, 'retried');
    // a finite space: random search plans under the study's lock (suggest) rather than by the one-step claim
    await retriedRequests(url, store, 'retried, finite', [{ name: 'x', type: 'categorical', categorical_values: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] }]);
  });

  it('tokens: none or a wrong one is 401 and writes nothing; basic-auth user name and bearer are let in; /openapi.json is open', async () => {
    const url = await serve({ tokens: true });
    const body = experimentBody('secret');
    for (const headers of [{}, bearer('wrong-token-0123456789'), basic('wrong-token-0123456789'), bearer(`${TOKEN}x`), { authorization: 'Token abc' }]) {
      const r = await call(url, 'POST', '/v1/experiments', body, headers);
      expect(r.status).toBe(401);
      expect(r.body.error.message).not.toContain(TOKEN);
    }
    expect(await store.listStudies()).toEqual([]);
    const created = await call(url, 'POST', '/v1/experiments', body, basic(TOKEN));
    expect(created.status).toBe(200);
    const path = `/v1/experiments/${created.body.id}`;
    const s = await call(url, 'POST', `${path}/suggestions`, {}, bearer('another-token-0123456789'));
    expect(s.status).toBe(200);
    const wrong = await call(url, 'POST', `${path}/observations`, { suggestion: s.body.id, value: 1 }, bearer('nope-0123456789abcdef'));
    expect(wrong.status).toBe(401);
    expect(await store.listObservations(Number(created.body.id))).toEqual([]);
    expect((await call(url, 'GET', '/openapi.json')).status).toBe(200);
  });

  it('15+ malformed bodies: each a 400 in SigOpt\'s error shape naming the field (and the accepted values)', async () => {
    const url = await serve();
    const e = await call(url, 'POST', '/v1/experiments', experimentBody('target'));
    const path = `/v1/experiments/${e.body.id}`;
    const s = await call(url, 'POST', `${path}/suggestions`, {});
    const good = experimentBody('bad');
    const param = (p: Record<string, unknown>) => ({ ...good, parameters: [p] });
    const cases: [string, string, unknown, string, RegExp?][] = [
      ['POST', '/v1/experiments', { ...good, name: undefined }, 'name'],
      ['POST', '/v1/experiments', { ...good, parameters: [] }, 'parameters'],
      ['POST', '/v1/experiments', param({ name: 'x', type: 'float', bounds: { min: 0, max: 1 } }), 'parameters[0].type', /int, double, categorical/],
      ['POST', '/v1/experiments', param({ name: 'x', type: 'double', bounds: { min: 0 } }), 'parameters[0].bounds.max'],
      ['POST', '/v1/experiments', param({ name: 'x', type: 'double', bounds: { min: 2, max: 1 } }), 'parameters[0]', /min 2 must be below max 1/],
      ['POST', '/v1/experiments', param({ name: 'x y', type: 'double', bounds: { min: 0, max: 1 } }), 'parameters[0].name'],
      ['POST', '/v1/experiments', param({ name: 'x', type: 'double', bounds: { min: 0, max: 1 }, transformation: 'sqrt' }), 'parameters[0].transformation', /none, log/],
      ['POST', '/v1/experiments', param({ name: 'c', type: 'categorical', categorical_values: [] }), 'parameters[0].categorical_values'],
      ['POST', '/v1/experiments', { ...good, metrics: [{ name: 'loss', objective: 'smallest' }] }, 'metrics[0].objective', /maximize, minimize/],
      ['POST', '/v1/experiments', { ...good, metrics: [{ name: 'loss', strategy: 'store' }] }, 'metrics', /at least one metric needs strategy 'optimize'/],
      ['POST', '/v1/experiments', { ...good, observation_budget: 0 }, 'observation_budget'],
      ['POST', '/v1/experiments', { ...good, parallel_bandwidth: 'many' }, 'parallel_bandwidth'],
      ['POST', '/v1/experiments', { ...good, method: 'MOBSTER' }, 'method', /RS, BO, TPE, ASHA/],
      ['POST', '/v1/experiments', { ...good, budgett: 3 }, 'budgett', /accepted fields/],
      ['POST', '/v1/experiments', { ...good, study: { lease_seconds: -1 } }, 'study.lease_seconds'],
      ['POST', '/v1/experiments', { ...good, metadata: { nested: { a: 1 } } }, 'metadata.nested'],
      ['POST', `${path}/observations`, { value: 1 }, 'suggestion'],
      ['POST', `${path}/observations`, { suggestion: s.body.id, value: null }, 'value'],
      ['POST', `${path}/observations`, { suggestion: s.body.id, values: [{ name: 'accuracy', value: 1 }] }, 'values', /lacks the optimized metric 'loss'/],
      ['POST', `${path}/observations`, { suggestion: s.body.id, failed: 'yes' }, 'failed'],
      ['POST', `${path}/observations`, { suggestion: s.body.id }, 'values'],
      ['POST', `${path}/observations`, { suggestion: s.body.id, failed: true, value: 1 }, 'failed'],
      ['POST', `${path}/suggestions/${s.body.id}/reports`, { values: [{ name: 'loss', value: 1 }] }, 'resource'],
      ['POST', `${path}/heartbeat`, { suggestions: [s.body.id] }, 'x-tunelab-worker'],
      ['GET', `${path}/observations?limit=0`, undefined, 'limit'],
      ['GET', `${path}/suggestions?state=pending`, undefined, 'state', /open, closed, all/],
      ['POST', '/v1/experiments', '{"name": ', '', /not valid JSON/],
    ];
    expect(cases.length).toBeGreaterThanOrEqual(15);
    for (const [method, route, body, field, text] of cases) {
      const r = await call(url, method, route, body);
      expect(r.status, `${method} ${route} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`).toBe(400);
      expect(Object.keys(r.body)).toEqual(['error']);
      if (field) expect(r.body.error.message, JSON.stringify(body)).toContain(field);
      if (text) expect(r.body.error.message).toMatch(text);
      expect(r.body.error.message).not.toMatch(/ at .*\.js:\d+/);
    }
    // nothing of the bad bodies was written: the one study, and no observation
    expect((await store.listStudies()).map((x) => x.name)).toEqual(['target']);
    expect(await store.listObservations(Number(e.body.id))).toEqual([]);
    // a body above the limit
    const big = await call(url, 'POST', '/v1/experiments', { ...good, metadata: { a: 'x'.repeat(2_000_000) } });
    expect(big.status).toBe(413);
  });

  it('/openapi.json is built from the route schemas: the bodies are the very schemas the routes validate with', async () => {
    const url = await serve();
    const doc = (await call(url, 'GET', '/openapi.json')).body;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.paths['/v1/experiments'].post.requestBody.content['application/json'].schema).toEqual(JSON.parse(JSON.stringify(experimentCreateBody)));
    expect(doc.paths['/v1/experiments/{id}/observations'].post.requestBody.content['application/json'].schema).toEqual(JSON.parse(JSON.stringify(observationCreateBody)));
    const routes = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops as object).map((m) => `${m.toUpperCase()} ${p}`));
    expect(routes.sort()).toEqual(
      [
        'POST /v1/experiments',
        'GET /v1/experiments/{id}',
        'POST /v1/experiments/{id}/suggestions',
        'GET /v1/experiments/{id}/suggestions',
        'DELETE /v1/experiments/{id}/suggestions',
        'DELETE /v1/experiments/{id}/suggestions/{sid}',
        'POST /v1/experiments/{id}/suggestions/{sid}/release',
        'POST /v1/experiments/{id}/observations',
        'GET /v1/experiments/{id}/observations',
        'GET /v1/experiments/{id}/best_assignments',
        'POST /v1/experiments/{id}/suggestions/{sid}/reports',
        'POST /v1/experiments/{id}/heartbeat',
        'POST /v1/experiments/{id}/logs',
        'GET /v1/experiments/{id}/logs',
        'GET /v1/experiments/{id}/status',
        'POST /v1/experiments/{id}/stop',
        'POST /v1/experiments/{id}/tell_and_ask',
        'DELETE /v1/experiments/{id}/workers/{worker}',
      ].sort(),
    );
  });

  it('a slow client (half a request line, then nothing) is cut off by the request timeout; the server goes on', async () => {
    const url = await serve({ requestTimeout: 500 });
    const port = Number(new URL(url).port);
    const closed = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('POST /v1/experiments HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"na'));
      let answer = '';
      socket.on('data', (d) => (answer += d));
      socket.on('close', () => resolve(answer));
      // far beyond the timeout: if the server never cuts it off, the test fails here instead of hanging
      setTimeout(() => resolve('still open'), 20_000).unref();
    });
    expect(closed).not.toBe('still open');
    expect((await call(url, 'GET', '/openapi.json')).status).toBe(200);
    expect(await store.listStudies()).toEqual([]);
  });

  it("ASHA over HTTP stops the same trials as the in-process study on the same reports", async () => {
    const url = await serve();
    const asha = { method: 'ASHA', resource: { name: 'epoch', max: 9 }, method_options: { grace_period: 1, reduction_factor: 3 }, observation_budget: 12, parallel_bandwidth: 12 };
    const e = await call(url, 'POST', '/v1/experiments', experimentBody('asha-http', asha));
    expect(e.status).toBe(200);
    const definition = parseExperiment({ ...e.body.tunelab.definition.source, name: 'asha_local' }, experimentFileOptions());
    const local = await createStudy(definition, { store });
    const path = `/v1/experiments/${e.body.id}`;
    const worker = { 'x-tunelab-worker': 'w-test', 'x-tunelab-host': 'h', 'x-tunelab-pid': '1' };
    const remoteIds: string[] = [];
    const localIds: number[] = [];
    for (let i = 0; i < 12; i++) {
      remoteIds.push((await call(url, 'POST', `${path}/suggestions`, {}, worker)).body.id);
      localIds.push((await local.ask())!.suggestionId);
    }
    // learning curves: trial i at epoch r has loss (i * 7 % 12) / 12 + 1 / r, reported round-robin
    const remote: string[] = [];
    const inProcess: string[] = [];
    const stoppedR = new Set<number>();
    const stoppedL = new Set<number>();
    for (let epoch = 1; epoch <= 9; epoch++) {
      for (let i = 0; i < 12; i++) {
        const loss = ((i * 7) % 12) / 12 + 1 / epoch;
        if (!stoppedR.has(i)) {
          const d = (await call(url, 'POST', `${path}/suggestions/${remoteIds[i]}/reports`, { resource: epoch, values: [{ name: 'loss', value: loss }] }, worker)).body.decision;
          remote.push(`${i}@${epoch}:${d}`);
          if (d === 'stop') stoppedR.add(i);
        }
        if (!stoppedL.has(i)) {
          const d = await local.report(localIds[i], epoch, loss);
          inProcess.push(`${i}@${epoch}:${d}`);
          if (d === 'stop') stoppedL.add(i);
        }
      }
    }
    expect(remote).toEqual(inProcess);
    // ASHA did stop some, and not all
    expect(stoppedR.size).toBeGreaterThan(0);
    expect(stoppedR.size).toBeLessThan(12);
    await local.close();
  });
});

describe('tunelab server: the command', () => {
  it('another host than a loopback one refuses to start without a token, naming the flag (exit 2)', () => {
    const r = runCli(root, ['server', '--storage', join(root, 'studies.db'), '--host', '0.0.0.0', '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--host 0\.0\.0\.0 .*--token_file/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a token file with a short token is refused without showing it (exit 2)', () => {
    const file = join(root, 'tokens');
    writeFileSync(file, 'short-secret\n');
    const r = runCli(root, ['server', '--storage', join(root, 'studies.db'), '--token_file', file, '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/token 1 is shorter than 16/);
    expect(r.stderr).not.toContain('short-secret');
  });
});

describe.skipIf(!hasPython)('tunelab server: Python clients and HTTP workers (SQLite)', () => {
  it('8 Python clients + 8 study workers over HTTP, two clients and the server killed with kill -9: exactly the budget observed, no suggestion held twice', async () => {
    await fleetScenario(root, children, join(root, 'fleet.db'), 300);
  }, 240_000);

  it("the example of SigOpt's controller/worker pattern runs with hostname metadata", async () => {
    const { startServerProcess } = await import('./server-helpers.js');
    const server = await startServerProcess(root, children, join(root, 'example.db'));
    const r = spawnSync(PYTHON, [join(import.meta.dirname, '..', 'examples', 'server-python', 'controller_worker.py'), '--server', server.url, '--workers', '3', '--budget', '24'], { encoding: 'utf8', env: studyEnv(root), timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/experiment 1: 24 observations; best Accuracy/);
    const exampleStore = await openStore(join(root, 'example.db'));
    const obs = await exampleStore.listObservations(1).finally(() => exampleStore.close());
    expect(obs).toHaveLength(24);
    expect(new Set(obs.map((o) => o.metadata.hostname))).toEqual(new Set([(await import('node:os')).hostname()]));
    // three workers, each a process of its own
    expect(new Set(obs.map((o) => o.metadata.pid)).size).toBe(3);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 150_000);
});

if (!hasPython) console.warn(`skipped the Python client tests: no ${PYTHON} on this machine`);
