import { describe, expect, it } from 'vitest';
import { type Config, choice, lograndint, loguniform, randint, uniform } from '../src/config-space/index.js';
import { ParzenEstimator, tpeGamma, tpeWeights } from '../src/schedulers/searchers/parzen.js';
import { TPESearcher, type TPESearcherOptions } from '../src/schedulers/searchers/tpe.js';
import type { SearchProblem } from '../src/schedulers/types.js';
import { createRng } from '../src/util/rng.js';

const settings = { priorWeight: 1, magicClip: true, multivariate: false };
const f64 = (...v: number[]) => Float64Array.from(v);

describe("Optuna's γ and weights", () => {
  it('γ(n) = min(ceil(0.1 n), 25)', () => {
    expect([1, 10, 11, 100, 249, 250, 251, 10_000].map(tpeGamma)).toEqual([1, 1, 2, 10, 25, 25, 25, 25]);
  });
  it('weights are flat for the newest 25 and ramp from 1/n for older ones', () => {
    expect([...tpeWeights(3)]).toEqual([1, 1, 1]);
    const w = tpeWeights(30);
    [1 / 30, 0.275, 0.5166666666666667, 0.7583333333333333, 1].forEach((v, i) => expect(w[i]).toBeCloseTo(v, 12));
    expect([...w.subarray(5)]).toEqual(Array(25).fill(1));
  });
});

describe('the Parzen estimator (hand-computed)', () => {
  it('continuous: neighbour bandwidths, the inner gap at the ends, the magic clip, truncation to the bounds', () => {
    // centres 0.2, 0.6 and the prior's 0.5: σ(0.2) = 0.5 − 0.2, σ(0.6) = 0.6 − 0.5 clipped up to 1/4, prior σ = 1
    const pe = new ParzenEstimator([{ kind: 'numeric', low: 0, high: 1, step: 0 }], [f64(0.2, 0.6)], f64(1, 1), settings);
    const k = pe.kernels[0] as { sigmas: Float64Array };
    expect([...k.sigmas].map((s) => Number(s.toFixed(12)))).toEqual([0.3, 0.25, 1]);
    const lp = pe.logPdf([f64(0.1, 0.4, 0.9)], 3);
    [-0.03952693045286026, 0.21111027381617012, -0.45243699961063105].forEach((v, i) => expect(lp[i]).toBeCloseTo(v, 6));
  });
  it('integer: the mass of each value over [low − ½, high + ½] sums to 1', () => {
    const pe = new ParzenEstimator([{ kind: 'numeric', low: 1, high: 5, step: 1 }], [f64(2, 4)], f64(1, 1), settings);
    const p = [...pe.logPdf([f64(1, 2, 3, 4, 5)], 5)].map(Math.exp);
    [0.1583557271300151, 0.22027337567395788, 0.242741794392054, 0.22027337567395786, 0.15835572713001517].forEach((v, i) => expect(p[i]).toBeCloseTo(v, 6));
  });
  it('categorical: prior weight / (n + 1) on every value plus 1 on the observed one', () => {
    const pe = new ParzenEstimator([{ kind: 'categorical', size: 3 }], [f64(0, 0, 2)], f64(1, 1, 1), settings);
    const p = [...pe.logPdf([f64(0, 1, 2)], 3)].map(Math.exp);
    [10 / 21, 4 / 21, 7 / 21].forEach((v, i) => expect(p[i]).toBeCloseTo(v, 12));
  });
  it('multivariate: one bandwidth 0.2 · n^(-1/(d+4)) · range per dimension', () => {
    const pe = new ParzenEstimator(
      [{ kind: 'numeric', low: 0, high: 1, step: 0 }, { kind: 'numeric', low: 0, high: 10, step: 1 }],
      [f64(0.1, 0.2, 0.3, 0.9), f64(1, 2, 3, 4)],
      f64(1, 1, 1, 1),
      { ...settings, multivariate: true },
    );
    const s = 0.2 * Math.pow(4, -1 / 6);
    // the magic clip floors at range / min(100, n + 2) = range / 6, above s
    expect((pe.kernels[0] as { sigmas: Float64Array }).sigmas[0]).toBeCloseTo(Math.max(s, 1 / 6), 12);
    expect((pe.kernels[1] as { sigmas: Float64Array }).sigmas[0]).toBeCloseTo(Math.max(11 * s, 11 / 6), 12);
  });
  it('samples land inside the bounds, on the step grid', () => {
    const pe = new ParzenEstimator([{ kind: 'numeric', low: 1, high: 5, step: 1 }], [f64(1, 5)], f64(1, 1), settings);
    const [x] = pe.sample(createRng(1), 500);
    expect([...new Set(x)].sort()).toEqual([1, 2, 3, 4, 5]);
  });
});

