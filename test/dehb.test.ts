import { describe, expect, it } from 'vitest';
import { choice, uniform } from '../src/config-space/index.js';
import { getMethod } from '../src/methods/registry.js';
import { DEHBSearcher, crossoverBin, mutateRand1 } from '../src/schedulers/searchers/dehb.js';
import type { SearchProblem } from '../src/schedulers/types.js';
import { type Rng, createRng } from '../src/util/rng.js';

function scripted(values: number[]): Rng {
  const rest = createRng(1);
  return { next: () => (values.length > 0 ? values.shift()! : rest.next()), state: () => rest.state(), setState: (s) => rest.setState(s) };
}
const f64 = (...v: number[]) => Float64Array.from(v);
const close = (a: ArrayLike<number>, b: number[]) => b.forEach((v, i) => expect(a[i]).toBeCloseTo(v, 12));

describe('differential evolution, rand/1/bin', () => {
  it('mutation: a + F (b − c), a coordinate leaving [0, 1] redrawn uniformly', () => {
    close(mutateRand1(f64(0.2, 0.5), f64(0.6, 0.9), f64(0.4, 0.1), 0.5, scripted([])), [0.3, 0.9]);
    // 0.9 + 0.5 · (1 − 0) = 1.4 is out of bounds: the next uniform (0.25) replaces it
    close(mutateRand1(f64(0.9, 0.1), f64(1, 0.3), f64(0, 0.1), 0.5, scripted([0.25])), [0.25, 0.2]);
  });

  it('crossover: each coordinate from the mutant with probability CR, one forced dimension always', () => {
    // forced dimension ⌊0.6 · 3⌋ = 1; draws 0.7 (target), 0.9 (forced: mutant), 0.2 (mutant)
    close(crossoverBin(f64(0.1, 0.2, 0.3), f64(0.7, 0.8, 0.9), 0.5, scripted([0.6, 0.7, 0.9, 0.2])), [0.7, 0.2, 0.3]);
  });
});

describe('DEHB searcher on a seeded population', () => {
  const space = { x: uniform(0, 1), y: uniform(0, 1), act: choice(['a', 'b']) };
  const problem = (): SearchProblem => ({ configSpace: space, metric: 'loss', mode: 'min', rng: createRng(11) });
  const loss = (c: Record<string, unknown>) => (c.x as number) + (c.y as number);

  it('sizes populations like the first bracket, fills the lowest level, then selects: a trial replaces its target only if better', () => {
    const s = new DEHBSearcher(problem(), [1, 3, 9], 3);
    expect(s.sizes).toEqual([9, 4, 4]);
    for (let id = 0; id < 9; id++) {
      const c = s.suggest(id, { level: 1 })!;
      s.onTrialResult(id, 1, loss(c));
    }
    expect(s.populations[0]).toHaveLength(9);
    const before = s.populations[0].map((m) => m.value);
    // trial 9's target is slot 0 (round robin): a worse result leaves it, a better one replaces it
    s.suggest(9, { level: 1 });
    s.onTrialResult(9, 1, before[0] + 10);
    expect(s.populations[0].map((m) => m.value)).toEqual(before);
    s.suggest(10, { level: 1 });
    s.onTrialResult(10, 1, -1);
    expect(s.populations[0][1].value).toBe(-1);
    expect(s.populations[0].filter((m, i) => i !== 1).map((m) => m.value)).toEqual(before.filter((_, i) => i !== 1));
  });

  it('passes the population up the rungs: the parents of a level are the best configs of the level below', () => {
    const s = new DEHBSearcher(problem(), [1, 3, 9], 3);
    for (let id = 0; id < 9; id++) s.onTrialResult(id, 1, loss(s.suggest(id, { level: 1 })!));
    const best4 = [...s.populations[0]].sort((a, b) => a.value - b.value).slice(0, 4);
    expect(s.parentPool(1)).toEqual(best4);
    expect(s.parentPool(0)).toBe(s.populations[0]);
    // a trial made for level 3 is a DE trial from that pool; its result at 3 joins level 3's population
    const c = s.suggest(20, { level: 3 })!;
    s.onTrialResult(20, 3, loss(c));
    expect(s.populations[1]).toHaveLength(1);
  });

  it('DEHB method: Hyperband brackets with the DE searcher', async () => {
    const scheduler = await getMethod('DEHB').create({ configSpace: space, metric: 'loss', mode: 'min', resourceAttr: 'epoch', maxResource: 27, nWorkers: 4, rng: createRng(1) });
    expect(scheduler.metadata()).toMatchObject({ brackets: 3, searcher: 'dehb', mutation_factor: 0.5, crossover_rate: 0.5, strategy: 'rand/1/bin', population_sizes: [27, 9, 4, 4] });
  });
});
