import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bestTrial } from '../src/operate/best.js';
import { experimentStatus } from '../src/operate/status.js';
import { csvLine } from '../src/results/csv.js';
import { acquireFolderLock, LOCK_FILE, processAlive } from '../src/results/lock.js';
import { cliPath, readRows, tempDir } from './helpers.js';
import { readTrialEnds } from '../src/results/trial-ends.js';

type Row = Record<string, string | number | null>;

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every process a test starts; afterEach checks that none outlives it. */
const started: ChildProcess[] = [];

function start(args: string[], script = cliPath) {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d) => (out.stdout += d));
  child.stderr!.on('data', (d) => (out.stderr += d));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  return { child, out, exited };
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

afterEach(async () => {
  for (const c of started.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      throw new Error(`pid ${c.pid} (${c.spawnargs.join(' ')}) was still running`);
    }
    expect(processAlive(c.pid!)).toBe(false);
  }
});

const writeJson = (path: string, v: unknown) => writeFileSync(path, JSON.stringify(v, null, 2));
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

/** The best row recomputed: lowest metric among rows with a number, ties to the earliest. */
function bestRow(rows: Row[], metric: string, feasible: (r: Row) => boolean = () => true): Row {
  let best: Row | undefined;
  for (const r of rows) {
    const v = r[metric];
    if (typeof v === 'number' && !Number.isNaN(v) && feasible(r) && (!best || v < (best[metric] as number))) best = r;
  }
  return best!;
}

