import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiWorkerScript, checkAddReady, endChildren, openGate, overlaps, runCli, startProcess, studyEnv, studyExperiment, until, withStoreAt } from './study-helpers.js';
import { loadResults } from '../src/plotting/load.js';
import { HyperbandScheduler } from '../src/schedulers/hyperband.js';
import type { Searcher } from '../src/schedulers/types.js';
import { openStore } from '../src/study/storage/open.js';
import { SQLITE_SCHEMA_VERSION } from '../src/study/storage/sqlite.js';
import type { ReportRecord, StudyStore } from '../src/study/storage/store.js';
import { loadExperimentFile } from '../src/experiment/load.js';
import { runSharedStudy, sharedRunFailure } from '../src/study/shared-run.js';
import { createStudy, loadStudy } from '../src/study/study.js';
import { createRng } from '../src/util/rng.js';
import { cliPath, readRows, tempDir } from './helpers.js';

// the study module alone: the whole index loads the plotting stack too, seconds per process on two cores

// every process of a test runs with this test's folder in its command line or as its working folder
let root: string;
let storage: string;
const children: ChildProcess[] = [];
beforeEach(() => {
  root = tempDir('tunelab-study-sqlite-');
  storage = join(root, 'studies.db');
});
afterEach(async () => {
  await endChildren(children, [root]);
});




const env = () => studyEnv(root);
const cli = (args: string[]) => runCli(root, args);
const start = (argv: string[]) => startProcess(root, children, argv);

/** An experiment file (JSON) in the test's folder. */
const experiment = (name: string, extra: Record<string, unknown> = {}) => studyExperiment(root, name, extra);

/** The trial command: sleeps `$1` seconds (env SLEEP), then reports loss = (x - 0.3)² + k/1000. */
function trialScript(sleep: number) {
  writeFileSync(
    join(root, 'trial.sh'),
    `sleep ${sleep}\necho "trial $TUNELAB_TRIAL_ID says hello"\necho "to stderr" >&2\nawk -v x="$2" -v k="$4" 'BEGIN { printf "[tunelab] {\\"loss\\": %.6f}\\n", (x - 0.3) ^ 2 + k / 1000 }'\n`,
  );
}



const withStore = <T>(fn: (store: StudyStore) => Promise<T>) => withStoreAt(storage, fn);

