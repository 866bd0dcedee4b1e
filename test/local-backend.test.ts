import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../src/backends/local.js';
import type { PollResult } from '../src/backends/types.js';
import { randint, uniform } from '../src/config-space/index.js';
import { hyperbandRandom } from '../src/launchers/methods.js';
import { benchmarkDefinitions } from '../src/launchers/benchmarks/index.js';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { readMetadata } from '../src/results/metadata.js';
import { readdirSync } from 'node:fs';
import { Tuner } from '../src/tuner/tuner.js';
import { createRng } from '../src/util/rng.js';
import { readRows, tempDir } from './helpers.js';

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

function backend(body: string, extra: { trialTimeout?: number } = {}) {
  const dir = tempDir();
  return {
    dir,
    backend: new LocalBackend({
      command: [process.execPath, scriptFile(body)],
      resourceAttr: 'epoch',
      metricNames: ['loss'],
      logsDir: join(dir, 'logs'),
      checkpointsDir: join(dir, 'checkpoints'),
      killGrace: 1,
      ...extra,
    }),
  };
}

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
    const b = new LocalBackend({ command: ['/nonexistent/python3'], resourceAttr: 'epoch', metricNames: ['loss'], logsDir: join(dir, 'l'), checkpointsDir: join(dir, 'c') });
    await b.start(0, { x: 1 });
    const failed = (await drain(b, (ps) => ps.some((p) => p.failed.length > 0))).flatMap((p) => p.failed);
    expect(failed[0].error).toMatch(/cannot run \/nonexistent\/python3: spawn \/nonexistent\/python3 ENOENT/);
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
    const { folder, metadata, summary } = report.outcomes[0];
    expect(metadata.status).toBe('completed');
    expect(readMetadata(folder).backend).toBe('local');
    expect(summary!.numTrials).toBeGreaterThan(4);
    expect(readdirSync(join(folder, 'logs'))).toContain('trial-0.stdout');
    const rows = readRows(join(folder, 'results.csv.gz'));
    expect(Math.max(...rows.map((r) => r.st_tuner_time as number))).toBeLessThanOrEqual(3.5);
    expect(rows.some((r) => r.st_decision === 'stop')).toBe(true);
    await expect(
      hpoMain({ experimentTag: 'loc', method: ['RS'], benchmark: ['synthetic-branin'], backend: 'local', randomSeed: 1, resultsRoot: root }, { log: () => {}, progress: false }),
    ).rejects.toThrow(/benchmark synthetic-branin has no training command; --backend local needs one/);
  });
});
