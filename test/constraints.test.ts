import { describe, expect, it } from 'vitest';
import { type Config, uniform } from '../src/config-space/index.js';
import type { MethodArguments } from '../src/methods/registry.js';
import { bayesOpt, mobster } from '../src/methods/gp.js';
import { hyperbandRandom } from '../src/methods/random.js';
import { type Constraint, isFeasible } from '../src/schedulers/constraints.js';
import { probabilityBelow } from '../src/schedulers/gp/acquisition.js';
import { GPSearcher } from '../src/schedulers/searchers/gp-searcher.js';
import type { TrialScheduler } from '../src/schedulers/types.js';
import { createRng } from '../src/util/rng.js';

// minimise f subject to g = 0.5 − x <= 0 (x >= 0.5): the unconstrained optimum x = 0.2 is infeasible,
// the constrained one is x = 0.5 with f = 0.09 (1-D), plus 0 from y = 0.5 (2-D)
const G: Constraint[] = [{ metric: 'g', mode: 'min', threshold: 0 }];
const space1 = { x: uniform(0, 1) };
const space2 = { x: uniform(0, 1), y: uniform(0, 1) };
const f = (c: Config) => ((c.x as number) - 0.2) ** 2 + (c.y === undefined ? 0 : ((c.y as number) - 0.5) ** 2);
const metrics = (c: Config) => ({ f: f(c), g: 0.5 - (c.x as number) });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function args(configSpace: MethodArguments['configSpace'], seed: number, constraints?: Constraint[], maxResource = 1): MethodArguments {
  return { configSpace, metric: 'f', mode: 'min', resourceAttr: 'epoch', maxResource, nWorkers: 1, rng: createRng(seed), constraints };
}

/** Sequential BO through the FIFO scheduler (which hands the searcher all metrics): the configs tried. */
function runBO(seed: number, constraints: Constraint[] | undefined, n: number): Config[] {
  const scheduler = bayesOpt(args(space1, seed, constraints));
  const configs: Config[] = [];
  for (let i = 0; i < n; i++) {
    const s = scheduler.suggest(i);
    if (!s || !('config' in s)) throw new Error('no config');
    scheduler.onTrialResult(i, { resource: 1, metrics: metrics(s.config) });
    scheduler.onTrialComplete(i);
    configs.push(s.config);
  }
  return configs;
}

const bestFeasible = (configs: Config[]) => Math.min(...configs.filter((c) => isFeasible(metrics(c), G)).map(f));