/** The searcher with the first trials' configs given (x by trial id), all suggested before any result. */
function seeded(xs: number[], options: TPESearcherOptions = {}) {
  const problem: SearchProblem = { configSpace: { x: uniform(0, 1) }, metric: 'loss', mode: 'min', rng: createRng(7), pointsToEvaluate: xs.map((x) => ({ x })) };
  const s = new TPESearcher(problem, { numStartupTrials: 10, ...options });
  xs.forEach((x, id) => expect(s.suggest(id)).toEqual({ x }));
  return s;
}
const xs = [0.45, 0.05, 0.85, 0.15, 0.65, 0.35, 0.95, 0.25, 0.75, 0.55, 0.5, 0.12];
const complete = (s: TPESearcher, ids: number[]) => ids.forEach((id) => (s.onTrialResult(id, 1, xs[id]), s.onTrialIdle(id, 'completed')));
const ids = (ts: { id: number }[]) => ts.map((t) => t.id);

describe('TPE searcher', () => {
  it('splits the γ(n) best observations from the rest, each in trial order; running trials join the bad group (constant liar)', () => {
    const s = seeded(xs);
    complete(s, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const { below, above } = s.split();
    expect(ids(below)).toEqual([1, 3]);
    expect(ids(above)).toEqual([0, 2, 4, 5, 6, 7, 8, 9, 10, 11]);
    const noLiar = seeded(xs, { constantLiar: false });
    complete(noLiar, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(ids(noLiar.split().above)).toEqual([0, 2, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('scores candidates by log l(x) − log g(x) (hand-computed), the liar lowering the score near a running trial', () => {
    const s = seeded(xs, { constantLiar: false });
    complete(s, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const score = (t: TPESearcher, x: number[]) => {
      const { below, above } = t.split();
      const l = t.estimator(below, [0]).logPdf([Float64Array.from(x)], x.length);
      const g = t.estimator(above, [0]).logPdf([Float64Array.from(x)], x.length);
      return x.map((_, i) => l[i] - g[i]);
    };
    const got = score(s, [0.1, 0.5, 0.9]);
    [1.990087480055057, -0.562261092244188, -1.0870419494020576].forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
    const liar = seeded(xs);
    complete(liar, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(score(liar, [0.1])[0]).toBeCloseTo(1.1161739170661797, 5);
    // the proposal: the best of 24 draws from l, in the good region
    const next = s.suggest(12)!.x as number;
    expect(next).toBeLessThan(0.3);
    expect(score(s, [next])[0]).toBeGreaterThan(0);
  });

  it('ranks a trial stopped early below every trial that reached a larger resource (ASHA-TPE), and a resumed trial is pending again', () => {
    const s = seeded(xs);
    // trial 1 (the best value) stopped at resource 1; the others reach 9
    for (const id of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) s.onTrialResult(id, id === 1 ? 1 : 9, xs[id]);
    for (const id of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) s.onTrialIdle(id, id === 1 ? 'stopped' : 'completed');
    expect(ids(s.split().below)).toEqual([3, 7]);
    s.onTrialResumed(3);
    // ten observations left: γ(10) = 1
    expect(ids(s.split().below)).toEqual([7]);
    expect(ids(s.split().above)).toContain(3);
  });

  it('handles log, integer and categorical domains: values legal, log ints rounded', () => {
    const space = { lr: loguniform(1e-5, 1), units: lograndint(1, 1024), layers: randint(1, 4), act: choice(['relu', 'tanh', 'elu']) };
    const rng = createRng(3);
    const s = new TPESearcher({ configSpace: space, metric: 'loss', mode: 'min', rng });
    for (let id = 0; id < 40; id++) {
      const c = s.suggest(id)!;
      expect(c.lr as number).toBeGreaterThanOrEqual(1e-5);
      expect(c.lr as number).toBeLessThanOrEqual(1);
      expect(Number.isInteger(c.units) && (c.units as number) >= 1 && (c.units as number) <= 1024).toBe(true);
      expect([1, 2, 3, 4]).toContain(c.layers);
      expect(['relu', 'tanh', 'elu']).toContain(c.act);
      // a loss that favours tanh and small lr: TPE should learn it
      s.onTrialResult(id, 1, Math.log10(c.lr as number) + (c.act === 'tanh' ? 0 : 5));
      s.onTrialIdle(id, 'completed');
    }
    const late: Config[] = [];
    for (let id = 40; id < 60; id++) late.push(s.suggest(id)!);
    expect(late.filter((c) => c.act === 'tanh').length).toBeGreaterThan(10);
  });

  it('continues identically from a checkpoint', () => {
    const run = (checkpointAt?: number) => {
      const rng = createRng(5);
      const problem: SearchProblem = { configSpace: { x: uniform(-5, 10), y: uniform(0, 15) }, metric: 'v', mode: 'min', rng };
      let s = new TPESearcher(problem, { multivariate: true });
      const out: Config[] = [];
      for (let id = 0; id < 30; id++) {
        if (id === checkpointAt) {
          const state = JSON.parse(JSON.stringify({ s: s.state(), rng: rng.state() }));
          s = new TPESearcher(problem, { multivariate: true });
          s.restore(state.s);
          rng.setState(state.rng);
        }
        const c = s.suggest(id)!;
        out.push(c);
        s.onTrialResult(id, 1, ((c.x as number) - 2) ** 2 + ((c.y as number) - 3) ** 2);
        s.onTrialIdle(id, 'completed');
      }
      return out;
    };
    expect(run(17)).toEqual(run());
  });

  it('in a finite space, proposes the best-scoring new combination when its favourite was proposed before (scores hand-computed per value)', () => {
    const a = ['p', 'q', 'r'];
    const b = ['u', 'v', 'w'];
    const s = new TPESearcher({ configSpace: { a: choice(a), b: choice(b) }, metric: 'loss', mode: 'min', rng: createRng(7) }, { numStartupTrials: 4, constantLiar: false });
    const observe = (id: number, config: Config, loss: number) => {
      s.adopt(id, config);
      s.onTrialResult(id, 1, loss);
      s.onTrialIdle(id, 'completed');
    };
    const seen: Config[] = [{ a: 'p', b: 'u' }, { a: 'q', b: 'v' }, { a: 'r', b: 'w' }, { a: 'p', b: 'v' }];
    seen.forEach((c, id) => observe(id, c, [0, 1, 2, 0.5][id]));
    // each value's log l − log g; γ(4) = 1: only (p, u) is good, so l favours p and u
    const { below, above } = s.split();
    const scores = [0, 1].map((d) => {
      const x = [Float64Array.of(0, 1, 2)];
      const l = s.estimator(below, [d]).logPdf(x, 3);
      const g = s.estimator(above, [d]).logPdf(x, 3);
      return [0, 1, 2].map((v) => l[v] - g[v]);
    });
    const favourite = { a: a[scores[0].indexOf(Math.max(...scores[0]))], b: b[scores[1].indexOf(Math.max(...scores[1]))] };
    expect(favourite).toEqual({ a: 'p', b: 'u' });
    const bestNew = () => {
      let best: Config | undefined;
      let bestScore = -Infinity;
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 3; j++)
          if (!seen.some((c) => c.a === a[i] && c.b === b[j]) && scores[0][i] + scores[1][j] > bestScore) {
            bestScore = scores[0][i] + scores[1][j];
            best = { a: a[i], b: b[j] };
          }
      return best;
    };
    // the favourite was proposed: the best new combination of the candidates (24 draws cover all 3 values of each), not a random config
    const first = s.suggest(4)!;
    expect(first).toEqual(bestNew());
    seen.push(first);
    // pending (no liar) and so proposed: the next best new one
    expect(s.suggest(5)).toEqual(bestNew());
  });

  it('with a table, proposes unused tabulated configs only', () => {
    const table = Array.from({ length: 30 }, (_, i) => ({ x: i / 29 }));
    const s = new TPESearcher({ configSpace: { x: uniform(0, 1) }, metric: 'loss', mode: 'min', rng: createRng(2), restrictTo: table });
    const seen = new Set<number>();
    for (let id = 0; id < 30; id++) {
      const c = s.suggest(id)!;
      expect(table.some((t) => t.x === c.x)).toBe(true);
      expect(seen.has(c.x as number)).toBe(false);
      seen.add(c.x as number);
      s.onTrialResult(id, 1, c.x as number);
      s.onTrialIdle(id, 'completed');
    }
    expect(s.suggest(30)).toBeUndefined();
  });
});

describe('TPE in a shared study', () => {
  it("treats every worker's open and ready suggestions as running trials (constant liar); hands out no config twice; improves on its random start", async () => {
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tempDir } = await import('./helpers.js');
    const { createStudy } = await import('../src/study/study.js');
    const root = tempDir();
    const file = join(root, 'tpe.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'tpe',
        parameters: [
          { name: 'x', type: 'double', bounds: { min: 0, max: 1 } },
          { name: 'k', type: 'int', bounds: { min: 1, max: 50 } },
        ],
        metrics: [{ name: 'loss', objective: 'minimize' }],
        command: ['/bin/true'],
        method: 'TPE',
        budget: { max_trials: 40 },
        parallel_bandwidth: 3,
        study: { buffer: 2, max_threshold: 2 },
      }),
    );
    const study = await createStudy(file, { storage: join(root, 'study.db') });
    const summary = await study.optimize(async (config) => (Number(config.x) - 0.3) ** 2 + Number(config.k) / 1000, { workers: 3 });
    expect(summary.observations).toBe(40);
    const suggestions = await study.store.listSuggestions(study.id);
    expect(suggestions.filter((s) => s.state === 'completed')).toHaveLength(40);
    expect(new Set(suggestions.map((s) => JSON.stringify(s.config))).size).toBe(suggestions.length);
    const values = (await study.store.listObservations(study.id)).sort((a, b) => a.suggestionId - b.suggestionId).map((o) => o.value!);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    // the model's proposals (after 10 random startup trials) beat the random ones
    expect(median(values.slice(20))).toBeLessThan(median(values.slice(0, 10)));
    await study.close();
  });
});
