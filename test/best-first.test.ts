import { describe, expect, it } from 'vitest';
import { combinationsBestFirst } from '../src/util/best-first.js';
import { createRng } from '../src/util/rng.js';

const all = (scores: Float64Array[]) => [...combinationsBestFirst(scores)].map((at) => [...at]);

describe('combinations best first', () => {
  it('orders the combinations by their summed scores, ties by the index tuples (hand-computed)', () => {
    // sums: (0,0) 7, (1,0) 6, (0,1) 5, (2,0) 5, (1,1) 4, (2,1) 3
    expect(all([Float64Array.of(2, 1, 0), Float64Array.of(5, 3)])).toEqual([
      [0, 0],
      [1, 0],
      [0, 1],
      [2, 0],
      [1, 1],
      [2, 1],
    ]);
  });

  it('yields every combination exactly once, sums never increasing (against a brute-force sort)', () => {
    const rng = createRng(4);
    const scores = [4, 1, 3, 5].map((n) => Float64Array.from({ length: n }, () => Math.round(rng.next() * 6)).sort((a, b) => b - a));
    const got = all(scores);
    const sum = (at: number[]) => at.reduce((s, i, f) => s + scores[f][i], 0);
    expect(got).toHaveLength(4 * 1 * 3 * 5);
    expect(new Set(got.map((at) => at.join())).size).toBe(60);
    const brute: number[][] = [];
    for (let a = 0; a < 4; a++) for (let c = 0; c < 3; c++) for (let d = 0; d < 5; d++) brute.push([a, 0, c, d]);
    brute.sort((x, y) => sum(y) - sum(x) || x.join().localeCompare(y.join()));
    expect(got).toEqual(brute);
  });

  it('stops early at no cost for the rest, yields nothing for an empty list, and refuses a list not sorted best first', () => {
    const it = combinationsBestFirst([Float64Array.of(3, 2, 1), Float64Array.of(1, 0)]);
    expect([...it.next().value!]).toEqual([0, 0]);
    expect(all([Float64Array.of(1), new Float64Array(0)])).toEqual([]);
    expect(() => all([Float64Array.of(1, 2)])).toThrow(/sorted best first/);
  });
});
