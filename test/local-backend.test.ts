import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalBackend, type LocalBackendOptions, checkCommand } from '../src/backends/local.js';
import { runProcesses } from '../src/backends/process-group.js';
import type { PollResult } from '../src/backends/types.js';
import { randint, uniform } from '../src/config-space/index.js';
import { hyperbandRandom } from '../src/methods/random.js';
import { benchmarkDefinitions } from '../src/launchers/benchmarks/index.js';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { readMetadata } from '../src/results/metadata.js';
import { readdirSync } from 'node:fs';
import { Tuner } from '../src/tuner/tuner.js';
import { UserError } from '../src/util/errors.js';
import { createRng } from '../src/util/rng.js';
import { readRows, tempDir } from './helpers.js';

/** Every backend of this file tags its trials with this id; after each test none of them may be left. */
const RUN_ID = `local-backend-test-${process.pid}`;
const backends: LocalBackend[] = [];
afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.close()));
  expect(runProcesses(RUN_ID)).toEqual([]);
});

/**
 * A real training script: reads its config from the arguments, resumes from its checkpoint file,
 * "trains" 10 epochs of 30 ms, reports loss = (x - 3)^2 + 1/epoch, prints other output too.
 */
const TRAIN = `
const fs = require('node:fs'), path = require('node:path');
const args = process.argv.slice(2); const cfg = {};
for (let i = 0; i < args.length; i += 2) cfg[args[i].slice(2)] = Number(args[i + 1]);
const ckpt = path.join(process.env.TUNELAB_CHECKPOINT_DIR, 'epoch');
let start = fs.existsSync(ckpt) ? Number(fs.readFileSync(ckpt, 'utf8')) + 1 : 1;
if (JSON.parse(process.env.TUNELAB_CONFIG).x !== cfg.x) process.exit(3);
console.log('starting at epoch', start, 'with', JSON.stringify(cfg));
(function step(epoch) {
  if (epoch > 10) return;
  setTimeout(() => {
    fs.writeFileSync(ckpt, String(epoch));
    console.log('[tunelab] ' + JSON.stringify({ epoch, loss: (cfg.x - 3) ** 2 + 1 / epoch }));
    step(epoch + 1);
  }, 30);
})(start);
`;

function scriptFile(body: string): string {
  const file = join(tempDir(), 'script.cjs');
  writeFileSync(file, body);
  return file;
}

function backend(body: string, extra: Partial<LocalBackendOptions> = {}, dir = tempDir()) {
  const b = new LocalBackend({
    command: [process.execPath, scriptFile(body)],
    resourceAttr: 'epoch',
    metricNames: ['loss'],
    logsDir: join(dir, 'logs'),
    checkpointsDir: join(dir, 'checkpoints'),
    killGrace: 1,
    runId: RUN_ID,
    ...extra,
  });
  backends.push(b);
  return { dir, backend: b };
}

const python = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();

async function drain(b: LocalBackend, until: (p: PollResult[]) => boolean, limit = 20): Promise<PollResult[]> {
  const polls: PollResult[] = [];
  const t0 = Date.now();
  while (!until(polls)) {
    if (Date.now() - t0 > limit * 1000) throw new Error('timed out');
    polls.push(await b.poll(Infinity));
  }
  return polls;
}