/** Each trial's last st_status, as the results tell them (a finished run's last 'running' rows were stopped at the end). */
function statesFromRows(rows: Row[]): Record<string, number> {
  const last = new Map<number, string>();
  for (const r of rows) last.set(Number(r.trial_id), String(r.st_status));
  const counts: Record<string, number> = {};
  for (const s of last.values()) {
    const k = s === 'running' ? 'stopped' : s;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

let root: string;
let folder: string;
let rows: Row[];

beforeAll(() => {
  root = tempDir('tunelab-operate-');
  const r = cli(['hpo-main', '--experiment_tag', 't', '--method', 'ASHA', '--benchmark', 'fcnet-cars', '--random_seed', '3', '--max_wallclock_time', '4', '--results_root', root]);
  expect(r.code, r.stderr).toBe(0);
  folder = join(root, 't', readdirSync(join(root, 't'))[0]);
  rows = readRows(join(folder, 'results.csv.gz'));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A copy of the simulator run under another tag. */
function copyRun(tag: string): string {
  const dir = join(root, tag, `${tag}-fcnet-cars-0-2026-01-01-00-00-00-000`);
  mkdirSync(join(root, tag), { recursive: true });
  cpSync(folder, dir, { recursive: true });
  return dir;
}

describe('status and best of a simulator run', () => {
  it('status --json agrees with results.csv.gz and tuner.json', () => {
    const r = cli(['status', folder, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    const tuner = readJson(join(folder, 'tuner.json')).tuner;
    const best = bestRow(rows, 'valid_loss');
    expect(s).toMatchObject({ folder, tag: 't', method: 'ASHA', benchmark: 'fcnet-cars', seed: 0, status: 'completed', ownerGone: false, resumable: false, metric: 'valid_loss', mode: 'min' });
    expect(s.trialStatesFrom).toBe('tuner.json');
    expect(s.budget.results).toBe(rows.length);
    expect(s.budget.trialsStarted).toBe(tuner.trials.length);
    expect(s.budget.tunerTime).toBe(Math.max(...rows.map((x) => x.st_tuner_time as number)));
    expect(s.budget.maxWallclockTime).toBe(4);
    const counts = (st: string) => tuner.trials.filter((t: { status: string }) => t.status === st).length;
    expect(s.trials).toEqual({ total: tuner.trials.length, running: 0, paused: 0, completed: counts('completed'), stopped: counts('stopped'), failed: 0 });
    expect(s.trials.completed).toBe(statesFromRows(rows).completed);
    expect(s.failures).toEqual([]);
    expect(s.best).toMatchObject({ trialId: best.trial_id, value: best.valid_loss, resource: best.epoch });
    expect(s.elapsedSeconds).toBeCloseTo((Date.parse(s.endTime) - Date.parse(s.startTime)) / 1000, 6);
    expect(s.constraints).toBeUndefined();
    expect(s.infeasibleTrials).toBeUndefined();
  });

  it('status in text names the state, the trial counts and the best trial', () => {
    const r = cli(['status', folder]);
    expect(r.code, r.stderr).toBe(0);
    const s = experimentStatus(folder);
    expect(r.stdout).toContain('status      completed');
    expect(r.stdout).toContain(`trials      ${s.trials.total}: 0 running, 0 paused, ${s.trials.completed} completed, ${s.trials.stopped} stopped, 0 failed`);
    expect(r.stdout).toContain(`best        trial ${s.best!.trialId}: valid_loss = `);
    expect(r.stdout).toMatch(/tuner time [\d.]+s \/ 4s/);
  });

  it('best --json gives the best row: resource, config, metrics, final or not', () => {
    const r = cli(['best', folder, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const b = JSON.parse(r.stdout);
    const row = bestRow(rows, 'valid_loss');
    const columns = Object.keys(row);
    const metricCols = columns.slice(columns.indexOf('epoch') + 1, columns.findIndex((c) => c.startsWith('config_')));
    expect(metricCols).toEqual(['valid_loss', 'valid_r2', 'train_loss', 'n_params', 'elapsed_time']);
    expect(b).toEqual({
      folder,
      trialId: row.trial_id,
      metric: 'valid_loss',
      mode: 'min',
      rule: 'any',
      value: row.valid_loss,
      resourceAttr: 'epoch',
      resource: row.epoch,
      maxResource: 27,
      finalResource: row.epoch === 27,
      // the run completed: every trial ended, as trials.jsonl records
      ended: readTrialEnds(folder).get(row.trial_id as number),
      config: Object.fromEntries(columns.filter((c) => c.startsWith('config_')).map((c) => [c.slice(7), row[c]])),
      metrics: Object.fromEntries(metricCols.map((c) => [c, row[c]])),
      tunerTime: row.st_tuner_time,
    });
    expect(['completed', 'stopped']).toContain(b.ended);
    expect(typeof b.config.hp_batch_size).toBe('number');
    expect({ folder, ...bestTrial(folder) }).toEqual(b);
    const text = cli(['best', folder]);
    expect(text.stdout).toContain(`trial ${row.trial_id}: valid_loss = `);
    expect(text.stdout).toContain(`hp_batch_size=${row.config_hp_batch_size}`);
  });

  it('without tuner.json the trial states come from the results rows', () => {
    const dir = copyRun('notuner');
    rmSync(join(dir, 'tuner.json'));
    const s = experimentStatus(dir);
    expect(s.trialStatesFrom).toBe('results');
    const counts = statesFromRows(rows);
    expect(s.trials).toEqual({ total: new Set(rows.map((r) => r.trial_id)).size, running: 0, paused: 0, completed: counts.completed, stopped: counts.stopped, failed: 0 });
    expect(s.best?.trialId).toBe(bestRow(rows, 'valid_loss').trial_id);
  });

  it('a tag: status lists every folder, newest first, and the best of its completed runs; best says which folders it was chosen over', () => {
    const dir = copyRun('two');
    const r = cli(['hpo-main', '--experiment_tag', 'two', '--method', 'ASHA', '--benchmark', 'fcnet-cars', '--random_seed', '3', '--max_wallclock_time', '2', '--results_root', root]);
    expect(r.code, r.stderr).toBe(0);
    const newest = readdirSync(join(root, 'two')).map((n) => join(root, 'two', n)).find((d) => d !== dir)!;
    const json = JSON.parse(cli(['status', 'two', '--json', '--results_root', root]).stdout);
    expect(json.tag).toBe('two');
    expect(json.experiments.map((e: { folder: string }) => e.folder)).toEqual([newest, dir]);
    // the tag's folder itself works too
    expect(JSON.parse(cli(['status', join(root, 'two'), '--json']).stdout)).toMatchObject({ tag: 'two', root });
    // $TUNELAB_ROOT stands in for --results_root
    const text = cli(['status', 'two'], { TUNELAB_ROOT: root });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain("tag 'two': 2 experiment(s)");
    expect(text.stdout.indexOf(newest.split('/').pop()!)).toBeLessThan(text.stdout.indexOf(dir.split('/').pop()!));
    const best = cli(['best', 'two', '--json', '--results_root', root]);
    const bests = [newest, dir].map((f) => JSON.parse(cli(['best', f, '--json']).stdout));
    const winner = bests[0].value <= bests[1].value ? bests[0] : bests[1];
    expect(best.stderr).toContain(`best of the tag on fcnet-cars, over its 2 completed run(s) of 2: ${winner.folder}`);
    expect(text.stdout).toContain(`best of the tag on fcnet-cars, over its 2 completed run(s) of 2: ${winner.folder}`);
    expect(JSON.parse(best.stdout)).toMatchObject({ folder: winner.folder, value: winner.value, over: [newest, dir] });
    // a run that did not complete is left out, and named
    const meta = readJson(join(dir, 'metadata.json'));
    writeJson(join(dir, 'metadata.json'), { ...meta, status: 'failed', error: 'disk full' });
    expect(cli(['best', 'two', '--results_root', root]).stderr).toContain(`over its 1 completed run(s) of 2 (left out: ${dir.split('/').pop()} failed): ${newest}`);
    // an unreadable folder is skipped by name, the others are still listed
    const broken = join(root, 'two', 'two-fcnet-cars-0-2025-01-01-00-00-00-000');
    mkdirSync(broken);
    writeFileSync(join(broken, 'metadata.json'), '{');
    const listed = cli(['status', 'two', '--results_root', root]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stderr).toContain(`tunelab: skipping ${broken}: metadata.json is not valid JSON`);
    expect(listed.stdout).toContain("tag 'two': 2 experiment(s)");
  });
});

describe('constraints', () => {
  it('best skips infeasible rows; status counts the trials without a feasible result', () => {
    const dir = copyRun('constrained');
    const unconstrained = bestRow(rows, 'valid_loss');
    // n_params is constant per trial: at most one less than the best trial's rules that trial out
    const threshold = (unconstrained.n_params as number) - 1;
    const meta = readJson(join(dir, 'metadata.json'));
    writeJson(join(dir, 'metadata.json'), { ...meta, constraints: [{ metric: 'n_params', mode: 'min', threshold }] });
    const feasible = (r: Row) => typeof r.n_params === 'number' && r.n_params <= threshold;
    const expected = bestRow(rows, 'valid_loss', feasible);
    expect(expected.trial_id).not.toBe(unconstrained.trial_id);
    const b = JSON.parse(cli(['best', dir, '--json']).stdout);
    expect(b).toMatchObject({ trialId: expected.trial_id, value: expected.valid_loss, resource: expected.epoch });
    expect(b.metrics.n_params).toBeLessThanOrEqual(threshold);
    const s = experimentStatus(dir);
    expect(s.best?.trialId).toBe(expected.trial_id);
    const byTrial = new Map<number, Row[]>();
    for (const r of rows) byTrial.set(Number(r.trial_id), [...(byTrial.get(Number(r.trial_id)) ?? []), r]);
    const infeasible = [...byTrial.values()].filter((rs) => !rs.some(feasible)).length;
    expect(infeasible).toBeGreaterThan(0);
    expect(s.infeasibleTrials).toBe(infeasible);
    expect(cli(['status', dir]).stdout).toContain(`constraints n_params <= ${threshold}; ${infeasible} trial(s) without a feasible result`);

    // nothing feasible: best says so and exits 1
    writeJson(join(dir, 'metadata.json'), { ...meta, constraints: [{ metric: 'n_params', mode: 'min', threshold: -1 }] });
    const none = cli(['best', dir]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`no feasible result in ${dir}`);
    expect(cli(['status', dir]).stdout).toContain('best        no feasible result yet');
  });
});

/**
 * A `tunelab run`-style folder: constraints, budget, failed trials (one of them failed before
 * reporting), a NaN and an empty metric, logs and a checkpoint folder.
 */
function runFolder(parent: string, status = 'failed', extra: Record<string, unknown> = {}): string {
  const dir = join(parent, 'own', 'own-own-model-0-2026-02-03-04-05-06-007');
  mkdirSync(join(dir, 'logs'), { recursive: true });
  mkdirSync(join(dir, 'checkpoints', '0'), { recursive: true });
  const header = ['trial_id', 'st_tuner_time', 'st_worker_time', 'st_worker_iter', 'st_decision', 'st_status', 'epoch', 'loss', 'acc', 'config_lr', 'config_opt', 'host'];
  const data = [
    [0, 1, 1, 0, 'continue', 'running', 1, 0.5, 0.6, 0.01, 'sgd', 'h'],
    [1, 1.5, 1.5, 0, 'continue', 'running', 1, NaN, 0.9, 0.1, 'adam', 'h'],
    [2, 2, 2, 0, 'continue', 'running', 1, null, 0.55, 0.2, 'adam', 'h'],
    [0, 2.5, 2.5, 1, 'continue', 'completed', 2, 0.3, 0.7, 0.01, 'sgd', 'h'],
    [3, 3, 3, 0, 'continue', 'running', 1, 0.2, 0.4, 0.3, 'sgd', 'h'],
    [3, 4, 4, 1, 'stop', 'stopped', 2, 0.1, 0.45, 0.3, 'sgd', 'h'],
  ];
  writeFileSync(join(dir, 'results.csv.gz'), Buffer.concat([gzipSync(csvLine(header)), gzipSync(data.map((r) => csvLine(r)).join(''))]));
  const failed = [
    { trial_id: 1, error: 'exit code 1; stderr: Traceback | ValueError: boom' },
    ...[4, 5, 6, 7, 8, 9, 10].map((id) => ({ trial_id: id, error: `no report within trial_timeout=60s (trial ${id}); stderr: CUDA out of memory` })),
  ];
  writeJson(join(dir, 'metadata.json'), {
    tunelab_version: '0.1.0',
    tag: 'own',
    method: 'RS',
    benchmark: 'own-model',
    seed: 0,
    metric: 'loss',
    mode: 'min',
    resource_attr: 'epoch',
    max_resource: 2,
    n_workers: 2,
    max_wallclock_time: 600,
    start_time: '2026-02-03T04:05:06.007Z',
    end_time: status === 'running' ? null : '2026-02-03T04:07:06.007Z',
    status,
    error: status === 'failed' ? '8 trials failed, more than max_failures=3; last: trial 10' : undefined,
    constraints: [{ metric: 'acc', mode: 'max', threshold: 0.5 }],
    budget: { max_trials: 20, max_results: 100, max_wallclock_time: 300 },
    failed_trials: failed,
    ...extra,
  });
  const trial = (id: number, st: string, numResults: number, error?: string) => ({ id, config: {}, status: st, numResults, ...(error ? { error } : {}) });
  writeJson(join(dir, 'tuner.json'), {
    format: 'tunelab-tuner',
    version: 1,
    identity: {},
    rowsWritten: 6,
    tuner: { nextTrialId: 4, trials: [trial(0, 'completed', 2), trial(1, 'failed', 1, 'exit code 1'), trial(2, 'stopped', 1), trial(3, 'stopped', 2)], numResults: 6, numFailures: 1, lastFlushTime: 4, lastCheckpointTime: 4 },
    scheduler: {},
    backend: {},
  });
  return dir;
}

describe('a run with failed trials', () => {
  it('status lists the failures with their reasons, the budget and the best feasible trial', () => {
    const dir = runFolder(tempDir());
    const r = cli(['status', dir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ status: 'failed', error: '8 trials failed, more than max_failures=3; last: trial 10', resumable: false, ownerGone: false });
    expect(s.trials).toEqual({ total: 11, running: 0, paused: 0, completed: 1, stopped: 2, failed: 8 });
    expect(s.budget).toEqual({ trialsStarted: 11, maxTrials: 20, results: 6, maxResults: 100, tunerTime: 4, maxWallclockTime: 300 });
    expect(s.failures.map((f: { trialId: number }) => f.trialId)).toEqual([1, 4, 5, 6, 7, 8, 9, 10]);
    expect(s.failures[0].error).toBe('exit code 1; stderr: Traceback | ValueError: boom');
    // trial 3 has the lowest loss but acc < 0.5; trial 1's NaN and trial 2's empty loss never count
    expect(s.best).toMatchObject({ trialId: 0, value: 0.3, resource: 2, finalResource: true, config: { lr: 0.01, opt: 'sgd' }, metrics: { loss: 0.3, acc: 0.7 } });
    expect(s.best.checkpointDir).toBe(join(dir, 'checkpoints', '0'));
    expect(s.infeasibleTrials).toBe(1);

    const text = cli(['status', dir]).stdout;
    expect(text).toContain('status      failed: 8 trials failed, more than max_failures=3');
    expect(text).toContain('budget      trials 11 / 20, results 6 / 100, tuner time 4s / 300s');
    expect(text).toContain('failures    8 (the last 5; --json lists all):');
    expect(text).toContain('  trial 10: no report within trial_timeout=60s (trial 10); stderr: CUDA out of memory');
    expect(text).not.toContain('trial 5: no report');
    expect(text).toContain(`checkpoint: ${join(dir, 'checkpoints', '0')}`);

    const best = cli(['best', dir]);
    expect(best.stdout).toContain('trial 0: loss = 0.3 (min; the best report at any resource), at epoch 2 of 2 (final)');
  });

  it("a running folder whose owner is gone says so, with the dead owner's pid and host", () => {
    const dir = runFolder(tempDir(), 'running');
    expect(cli(['status', dir]).stdout).toContain('status      running (owner gone: no lock; resume with --resume)');
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    writeJson(join(dir, LOCK_FILE), { pid: dead, host: hostname(), started: new Date().toISOString(), command: 'run' });
    const s = experimentStatus(dir);
    expect(s).toMatchObject({ status: 'running', ownerGone: true, resumable: true, owner: { pid: dead, alive: false, sameHost: true } });
    expect(cli(['status', dir]).stdout).toContain(`status      running (owner gone: pid ${dead} on host ${hostname()}; resume with --resume)`);
    // elapsed runs to the folder's last write, not to now
    const lastWrite = new Date(Date.parse('2026-02-03T04:05:06.007Z') + 100_000);
    for (const f of ['metadata.json', 'results.csv.gz', 'tuner.json']) utimesSync(join(dir, f), lastWrite, lastWrite);
    expect(experimentStatus(dir).elapsedSeconds).toBeCloseTo(100, 3);
  });

  it("hpo-main's 'failed' with an 'interrupted' error reads as stopped, resumable", () => {
    const dir = runFolder(tempDir(), 'failed', { error: 'interrupted; continue it with --resume (checkpoint x/tuner.json)' });
    const checkpoint = readJson(join(dir, 'tuner.json'));
    checkpoint.tuner.trials[2].status = 'running';
    writeJson(join(dir, 'tuner.json'), checkpoint);
    expect(experimentStatus(dir)).toMatchObject({ status: 'stopped', resumable: true });
    const text = cli(['status', dir]).stdout;
    expect(text).toContain('status      stopped (resumable with --resume): interrupted; continue it with --resume');
    // a stopped run's running trials are the ones --resume continues
    expect(text).toContain('trials      11: 1 interrupted, 0 paused, 1 completed, 1 stopped, 8 failed');
  });
});

describe('logs', () => {
  const withLogs = () => {
    const dir = runFolder(tempDir(), 'completed');
    const logs = join(dir, 'logs');
    writeFileSync(join(logs, 'trial-0.stdout'), 'epoch 1\nepoch 2\n');
    writeFileSync(join(logs, 'trial-0.stderr'), 'warning: slow\n');
    writeFileSync(join(logs, 'trial-1.stdout'), 'starting\n');
    writeFileSync(join(logs, 'trial-1.stderr'), 'Traceback\nValueError: boom'); // crashed mid-line
    writeFileSync(join(logs, 'trial-2.stdout'), 'two\n');
    writeFileSync(join(logs, 'trial-10.stdout'), 'ten\n');
    return dir;
  };

  it('prints every line prefixed by its trial, in trial order, the unfinished last line too', () => {
    const dir = withLogs();
    const r = cli(['logs', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      [
        '[trial 0] epoch 1',
        '[trial 0] epoch 2',
        '[trial 0 stderr] warning: slow',
        '[trial 1] starting',
        '[trial 1 stderr] Traceback',
        '[trial 1 stderr] ValueError: boom',
        '[trial 2] two',
        '[trial 10] ten',
        '',
      ].join('\n'),
    );
    expect(cli(['logs', dir, '--trial', '1']).stdout).toBe('[trial 1] starting\n[trial 1 stderr] Traceback\n[trial 1 stderr] ValueError: boom\n');
    expect(cli(['logs', dir, '--stderr_only']).stdout).toBe('[trial 0 stderr] warning: slow\n[trial 1 stderr] Traceback\n[trial 1 stderr] ValueError: boom\n');
  });

  it('--trial of a trial without logs is a usage error listing the trials that have some', () => {
    const dir = withLogs();
    const r = cli(['logs', dir, '--trial', '7']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('trial 7 has no logs');
    expect(r.stderr).toContain('trials with logs: 0, 1, 2, 10');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const bad = cli(['logs', dir, '--trial', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--trial expects an integer, got 'x'");
  });

  it('--follow prints new lines as they come, of trials that start later, and exits once the run completed and the lock is gone', async () => {
    const dir = runFolder(tempDir(), 'running');
    const logs = join(dir, 'logs');
    writeFileSync(join(logs, 'trial-0.stdout'), 'first\n');
    const lock = acquireFolderLock(dir, 'test');
    try {
      const f = start(['logs', dir, '--follow']);
      await waitFor('the existing line', () => f.out.stdout.includes('[trial 0] first\n'));
      appendFileSync(join(logs, 'trial-0.stdout'), 'second\nhalf a ');
      await waitFor('the new line', () => f.out.stdout.includes('[trial 0] second\n'));
      expect(f.out.stdout).not.toContain('half a');
      appendFileSync(join(logs, 'trial-0.stdout'), 'line\n');
      writeFileSync(join(logs, 'trial-5.stdout'), 'late starter\n');
      writeFileSync(join(logs, 'trial-5.stderr'), 'Segmentation fault\n');
      await waitFor('the later trial', () => f.out.stdout.includes('[trial 5 stderr] Segmentation fault\n'));
      expect(f.out.stdout).toContain('[trial 0] half a line\n');
      expect(f.out.stdout).toContain('[trial 5] late starter\n');
      // written just before the end: the final drain prints it, the unfinished line too
      appendFileSync(join(logs, 'trial-5.stdout'), 'last words\nno newline');
      const meta = readJson(join(dir, 'metadata.json'));
      writeJson(join(dir, 'metadata.json'), { ...meta, status: 'completed', end_time: new Date().toISOString() });
      lock.release();
      expect(await f.exited).toBe(0);
      expect(f.out.stdout.endsWith('[trial 5] last words\n[trial 5] no newline\n')).toBe(true);
      expect(f.out.stdout.split('\n').filter((l) => l.includes('first'))).toHaveLength(1);
    } finally {
      lock.release();
    }
  });

  it('--follow exits when the owner of a running folder is gone', async () => {
    const dir = runFolder(tempDir(), 'running');
    writeFileSync(join(dir, 'logs', 'trial-0.stdout'), 'only line\n');
    const f = start(['logs', dir, '--follow', '--trial', '0']);
    expect(await f.exited).toBe(0);
    expect(f.out.stdout).toBe('[trial 0] only line\n');
  });
});

/** A stand-in owner: takes the lock and, on SIGTERM (unless told to ignore it), marks the folder stopped and lets go. */
function ownerScript(dir: string): string {
  const path = join(dir, 'owner.mjs');
  writeFileSync(
    path,
    `import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquireFolderLock } from ${JSON.stringify(pathToFileURL(join(cliPath, '..', 'results', 'lock.js')).href)};
const [folder, mode] = process.argv.slice(2);
const lock = acquireFolderLock(folder, 'run');
const keepAlive = setInterval(() => {}, 1000);
process.on('SIGTERM', () => {
  if (mode === 'ignore') return;
  setTimeout(() => {
    const meta = JSON.parse(readFileSync(join(folder, 'metadata.json'), 'utf8'));
    writeFileSync(join(folder, 'metadata.json'), JSON.stringify({ ...meta, status: 'stopped', end_time: new Date().toISOString() }));
    lock.release();
    clearInterval(keepAlive);
  }, 200);
});
console.log('ready');
`,
  );
  return path;
}

describe('stop', () => {
  it('sends SIGTERM to the owner, waits until it released the lock, and prints the stopped status', async () => {
    const tmp = tempDir();
    const dir = runFolder(tmp, 'running');
    const owner = start([dir], ownerScript(tmp));
    await waitFor('the owner', () => owner.out.stdout.includes('ready'));
    const s = experimentStatus(dir);
    expect(s).toMatchObject({ status: 'running', ownerGone: false, owner: { pid: owner.child.pid, alive: true, command: 'run' } });
    expect(cli(['status', dir]).stdout).toContain(`status      running (pid ${owner.child.pid} on host ${hostname()})`);

    const stop = start(['stop', dir, '--timeout', '30']);
    expect(await stop.exited, stop.out.stderr).toBe(0);
    expect(await owner.exited).toBe(0);
    expect(processAlive(owner.child.pid!)).toBe(false);
    expect(stop.out.stderr).toContain(`sent SIGTERM to run (pid ${owner.child.pid} on host ${hostname()})`);
    expect(stop.out.stdout).toContain('status      stopped (resumable with --resume)');
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    expect(readJson(join(dir, 'metadata.json')).status).toBe('stopped');

    // nothing left to stop: exit 1, not a usage error
    const again = cli(['stop', dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`nothing to stop: ${dir} is not running (stopped (resumable with --resume))`);
  });

  it('gives up after --timeout when the owner keeps the lock', async () => {
    const tmp = tempDir();
    const dir = runFolder(tmp, 'running');
    const owner = start([dir, 'ignore'], ownerScript(tmp));
    await waitFor('the owner', () => owner.out.stdout.includes('ready'));
    const r = cli(['stop', dir, '--timeout', '0.5']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`pid ${owner.child.pid} on host ${hostname()} has not released ${dir} within 0.5s`);
    owner.child.kill('SIGKILL');
    await owner.exited;
  });

  it('a dead owner: says it is gone and resumable; another host: names it', () => {
    const dir = runFolder(tempDir(), 'running');
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    writeJson(join(dir, LOCK_FILE), { pid: dead, host: hostname(), started: new Date().toISOString(), command: 'run' });
    const gone = cli(['stop', dir]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`its owner is gone (pid ${dead} on host ${hostname()}); it can be resumed with --resume`);

    writeJson(join(dir, LOCK_FILE), { pid: 4242, host: 'gpu-box-7', started: new Date().toISOString(), command: 'run' });
    const remote = cli(['stop', dir]);
    expect(remote.code).toBe(2);
    expect(remote.stderr).toContain('pid 4242 on host gpu-box-7, not this host; run tunelab stop there');
    expect(cli(['status', dir]).stdout).toContain('status      running (pid 4242 on host gpu-box-7, another host)');
  });
});

describe('bad input', () => {
  it('an unknown folder or tag names it and where it looked (exit 2, no stack trace)', () => {
    for (const cmd of ['status', 'logs', 'stop', 'best']) {
      const r = cli([cmd, 'no-such-tag', '--results_root', root]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`no experiment 'no-such-tag': not a tunelab experiment folder (with tunelab's metadata.json), nor a tag under the results root ${root}; tags there: `);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    const missing = cli(['status', 'x', '--results_root', join(root, 'nowhere')]);
    expect(missing.stderr).toContain(`results root ${join(root, 'nowhere')} (it does not exist)`);
    expect(cli(['stop', folder, '--timeout', '-1']).stderr).toContain("--timeout expects a positive number of seconds, got '-1'");
  });

  it('a folder without results: status works, best says there is none', () => {
    const dir = runFolder(tempDir(), 'running');
    rmSync(join(dir, 'results.csv.gz'));
    rmSync(join(dir, 'tuner.json'));
    writeJson(join(dir, 'metadata.json'), { ...readJson(join(dir, 'metadata.json')), failed_trials: [] });
    const s = experimentStatus(dir);
    expect(s.trials.total).toBe(0);
    expect(s.best).toBeUndefined();
    expect(cli(['best', dir]).code).toBe(1);
  });

  it('leaves no process behind', () => {
    const ps = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
    expect(ps.split('\n').filter((l) => l.includes(cliPath) && /\b(logs|stop)\b/.test(l))).toEqual([]);
  });
});