describe('constrained expected improvement (BO)', () => {
  it('P(feasible) is the normal probability of a slack <= the bound', () => {
    expect(probabilityBelow(0, 1, 0)).toBeCloseTo(0.5, 7);
    expect(probabilityBelow(1, 0.25, 0)).toBeCloseTo(0.02275, 4);
    expect(probabilityBelow(-1, 4, 0)).toBeCloseTo(0.69146, 4);
  });

  it('finds the constrained optimum and samples the feasible region, where unconstrained BO does not (5 seeds, 20 evaluations)', () => {
    const seeds = [0, 1, 2, 3, 4];
    const constrained = seeds.map((s) => runBO(s, G, 20));
    const unconstrained = seeds.map((s) => runBO(s, undefined, 20));
    const bestC = constrained.map(bestFeasible);
    const bestU = unconstrained.map(bestFeasible);
    // f(0.5) = 0.09: within 0.005 means x within about 0.008 of the boundary
    expect(median(bestC)).toBeGreaterThanOrEqual(0.09);
    expect(median(bestC)).toBeLessThan(0.095);
    for (const b of bestC) expect(b).toBeLessThan(0.1);
    expect(median(bestU)).toBeGreaterThan(0.095 + 0.005);
    bestC.forEach((b, i) => expect(b).toBeLessThan(bestU[i]));
    // after the 5 random configs and 5 model steps: most suggestions feasible, nearly all at most 0.02 short
    // of the boundary (the optimum lies on it); unconstrained BO stays at its infeasible optimum
    const late = (runs: Config[][]) => runs.flatMap((cs) => cs.slice(10).map((c) => c.x as number));
    const lateC = late(constrained);
    expect(lateC.filter((x) => x >= 0.5).length / lateC.length).toBeGreaterThan(0.6);
    expect(lateC.filter((x) => x >= 0.48).length / lateC.length).toBeGreaterThanOrEqual(0.9);
    expect(late(unconstrained).filter((x) => x >= 0.5)).toHaveLength(0);
  });

  it('before any feasible result, suggests by P(feasible) alone: beyond the observed (infeasible) x, whatever the objective', () => {
    // five infeasible starting points x <= 0.3; the constraint GP sees the slack fall as x grows
    const points = [0.05, 0.1, 0.15, 0.25, 0.3].map((x, i) => ({ x, y: [0.2, 0.8, 0.5, 0.3, 0.6][i] }));
    const objectives = [f, (c: Config) => -f(c)];
    for (const seed of [0, 1, 2]) {
      const next = (constraints: Constraint[] | undefined, objective: (c: Config) => number) => {
        const s = new GPSearcher({ configSpace: space2, metric: 'f', mode: 'min', rng: createRng(seed), pointsToEvaluate: points, constraints });
        for (let i = 0; i < points.length; i++) {
          const c = s.suggest(i)!;
          s.onTrialResult(i, 1, objective(c), { ...metrics(c), f: objective(c) });
          s.onTrialIdle(i);
        }
        return s.suggest(points.length)!;
      };
      const [a, b] = objectives.map((o) => next(G, o));
      // the random stream does not depend on the objective's values here, so only an acquisition that
      // ignores the objective gives the same config for f and −f
      expect(b).toEqual(a);
      expect(a.x as number).toBeGreaterThan(0.5);
      const [ua, ub] = objectives.map((o) => next(undefined, o));
      expect(ub).not.toEqual(ua);
      expect(ua.x as number).toBeLessThan(a.x as number);
    }
  });

  it('a missing or NaN constraint metric counts as infeasible in the constraint model', () => {
    // g is unknown exactly where f is low (x <= 0.3) and known, and satisfied, only at x = 0.9: modelled as
    // infeasible, the unknown region is left for the known-feasible side
    const points = [0.1, 0.2, 0.3, 0.25, 0.9].map((x) => ({ x }));
    for (const seed of [0, 1, 2]) {
      const s = new GPSearcher({ configSpace: space1, metric: 'f', mode: 'min', rng: createRng(seed), constraints: G, pointsToEvaluate: points });
      for (let i = 0; i < points.length; i++) {
        const c = s.suggest(i)!;
        s.onTrialResult(i, 1, f(c), (c.x as number) > 0.5 ? metrics(c) : i % 2 ? { f: f(c) } : { f: f(c), g: NaN });
        s.onTrialIdle(i);
      }
      expect(s.suggest(points.length)!.x as number).toBeGreaterThan(0.4);
    }
  });
});

/** MOBSTER (ASHA stopping, maxT 9) with one more trial always pending: the configs it started. */
function runMobster(seed: number, constraints: Constraint[] | undefined, n: number): Config[] {
  const scheduler = mobster(args(space2, seed, constraints, 9), { type: 'stopping' });
  const curve = (c: Config, r: number) => ({ ...metrics(c), f: f(c) + 0.3 / r, epoch: r });
  const start = (id: number) => {
    const s = scheduler.suggest(id);
    if (!s || !('config' in s)) throw new Error('no config');
    return s.config;
  };
  const configs = [start(0)];
  for (let id = 1; id < n; id++) {
    configs.push(start(id));
    // the previous trial runs while this one is pending
    for (let r = 1; r <= 9; r++) if (scheduler.onTrialResult(id - 1, { resource: r, metrics: curve(configs[id - 1], r) }) === 'stop') break;
    scheduler.onTrialComplete(id - 1);
  }
  return configs;
}