describe('local backend (real subprocesses)', () => {
  it('runs a script to completion, parses its reports and logs its output', async () => {
    const { backend: b, dir } = backend(TRAIN);
    await b.start(0, { x: 5 });
    const polls = await drain(b, (ps) => ps.some((p) => p.completed.includes(0)));
    const results = polls.flatMap((p) => p.results);
    expect(results.map((r) => r.result.resource)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(results[9].result.metrics.loss).toBeCloseTo(4.1, 12);
    expect(results.map((r) => r.workerIter)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(results[9].workerTime).toBeGreaterThan(0.25);
    expect(readFileSync(join(dir, 'logs', 'trial-0.stdout'), 'utf8')).toMatch(/starting at epoch 1 with \{"x":5\}/);
  });

  it('pauses by killing the process and resumes after the last reported epoch', async () => {
    const { backend: b } = backend(TRAIN);
    await b.start(0, { x: 1 });
    const first = (await drain(b, (ps) => ps.flatMap((p) => p.results).length >= 3)).flatMap((p) => p.results);
    await b.pause(0);
    const seen = first.map((r) => r.result.resource);
    await new Promise((r) => setTimeout(r, 150));
    expect((await b.poll(0)).results).toEqual([]);
    await b.resume(0);
    const rest = (await drain(b, (ps) => ps.some((p) => p.completed.includes(0)))).flatMap((p) => p.results);
    const all = [...seen, ...rest.map((r) => r.result.resource)];
    expect(all).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].slice(0, all.length));
    expect(all[all.length - 1]).toBe(10);
  });

  it('a crashing script fails its trial with the exit code and the end of its stderr', async () => {
    const { backend: b } = backend(`console.log('[tunelab] {"epoch": 1, "loss": 2}'); console.error('CUDA out of memory'); process.exit(7);`);
    await b.start(0, { x: 1 });
    const polls = await drain(b, (ps) => ps.some((p) => p.failed.length > 0));
    expect(polls.flatMap((p) => p.results)).toHaveLength(1);
    expect(polls.flatMap((p) => p.failed)).toEqual([{ trialId: 0, error: 'exit code 7; stderr: CUDA out of memory' }]);
  });

  it('garbage output is only logged, but a malformed report line fails the trial', async () => {
    const { backend: b } = backend(`console.log('loss: 0.3 (not a report)'); console.log('\\u0000\\u00ff garbage'); console.log('[tunelab] {"epoch": 1, "loss": 0.5'); setTimeout(() => {}, 5000);`);
    await b.start(0, { x: 1 });
    const failed = (await drain(b, (ps) => ps.some((p) => p.failed.length > 0))).flatMap((p) => p.failed);
    expect(failed[0].error).toMatch(/^malformed report line '\[tunelab\] \{"epoch": 1, "loss": 0.5'/);
  });

  it('a report without the metric fails the trial, naming it', async () => {
    const { backend: b } = backend(`console.log('[tunelab] {"epoch": 1, "acc": 0.5}'); setTimeout(() => {}, 5000);`);
    await b.start(0, { x: 1 });
    const failed = (await drain(b, (ps) => ps.some((p) => p.failed.length > 0))).flatMap((p) => p.failed);
    expect(failed[0].error).toMatch(/report lacks metric 'loss'/);
  });

  it('a hanging script is killed after the trial timeout', async () => {
    const { backend: b } = backend(`setInterval(() => {}, 1000);`, { trialTimeout: 0.5 });
    await b.start(0, { x: 1 });
    const failed = (await drain(b, (ps) => ps.some((p) => p.failed.length > 0))).flatMap((p) => p.failed);
    expect(failed[0].error).toMatch(/no report for 0.5 s \(hung\?\); killed/);
  });

  it('a missing command fails the trial', async () => {
    const dir = tempDir();
    const b = new LocalBackend({ command: ['/nonexistent/python3'], resourceAttr: 'epoch', metricNames: ['loss'], logsDir: join(dir, 'l'), checkpointsDir: join(dir, 'c'), runId: RUN_ID });
    await b.start(0, { x: 1 });
    const failed = (await drain(b, (ps) => ps.some((p) => p.failed.length > 0))).flatMap((p) => p.failed);
    expect(failed[0].error).toBe(`cannot run '/nonexistent/python3' (cwd ${process.cwd()}): '/nonexistent/python3' not found`);
  });

  it('drives ASHA promotion with the tuner: paused trials restart from their checkpoints', async () => {
    const { backend: b, dir } = backend(TRAIN);
    const space = { x: uniform(0, 6), y: randint(1, 3) };
    const tuner = new Tuner({
      scheduler: hyperbandRandom({ configSpace: space, metric: 'loss', mode: 'min', resourceAttr: 'epoch', maxResource: 10, nWorkers: 3, rng: createRng(4) }, { type: 'promotion' }),
      backend: b,
      nWorkers: 3,
      stopping: { maxNumTrialsStarted: 9 },
      configNames: ['x', 'y'],
      folder: dir,
    });
    const summary = await tuner.run();
    await b.close();
    const rows = readRows(join(dir, 'results.csv.gz'));
    expect(summary.numTrials).toBe(9);
    expect(rows.some((r) => r.st_decision === 'pause')).toBe(true);
    // every trial's epochs are consecutive from 1, whether or not it was paused and restarted
    const byTrial = new Map<number, number[]>();
    for (const r of rows) byTrial.set(r.trial_id as number, [...(byTrial.get(r.trial_id as number) ?? []), r.epoch as number]);
    for (const epochs of byTrial.values()) expect(epochs).toEqual(epochs.map((_, i) => i + 1));
    expect([...byTrial.values()].some((e) => e.length > 1)).toBe(true);
  });

  it('hpo-main --backend local runs the benchmark\'s training command, with logs per trial', async () => {
    const branin = `
const a = process.argv.slice(2); const c = {};
for (let i = 0; i < a.length; i += 2) c[a[i].slice(2)] = Number(a[i + 1]);
const f = (c.x2 - 5.1 / (4 * Math.PI ** 2) * c.x1 ** 2 + 5 / Math.PI * c.x1 - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(c.x1) + 10;
let e = 0; const t = setInterval(() => { e++; console.log('[tunelab] ' + JSON.stringify({ epoch: e, value: f + 50 / e })); if (e === 27) clearInterval(t); }, 5);`;
    const benchmarks = { 'local-branin': { ...benchmarkDefinitions['synthetic-branin'], name: 'local-branin', local: { command: [process.execPath, scriptFile(branin)] } } };
    const root = tempDir();
    const report = await hpoMain(
      { experimentTag: 'loc', method: ['ASHA'], benchmark: ['local-branin'], backend: 'local', randomSeed: 1, resultsRoot: root, maxWallclockTime: 3, nWorkers: 2 },
      { benchmarks, log: () => {}, progress: false },
    );
    const { folder, metadata } = report.outcomes[0];
    expect(metadata.status).toBe('completed');
    expect(readMetadata(folder).backend).toBe('local');
    expect(readdirSync(join(folder, 'logs'))).toContain('trial-0.stdout');
    // the time budget ends the run on the real clock
    expect(Math.max(...readRows(join(folder, 'results.csv.gz')).map((r) => r.st_tuner_time as number))).toBeLessThanOrEqual(3.5);
    // a trial budget does not depend on the machine's speed: exactly 6 trials, and ASHA stopped some at a rung
    const counted = await hpoMain(
      { experimentTag: 'loc6', method: ['ASHA'], benchmark: ['local-branin'], backend: 'local', randomSeed: 1, resultsRoot: root, maxWallclockTime: 600, maxNumTrialsStarted: 6, nWorkers: 2 },
      { benchmarks, log: () => {}, progress: false },
    );
    expect(counted.outcomes[0].summary!.numTrials).toBe(6);
    const rows = readRows(join(counted.outcomes[0].folder, 'results.csv.gz'));
    expect(new Set(rows.map((r) => r.trial_id))).toEqual(new Set([0, 1, 2, 3, 4, 5]));
    expect(rows.some((r) => r.st_decision === 'stop')).toBe(true);
    await expect(
      hpoMain({ experimentTag: 'loc', method: ['RS'], benchmark: ['synthetic-branin'], backend: 'local', randomSeed: 1, resultsRoot: root }, { log: () => {}, progress: false }),
    ).rejects.toThrow(/benchmark synthetic-branin has no training command; --backend local needs one/);
  });
});

