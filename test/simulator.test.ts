import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { SimulatorBackend } from '../src/backends/simulator.js';
import { syntheticBlackbox } from '../src/blackbox/synthetic.js';
import type { Config } from '../src/config-space/index.js';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { randomSearch } from '../src/methods/random.js';
import { readMetadata } from '../src/results/metadata.js';
import type { Mode, TrialResult, TrialScheduler } from '../src/schedulers/types.js';
import { Tuner } from '../src/tuner/tuner.js';
import { createRng } from '../src/util/rng.js';
import { readRows, tempDir, tinyBlackbox } from './helpers.js';

const summary = (p: Awaited<ReturnType<SimulatorBackend['poll']>>) =>
  p.results.map((r) => [r.time, r.trialId, r.result.resource, r.result.metrics.loss, r.workerTime]);

describe('simulator backend', () => {
  it('delivers results in simulated-time order, ties in scheduling order, and reports completions', async () => {
    const sim = new SimulatorBackend(tinyBlackbox(), { seed: 1, blackboxSeed: 0 });
    await sim.start(0, { x: 'a' });
    await sim.start(1, { x: 'b' });
    expect(summary(await sim.poll(Infinity))).toEqual([[2, 0, 1, 3, 2]]);
    expect(summary(await sim.poll(Infinity))).toEqual([[3, 1, 1, 5, 3]]);
    expect(summary(await sim.poll(Infinity))).toEqual([[4, 0, 2, 2, 4]]);
    // at t=6 both report: b's event was scheduled first (at t=3), a's at t=4
    const six = await sim.poll(Infinity);
    expect(summary(six)).toEqual([
      [6, 1, 2, 4, 6],
      [6, 0, 3, 1, 6],
    ]);
    expect(six.completed).toEqual([0]);
    expect(sim.now()).toBe(6);
    const nine = await sim.poll(Infinity);
    expect(summary(nine)).toEqual([[9, 1, 3, 3, 9]]);
    expect(nine.completed).toEqual([1]);
    expect((await sim.poll(Infinity)).results).toEqual([]);
  });

  it('a resumed trial continues after its last epoch; a stopped one never reports again', async () => {
    const sim = new SimulatorBackend(tinyBlackbox(), { seed: 1, blackboxSeed: 0 });
    await sim.start(0, { x: 'a' });
    expect(summary(await sim.poll(Infinity))).toEqual([[2, 0, 1, 3, 2]]);
    await sim.pause(0);
    await sim.start(1, { x: 'b' });
    expect(summary(await sim.poll(Infinity))).toEqual([[5, 1, 1, 5, 3]]);
    await sim.resume(0);
    // epoch 2 of 'a' takes 2 s from the resume at t=5; its worker time counts training only
    expect(summary(await sim.poll(Infinity))).toEqual([[7, 0, 2, 2, 4]]);
    // nothing before the deadline: the clock stops there
    expect((await sim.poll(7.5)).results).toEqual([]);
    expect(sim.now()).toBe(7.5);
    await sim.stop(1);
    const rest = await sim.poll(Infinity);
    expect(summary(rest)).toEqual([[9, 0, 3, 1, 6]]);
    expect(rest.completed).toEqual([0]);
    expect((await sim.poll(Infinity)).results).toEqual([]);
    await expect(sim.resume(1)).rejects.toThrow(/not paused/);
  });

  it('state() and restore() continue the same event stream', async () => {
    const a = new SimulatorBackend(tinyBlackbox(), { seed: 3 });
    await a.start(0, { x: 'a' });
    await a.start(1, { x: 'b' });
    await a.poll(Infinity);
    await a.pause(0);
    const b = new SimulatorBackend(tinyBlackbox(), { seed: 3 });
    await b.restore(JSON.parse(JSON.stringify(a.state())));
    for (const s of [a, b]) {
      await s.resume(0);
      await s.start(2, { x: 'a' });
    }
    for (let i = 0; i < 6; i++) expect(summary(await b.poll(Infinity))).toEqual(summary(await a.poll(Infinity)));
  });

  it('asks a blackbox that computes prefixes for the rows it needs, doubling, with the same results as whole curves', async () => {
    const asked: number[] = [];
    const whole = tinyBlackbox();
    const prefixes = Object.assign(tinyBlackbox(), {
      curvePrefix(config: Config, seed: number, upTo: number) {
        asked.push(upTo);
        return whole.curve(config, seed).slice(0, upTo * 2);
      },
    });
    const [a, b] = [new SimulatorBackend(whole, { seed: 1, blackboxSeed: 0 }), new SimulatorBackend(prefixes, { seed: 1, blackboxSeed: 0 })];
    for (const sim of [a, b]) {
      await sim.start(0, { x: 'a' });
      await sim.start(1, { x: 'b' });
    }
    // the row of epoch 1 and the next one, whose event is scheduled when epoch 1 is reported
    expect(asked).toEqual([2, 2]);
    for (let i = 0; i < 5; i++) expect(summary(await b.poll(Infinity))).toEqual(summary(await a.poll(Infinity)));
    expect(asked).toEqual([2, 2, 3, 3]);
  });

  it('refuses to start a trial id twice', async () => {
    const sim = new SimulatorBackend(tinyBlackbox(), { seed: 1 });
    await sim.start(0, { x: 'a' });
    await expect(sim.start(0, { x: 'b' })).rejects.toThrow(/trial 0 was started before/);
  });
});

