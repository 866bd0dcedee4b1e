import { type ChildProcess, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { endChildren, postgresForFile, runCli, STUDY_PARAMETERS, studyExperiment, withStoreAt } from './study-helpers.js';
import { PYTHON, call, hasPython, startServerProcess } from './server-helpers.js';
import { loadExperiment } from '../src/experiment/load.js';
import { NSGA2Searcher } from '../src/schedulers/searchers/nsga2.js';
import { StudyCache } from '../src/study/storage/cache.js';
import { openStore } from '../src/study/storage/open.js';
import { POSTGRES_SCHEMA_VERSION } from '../src/study/storage/postgres.js';
import { SQLITE_SCHEMA_VERSION } from '../src/study/storage/sqlite.js';
import type { ObservationRecord } from '../src/study/storage/store.js';
import { createStudySearcher } from '../src/study/planner.js';
import { createStudy, loadStudy } from '../src/study/study.js';
import { createRng } from '../src/util/rng.js';
import { tempDir } from './helpers.js';

// shared studies with several objectives (issue 27): vector values in both stores and their upgrade,
// MO methods across workers, the front of study best/status, the server's multimetric API

let root: string;
const pg = postgresForFile();
const children: ChildProcess[] = [];

beforeEach(() => {
  root = tempDir('tunelab-study-mo-');
});
afterEach(async () => {
  await endChildren(children, [root]);
});

const cli = (args: string[]) => runCli(root, args);

/** Two objectives, both minimised: loss = (x - 0.3)² + k/1000 and size = k, which pull k apart. */
function experiment(name: string, extra: Record<string, unknown> = {}): string {
  const file = studyExperiment(root, name, {
    metrics: [
      { name: 'loss', objective: 'minimize' },
      { name: 'size', objective: 'minimize' },
      { name: 'note', strategy: 'store' },
    ],
    method: 'NSGA2',
    budget: { max_trials: 30 },
    parallel_bandwidth: 4,
    study: { lease_seconds: 30 },
    ...extra,
  });
  writeFileSync(join(root, 'trial.sh'), `awk -v x="$2" -v k="$4" 'BEGIN { printf "[tunelab] {\\"loss\\": %.6f, \\"size\\": %d, \\"note\\": 7}\\n", (x - 0.3) ^ 2 + k / 1000, k }'\n`);
  return file;
}

/** Values an old store held: neither has a short decimal form, so a shortened print of either would lose it. */
const OLD_VALUES = [0.1 + 0.2, 1 / 3];

const objectivesOf = (x: number, k: number) => ({ loss: (x - 0.3) ** 2 + k / 1000, size: k, note: 7 });

/** The non-dominated observations (both minimised), by brute force: the oracle the fronts are checked against. */
/** Rows cut to the columns the old store's rows had (later versions add columns of their own). */
function oldColumns(rows: unknown, old: unknown): unknown[] {
  const keys = Object.keys((old as Record<string, unknown>[])[0] ?? {});
  return (rows as Record<string, unknown>[]).map((r) => (keys.length ? Object.fromEntries(keys.map((k) => [k, r[k]])) : r));
}

function bruteFront(observations: readonly ObservationRecord[]): number[] {
  const ok = observations.filter((o) => !o.failed);
  const dominated = (a: number[], b: number[]) => b.every((v, k) => v <= a[k]) && b.some((v, k) => v < a[k]);
  const out = ok.filter((o) => !ok.some((p) => dominated(o.objectiveValues!, p.objectiveValues!)));
  // of equal points the earlier one
  return out.filter((o, i) => !out.slice(0, i).some((p) => p.objectiveValues!.every((v, k) => v === o.objectiveValues![k]))).map((o) => o.suggestionId);
}


/** Every observation's vector is its objectives' values in the file's order; null for a failed one. */
function expectVectors(observations: readonly ObservationRecord[]) {
  for (const o of observations) {
    if (o.failed) expect(o.objectiveValues).toBeNull();
    else {
      expect(o.objectiveValues).toEqual([o.values.loss, o.values.size]);
      expect(o.value).toBe(o.values.loss);
    }
  }
}

describe('the study store with vector values', () => {
  it('SQLite: a store of version 4 (before several objectives), written to as that version wrote, is upgraded to the newest with every row kept and each observation given its vector', async () => {
    const storage = join(root, 'old.db');
    const old = await openStore(storage, { schemaVersion: 4 });
    const study = await createStudy(experiment('old', { method: 'RS', metrics: [{ name: 'loss', objective: 'minimize' }] }), { store: old });
    const held = [await study.ask(), await study.ask(), await study.ask()];
    await study.close();
    await old.close();
    // a report and the tells of version 4's store (its statements, as that tunelab ran them): two completed, one failed
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(storage);
    db.prepare('INSERT INTO reports (study_id, suggestion_id, resource, value, metrics, decision, worker_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(study.id, held[0]!.suggestionId, 1, 0.9, JSON.stringify({ loss: 0.9 }), 'continue', 'w', 4);
    held.forEach((s, i) => {
      const failed = i === 2;
      db.prepare("UPDATE suggestions SET state = ?, lease_expires_at = NULL, ended_at = 5 WHERE id = ?").run(failed ? 'failed' : 'completed', s!.suggestionId);
      db.prepare('INSERT INTO observations (study_id, suggestion_id, value, metrics, failed, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(study.id, s!.suggestionId, failed ? null : OLD_VALUES[i], JSON.stringify(failed ? {} : { loss: OLD_VALUES[i], acc: i }), failed ? 1 : 0, JSON.stringify({ worker_id: 'w' }), 10 + i);
      db.prepare('UPDATE studies SET observed = observed + 1 WHERE id = ?').run(study.id);
    });
    const tables = ['studies', 'suggestions', 'observations', 'reports', 'workers', 'requests', 'trial_logs', 'rungs'];
    const dump = () => Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all()]));
    const before = dump();
    expect((before.observations as unknown[]).length).toBe(3);
    db.close();

    const listed = cli(['study', 'list', '--storage', storage]);
    expect(listed.code, listed.stderr).toBe(0);
    const after = new Database(storage, { readonly: true });
    try {
      expect((after.prepare('SELECT version FROM tunelab_schema').get() as { version: number }).version).toBe(SQLITE_SCHEMA_VERSION);
      const now = Object.fromEntries(tables.map((t) => [t, after.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all()]));
      // every row and every old column as it was; the observations gained their vector
      for (const t of tables.filter((t) => t !== 'observations')) expect(oldColumns(now[t], before[t]), t).toEqual(before[t]);
      const obs = now.observations as Record<string, unknown>[];
      expect(obs.map(({ objective_values, ...rest }) => rest)).toEqual(before.observations);
      // each value exactly, not a shortened print of it
      expect(obs.map((o) => o.objective_values && JSON.parse(o.objective_values as string))).toEqual([[OLD_VALUES[0]], [OLD_VALUES[1]], null]);
    } finally {
      after.close();
    }
    // the upgraded store reads and writes as a new one
    await withStoreAt(storage, async (store) => {
      expect((await store.listObservations(study.id)).map((o) => o.objectiveValues)).toEqual([[OLD_VALUES[0]], [OLD_VALUES[1]], null]);
      const again = await loadStudy(study.id, { store });
      const s = await again.ask();
      await again.tell(s!.suggestionId, { loss: 0.5 });
      expect((await store.listObservations(study.id)).at(-1)!.objectiveValues).toEqual([0.5]);
      await again.close();
    });
  });

  it('PostgreSQL: a store of version 6 (before several objectives), told through its own tell function, is upgraded to the newest with every row kept', async () => {
    const { default: pgm } = await import('pg');
    const admin = new pgm.Client({ connectionString: pg().url });
    await admin.connect();
    await admin.query('CREATE DATABASE mo_old');
    // a server that prints float8 with 15 digits: the upgrade must not store the shortened print
    await admin.query('ALTER DATABASE mo_old SET extra_float_digits = 0');
    await admin.end();
    const url = pg().url.replace(/\/tunelab$/, '/mo_old');
    const old = await openStore(url, { schemaVersion: 6 });
    const study = await createStudy(experiment('pgold', { method: 'RS', metrics: [{ name: 'loss', objective: 'minimize' }] }), { store: old });
    const held = [await study.ask(), await study.ask(), await study.ask()];
    await study.close();
    await old.close();
    const client = new pgm.Client({ connectionString: url });
    await client.connect();
    try {
      // version 6's tunelab_tell (made by version 5), with its ten arguments: what that tunelab called
      for (const [i, s] of held.entries()) {
        const failed = i === 2;
        const w = (await client.query('SELECT worker_id, host, pid FROM suggestions WHERE id = $1', [s!.suggestionId])).rows[0];
        const r = await client.query('SELECT * FROM tunelab_tell($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', [study.id, s!.suggestionId, failed ? 'failed' : 'completed', w.worker_id, w.host, w.pid, failed ? null : OLD_VALUES[i], JSON.stringify(failed ? {} : { loss: OLD_VALUES[i] }), failed, '{}']);
        expect(r.rows[0].recorded).toBe(true);
      }
      const tables = ['studies', 'suggestions', 'observations', 'reports', 'workers', 'requests', 'trial_logs', 'rungs'];
      const dump = async () => Object.fromEntries(await Promise.all(tables.map(async (t) => [t, (await client.query(`SELECT * FROM ${t} ORDER BY ${t === 'rungs' || t === 'workers' || t === 'requests' ? '1, 2' : 'id'}`)).rows])));
      const before = await dump();
      const listed = cli(['study', 'list', '--storage', url]);
      expect(listed.code, listed.stderr).toBe(0);
      expect((await client.query('SELECT version FROM tunelab_schema')).rows[0].version).toBe(POSTGRES_SCHEMA_VERSION);
      const now = await dump();
      for (const t of tables.filter((t) => t !== 'observations')) expect(oldColumns(now[t], before[t]), t).toEqual(before[t]);
      expect(now.observations.map(({ objective_values, ...rest }: Record<string, unknown>) => rest)).toEqual(before.observations);
      expect(now.observations.map((o: Record<string, unknown>) => o.objective_values && JSON.parse(o.objective_values as string))).toEqual([[OLD_VALUES[0]], [OLD_VALUES[1]], null]);
    } finally {
      await client.end();
    }
    await withStoreAt(url, async (store) => {
      const again = await loadStudy(study.id, { store });
      const s = await again.ask();
      await again.tell(s!.suggestionId, { loss: 0.5 });
      expect((await store.listObservations(study.id)).map((o) => o.objectiveValues)).toEqual([[OLD_VALUES[0]], [OLD_VALUES[1]], null, [0.5]]);
      await again.close();
    });
  });
});

