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
  it('runs Hyperband with one bracket per rung level and the KDE searcher', () => {
    const scheduler = getMethod('BOHB').create({ configSpace: space, metric: 'loss', mode: 'min', resourceAttr: 'epoch', maxResource: 27, nWorkers: 4, rng: createRng(1) });
    const meta = scheduler.metadata();
    expect(meta).toMatchObject({ scheduler: 'hyperband', type: 'stopping', brackets: 3, rung_levels: [1, 3, 9], searcher: 'bohb-kde', randomFraction: 1 / 3, bandwidthFactor: 3, numCandidates: 64 });
  });
});
