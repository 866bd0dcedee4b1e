import { describe, expect, it } from 'vitest';
import { SimulatorBackend } from '../src/backends/simulator.js';
import type { Config } from '../src/config-space/index.js';
import { tinyBlackbox } from './helpers.js';

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