describe('shared studies with several objectives', () => {
  it("the study's NSGA2 is NSGA-II fed every worker's observations: it proposes what NSGA2Searcher proposes from the same results", async () => {
    const definition = await loadExperiment(experiment('feed', { budget: { max_trials: 100 } }));
    const cache = new StudyCache();
    const searcher = createStudySearcher('NSGA2', definition, cache, createRng(5));
    const reference = new NSGA2Searcher({ configSpace: definition.configSpace, metric: 'loss', mode: 'min', objectives: definition.objectives, rng: createRng(5) });
    const draw = createRng(9);
    const suggestions: { id: number; config: { x: number; k: number } }[] = [];
    const observations: ObservationRecord[] = [];
    for (let id = 1; id <= 30; id++) {
      const config = { x: draw.next(), k: 1 + Math.floor(draw.next() * 50) };
      suggestions.push({ id, config });
      const failed = id % 7 === 0;
      const v = objectivesOf(config.x, config.k);
      observations.push({ id, suggestionId: id, value: failed ? null : v.loss, objectiveValues: failed ? null : [v.loss, v.size], values: failed ? {} : v, failed, metadata: {}, createdAt: id });
      reference.adopt(id, config);
      if (!failed) reference.onTrialResult(id, 1, v.loss, { loss: v.loss, size: v.size });
      reference.onTrialIdle(id, failed ? 'failed' : 'completed');
    }
    cache.apply({ newSuggestions: suggestions, newObservations: observations });
    const proposed = searcher.propose(6, []);
    const expected = Array.from({ length: 6 }, (_, i) => reference.suggest(-1 - i));
    expect(proposed).toEqual(expected);
    // the population is the 20 best of the 26 completed, and the children are new configs
    expect(reference.members).toHaveLength(20);
    const seen = new Set(suggestions.map((s) => JSON.stringify(s.config)));
    for (const c of proposed) expect(seen.has(JSON.stringify(c))).toBe(false);
  });

  it('createStudy + optimize with NSGA2 and MO-BO on SQLite: every observation holds both objectives, study best is the front; bad tells and MO-ASHA refused', async () => {
    const storage = join(root, 'studies.db');
    for (const method of ['NSGA2', 'MO-BO', 'MO-RS']) {
      const study = await createStudy(experiment(`api-${method}`, { method, budget: { max_trials: method === 'MO-BO' ? 12 : 30 } }), { storage });
      const summary = await study.optimize((config) => objectivesOf(config.x as number, config.k as number), { workers: 3 });
      expect(summary.observations).toBe(method === 'MO-BO' ? 12 : 30);
      const observations = await study.store.listObservations(study.id);
      expectVectors(observations);
      const front = (await study.front())!;
      expect(front.objectives).toEqual([
        { metric: 'loss', mode: 'min' },
        { metric: 'size', mode: 'min' },
      ]);
      expect(front.points.map((p) => p.suggestionId)).toEqual(bruteFront(observations));
      const configs = new Map((await study.store.listSuggestions(study.id)).map((s) => [s.id, s.config]));
      for (const p of front.points) {
        expect(p.config).toEqual(configs.get(p.suggestionId));
        expect(p.values).toEqual({ loss: p.metrics.loss, size: p.metrics.size });
      }
      await study.close();
    }
    const study = await createStudy(experiment('bad-tells', { budget: { max_trials: 5 } }), { storage });
    const s = (await study.ask())!;
    await expect(study.tell(s.suggestionId, 0.3)).rejects.toThrow(/this study has 2 objectives \(loss, size\); give every one's value as \{name: value\}, not one number/);
    await expect(study.tell(s.suggestionId, { loss: 0.3 })).rejects.toThrow(/the values lack the metric 'size'/);
    await study.tell(s.suggestionId, undefined, { failed: true });
    expect((await study.store.listObservations(study.id))[0]).toMatchObject({ failed: true, value: null, objectiveValues: null });
    await study.close();

    const asha = cli(['study', 'create', '-f', experiment('moasha', { method: 'MO-ASHA', resource: { name: 'epoch', max: 9 } }), '--storage', storage]);
    expect(asha.code).toBe(2);
    expect(asha.stderr).toMatch(/method 'MO-ASHA' cannot run as a shared study \(its rungs rank points of several objectives, and the store's rungs hold one value each\); valid methods for a study with several objectives: MO-RS, NSGA2, MO-BO/);
    expect(asha.stderr).not.toMatch(/\n\s+at /);
  });

  it('run -f with two objectives and --storage (SQLite, then PostgreSQL): the workers tell both, study status and study best show the front', async () => {
    for (const [storage, method] of [
      [join(root, 'run.db'), 'NSGA2'],
      [pg().url, 'MO-RS'],
    ] as const) {
      const file = experiment(`run-${method}`, { method, budget: { max_trials: 24 } });
      const run = cli(['run', '-f', file, '--storage', storage, '--n_workers', '3']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/Pareto front of \d+ point\(s\) \(minimize loss, minimize size\)/);
      const [observations, configs] = await withStoreAt(storage, async (store) => {
        const id = (await store.findStudy(`run-${method}`))!.id;
        return [await store.listObservations(id), new Map((await store.listSuggestions(id)).map((s) => [s.id, s.config]))] as const;
      });
      expect(observations.filter((o) => !o.failed)).toHaveLength(24);
      expectVectors(observations);
      // what each trial printed (loss to 6 decimals), the stored metric among them
      for (const o of observations) {
        const c = configs.get(o.suggestionId)! as { x: number; k: number };
        expect(o.values.size).toBe(c.k);
        expect(o.values.note).toBe(7);
        expect(Math.abs(o.values.loss - objectivesOf(c.x, c.k).loss)).toBeLessThan(1e-6);
      }
      const expected = bruteFront(observations);
      const best = cli(['study', 'best', `run-${method}`, '--storage', storage, '--json']);
      expect(best.code, best.stderr).toBe(0);
      const front = JSON.parse(best.stdout);
      expect(front.points.map((p: { suggestionId: number }) => p.suggestionId)).toEqual(expected);
      for (const p of front.points) expect(p.config).toEqual(configs.get(p.suggestionId));
      const text = cli(['study', 'best', `run-${method}`, '--storage', storage]);
      expect(text.stdout.split('\n')[0]).toBe(`Pareto front of ${expected.length} point(s) (minimize loss, minimize size)`);
      expect(text.stdout).toContain(`  suggestion ${expected[0]}: loss=`);
      const status = cli(['study', 'status', `run-${method}`, '--storage', storage]);
      expect(status.stdout).toMatch(new RegExp(`\\(${method}, minimize loss, minimize size\\)`));
      expect(status.stdout).toContain(`Pareto front of ${expected.length} point(s)`);
      expect(JSON.parse(cli(['study', 'status', `run-${method}`, '--storage', storage, '--json']).stdout).front.points).toEqual(front.points);
      // exported, the folder's best (tunelab best) is the same front
      const exported = cli(['study', 'export', `run-${method}`, '--storage', storage, '--out', join(root, 'exported')]);
      expect(exported.code, exported.stderr).toBe(0);
      const folderBest = JSON.parse(cli(['best', exported.stdout.trim(), '--json']).stdout);
      expect(folderBest.objectives).toEqual(front.objectives);
      // the same points; the folder lists them in its rows' order (the last report's time), which two
      // workers may interleave differently from the order of their tells
      const ascending = (ids: number[]) => [...ids].sort((a, b) => a - b);
      expect(ascending(folderBest.points.map((p: { trialId: number }) => p.trialId))).toEqual(ascending(expected));
    }
  });

  it("the server's multimetric experiments: values per metric, 400 naming the field, best_assignments the front, progress.best_observation null; study best by URL; the Python client", async () => {
    const storage = join(root, 'server.db');
    const server = await startServerProcess(root, children, storage);
    const body = {
      name: 'two metrics',
      parameters: STUDY_PARAMETERS,
      metrics: [
        { name: 'size', objective: 'minimize' },
        { name: 'loss', objective: 'minimize' },
      ],
      observation_budget: 16,
      parallel_bandwidth: 4,
      method: 'MO-RS',
    };
    const created = await call(server.url, 'POST', '/v1/experiments', body);
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const path = `/v1/experiments/${created.body.id}`;
    expect(created.body.metrics.map((m: { name: string; strategy: string }) => [m.name, m.strategy])).toEqual([
      ['size', 'optimize'],
      ['loss', 'optimize'],
    ]);
    const s1 = (await call(server.url, 'POST', `${path}/suggestions`, {})).body;
    const missing = await call(server.url, 'POST', `${path}/observations`, { suggestion: s1.id, values: [{ name: 'loss', value: 0.2 }] });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ field: 'values' });
    expect(missing.body.error.message).toMatch(/lacks the optimized metric 'size'/);
    const single = await call(server.url, 'POST', `${path}/observations`, { suggestion: s1.id, value: 0.2 });
    expect(single.status).toBe(400);
    expect(single.body.error).toMatchObject({ field: 'value' });
    expect(single.body.error.message).toMatch(/optimizes 2 metrics \(size, loss\); give values: \[\{name, value\}\] with each of them/);
    const o1 = await call(server.url, 'POST', `${path}/observations`, { suggestion: s1.id, values: [{ name: 'loss', value: 0.2 }, { name: 'size', value: 10 }, { name: 'extra', value: 1 }] });
    expect(o1.status).toBe(200);
    // SigOpt's multimetric observation: no single value, each metric in values
    expect(o1.body.value).toBeNull();
    expect(o1.body.values.map((v: { name: string; value: number }) => [v.name, v.value])).toEqual([
      ['loss', 0.2],
      ['size', 10],
      ['extra', 1],
    ]);
    // three more by hand: one dominated, one on the front, one failed
    const told: [number, number][] = [
      [0.3, 20],
      [0.5, 5],
    ];
    for (const [loss, size] of told) {
      const s = (await call(server.url, 'POST', `${path}/suggestions`, {})).body;
      expect((await call(server.url, 'POST', `${path}/observations`, { suggestion: s.id, values: [{ name: 'loss', value: loss }, { name: 'size', value: size }] })).status).toBe(200);
    }
    const sf = (await call(server.url, 'POST', `${path}/suggestions`, {})).body;
    expect((await call(server.url, 'POST', `${path}/observations`, { suggestion: sf.id, failed: true })).status).toBe(200);
    const best = await call(server.url, 'GET', `${path}/best_assignments`);
    expect(best.body.count).toBe(2);
    expect(best.body.data.map((b: { value: unknown; assignments: unknown }) => b.value)).toEqual([null, null]);
    expect(best.body.data[0].assignments).toEqual(s1.assignments);
    expect(best.body.data.map((b: { values: { name: string; value: number }[] }) => b.values.map((v) => [v.name, v.value]))).toEqual([
      // in time order, each one's evaluations by metric name (SigOpt's order)
      [
        ['extra', 1],
        ['loss', 0.2],
        ['size', 10],
      ],
      [
        ['loss', 0.5],
        ['size', 5],
      ],
    ]);
    const experimentNow = (await call(server.url, 'GET', path)).body;
    expect(experimentNow.progress.observation_count).toBe(4);
    expect(experimentNow.progress.best_observation).toBeNull();
    expect(experimentNow.progress.last_observation.failed).toBe(true);

    const studyUrl = `${server.url}${path}`;
    const byUrl = cli(['study', 'best', studyUrl, '--json']);
    expect(byUrl.code, byUrl.stderr).toBe(0);
    expect(JSON.parse(byUrl.stdout).points.map((p: { values: Record<string, number> }) => p.values)).toEqual([
      { size: 10, loss: 0.2 },
      { size: 5, loss: 0.5 },
    ]);
    expect(cli(['study', 'status', studyUrl]).stdout).toContain('Pareto front of 2 point(s) (minimize size, minimize loss)');

    // run -f through the server: its workers tell both objectives over HTTP
    const run = cli(['run', '-f', experiment('over-http', { budget: { max_trials: 12 } }), '--storage', server.url, '--n_workers', '2']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Pareto front of \d+ point\(s\) \(minimize loss, minimize size\)/);
    const httpStudy = await withStoreAt(storage, async (store) => (await store.findStudy('over-http'))!);
    expect(httpStudy.definition.method).toBe('NSGA2');
    const httpObservations = await withStoreAt(storage, (store) => store.listObservations(httpStudy.id));
    expect(httpObservations).toHaveLength(12);
    expectVectors(httpObservations);
    const httpFront = JSON.parse(cli(['study', 'best', `${server.url}/v1/experiments/${httpStudy.id}`, '--json']).stdout);
    expect(httpFront.points.map((p: { suggestionId: number }) => p.suggestionId)).toEqual(bruteFront(httpObservations));

    if (!hasPython) return console.warn(`skipped the Python client: ${PYTHON} is absent`);
    const script = join(root, 'mo_client.py');
    writeFileSync(
      script,
      `import json, sys
sys.path.insert(0, ${JSON.stringify(join(import.meta.dirname, '..', 'python'))})
from tunelab_client import Study
study = Study.connect(sys.argv[1])
try:
    study.ask()
    study.tell(0.5)
except ValueError as e:
    print("refused:", e)
    study.tell({"size": 50, "loss": 9})
counts = study.optimize(lambda c: {"size": c["k"], "loss": (c["x"] - 0.3) ** 2 + c["k"] / 1000.0}, n_workers=2)
print(json.dumps({"objectives": study.objectives, "best": study.best_assignments()}))
study.close()
`,
    );
    const py = spawnSync(PYTHON, [script, studyUrl], { encoding: 'utf8', cwd: root, timeout: 120_000 });
    expect(py.status, py.stderr).toBe(0);
    const lines = py.stdout.trim().split('\n');
    expect(lines[0]).toBe('refused: this experiment optimizes 2 metrics (size, loss): give every one\'s value as {name: value}, not one number');
    const out = JSON.parse(lines.at(-1)!);
    expect(out.objectives).toEqual(['size', 'loss']);
    const observations = await withStoreAt(storage, (store) => store.listObservations(Number(created.body.id)));
    expect(observations).toHaveLength(16);
    expectVectorsInOrder(observations, ['size', 'loss']);
    const oracle = bruteFront(observations).map(String);
    expect(out.best.map((b: { id: string }) => observations.find((o) => String(o.id) === b.id)!.suggestionId).map(String)).toEqual(oracle);
  });
});

function expectVectorsInOrder(observations: readonly ObservationRecord[], order: string[]) {
  for (const o of observations) if (!o.failed) expect(o.objectiveValues).toEqual(order.map((m) => o.values[m]));
}