const failures = async (b: LocalBackend) => (await drain(b, (ps) => ps.some((p) => p.failed.length > 0))).flatMap((p) => p.failed);
const completion = async (b: LocalBackend) => drain(b, (ps) => ps.some((p) => p.completed.length > 0 || p.failed.length > 0));
const reportThenWait = (line: string) => `console.log(${JSON.stringify(line)}); setTimeout(() => {}, 30000);`;

describe('local backend: commands, environment, reports', () => {
  it('runs a shell string with the config in "$@", the env option added and cwd as the working directory', async () => {
    const dir = tempDir();
    const work = join(dir, 'work');
    mkdirSync(work);
    const b = new LocalBackend({
      // the config arguments follow the string: its last command gets them
      command: 'echo "[tunelab] {\\"epoch\\": 1, \\"loss\\": $LOSS_BASE}"; pwd >&2; printf "%s|" >args.txt',
      cwd: work,
      env: { LOSS_BASE: '0.25' },
      resourceAttr: 'epoch',
      metricNames: ['loss'],
      logsDir: join(dir, 'logs'),
      checkpointsDir: join(dir, 'checkpoints'),
      runId: RUN_ID,
    });
    backends.push(b);
    await b.start(3, { lr: 0.1, opt: 'adam w' });
    const polls = await completion(b);
    expect(polls.flatMap((p) => p.completed)).toEqual([3]);
    expect(polls.flatMap((p) => p.results).map((r) => r.result)).toEqual([{ resource: 1, metrics: { epoch: 1, loss: 0.25 } }]);
    expect(readFileSync(join(work, 'args.txt'), 'utf8')).toBe('--lr|0.1|--opt|adam w|');
    await b.close();
    expect(readFileSync(join(dir, 'logs', 'trial-3.stderr'), 'utf8').trim()).toBe(work);
  });

  it('every trial process gets TUNELAB_RUN_ID, the trial id, config and checkpoint folder', async () => {
    const { backend: b, dir } = backend(`
const e = process.env;
console.log('[tunelab] ' + JSON.stringify({ epoch: 1, loss: e.TUNELAB_RUN_ID === ${JSON.stringify(RUN_ID)} && e.TUNELAB_TRIAL_ID === '5' && JSON.parse(e.TUNELAB_CONFIG).x === 2 ? 0 : 1 }));
require('node:fs').writeFileSync(require('node:path').join(e.TUNELAB_CHECKPOINT_DIR, 'seen'), 'yes');`);
    await b.start(5, { x: 2 });
    const results = (await completion(b)).flatMap((p) => p.results);
    expect(results.map((r) => r.result.metrics.loss)).toEqual([0]);
    expect(readFileSync(join(dir, 'checkpoints', '5', 'seen'), 'utf8')).toBe('yes');
  });

  it('keeps every numeric field of a report among the metrics (constraint and store metrics), ignoring other fields', async () => {
    const { backend: b } = backend(`console.log('[tunelab] {"epoch": 1, "loss": 0.5, "memory_gb": 3.5, "latency": 12, "note": "ok", "flag": true}');`);
    await b.start(0, { x: 1 });
    const results = (await completion(b)).flatMap((p) => p.results);
    expect(results[0].result.metrics).toEqual({ epoch: 1, loss: 0.5, memory_gb: 3.5, latency: 12 });
  });

  it.each([
    ['a fractional epoch', '{"epoch": 2.5, "loss": 1}', {}, "report has epoch 2.5; epoch must be an integer in 1..27"],
    ['an epoch beyond the maximum', '{"epoch": 1e9, "loss": 1}', {}, 'report has epoch 1000000000; epoch must be an integer in 1..27'],
    ['epoch 0', '{"epoch": 0, "loss": 1}', {}, 'report has epoch 0; epoch must be an integer in 1..27'],
    ['a negative epoch, fractional ones allowed', '{"epoch": -0.5, "loss": 1}', { integralResource: false }, 'report has epoch -0.5; epoch must be a number in 1..27'],
  ])('fails a trial whose report has %s, naming the value and the range', async (_what, json, extra, message) => {
    const { backend: b } = backend(reportThenWait(`[tunelab] ${json}`), { maxResource: 27, ...extra });
    await b.start(0, { x: 1 });
    const failed = await failures(b);
    expect(failed[0].error).toBe(`${message}: ${json}`);
  });

  it('accepts fractional resources when integralResource is false, and any size without maxResource', async () => {
    const { backend: b } = backend(`console.log('[tunelab] {"epoch": 1.5, "loss": 1}'); console.log('[tunelab] {"epoch": 1e9, "loss": 0}');`, { integralResource: false });
    await b.start(0, { x: 1 });
    const polls = await completion(b);
    expect(polls.flatMap((p) => p.results).map((r) => r.result.resource)).toEqual([1.5, 1e9]);
    expect(polls.flatMap((p) => p.completed)).toEqual([0]);
  });

  it.each([
    ['NaN', 'NaN'],
    ['Infinity', 'Infinity'],
    ['-Infinity', '-Infinity'],
  ])('a metric that is %s (written as report() writes it) fails the trial naming it', async (token, shown) => {
    const { backend: b } = backend(reportThenWait(`[tunelab] {"epoch":1,"loss":${token}}`));
    await b.start(0, { x: 1 });
    expect((await failures(b))[0].error).toBe(`metric 'loss' is ${shown}: {"epoch":1,"loss":${token}}`);
  });

  it("a non-finite metric from Python's json.dumps fails the trial naming it; a string 'NaN' is no number", async () => {
    const dir = tempDir();
    const script = join(dir, 'train.py');
    writeFileSync(script, `import json\nprint('[tunelab] ' + json.dumps({'epoch': 1, 'loss': 0.5, 'note': 'NaN Infinity'}))\nprint('[tunelab] ' + json.dumps({'epoch': 2, 'loss': 0.4, 'grad_norm': float('inf')}))\n`);
    const b = new LocalBackend({ command: [python, script], resourceAttr: 'epoch', metricNames: ['loss'], logsDir: join(dir, 'logs'), checkpointsDir: join(dir, 'ckpt'), runId: RUN_ID });
    backends.push(b);
    await b.start(0, {});
    const polls = await completion(b);
    expect(polls.flatMap((p) => p.results).map((r) => r.result.metrics)).toEqual([{ epoch: 1, loss: 0.5 }]);
    expect(polls.flatMap((p) => p.failed)).toEqual([{ trialId: 0, error: `metric 'grad_norm' is Infinity: {"epoch": 2, "loss": 0.4, "grad_norm": Infinity}` }]);
  });

  it('a report that is not JSON still fails as a malformed report line', async () => {
    const { backend: b } = backend(reportThenWait('[tunelab] {"epoch": 1, "loss": NaNa}'));
    await b.start(0, { x: 1 });
    expect((await failures(b))[0].error).toMatch(/^malformed report line '\[tunelab\] \{"epoch": 1, "loss": NaNa\}': /);
  });

  it('countReports: the n-th report of a trial is at resource n', async () => {
    const { backend: b } = backend(`for (const loss of [3, 2, 1]) console.log('[tunelab] ' + JSON.stringify({ loss }));`, { resourceAttr: 'iteration', countReports: true });
    await b.start(0, { x: 1 });
    const results = (await completion(b)).flatMap((p) => p.results);
    expect(results.map((r) => [r.result.resource, r.result.metrics.loss, r.result.metrics.iteration])).toEqual([
      [1, 3, 1],
      [2, 2, 2],
      [3, 1, 3],
    ]);
  });
});