/** Random search whose every suggestion first busy-waits `delayMs` of wall time: a deliberately slow searcher. */
class SlowScheduler implements TrialScheduler {
  private readonly inner: TrialScheduler;
  readonly metric: string;
  readonly mode: Mode;
  constructor(private readonly delayMs: number) {
    const branin = syntheticBlackbox('synthetic-branin');
    this.inner = randomSearch({ configSpace: branin.configSpace, metric: 'value', mode: 'min', resourceAttr: 'epoch', maxResource: 27, nWorkers: 1, rng: createRng(4) });
    this.metric = this.inner.metric;
    this.mode = this.inner.mode;
  }
  suggest(trialId: number) {
    const end = performance.now() + this.delayMs;
    while (performance.now() < end);
    return this.inner.suggest(trialId);
  }
  onTrialResult(trialId: number, result: TrialResult) {
    return this.inner.onTrialResult(trialId, result);
  }
  onTrialComplete(trialId: number) {
    this.inner.onTrialComplete(trialId);
  }
  onTrialError(trialId: number) {
    this.inner.onTrialError(trialId);
  }
  metadata() {
    return this.inner.metadata();
  }
  state() {
    return this.inner.state();
  }
  restore(state: unknown) {
    this.inner.restore(state);
  }
}

describe('charging the decision time to the simulated clock', () => {
  /** One worker, 8 trials of 27 epochs on branin; the results file's text and rows. */
  async function run(delayMs: number, chargeDecisionTime?: boolean) {
    const folder = tempDir();
    const backend = new SimulatorBackend(syntheticBlackbox('synthetic-branin'), { seed: 1, chargeDecisionTime });
    await new Tuner({ scheduler: new SlowScheduler(delayMs), backend, nWorkers: 1, stopping: { maxNumTrialsStarted: 8 }, configNames: ['x1', 'x2'], folder }).run();
    const path = join(folder, 'results.csv.gz');
    return { text: gunzipSync(readFileSync(path)).toString('utf8'), rows: readRows(path) };
  }
  const key = (r: Record<string, unknown>) => `${r.trial_id}:${r.epoch}`;

  it('off (the default), a slow searcher changes nothing: the results are bit-identical to a fast one', async () => {
    const fast = await run(0);
    expect((await run(30, false)).text).toBe(fast.text);
    expect(fast.rows).toHaveLength(8 * 27);
  });

  it('on, no result comes earlier, and a slow searcher moves each trial on by at least its delays so far', async () => {
    const delay = 40;
    const off = await run(0);
    const fastOn = await run(0, true);
    const slowOn = await run(delay, true);
    const offTime = new Map(off.rows.map((r) => [key(r), r.st_tuner_time as number]));
    for (const on of [fastOn, slowOn]) {
      expect(on.rows.map(key)).toEqual(off.rows.map(key));
      // the same configs and metric values: only the clock moved
      expect(on.rows.map((r) => [r.config_x1, r.value])).toEqual(off.rows.map((r) => [r.config_x1, r.value]));
      for (const r of on.rows) expect(r.st_tuner_time as number).toBeGreaterThanOrEqual(offTime.get(key(r))!);
    }
    // one worker: trial k starts after k + 1 suggestions, each busy-waiting `delay` ms
    for (const r of slowOn.rows) {
      const k = r.trial_id as number;
      expect((r.st_tuner_time as number) - offTime.get(key(r))!).toBeGreaterThanOrEqual(((k + 1) * delay) / 1000);
    }
    expect(slowOn.rows.at(-1)!.st_tuner_time as number).toBeGreaterThan(off.rows.at(-1)!.st_tuner_time as number);
  });

  it('hpo-main takes it (recorded in metadata.json) for the simulator, and refuses it for the local backend by name', async () => {
    const base = { experimentTag: 'c', method: ['RS'], benchmark: ['synthetic-branin'], randomSeed: 1, maxWallclockTime: 200, chargeDecisionTime: true };
    const report = await hpoMain({ ...base, resultsRoot: tempDir() }, { log: () => {}, progress: false });
    expect(readMetadata(report.outcomes[0].folder)).toMatchObject({ status: 'completed', charge_decision_time: true });
    const root = tempDir();
    await expect(hpoMain({ ...base, resultsRoot: root, backend: 'local' }, { log: () => {}, progress: false })).rejects.toThrow(
      '--charge_decision_time applies to the simulator backend only, not to --backend local',
    );
    expect(readdirSync(root)).toEqual([]);
  });
});
