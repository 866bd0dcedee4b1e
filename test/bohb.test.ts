import { describe, expect, it } from 'vitest';
import { choice, uniform } from '../src/config-space/index.js';
import { getMethod } from '../src/methods/registry.js';
import { KDESearcher } from '../src/schedulers/searchers/kde.js';
import type { SearchProblem } from '../src/schedulers/types.js';
import { createRng } from '../src/util/rng.js';

const space = { x: uniform(0, 1), act: choice(['relu', 'tanh']) };
const problem = (seed = 1): SearchProblem => ({ configSpace: space, metric: 'loss', mode: 'min', rng: createRng(seed) });

/** Feeds trial `id` the result `value` at `level` (its config from the searcher's own suggestion). */
function observe(s: KDESearcher, id: number, level: number, value: number) {
  s.onTrialResult(id, level, value);
}

describe("BOHB's rung models", () => {
  it('models the largest level holding at least d + 3 results (d + 1 per density, as hpbandster), else none', () => {
    const s = new KDESearcher(problem(), [1, 3, 9]);
    for (let id = 0; id < 12; id++) s.suggest(id);
    expect(s.modelLevel()).toBeUndefined();
    // d = 2: a model needs 5 results at its level
    for (let id = 0; id < 7; id++) observe(s, id, 1, id);
    for (let id = 0; id < 4; id++) observe(s, id, 3, id);
    // results at other resources (between rungs) are not model data
    for (let id = 0; id < 12; id++) observe(s, id, 2, id);
    expect(s.modelLevel()).toBe(1);
    observe(s, 4, 3, 4);
    expect(s.modelLevel()).toBe(3);
  });

  it('splits a level: the best max(d + 1, 15 %) are good, the next max(d + 1, 85 %) bad; bandwidths by the normal reference rule', () => {
    const s = new KDESearcher(problem(), [1, 3, 9]);
    for (let id = 0; id < 30; id++) s.suggest(id);
    // values in reverse order of id: ids 29, 28, ... are the best
    for (let id = 0; id < 30; id++) observe(s, id, 1, 100 - id);
    const { good, bad } = s.densities(1);
    // n = 30: good = max(3, 4) = 4, bad = max(3, 25) = 25 (one left out)
    expect(good.data).toHaveLength(4);
    expect(bad.data).toHaveLength(25);
    const xs = good.data.map((x) => x[0]);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    expect(good.bandwidths[0]).toBeCloseTo(Math.max(1e-3, 1.06 * sd * Math.pow(4, -1 / 6)), 12);
    // a categorical bandwidth never exceeds (c − 1)/c
    expect(good.bandwidths[1]).toBeLessThanOrEqual(0.5);
  });

  it('proposes from the good density: a separable problem is steered to its good corner, a third of proposals staying random', () => {
    const s = new KDESearcher(problem(3), [1, 3, 9]);
    let id = 0;
    const loss = (c: { x: number; act: string }) => c.x + (c.act === 'tanh' ? 0 : 1);
    for (; id < 40; id++) {
      const c = s.suggest(id) as { x: number; act: string };
      observe(s, id, 1, loss(c));
    }
    let good = 0;
    for (let k = 0; k < 60; k++, id++) {
      const c = s.suggest(id) as { x: number; act: string };
      if (c.act === 'tanh' && c.x < 0.3) good++;
      observe(s, id, 1, loss(c));
    }
    // random search lands there 15 % of the time; two thirds model proposals do far better
    expect(good).toBeGreaterThan(30);
  });
});

describe('BOHB method', () => {
  it('runs Hyperband with one bracket per rung level and the KDE searcher', async () => {
    const scheduler = await getMethod('BOHB').create({ configSpace: space, metric: 'loss', mode: 'min', resourceAttr: 'epoch', maxResource: 27, nWorkers: 4, rng: createRng(1) });
    const meta = scheduler.metadata();
    expect(meta).toMatchObject({ scheduler: 'hyperband', type: 'stopping', brackets: 3, rung_levels: [1, 3, 9], searcher: 'bohb-kde', randomFraction: 1 / 3, bandwidthFactor: 3, numCandidates: 64 });
  });
});

describe('synchronous Hyperband (the brackets BOHB and DEHB are compared against)', () => {
  it("has Hyperband's bracket table: R = 27, η = 3", async () => {
    const { hyperbandBrackets } = await import('../src/schedulers/sync-hyperband.js');
    const table = hyperbandBrackets([1, 3, 9, 27], 3).map((b) => b.map((r) => `${r.size}@${r.level}`).join(' '));
    expect(table).toEqual(['27@1 9@3 3@9 1@27', '12@3 4@9 1@27', '6@9 2@27', '4@27']);
  });

  it('waits for a whole rung, then resumes its best 1/η; the others stay paused; then the next bracket', async () => {
    const { SyncHyperbandScheduler } = await import('../src/schedulers/sync-hyperband.js');
    const { RandomSearcher } = await import('../src/schedulers/searchers/random.js');
    const p = problem(5);
    const s = new SyncHyperbandScheduler(p, new RandomSearcher(p), { maxT: 9 });
    // bracket 0: 9 configs at level 1, the best 3 to level 3, the best 1 to 9
    for (let id = 0; id < 9; id++) expect(s.suggest(id)).toHaveProperty('config');
    expect(s.suggest(9)).toBeUndefined();
    const r = (resource: number, loss: number) => ({ resource, metrics: { loss, epoch: resource } });
    const values = [5, 3, 8, 1, 7, 2, 9, 4, 6];
    for (let id = 0; id < 8; id++) {
      expect(s.onTrialResult(id, r(1, values[id]))).toBe('pause');
      expect(s.suggest(9)).toBeUndefined();
    }
    expect(s.onTrialResult(8, r(1, values[8]))).toBe('pause');
    expect([s.suggest(9), s.suggest(9), s.suggest(9), s.suggest(9)]).toEqual([{ resume: 3 }, { resume: 5 }, { resume: 1 }, undefined]);
    expect(s.onTrialResult(3, r(2, 0.9))).toBe('continue');
    expect(s.onTrialResult(3, r(3, 0.5))).toBe('pause');
    expect(s.onTrialResult(5, r(3, 0.4))).toBe('pause');
    s.onTrialError(1);
    expect([s.suggest(9), s.suggest(9)]).toEqual([{ resume: 5 }, undefined]);
    expect(s.onTrialResult(5, r(9, 0.1))).toBe('continue');
    // bracket 1: ⌈3/2 · 3⌉ = 5 new configs at level 3
    for (let id = 9; id < 14; id++) expect(s.suggest(id)).toHaveProperty('config');
    expect(s.suggest(14)).toBeUndefined();
  });
});
