import { describe, expect, it } from 'vitest';
import { type Config, choice, lograndint, loguniform, ordinal, randint, uniform } from '../src/config-space/index.js';
import { GridSearcher, SeededPermutation, gridValues } from '../src/schedulers/searchers/grid.js';
import type { SearchProblem } from '../src/schedulers/types.js';
import { createRng } from '../src/util/rng.js';

const drain = (s: GridSearcher): Config[] => {
  const out: Config[] = [];
  for (let c = s.suggest(); c; c = s.suggest()) out.push(c);
  return out;
};
const key = (c: Config) => JSON.stringify(Object.entries(c).sort());

describe('grid values per domain', () => {
  it('take every finite value, and k points (log-spaced for log domains) of continuous ones', () => {
    expect(gridValues(choice(['a', 'b', 'c']), 5)).toEqual(['a', 'b', 'c']);
    expect(gridValues(ordinal([1, 2, 4, 8, 16, 32]), 3)).toEqual([1, 2, 4, 8, 16, 32]);
    expect(gridValues(uniform(0, 1), 5)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(gridValues(loguniform(1e-4, 1), 5)).toEqual([1e-4, 1e-3, 1e-2, 1e-1, 1]);
    // an integer range no wider than k: all of it; wider: rounded points
    expect(gridValues(randint(1, 4), 5)).toEqual([1, 2, 3, 4]);
    expect(gridValues(randint(0, 100), 5)).toEqual([0, 25, 50, 75, 100]);
    expect(gridValues(lograndint(1, 10000), 5)).toEqual([1, 10, 100, 1000, 10000]);
    // rounding collisions are dropped, not repeated
    expect(gridValues(lograndint(1, 7), 6)).toEqual([1, 2, 3, 5, 7]);
  });
});

describe('grid search', () => {
  const space = { opt: choice(['sgd', 'adam']), lr: loguniform(1e-3, 1e-1), layers: randint(1, 2), fixed: 7 };
  const problem = (seed: number, extra: Partial<SearchProblem> = {}): SearchProblem => ({ configSpace: space, metric: 'loss', mode: 'min', rng: createRng(seed), ...extra });

  it('enumerates the Cartesian product exactly once, then reports the space exhausted', () => {
    const got = drain(new GridSearcher(problem(1), { numPoints: 3 }));
    const expected: Config[] = [];
    for (const opt of ['sgd', 'adam']) for (const lr of [1e-3, 1e-2, 1e-1]) for (const layers of [1, 2]) expected.push({ opt, lr, layers, fixed: 7 });
    expect(got).toHaveLength(12);
    expect(new Set(got.map(key))).toEqual(new Set(expected.map(key)));
  });

  it('visits the grid in a seeded order: the same for one seed, another for another seed', () => {
    const a = drain(new GridSearcher(problem(1), { numPoints: 3 })).map(key);
    const b = drain(new GridSearcher(problem(1), { numPoints: 3 })).map(key);
    const c = drain(new GridSearcher(problem(2), { numPoints: 3 })).map(key);
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
    expect(new Set(c)).toEqual(new Set(a));
  });

  it('continues from a checkpoint where it stopped', () => {
    const s = new GridSearcher(problem(3), { numPoints: 3 });
    const first = [s.suggest(), s.suggest(), s.suggest()];
    const state = JSON.parse(JSON.stringify(s.state()));
    const rest = drain(s);
    const resumed = new GridSearcher(problem(99), { numPoints: 3 });
    resumed.restore(state);
    expect(drain(resumed)).toEqual(rest);
    expect(first.length + rest.length).toBe(12);
  });

  it('with a table, proposes each tabulated config once', () => {
    const table = [{ opt: 'sgd', lr: 0.005, layers: 1, fixed: 7 }, { opt: 'adam', lr: 0.05, layers: 2, fixed: 7 }, { opt: 'adam', lr: 0.002, layers: 1, fixed: 7 }];
    const got = drain(new GridSearcher(problem(4, { restrictTo: table })));
    expect(new Set(got.map(key))).toEqual(new Set(table.map(key)));
  });

  it('refuses a grid too large to index, naming its size', () => {
    const big = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`x${i}`, uniform(0, 1)]));
    expect(() => new GridSearcher({ configSpace: big, metric: 'loss', mode: 'min', rng: createRng(1) })).toThrow(/grid: 9\.0949\d*e\+27 points is too many/);
  });
});

describe('seeded permutation', () => {
  it('is a bijection of [0, n) for sizes around powers of two', () => {
    for (const n of [1, 2, 3, 7, 8, 9, 100, 1023, 1025]) {
      const p = new SeededPermutation(n, [11, 22, 33, 44]);
      const seen = new Set(Array.from({ length: n }, (_, i) => p.at(i)));
      expect(seen.size).toBe(n);
      expect(Math.max(...seen)).toBe(n - 1);
    }
  });
});
