import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ParetoTracker, hypervolumeCurve, type PointReport } from '../src/results/best.js';
import { Staircase2D } from '../src/results/staircase.js';
import { crowdingDistance, dominates, hypervolume, hypervolumeSetting, nonDominatedRanks, normalisedHypervolume, paretoFrontIndices, rankByFrontAndCrowding, signed } from '../src/results/pareto.js';
import { createRng } from '../src/util/rng.js';

interface FixtureSet {
  m: number;
  shape: string;
  points: number[][];
  reference: number[];
  hypervolume: number;
  ranks: number[];
  front: number[];
  crowding: (number | null)[];
}
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'pareto-optuna.json'), 'utf8')) as { optuna: string; sets: FixtureSet[] };

/** Hypervolume by inclusion–exclusion over all subsets (exact, exponential: small sets only). */
function bruteHypervolume(points: number[][], ref: number[]): number {
  const pts = points.filter((p) => p.every((v, k) => v < ref[k]));
  let total = 0;
  for (let mask = 1; mask < 1 << pts.length; mask++) {
    const chosen = pts.filter((_, i) => mask & (1 << i));
    const corner = ref.map((_, k) => Math.max(...chosen.map((p) => p[k])));
    const box = corner.reduce((acc, c, k) => acc * (ref[k] - c), 1);
    total += (chosen.length % 2 ? 1 : -1) * box;
  }
  return total;
}

describe('dominance and non-dominated sorting', () => {
  it('sorts a hand-made 2-D set into its fronts', () => {
    // front 0: (1,5) (2,3) (4,1); front 1: (3,4) (5,2); front 2: (5,5); (2,3) twice shares front 0
    const pts = [
      [3, 4],
      [1, 5],
      [5, 5],
      [2, 3],
      [4, 1],
      [5, 2],
      [2, 3],
    ];
    expect([...nonDominatedRanks(pts)]).toEqual([1, 0, 2, 0, 0, 1, 0]);
    expect(paretoFrontIndices(pts)).toEqual([1, 3, 4, 6]);
    expect(dominates([1, 1], [1, 2])).toBe(true);
    expect(dominates([1, 2], [1, 2])).toBe(false);
  });

  it('sorts a hand-made 3-D set', () => {
    const pts = [
      [1, 2, 3],
      [2, 1, 3],
      [2, 2, 3],
      [3, 3, 1],
      [3, 3, 2],
      [4, 4, 4],
    ];
    expect([...nonDominatedRanks(pts)]).toEqual([0, 0, 1, 0, 1, 2]);
  });

  it('gives crowding distances as NSGA-II: extremes infinite, interior the normalised neighbour gaps', () => {
    const d = crowdingDistance([
      [0, 4],
      [1, 2],
      [2, 1],
      [4, 0],
    ]);
    expect(d[0]).toBe(Infinity);
    expect(d[3]).toBe(Infinity);
    // (2 − 0)/4 + (4 − 1)/4 and (4 − 1)/4 + (2 − 0)/4
    expect(d[1]).toBeCloseTo(1.25, 12);
    expect(d[2]).toBeCloseTo(1.25, 12);
    expect(rankByFrontAndCrowding([[2, 2], [0, 4], [1, 2], [2, 1], [4, 0]]).slice(0, 2)).toEqual([1, 4]);
  });

  it('signs maximised objectives so that smaller is better', () => {
    expect(signed([{ metric: 'bleu', mode: 'max' }, { metric: 't', mode: 'min' }], { bleu: 20, t: 3 })).toEqual([-20, 3]);
    expect(signed([{ metric: 'bleu', mode: 'max' }], {})[0]).toBeNaN();
  });
});