describe('shared study on SQLite', () => {
  it('8 worker processes meet a budget of 400 exactly: every suggestion held by one worker at a time, none lost', async () => {
    // no worker dies here: a lease that a starved machine cannot outlast, so that any second hand-out is a bug (recovery has its own test)
    const study = await createStudy(experiment('budget', { study: { lease_seconds: 60 } }), { storage });
    await study.close();
    const script = apiWorkerScript(root);
    const log = join(root, 'held.log');
    const workers = Array.from({ length: 8 }, () => start([script, storage, String(study.id), log]));
    const codes = await Promise.all(workers.map((w) => w.exited));
    expect(codes, workers.map((w) => w.out.stderr).join('\n')).toEqual(Array(8).fill(0));
    await withStore(async (store) => {
      const observations = await store.listObservations(study.id);
      expect(observations).toHaveLength(400);
      expect(new Set(observations.map((o) => o.suggestionId)).size).toBe(400);
      const suggestions = await store.listSuggestions(study.id);
      // none lost: every suggestion has its observation, none is still open, none was handed out twice
      expect(suggestions.filter((s) => s.state !== 'completed')).toEqual([]);
      expect(suggestions).toHaveLength(400);
      expect(suggestions.filter((s) => s.attempts !== 1)).toEqual([]);
      expect((await store.findStudy(String(study.id)))!.status).toBe('completed');
      const pids = new Set(observations.map((o) => o.metadata.pid));
      expect(pids.size).toBeGreaterThan(1);
    });
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(400);
    expect(overlaps(log)).toEqual([]);
  });

  it('kill -9 of two workers mid-trial: their suggestions are recovered after the lease and the budget is met exactly', async () => {
    trialScript(1);
    const file = experiment('killed', { budget: { max_trials: 16 }, parallel_bandwidth: 4, study: { lease_seconds: 2 } });
    const created = cli(['study', 'create', '-f', file, '--storage', storage]);
    expect(created.code, created.stderr).toBe(0);
    const id = created.stdout.trim();
    const workers = Array.from({ length: 4 }, () => start([cliPath, 'study', 'worker', id, '--storage', storage]));
    // two workers, each with a trial running: kill them
    let victims: { pid: number; suggestion: number; workerId: string }[] = [];
    await withStore(async (store) => {
      await until('two workers holding suggestions', async () => {
        // handed out within the last 300 ms: the 1 s trial is surely still running when the kill comes
        const open = (await store.listSuggestions(Number(id), ['open'])).filter((s) => (s.assignedAt ?? 0) > Date.now() - 300);
        const byWorker = new Map(open.map((s) => [s.pid!, s]));
        if (byWorker.size < 2 || (await store.listObservations(Number(id))).length < 2) return false;
        victims = [...byWorker.values()].slice(0, 2).map((s) => ({ pid: s.pid!, suggestion: s.id, workerId: s.workerId! }));
        return true;
      });
    });
    for (const v of victims) process.kill(v.pid, 'SIGKILL');
    const codes = await Promise.all(workers.map((w) => w.exited));
    expect(codes.filter((c) => c === 0)).toHaveLength(2);
    await withStore(async (store) => {
      const observations = await store.listObservations(Number(id));
      expect(observations).toHaveLength(16);
      const suggestions = await store.listSuggestions(Number(id));
      expect(suggestions.filter((s) => s.state !== 'completed')).toEqual([]);
      for (const v of victims) {
        const s = suggestions.find((x) => x.id === v.suggestion)!;
        // handed out again after the lease expired, and observed by a live worker
        expect(s.attempts).toBe(2);
        const o = observations.find((x) => x.suggestionId === v.suggestion)!;
        expect(o.metadata.worker_id).not.toBe(v.workerId);
      }
    });
    const status = JSON.parse(cli(['study', 'status', id, '--storage', storage, '--json']).stdout);
    expect(status.observations).toBe(16);
    expect(status.workers).toHaveLength(4);
    expect(status.workers.filter((w: { state: string }) => w.state === 'exited')).toHaveLength(2);
  });

  it('study stop ends every worker: running trials finish and are told, or with --abandon end at once', async () => {
    trialScript(0.2);
    const id = cli(['study', 'create', '-f', experiment('stopped', { budget: { max_trials: 1000 }, parallel_bandwidth: 3 }), '--storage', storage]).stdout.trim();
    let workers = Array.from({ length: 3 }, () => start([cliPath, 'study', 'worker', id, '--storage', storage]));
    await withStore((store) => until('some observations', async () => (await store.listObservations(Number(id))).length >= 6));
    expect(cli(['study', 'stop', id, '--storage', storage]).code).toBe(0);
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0, 0]);
    await withStore(async (store) => {
      expect((await store.findStudy(id))!.status).toBe('stopped');
      expect(await store.listSuggestions(Number(id), ['open'])).toEqual([]);
      expect((await store.listObservations(Number(id))).length).toBeLessThan(1000);
    });
    for (const w of workers) expect(w.out.stdout).toMatch(/ended: stopped/);

    // long trials, abandoned at once
    trialScript(60);
    const id2 = cli(['study', 'create', '-f', experiment('abandoned', { budget: { max_trials: 10 }, parallel_bandwidth: 3 }), '--storage', storage]).stdout.trim();
    workers = Array.from({ length: 3 }, () => start([cliPath, 'study', 'worker', id2, '--storage', storage]));
    await withStore((store) => until('three running trials', async () => (await store.listSuggestions(Number(id2), ['open'])).length === 3));
    expect(cli(['study', 'stop', id2, '--abandon', '--storage', storage]).code).toBe(0);
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0, 0]);
    await withStore(async (store) => {
      const states = (await store.listSuggestions(Number(id2))).map((s) => s.state);
      expect(states).toEqual(['abandoned', 'abandoned', 'abandoned']);
      expect(await store.listObservations(Number(id2))).toEqual([]);
    });
  });

  it('ASHA across worker processes stops the trials that a single-process ASHA on the same reports stops', async () => {
    const file = experiment('asha', { method: 'ASHA', resource: { name: 'epoch', max: 9 }, budget: { max_trials: 60 }, parallel_bandwidth: 4 });
    const study = await createStudy(file, { storage });
    await study.close();
    const script = apiWorkerScript(root);
    const log = join(root, 'held.log');
    const gate = mkdtempSync(join(root, 'gate-'));
    const workers = Array.from({ length: 4 }, () => start([script, storage, String(study.id), log, 'asha', gate]));
    await openGate(gate, 4);
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0, 0, 0]);
    const reports = await withStore((store) => store.listReports(study.id));
    // the same reports, in the order the store serialised them, through one HyperbandScheduler
    const searcher: Searcher = { suggest: () => ({}), onTrialResult: () => undefined, onTrialIdle: () => undefined, onTrialResumed: () => undefined, metadata: () => ({}), state: () => null, restore: () => undefined };
    const scheduler = new HyperbandScheduler({ configSpace: {}, metric: 'loss', mode: 'min', rng: createRng(0) }, searcher, { type: 'stopping', maxT: 9, gracePeriod: 1, reductionFactor: 3 });
    const known = new Set<number>();
    const decisions = reports.map((r: ReportRecord) => {
      if (!known.has(r.suggestionId)) {
        scheduler.suggest(r.suggestionId);
        known.add(r.suggestionId);
      }
      return scheduler.onTrialResult(r.suggestionId, { resource: r.resource, metrics: { loss: r.value } });
    });
    expect(reports.map((r) => r.decision)).toEqual(decisions);
    const stopped = reports.filter((r) => r.decision === 'stop').length;
    expect(stopped).toBeGreaterThan(10);
    expect(new Set(reports.map((r) => r.workerId)).size).toBeGreaterThan(1);
    // a stopped trial reported no further
    for (const r of reports.filter((x) => x.decision === 'stop')) expect(reports.some((x) => x.suggestionId === r.suggestionId && x.id > r.id)).toBe(false);
  });

  it('the buffer is refilled in one step within the bandwidth, buffer and budget, without configs already handed out', async () => {
    await withStore(async (store) => {
      const study = await createStudy(experiment('refill', { budget: { max_trials: 5 } }), { store });
      await checkAddReady(store, study.id);
      await study.close();
    });
  });

  it('BO in process: the open and ready suggestions are pending for the GP, the buffer is abandoned once the budget is met', async () => {
    const study = await createStudy(experiment('bo', { method: 'BO', budget: { max_trials: 24 }, parallel_bandwidth: 3, study: { initial_random: 5, buffer: 2, max_threshold: 2 } }), { storage });
    const summary = await study.optimize(async (config) => (Number(config.x) - 0.3) ** 2 + Number(config.k) / 1000, { workers: 3 });
    expect(summary.observations).toBe(24);
    const suggestions = await study.store.listSuggestions(study.id);
    expect(suggestions.filter((s) => s.state === 'completed')).toHaveLength(24);
    expect(suggestions.filter((s) => s.state === 'open' || s.state === 'ready')).toEqual([]);
    expect(new Set(suggestions.map((s) => JSON.stringify(s.config))).size).toBe(suggestions.length);
    const best = (await study.store.listObservations(study.id)).reduce((b, o) => Math.min(b, o.value!), Infinity);
    expect(best).toBeLessThan(0.05);
    await study.close();
  });

  it('status, logs (prefixed by worker and trial), open --delete, best and export (read back by the plotting loader)', async () => {
    trialScript(0);
    const id = cli(['study', 'create', '-f', experiment('ops', { budget: { max_trials: 6 }, parallel_bandwidth: 2 }), '--storage', storage]).stdout.trim();
    const w = start([cliPath, 'study', 'worker', id, '--storage', storage]);
    expect(await w.exited, w.out.stderr).toBe(0);
    const logs = cli(['study', 'logs', id, '--storage', storage, '--follow']);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/^\[\S+ trial 1\] trial 1 says hello$/m);
    expect(logs.stdout).toMatch(/^\[\S+ trial 6 stderr\] to stderr$/m);
    const status = cli(['study', 'status', id, '--storage', storage]);
    expect(status.stdout).toMatch(/6 \/ 6 observations, 0 failed/);
    expect(status.stdout).toMatch(/best loss/);
    const best = JSON.parse(cli(['study', 'best', id, '--storage', storage, '--json']).stdout);
    expect(best.metric).toBe('loss');
    expect(cli(['study', 'list', '--storage', storage]).stdout).toMatch(/ops\s+RS\s+completed\s+6 \/ 6/);

    // SigOpt's "list open suggestions and delete them": a suggestion asked for by hand
    const id2 = cli(['study', 'create', '-f', experiment('by-hand', { budget: { max_trials: 3 } }), '--storage', storage]).stdout.trim();
    const study = await loadStudy(id2, { storage });
    const s = (await study.ask())!;
    expect(cli(['study', 'open', id2, '--storage', storage]).stdout).toMatch(new RegExp(`^${s.suggestionId}\\s+open`, 'm'));
    expect(cli(['study', 'open', id2, '--storage', storage, '--delete', String(s.suggestionId)]).code).toBe(0);
    expect(cli(['study', 'open', id2, '--storage', storage]).stdout).toMatch(/no open suggestions/);
    await expect(study.tell(s.suggestionId, 1)).rejects.toThrow(/abandoned/);
    await study.close();

    const out = join(root, 'exported');
    const folder = cli(['study', 'export', id, '--storage', storage, '--out', out]).stdout.trim();
    const rows = readRows(join(folder, 'results.csv.gz'));
    expect(rows).toHaveLength(6);
    expect(Object.keys(rows[0])).toEqual(['trial_id', 'st_tuner_time', 'st_worker_time', 'st_worker_iter', 'st_decision', 'st_status', 'iteration', 'loss', 'config_x', 'config_k']);
    const loaded = await loadResults({ root: out, tags: ['ops'], warn: () => undefined });
    expect(loaded.runs).toHaveLength(1);
    expect(loaded.runs[0].setup).toBe('RS');
  });

  it('runSharedStudy (tunelab run -f --storage) creates the study and runs parallel_bandwidth worker processes; a second call continues it', async () => {
    trialScript(0);
    const file = experiment('shared', { budget: { max_trials: 9 }, parallel_bandwidth: 3 });
    const definition = await loadExperimentFile(file, { methods: ['RS', 'BO', 'ASHA'], multiFidelityMethods: ['ASHA'] });
    const lines: string[] = [];
    const report = await runSharedStudy(definition, { storage, log: () => undefined, workerOutput: (i, line) => lines.push(`${i} ${line}`) });
    expect(report.exitCodes).toEqual([0, 0, 0]);
    expect(report.status.observations).toBe(9);
    expect(report.status.workers.filter((w) => w.state === 'exited')).toHaveLength(3);
    expect(lines.filter((l) => /ended: budget/.test(l))).toHaveLength(3);
    // the same name and problem: the study is loaded, its budget is met already
    const again = await runSharedStudy(definition, { storage, nWorkers: 1, log: () => undefined, workerOutput: () => undefined });
    expect(again.studyId).toBe(report.studyId);
    expect(again.status.observations).toBe(9);
  });

  it('a finite space tried in full before the budget ends the study exhausted: its status, every worker\'s last line, study status and list say so', async () => {
    // 11 × 3 = 33 configs, a budget of 150; loss = k
    writeFileSync(join(root, 'trial.sh'), `awk -v k="$2" 'BEGIN { printf "[tunelab] {\\"loss\\": %d}\\n", k }'\n`);
    const parameters = [
      { name: 'k', type: 'int', bounds: { min: 1, max: 11 } },
      { name: 'c', type: 'categorical', categorical_values: ['a', 'b', 'c'] },
    ];
    const file = experiment('finite', { parameters, budget: { max_trials: 150 }, parallel_bandwidth: 3 });
    const definition = await loadExperimentFile(file, { methods: ['RS', 'BO', 'ASHA'], multiFidelityMethods: ['ASHA'] });
    const lines: string[] = [];
    const report = await runSharedStudy(definition, { storage, log: () => undefined, workerOutput: (i, line) => lines.push(`${i} ${line}`) });
    expect(report.exitCodes).toEqual([0, 0, 0]);
    expect(sharedRunFailure(report)).toBeUndefined();
    expect(report.status).toMatchObject({ status: 'exhausted', observations: 33, budget: 150, failed: 0 });
    const tried = await withStore((store) => store.listSuggestions(report.studyId, ['completed']));
    expect(new Set(tried.map((t) => `${t.config.k}${t.config.c}`)).size).toBe(33);
    const ends = lines.filter((l) => / ended: /.test(l));
    expect(ends).toHaveLength(3);
    for (const l of ends) expect(l).toMatch(/ended: exhausted \(every config of the space was tried before the budget was met\)$/);
    const status = cli(['study', 'status', String(report.studyId), '--storage', storage]);
    expect(status.stdout).toMatch(/: exhausted \(every config of the space was tried before the budget was met\)\n33 \/ 150 observations, 0 failed/);
    expect(cli(['study', 'list', '--storage', storage]).stdout).toMatch(/finite\s+RS\s+exhausted\s+33 \/ 150/);
    // the same file again: nothing left to try, said as such at once
    lines.length = 0;
    const again = await runSharedStudy(definition, { storage, nWorkers: 1, log: () => undefined, workerOutput: (i, line) => lines.push(line) });
    expect(again.status.observations).toBe(33);
    expect(lines.at(-1)).toMatch(/: 0 succeeded, 0 failed, 0 abandoned; ended: exhausted \(every config/);
  });

  describe('tunelab run -f --storage whose worker processes are killed exits 1, naming each dead worker, how it ended, and where the budget stands', () => {
    /** Starts the run (3 workers, trials of 0.4 s) and returns its process and its workers' pids → worker ids, once all three registered. */
    async function startRun(name: string, budget: number) {
      trialScript(0.4);
      const file = experiment(name, { budget: { max_trials: budget }, parallel_bandwidth: 3 });
      const run = start([cliPath, 'run', '-f', file, '--storage', storage]);
      const ids = new Map<number, string>();
      await until('three registered workers with a trial running', async () => {
        const study = await withStore(async (store) => {
          const found = (await store.listStudies()).find((x) => x.name === name);
          if (!found) return undefined;
          return { workers: await store.listWorkers(found.id), open: await store.listSuggestions(found.id, ['open']) };
        });
        if (!study || study.workers.length < 3 || study.open.length < 3) return false;
        for (const w of study.workers) ids.set(w.pid, w.workerId);
        return true;
      });
      return { run, ids };
    }

    it('two of three killed (SIGKILL, SIGTERM): the third meets the budget, which the message says', async () => {
      const { run, ids } = await startRun('killed', 6);
      const [a, b] = [...ids.keys()];
      process.kill(a, 'SIGKILL');
      process.kill(b, 'SIGTERM');
      expect(await run.exited).toBe(1);
      const err = run.out.stderr;
      expect(err).toMatch(/^tunelab: 2 of 3 worker\(s\) died: /m);
      expect(err).toContain(`(pid ${a}, ${ids.get(a)}) was killed by SIGKILL`);
      // a worker ends its trial on SIGTERM and exits with the shell's code for it
      expect(err).toContain(`(pid ${b}, ${ids.get(b)}) exited with code 143`);
      expect(err).toMatch(/; the study's budget was met \(6 \/ 6 observations\)\n$/);
      expect(err).not.toMatch(/\n\s+at /);
    });

    it('all three killed: the budget not met, how far it got, and how to continue', async () => {
      const { run, ids } = await startRun('killed-all', 30);
      for (const pid of ids.keys()) process.kill(pid, 'SIGKILL');
      expect(await run.exited).toBe(1);
      const err = run.out.stderr;
      expect(err).toMatch(/^tunelab: 3 of 3 worker\(s\) died: /m);
      for (const [pid, id] of ids) expect(err).toContain(`(pid ${pid}, ${id}) was killed by SIGKILL`);
      const done = Number(/the budget was not met \((\d+) \/ 30 observations\)/.exec(err)?.[1]);
      expect(done).toBeLessThan(30);
      expect(err).toContain(`run the same file again, or join with tunelab study worker 1 --storage 'sqlite://${storage}', to continue the study`);
      expect(cli(['study', 'status', '1', '--storage', storage]).stdout).toMatch(new RegExp(`: running\n${done} / 30 observations`));
    });
  });

  it('a bad experiment file gets a message naming the field, without a stack trace', () => {
    const file = experiment('bad', { study: { recover: 'later', lease_seconds: -1 } });
    const r = cli(['study', 'create', '-f', file, '--storage', storage]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/study\.recover: "later" is not accepted; expected one of reassign, abandon/);
    expect(r.stderr).toMatch(/study\.lease_seconds: expected a number > 0, got -1/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const mobster = cli(['study', 'create', '-f', experiment('mob', { method: 'MOBSTER', resource: { name: 'epoch', max: 9 } }), '--storage', storage]);
    expect(mobster.code).toBe(2);
    expect(mobster.stderr).toMatch(/method 'MOBSTER' cannot run as a shared study; valid methods for a study: RS, BO, TPE, ASHA/);
    const unknown = cli(['study', 'status', 'nope', '--storage', storage]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown study 'nope'/);
  });

  it('an old-version store is upgraded, a newer one or a foreign database refused', async () => {
    const old = await openStore(storage, { schemaVersion: 1 });
    await (await createStudy(experiment('old'), { store: old })).close();
    await old.close();
    const { default: Database } = await import('better-sqlite3');
    const version = () => {
      const db = new Database(storage, { readonly: true });
      try {
        return (db.prepare('SELECT version FROM tunelab_schema').get() as { version: number }).version;
      } finally {
        db.close();
      }
    };
    expect(version()).toBe(1);
    // listing opens the store: it is upgraded to the newest version (workers, trial logs, the observation count) with its study kept
    const listed = cli(['study', 'list', '--storage', storage]);
    expect(listed.stdout).toMatch(/^1\s+old\s+RS/m);
    expect(version()).toBe(SQLITE_SCHEMA_VERSION);

    const db = new Database(storage);
    db.prepare('UPDATE tunelab_schema SET version = 99').run();
    db.close();
    const newer = cli(['study', 'list', '--storage', storage]);
    expect(newer.code).toBe(2);
    expect(newer.stderr).toMatch(/schema version 99, newer than this tunelab's \d+; upgrade tunelab/);
    expect(newer.stderr).toContain(`newer than this tunelab's ${SQLITE_SCHEMA_VERSION};`);

    const foreign = join(root, 'foreign.db');
    const f = new Database(foreign);
    f.exec('CREATE TABLE things (id INTEGER)');
    f.close();
    const refused = cli(['study', 'list', '--storage', foreign]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/not a tunelab study store/);
  });

  it('tunelab --help loads neither database driver', () => {
    const probe = join(root, 'probe.mjs');
    writeFileSync(
      probe,
      `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
process.argv = ['node', 'tunelab', ...process.argv.slice(2)];
// yargs exits after --help: count at exit
process.on('exit', () => console.log(Object.keys(require.cache).filter((k) => /node_modules\\/(better-sqlite3|pg)\\//.test(k)).length));
await import(${JSON.stringify(cliPath)});
`,
    );
    const loaded = (args: string[]) => Number(spawnSync(process.execPath, [probe, ...args], { encoding: 'utf8', env: env(), cwd: root }).stdout.trim().split('\n').pop());
    expect(loaded(['--help'])).toBe(0);
    expect(loaded(['study', '--help'])).toBe(0);
    // the probe does see the driver once a store is opened
    expect(loaded(['study', 'list', '--storage', storage])).toBeGreaterThan(0);
  });
});