describe('constrained MOBSTER', () => {
  it('runs, and after its first configs nearly only proposes feasible ones (unconstrained: few)', () => {
    for (const seed of [0, 1, 2]) {
      const feasibleShare = (configs: Config[]) => configs.slice(20).filter((c) => isFeasible(metrics(c), G)).length / (configs.length - 20);
      expect(feasibleShare(runMobster(seed, G, 50))).toBeGreaterThanOrEqual(0.9);
      // unconstrained, MOBSTER drifts to the feasible region only slowly (its configs stay random
      // until a rung above the lowest has more than d results, the small-budget rule)
      expect(feasibleShare(runMobster(seed, undefined, 50))).toBeLessThan(0.5);
    }
  });

  it('ASHA with random configs ignores constraints: same configs and decisions', () => {
    const trace = (constraints: Constraint[] | undefined) => {
      const scheduler = hyperbandRandom(args(space2, 4, constraints, 9), { type: 'stopping' });
      const out: unknown[] = [];
      for (let id = 0; id < 30; id++) {
        const s = scheduler.suggest(id) as { config: Config };
        out.push(s.config);
        for (let r = 1; r <= 9; r++) {
          const d = scheduler.onTrialResult(id, { resource: r, metrics: { ...metrics(s.config), f: f(s.config) + 1 / r } });
          out.push(d);
          if (d === 'stop') break;
        }
      }
      return out;
    };
    expect(trace(G)).toEqual(trace(undefined));
  });
});

describe('constraints in metadata and checkpoints', () => {
  it('metadata names the constraints and the acquisition', () => {
    expect(bayesOpt(args(space1, 0, G)).metadata()).toMatchObject({
      searcher: 'bayesopt-gp',
      acquisition: 'constrained-expected-improvement',
      constraints: [{ metric: 'g', mode: 'min', threshold: 0 }],
    });
    const plain = bayesOpt(args(space1, 0)).metadata();
    expect(plain).toMatchObject({ acquisition: 'expected-improvement' });
    expect(plain).not.toHaveProperty('constraints');
  });

  // a few results lack g (NaN: null in JSON) and two trials are pending when the state is taken
  const result = (i: number, c: Config) => ({ resource: 1, metrics: i % 4 === 3 ? { f: f(c), g: NaN } : metrics(c) });

  it('state() and restore() continue BO exactly (constraint values and their GPs included)', () => {
    const a = bayesOpt(args(space2, 5, G));
    const drive = (s: TrialScheduler, id: number) => (s.suggest(id) as { config: Config }).config;
    for (let i = 0; i < 12; i++) {
      const c = drive(a, i);
      if (i < 10) {
        a.onTrialResult(i, result(i, c));
        a.onTrialComplete(i);
      }
    }
    const b = bayesOpt(args(space2, 99, G));
    b.restore(JSON.parse(JSON.stringify(a.state())));
    for (let i = 12; i < 18; i++) {
      const ca = drive(a, i);
      expect(drive(b, i)).toEqual(ca);
      for (const s of [a, b]) {
        s.onTrialResult(i, result(i, ca));
        s.onTrialComplete(i);
      }
    }
  });

  it('state() and restore() continue constrained MOBSTER exactly', () => {
    const make = (seed: number) => mobster(args(space2, seed, G, 9), { type: 'stopping' });
    const step = (s: TrialScheduler, id: number, c: Config) => {
      for (let r = 1; r <= 9; r++) if (s.onTrialResult(id, { resource: r, metrics: { ...result(id, c).metrics, f: f(c) + 0.3 / r } }) === 'stop') break;
      s.onTrialComplete(id);
    };
    const config = (s: TrialScheduler, id: number) => (s.suggest(id) as { config: Config }).config;
    const a = make(6);
    for (let i = 0; i < 25; i++) step(a, i, config(a, i));
    // trial 25 is pending when the state is taken
    let pending = config(a, 25);
    const b = make(98);
    b.restore(JSON.parse(JSON.stringify(a.state())));
    for (let i = 26; i < 36; i++) {
      const ca = config(a, i);
      expect(config(b, i)).toEqual(ca);
      // the previous trial runs while this one is pending
      for (const s of [a, b]) step(s, i - 1, pending);
      pending = ca;
    }
  });
});
