import { describe, expect, it } from 'vitest';
import { BestTracker, ParetoTracker, bestOfReports, bestRuleOf, curvePoints } from '../src/results/best.js';
import { createRng } from '../src/util/rng.js';

const rep = (trialId: number, value: number, order: number, feasible = true) => ({ trialId, value, feasible, order, item: order });

describe('the best of a run (src/results/best.ts)', () => {
  // trial 0: 5, 9, 6 (max) — trial 1: 7, 8 — trial 2: 8 then infeasible 10
  const reports = [rep(0, 5, 0), rep(1, 7, 1), rep(0, 9, 2), rep(2, 8, 3), rep(0, 6, 4), rep(1, 8, 5), rep(2, 10, 6, false)];

  it('last: a trial is worth its last report; the best trial getting worse is noticed; an infeasible last report has no value', () => {
    const t = bestOfReports(reports, [], 'last', 'max');
    // trial 0 ends at 6, trial 1 at 8 (order 5), trial 2's last is infeasible
    expect(t.best()).toMatchObject({ trialId: 1, value: 8, order: 5 });
    expect([...t.values()].map(([id, r]) => [id, r.value])).toEqual([[0, 6], [1, 8], [2, 10]]);
  });

  it('any: a trial is worth its best feasible report; ties go to the earlier report', () => {
    expect(bestOfReports(reports, [], 'any', 'max').best()).toMatchObject({ trialId: 0, value: 9, order: 2 });
    expect(bestOfReports([rep(0, 3, 0), rep(1, 3, 1)], [], 'any', 'min').best()).toMatchObject({ trialId: 0 });
    expect(bestOfReports([rep(0, 4, 0), rep(1, 3, 1), rep(0, 3, 2)], [], 'last', 'min').best()).toMatchObject({ trialId: 1 });
  });

  it('a failed trial has no value, under either rule', () => {
    expect(bestOfReports(reports, [0], 'any', 'max').best()).toMatchObject({ trialId: 2, value: 8, order: 3 }); // before trial 1's 8
    expect(bestOfReports(reports, [1], 'last', 'max').best()).toMatchObject({ trialId: 0, value: 6 });
    const t = new BestTracker<number>('any', 'max');
    t.add(rep(0, 9, 0));
    t.fail(0);
    t.add(rep(0, 99, 1));
    expect(t.best()).toBeUndefined();
  });

  it("once per trial (a study's observations): the same best and front as the full trackers, holding only them", () => {
    for (let seed = 0; seed < 40; seed++) {
      const rng = createRng(seed).next;
      // values from a small set, so that ties and equal points come often; some infeasible, some missing, some trials failed
      const pick = () => (rng() < 0.05 ? NaN : Math.floor(rng() * 6));
      const trials = Array.from({ length: 60 }, (_, i) => ({ trialId: i, failed: rng() < 0.1, feasible: rng() > 0.15, value: pick(), point: [pick(), pick()] }));
      for (const rule of ['last', 'any'] as const) {
        for (const mode of ['min', 'max'] as const) {
          const [full, once] = [new BestTracker<number>(rule, mode), new BestTracker<number>(rule, mode, { oncePerTrial: true })];
          const [fullFront, onceFront] = [new ParetoTracker<number>(rule), new ParetoTracker<number>(rule, { oncePerTrial: true })];
          for (const [order, t] of trials.entries()) {
            for (const tracker of [full, once]) t.failed ? tracker.fail(t.trialId) : tracker.add({ ...t, order, item: order });
            for (const tracker of [fullFront, onceFront]) t.failed ? tracker.fail(t.trialId) : tracker.add({ ...t, order, item: order });
          }
          expect(once.best(), `seed ${seed} ${rule} ${mode}`).toEqual(full.best());
          expect(onceFront.front(), `seed ${seed} ${rule}`).toEqual(fullFront.front());
          expect(onceFront.values().size).toBe(0);
        }
      }
    }
  });

  it('a restored tracker continues as the uninterrupted one', () => {
    const whole = bestOfReports(reports, [], 'last', 'max');
    const first = bestOfReports(reports.slice(0, 4), [], 'last', 'max');
    const again = new BestTracker<number>('last', 'max');
    again.restore([...first.values().values()]);
    for (const r of reports.slice(4)) again.add(r);
    expect(again.best()).toEqual(whole.best());
  });

  it('the curve ends at the best: every report under any, each trial at its last report under last; failed trials left out', () => {
    const times = reports.map((r) => r.order * 10);
    const ids = reports.map((r) => r.trialId);
    const values = reports.map((r) => (r.feasible ? r.value : NaN));
    expect(Array.from(curvePoints(times, ids, values, 'last', new Set()).values)).toEqual([6, 8, NaN]);
    expect(Array.from(curvePoints(times, ids, values, 'last', new Set()).times)).toEqual([40, 50, 60]);
    expect(Array.from(curvePoints(times, ids, values, 'any', new Set([0])).values)).toEqual([7, 8, 8, NaN]);
  });

  it('the rule of a folder: its metadata, else last for an experiment file, any for a benchmark', () => {
    expect(bestRuleOf({ best: 'any', experiment: {} })).toBe('any');
    expect(bestRuleOf({ experiment: {} })).toBe('last');
    expect(bestRuleOf({ backend: 'simulator' })).toBe('any');
  });
});