describe('hypervolume', () => {
  it('is exact on hand-computed 2-D and 3-D fronts', () => {
    // staircase (1,3) (2,2) (3,1) under (4,4): 3 + 2 + 1 = 6 unit squares
    expect(hypervolume([[1, 3], [2, 2], [3, 1]], [4, 4])).toBe(6);
    // a dominated point and one outside the box add nothing
    expect(hypervolume([[1, 3], [2, 2], [3, 1], [3, 3], [5, 0]], [4, 4])).toBe(6);
    // one point in 3-D is a box; two overlapping boxes: 2·2·2 + 1·2·3 − their overlap 1·2·2
    expect(hypervolume([[0, 0, 0]], [2, 2, 2])).toBe(8);
    expect(hypervolume([[0, 0, 1], [1, 0, 0]], [2, 2, 3])).toBe(10);
    expect(hypervolume([], [1, 1])).toBe(0);
  });

  it('agrees with inclusion–exclusion on small random 3-D sets (ties included)', () => {
    const rng = createRng(5);
    for (let trial = 0; trial < 50; trial++) {
      const n = 1 + Math.floor(rng.next() * 9);
      const pts = Array.from({ length: n }, () => [0, 1, 2].map(() => Math.floor(rng.next() * 5)));
      expect(hypervolume(pts, [5, 5, 5])).toBeCloseTo(bruteHypervolume(pts, [5, 5, 5]), 9);
    }
  });

  it(`agrees with Optuna ${fixture.optuna} (WFG) on random 2- and 3-D sets, as do the fronts and crowding distances`, () => {
    expect(fixture.sets.length).toBe(16);
    for (const s of fixture.sets) {
      expect(hypervolume(s.points, s.reference)).toBeCloseTo(s.hypervolume, 9);
      expect([...nonDominatedRanks(s.points)]).toEqual(s.ranks);
      expect(paretoFrontIndices(s.points)).toEqual(s.front);
      if (s.front.length < 2) continue;
      const d = crowdingDistance(s.front.map((i) => s.points[i]));
      s.crowding.forEach((c, j) => (c === null ? expect(d[j]).toBe(Infinity) : expect(d[j]).toBeCloseTo(c, 9)));
    }
  });

  it('normalises signed points by fixed bounds, with the reference at 1.1', () => {
    // bleu maximised in [10, 30] → signed [−30, −10]; time minimised in [0, 100]
    const setting = hypervolumeSetting([-30, 0], [-10, 100]);
    // (bleu 30, time 100) is (0, 1) normalised: 1.1 × 0.1
    expect(normalisedHypervolume([[-30, 100]], setting)).toBeCloseTo(0.11, 12);
  });
});