describe('local backend: failure reasons', () => {
  it("carries the last 10 lines of stderr, at most ~2000 characters", async () => {
    const { backend: b } = backend(`for (let i = 1; i <= 15; i++) console.error('line ' + i); process.exit(7);`);
    await b.start(0, { x: 1 });
    expect((await failures(b))[0].error).toBe(`exit code 7; stderr: ${Array.from({ length: 10 }, (_, i) => `line ${i + 6}`).join(' | ')}`);
    const { backend: b2 } = backend(`for (let i = 0; i < 10; i++) console.error(String(i).repeat(500)); process.exit(1);`);
    await b2.start(0, { x: 1 });
    const error = (await failures(b2))[0].error;
    expect(error.startsWith('exit code 1; stderr: …')).toBe(true);
    expect(error.length).toBeLessThanOrEqual(2100);
    expect(error.endsWith('9'.repeat(500))).toBe(true);
  });

  it('names the signal that killed the script', async () => {
    const { backend: b } = backend(`console.error('about to die'); process.kill(process.pid, 'SIGKILL');`);
    await b.start(0, { x: 1 });
    expect((await failures(b))[0].error).toBe('killed by SIGKILL (exit code 137); stderr: about to die');
  });
});

describe('checkCommand', () => {
  const dir = tempDir();
  const script = join(dir, 'train.sh');
  writeFileSync(script, '#!/bin/sh\necho hi\n');
  chmodSync(script, 0o755);
  writeFileSync(join(dir, 'data.txt'), 'not a program');

  it('accepts programs found on PATH, relative to cwd or absolute, and shell strings', () => {
    expect(() => checkCommand(['sh', '-c', 'true'])).not.toThrow();
    expect(() => checkCommand(['./train.sh'], dir)).not.toThrow();
    expect(() => checkCommand([script, '--fast'])).not.toThrow();
    expect(() => checkCommand('python3 train.py --fast')).not.toThrow();
    // builtins, assignments and shell syntax are the shell's business
    expect(() => checkCommand('cd sub && ./go', dir)).not.toThrow();
    expect(() => checkCommand('FOO=1 nonexistent-program-xyz', dir)).not.toThrow();
    expect(() => checkCommand('"$TRAINER" run')).not.toThrow();
  });

  it('throws a UserError naming the command, the cwd and what is wrong', () => {
    const error = (f: () => void) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(UserError);
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    expect(error(() => checkCommand(['nonexistent-program-xyz', 'train.py'], dir))).toBe(`cannot run 'nonexistent-program-xyz train.py' (cwd ${dir}): 'nonexistent-program-xyz' not found on PATH`);
    expect(error(() => checkCommand('nonexistent-program-xyz --lr 1', dir))).toBe(`cannot run 'nonexistent-program-xyz --lr 1' (cwd ${dir}): 'nonexistent-program-xyz' not found on PATH`);
    expect(error(() => checkCommand(['./data.txt'], dir))).toBe(`cannot run './data.txt' (cwd ${dir}): './data.txt' is not executable`);
    expect(error(() => checkCommand(['./missing.sh'], dir))).toBe(`cannot run './missing.sh' (cwd ${dir}): './missing.sh' not found`);
    expect(error(() => checkCommand(['train.sh'], dir))).toBe(`cannot run 'train.sh' (cwd ${dir}): 'train.sh' not found on PATH`);
    expect(error(() => checkCommand(['sh'], join(dir, 'nope')))).toBe(`cannot run 'sh' (cwd ${join(dir, 'nope')}): the working directory does not exist`);
  });
});

