import { describe, expect, it } from 'vitest';
import { SimulatorBackend } from '../src/backends/simulator.js';
import type { Blackbox } from '../src/blackbox/types.js';
import { uniform, type Config } from '../src/config-space/index.js';
import { getBenchmark } from '../src/launchers/benchmarks/index.js';
import { getMethod } from '../src/methods/registry.js';
import { bayesOpt } from '../src/methods/gp.js';
import { randomSearch } from '../src/methods/random.js';
import { expectedImprovement, normalCdf } from '../src/schedulers/gp/acquisition.js';
import { GPSearcher, capObservations, capObservationsByLevel } from '../src/schedulers/searchers/gp-searcher.js';
import { Tuner } from '../src/tuner/tuner.js';
import { createRng } from '../src/util/rng.js';
import { stopAndResume } from './helpers.js';

const branin = (x1: number, x2: number) =>
  (x2 - (5.1 / (4 * Math.PI ** 2)) * x1 * x1 + (5 / Math.PI) * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x1) + 10;
const BRANIN_MIN = 0.397887;

/** Branin as a single-fidelity blackbox (one evaluation per trial, 10 s each). */
const braninBlackbox: Blackbox = {
  configSpace: { x1: uniform(-5, 10), x2: uniform(0, 15) },
  fidelityName: 'epoch',
  fidelityValues: [1],
  objectiveNames: ['value', 'elapsed_time'],
  elapsedTimeAttr: 'elapsed_time',
  numSeeds: 1,
  curve: (c: Config) => Float64Array.from([branin(c.x1 as number, c.x2 as number), 10]),
};

describe('expected improvement', () => {
  it('matches its formula and a numerical integral', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    for (const [mu, v, best] of [
      [0, 1, 0],
      [1, 0.25, 0.2],
      [-0.3, 2, 0.5],
    ]) {
      const s = Math.sqrt(v);
      let integral = 0;
      const h = 1e-3;
      for (let y = mu - 10 * s; y < best; y += h) integral += (best - y) * Math.exp(-0.5 * ((y - mu) / s) ** 2) / (s * Math.sqrt(2 * Math.PI)) * h;
      expect(expectedImprovement(mu, v, best)).toBeCloseTo(integral, 4);
    }
  });
});

describe('BO searcher', () => {
  const problem = (seed: number) => ({ configSpace: braninBlackbox.configSpace, metric: 'value', mode: 'min' as const, rng: createRng(seed) });

  function warmed(seed: number) {
    const p = problem(seed);
    const s = new GPSearcher(p);
    for (let i = 0; i < 10; i++) {
      const c = s.suggest(i)!;
      s.onTrialResult(i, 1, branin(c.x1 as number, c.x2 as number));
      s.onTrialIdle(i);
    }
    return s;
  }

  it('with 4 pending evaluations, 4 suggestions in a row are distinct and apart', () => {
    const s = warmed(1);
    const pending = [10, 11, 12, 13].map((id) => s.suggest(id)!);
    const keys = new Set(pending.map((c) => JSON.stringify(c)));
    expect(keys.size).toBe(4);
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < i; j++) {
        const d = Math.hypot(((pending[i].x1 as number) - (pending[j].x1 as number)) / 15, ((pending[i].x2 as number) - (pending[j].x2 as number)) / 15);
        expect(d).toBeGreaterThan(0.01);
      }
    }
  });

  it('the same seed gives identical suggestions; state() and restore() continue them', () => {
    const a = warmed(5);
    const b = warmed(5);
    const c = new GPSearcher(problem(99));
    c.restore(JSON.parse(JSON.stringify(a.state())));
    const rngState = (a as unknown as { problem: { rng: { state(): object } } }).problem.rng.state();
    (c as unknown as { problem: { rng: { setState(s: object): void } } }).problem.rng.setState(rngState);
    for (let i = 10; i < 14; i++) {
      const sa = a.suggest(i)!;
      expect(b.suggest(i)).toEqual(sa);
      expect(c.suggest(i)).toEqual(sa);
      for (const s of [a, b, c]) s.onTrialResult(i, 1, branin(sa.x1 as number, sa.x2 as number));
    }
  });

  it('finds the optimum of Branin far more reliably than random search (10 seeds, 40 evaluations)', async () => {
    const finals: Record<string, number[]> = { BO: [], RS: [] };
    for (let seed = 0; seed < 10; seed++) {
      for (const [name, make] of [
        ['BO', bayesOpt],
        ['RS', randomSearch],
      ] as const) {
        const args = { configSpace: braninBlackbox.configSpace, metric: 'value', mode: 'min' as const, resourceAttr: 'epoch', maxResource: 1, nWorkers: 2, rng: createRng(seed) };
        const tuner = new Tuner({ scheduler: make(args), backend: new SimulatorBackend(braninBlackbox, { seed }), nWorkers: 2, stopping: { maxNumTrialsStarted: 40 }, configNames: ['x1', 'x2'] });
        finals[name].push((await tuner.run()).best!.value - BRANIN_MIN);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[5];
    const wins = finals.BO.filter((r, i) => r < finals.RS[i]).length;
    expect(wins).toBeGreaterThanOrEqual(9);
    expect(median(finals.BO)).toBeLessThan(0.05);
    expect(median(finals.BO) * 10).toBeLessThan(median(finals.RS));
  });

  it('maximises as well: BO beats RS on −Branin in max mode', async () => {
    const negated: Blackbox = { ...braninBlackbox, curve: (c: Config) => Float64Array.from([-branin(c.x1 as number, c.x2 as number), 10]) };
    let wins = 0;
    for (let seed = 0; seed < 5; seed++) {
      const best: number[] = [];
      for (const make of [bayesOpt, randomSearch]) {
        const args = { configSpace: negated.configSpace, metric: 'value', mode: 'max' as const, resourceAttr: 'epoch', maxResource: 1, nWorkers: 2, rng: createRng(seed) };
        const tuner = new Tuner({ scheduler: make(args), backend: new SimulatorBackend(negated, { seed }), nWorkers: 2, stopping: { maxNumTrialsStarted: 30 }, configNames: ['x1', 'x2'] });
        best.push((await tuner.run()).best!.value);
      }
      if (best[0] > best[1]) wins++;
      expect(best[0]).toBeGreaterThan(-BRANIN_MIN - 0.5);
    }
    expect(wins).toBeGreaterThanOrEqual(4);
  });
});