describe('the Pareto front of a run (src/results/best.ts)', () => {
  const rep = (trialId: number, point: number[], order: number, feasible = true): PointReport<number> => ({ trialId, point, feasible, order, item: order });

  it("under 'last' follows each trial's last report, and a front member that gets worse uncovers what it hid", () => {
    const t = new ParetoTracker<number>('last');
    t.add(rep(0, [1, 1], 0));
    t.add(rep(1, [2, 2], 1));
    t.add(rep(2, [0, 3], 2));
    expect(t.front().map((r) => r.trialId)).toEqual([0, 2]);
    t.add(rep(0, [3, 3], 3));
    expect(t.front().map((r) => r.trialId)).toEqual([1, 2]);
    t.fail(1);
    // (0, 3) dominates trial 0's (3, 3)
    expect(t.front().map((r) => r.trialId)).toEqual([2]);
    // infeasible and NaN points never count; an equal point later keeps the earlier one
    t.add(rep(3, [-1, -1], 4, false));
    t.add(rep(4, [NaN, 0], 5));
    t.add(rep(5, [0, 3], 6));
    expect(t.front().map((r) => r.trialId)).toEqual([2]);
  });

  it("under 'any' keeps every report of a trial that is non-dominated", () => {
    const t = new ParetoTracker<number>('any');
    t.add(rep(0, [3, 1], 0));
    t.add(rep(0, [1, 3], 1));
    t.add(rep(1, [2, 2], 2));
    expect(t.front().map((r) => r.order)).toEqual([0, 1, 2]);
    t.add(rep(0, [0, 0], 3));
    expect(t.front().map((r) => r.order)).toEqual([3]);
  });

  it('gives the hypervolume over time, rising under any', () => {
    const setting = hypervolumeSetting([0, 0], [1, 1], 1);
    const reports = [rep(0, [0.5, 0.5], 0), rep(1, [0.8, 0.8], 1), rep(2, [0, 0.75], 2), rep(3, [0.1, 0.1], 3)].map((r, i) => ({ ...r, time: 10 * i }));
    const curve = hypervolumeCurve(reports, new Set(), 'any', setting);
    expect([...curve.times]).toEqual([0, 20, 30]);
    expect(curve.values.length).toBe(3);
    // (0.1, 0.1) adds 0.81 of the box, (0, 0.75) the strip 0.1 × 0.25 beside it
    [0.25, 0.375, 0.835].forEach((v, i) => expect(curve.values[i]).toBeCloseTo(v, 12));
    // a failed trial's reports are left out
    expect([...hypervolumeCurve(reports, new Set([3]), 'any', setting).values]).toEqual([0.25, 0.375]);
  });

  it('keeps the hypervolume over time without recomputing it: equal at every report to the whole front\'s, 2-D and 3-D, under last and any', () => {
    const rng = createRng(27);
    // values on a coarse grid so that equal coordinates, equal points and points outside the reference occur
    const v = () => Math.floor(rng.next() * 12) / 10;
    for (const m of [2, 3]) {
      const setting = hypervolumeSetting(new Array(m).fill(0), new Array(m).fill(1));
      for (const rule of ['last', 'any'] as const) {
        for (let trial = 0; trial < 10; trial++) {
          const reports = Array.from({ length: 60 }, (_, i) => ({ ...rep(Math.floor(rng.next() * 15), Array.from({ length: m }, v), i, rng.next() > 0.1), time: i }));
          const curve = hypervolumeCurve(reports, new Set(), rule, setting);
          // the reference: the front's whole hypervolume after each report, kept where it changes
          const t = new ParetoTracker<number>(rule);
          const expected: number[] = [];
          for (const r of reports) {
            t.add(r);
            const hv = normalisedHypervolume(t.front().map((f) => f.point), setting);
            if (expected.length === 0 || Math.abs(hv - expected[expected.length - 1]) > 1e-12) expected.push(hv);
          }
          const got = [...curve.values].filter((x, i, a) => i === 0 || Math.abs(x - a[i - 1]) > 1e-12);
          expect(got.length).toBe(expected.length);
          got.forEach((x, i) => expect(x).toBeCloseTo(expected[i], 12));
        }
      }
    }
  });
});

describe('Staircase2D (src/results/staircase.ts)', () => {
  it('adds each point\'s exclusive contribution: by hand, then against the sweep on random sequences', () => {
    const s = new Staircase2D(4, 4);
    expect(s.add(2, 2)).toBe(4);
    // dominated, equal, outside the reference: nothing
    expect(s.add(3, 3)).toBe(0);
    expect(s.add(2, 2)).toBe(0);
    expect(s.add(1, 5)).toBe(0);
    // (1, 3) adds the strip [1, 2] × [3, 4]; (2, 1) the strip [2, 4] × [1, 2] and drops (2, 2)
    expect(s.add(1, 3)).toBe(1);
    expect(s.add(2, 1)).toBe(2);
    expect(s.size).toBe(2);
    // (0, 0) dominates both: the whole box less what they held
    expect(s.add(0, 0)).toBe(16 - 7);
    expect(s.size).toBe(1);
    const rng = createRng(3);
    for (let trial = 0; trial < 50; trial++) {
      const st = new Staircase2D(1, 1);
      const pts: number[][] = [];
      for (let i = 0; i < 40; i++) {
        const p = [Math.floor(rng.next() * 11) / 10, Math.floor(rng.next() * 11) / 10];
        const before = hypervolume(pts, [1, 1]);
        pts.push(p);
        expect(st.add(p[0], p[1])).toBeCloseTo(hypervolume(pts, [1, 1]) - before, 12);
        expect(st.volume).toBeCloseTo(hypervolume(pts, [1, 1]), 12);
      }
    }
  });
});