describe('local backend: clock and polling', () => {
  it("restore() continues the clock and the trials' worker time from the checkpoint", async () => {
    const dir = tempDir();
    const { backend: first } = backend(TRAIN, {}, dir);
    await first.start(0, { x: 2 });
    const before = (await drain(first, (ps) => ps.flatMap((p) => p.results).length >= 3)).flatMap((p) => p.results);
    const saved = JSON.parse(JSON.stringify(first.state())) as { time: number; trials: [number, { trainedBefore: number }][] };
    await first.close();
    expect(saved.time).toBeGreaterThanOrEqual(before[2].time);
    expect(saved.trials[0][1].trainedBefore).toBeGreaterThanOrEqual(before[2].workerTime);

    const { backend: second } = backend(TRAIN, {}, dir);
    await second.restore(saved);
    expect(second.now()).toBeGreaterThanOrEqual(saved.time);
    const after = (await drain(second, (ps) => ps.some((p) => p.completed.includes(0)))).flatMap((p) => p.results);
    expect(after.length).toBeGreaterThan(0);
    expect(after[0].result.resource).toBeGreaterThan(before[2].result.resource);
    expect(after[0].time).toBeGreaterThan(saved.time);
    expect(after[0].workerTime).toBeGreaterThan(saved.trials[0][1].trainedBefore);
    expect(after[0].workerIter).toBe(before.length + (after[0].result.resource - before[before.length - 1].result.resource - 1));
  });

  it('interrupt() makes a waiting poll return', async () => {
    const { backend: b } = backend(`setTimeout(() => {}, 30000);`);
    await b.start(0, { x: 1 });
    const waiting = b.poll(Infinity);
    setTimeout(() => b.interrupt(), 50);
    expect(await waiting).toEqual({ results: [], completed: [], failed: [] });
  });

  it('with nothing running, poll returns at once', async () => {
    const { backend: b } = backend(`process.exit(0);`);
    expect(await b.poll(Infinity)).toEqual({ results: [], completed: [], failed: [] });
  });
});