describe('MOBSTER', () => {
  it('makes ASHA decisions with GP-chosen configs, and resumes identically', async () => {
    const spec = { tag: 'm', method: getMethod('MOBSTER'), benchmark: getBenchmark('synthetic-fcnet'), seed: 0, masterSeed: 3, maxWallclockTime: 300 };
    const { full, rows, resumed, resumedRows } = await stopAndResume(spec, 300);
    expect(full.metadata.status).toBe('completed');
    expect(full.metadata.scheduler).toMatchObject({ scheduler: 'hyperband', searcher: 'mobster-gp', type: 'stopping' });
    expect(rows.some((r) => r.st_decision === 'stop')).toBe(true);
    expect(resumedRows).toEqual(rows);
    // the counts of model and random configs are part of the checkpoint: the resumed run's equal the whole run's
    expect(full.metadata.suggestions).toEqual({ model: full.summary!.numTrials - 6, random: 6 });
    expect(resumed.metadata.suggestions).toEqual(full.metadata.suggestions);
  });
});

describe('the data cap', () => {
  const rng = createRng(5);
  // 300 results at the lowest rung, 20 at rung 3, 5 at rung 9, interleaved as they arrive
  const data = Array.from({ length: 325 }, (_, i) => ({ id: i, r: i % 13 === 0 ? 3 : i % 65 === 1 ? 9 : 1, y: Math.sin(i * 7.3) }));
  const ofLevel = (r: number) => data.filter((o) => o.r === r);

  it('keeps the best half and a random sample of the rest, in arrival order', () => {
    const kept = capObservations(ofLevel(1), 40, rng);
    expect(kept).toHaveLength(40);
    const sorted = [...ofLevel(1)].sort((a, b) => a.y - b.y);
    for (const o of sorted.slice(0, 20)) expect(kept).toContain(o);
    expect(kept.map((o) => o.id)).toEqual([...kept.map((o) => o.id)].sort((a, b) => a - b));
    expect(capObservations(ofLevel(9), 40, rng)).toEqual(ofLevel(9));
  });

  it('MOBSTER keeps every result of the higher rungs, and fills up with the best of the lowest', () => {
    expect(ofLevel(3)).toHaveLength(25);
    expect(ofLevel(9)).toHaveLength(5);
    const kept = capObservationsByLevel(data, 80, [1, 3, 9, 27], rng);
    expect(kept).toHaveLength(80);
    for (const o of [...ofLevel(9), ...ofLevel(3)]) expect(kept).toContain(o);
    const lowest = kept.filter((o) => o.r === 1);
    expect(lowest).toHaveLength(50);
    // the best 25 of the lowest rung are among them
    for (const o of [...ofLevel(1)].sort((a, b) => a.y - b.y).slice(0, 25)) expect(lowest).toContain(o);
    expect(kept.map((o) => o.id)).toEqual([...kept.map((o) => o.id)].sort((a, b) => a - b));
    // a tight cap takes the highest rung first
    expect(capObservationsByLevel(data, 5, [1, 3, 9, 27], rng)).toEqual(ofLevel(9));
  });
});