describe('local backend: pause and resume', () => {
  it("delivers at resume what a paused script reported while it was ending, so its checkpoint's epochs are not lost", async () => {
    // on SIGTERM the script finishes its epoch: checkpoints and reports it, then exits
    const { backend: b } = backend(`
const fs = require('node:fs'), path = require('node:path');
const ckpt = path.join(process.env.TUNELAB_CHECKPOINT_DIR, 'epoch');
let epoch = fs.existsSync(ckpt) ? Number(fs.readFileSync(ckpt, 'utf8')) + 1 : 1;
const report = () => { fs.writeFileSync(ckpt, String(epoch)); console.log('[tunelab] ' + JSON.stringify({ epoch, loss: 1 / epoch })); epoch++; };
process.on('SIGTERM', () => { report(); process.exit(0); });
report();
if (epoch > 2) { report(); process.exit(0); }
setTimeout(() => {}, 30000);`);
    await b.start(0, { x: 1 });
    const first = (await drain(b, (ps) => ps.flatMap((p) => p.results).length >= 1)).flatMap((p) => p.results);
    await b.pause(0);
    await b.resume(0);
    const rest = (await drain(b, (ps) => ps.some((p) => p.completed.includes(0)))).flatMap((p) => p.results);
    expect([...first, ...rest].map((r) => [r.result.resource, r.workerIter])).toEqual([
      [1, 0],
      [2, 1],
      [3, 2],
      [4, 3],
    ]);
  });

  /** Reports epochs up to `upTo` at once (checkpointing each), writes 'done', then waits or exits. */
  const burst = (upTo: number, then: string) => `
const fs = require('node:fs'), path = require('node:path');
const dir = process.env.TUNELAB_CHECKPOINT_DIR, ckpt = path.join(dir, 'epoch');
const from = fs.existsSync(ckpt) ? Number(fs.readFileSync(ckpt, 'utf8')) + 1 : 1;
for (let epoch = from; epoch <= Math.max(from, ${upTo}); epoch++) {
  fs.writeFileSync(ckpt, String(epoch));
  console.log('[tunelab] ' + JSON.stringify({ epoch, loss: 1 / epoch }));
}
fs.writeFileSync(path.join(dir, 'done-' + from), '');
${then}`;
  const waitFor = async (file: string) => {
    while (!existsSync(file)) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
  };

  it('hands out one result per trial per poll: a pause decided on it banks the rest for the resume', async () => {
    const { backend: b, dir } = backend(burst(4, 'if (from === 1) setTimeout(() => {}, 30000);'));
    await b.start(0, { x: 1 });
    await waitFor(join(dir, 'checkpoints', '0', 'done-1'));
    const first = await b.poll(Infinity);
    expect(first.results.map((r) => r.result.resource)).toEqual([1]);
    await b.pause(0);
    await b.resume(0);
    const rest = (await drain(b, (ps) => ps.some((p) => p.completed.includes(0)))).flatMap((p) => p.results);
    expect(rest.map((r) => [r.result.resource, r.workerIter])).toEqual([
      [2, 1],
      [3, 2],
      [4, 3],
      [5, 4],
    ]);
  });

  it('a trial that ended before the tuner took in its pause runs again when resumed', async () => {
    const { backend: b, dir } = backend(burst(2, ''));
    await b.start(0, { x: 1 });
    await waitFor(join(dir, 'checkpoints', '0', 'done-1'));
    expect(await b.poll(Infinity)).toMatchObject({ results: [{ result: { resource: 1 } }], completed: [] });
    await b.pause(0);
    await b.resume(0);
    const polls = await drain(b, (ps) => ps.some((p) => p.completed.includes(0)));
    expect(polls.flatMap((p) => p.results).map((r) => r.result.resource)).toEqual([2, 3]);
    expect(existsSync(join(dir, 'checkpoints', '0', 'done-3'))).toBe(true);
  });

  it('a resumed trial starts only once its paused process is gone (they share the checkpoint folder)', async () => {
    // a slow goodbye on SIGTERM, holding a lock file in the checkpoint folder until it exits
    const { backend: b } = backend(`
const fs = require('node:fs'), path = require('node:path');
const lock = path.join(process.env.TUNELAB_CHECKPOINT_DIR, 'lock');
try { fs.writeFileSync(lock, String(process.pid), { flag: 'wx' }); } catch { console.error('checkpoint folder in use'); process.exit(9); }
const ckpt = path.join(process.env.TUNELAB_CHECKPOINT_DIR, 'epoch');
const epoch = fs.existsSync(ckpt) ? Number(fs.readFileSync(ckpt, 'utf8')) + 1 : 1;
fs.writeFileSync(ckpt, String(epoch));
process.on('SIGTERM', () => setTimeout(() => { fs.rmSync(lock); process.exit(0); }, 300));
console.log('[tunelab] ' + JSON.stringify({ epoch, loss: 1 }));
if (epoch === 2) { fs.rmSync(lock); process.exit(0); }
setTimeout(() => {}, 30000);`);
    await b.start(0, { x: 1 });
    await drain(b, (ps) => ps.flatMap((p) => p.results).length >= 1);
    await b.pause(0);
    await b.resume(0);
    const polls = await drain(b, (ps) => ps.some((p) => p.completed.length + p.failed.length > 0));
    expect(polls.flatMap((p) => p.failed)).toEqual([]);
    expect(polls.flatMap((p) => p.results).map((r) => r.result.resource)).toEqual([2]);
  });
});
