import { describe, expect, it } from 'vitest';
import { type Config, choice, uniform } from '../src/config-space/index.js';
import { REASearcher } from '../src/schedulers/searchers/rea.js';
import type { SearchProblem } from '../src/schedulers/types.js';
import { type Rng, createRng } from '../src/util/rng.js';

/** An Rng that replays scripted uniforms (then a seeded stream), so a tournament's draws are known. */
function scripted(values: number[]): Rng {
  const rest = createRng(1);
  return { next: () => (values.length > 0 ? values.shift()! : rest.next()), state: () => rest.state(), setState: (s) => rest.setState(s) };
}

const space = { a: choice(['x', 'y', 'z']), b: choice([1, 2, 3, 4]), c: uniform(0, 1) };

/** A searcher whose population holds configs with values 5, 3, 8, 1, 7 (oldest first), by trial ids 0..4. */
function populated(rng: Rng, mode: 'min' | 'max' = 'min') {
  const problem: SearchProblem = { configSpace: space, metric: 'loss', mode, rng: createRng(9), pointsToEvaluate: [0, 1, 2, 3, 4].map((i) => ({ a: 'x', b: i < 4 ? i + 1 : 1, c: i / 10 })) };
  const s = new REASearcher(problem, { populationSize: 5, sampleSize: 3 });
  const values = [5, 3, 8, 1, 7];
  values.forEach((v, id) => {
    s.suggest(id);
    s.onTrialResult(id, 1, v);
    s.onTrialIdle(id, 'completed');
  });
  // from here on, draws come from the scripted stream
  (problem as { rng: Rng }).rng = rng;
  return { s, problem };
}

describe('regularized evolution', () => {
  it('fills the population with random configs first, then runs a tournament: the best of sampleSize draws with replacement', () => {
    // draws pick members 0 (5), 2 (8), 0 (5): parent is member 0 although member 3 (value 1) is better
    const { s } = populated(scripted([0.05, 0.45, 0.1]));
    expect(s.tournament().config).toEqual({ a: 'x', b: 1, c: 0 });
    // draws 4 (7), 1 (3), 3 (1): the best drawn, member 3
    const { s: s2 } = populated(scripted([0.9, 0.3, 0.7]));
    expect(s2.tournament().config).toEqual({ a: 'x', b: 4, c: 0.3 });
  });

  it('maximises when the mode is max', () => {
    const { s } = populated(scripted([0.9, 0.3, 0.7]), 'max');
    expect(s.tournament().config).toEqual({ a: 'x', b: 1, c: 0.4 });
  });

  it('mutates exactly one hyperparameter, to another value of a finite domain', () => {
    const parent: Config = { a: 'x', b: 2, c: 0.5 };
    // hyperparameter draw 0.5 → b (index 1 of 3); value draw 0.0 → the first other value, 1
    const { s } = populated(scripted([0.5, 0.0]));
    expect(s.mutate(parent)).toEqual({ a: 'x', b: 1, c: 0.5 });
    const { s: s2 } = populated(createRng(4));
    for (let i = 0; i < 200; i++) {
      const child = s2.mutate(parent);
      const changed = Object.keys(parent).filter((k) => child[k] !== parent[k]);
      expect(changed).toHaveLength(1);
    }
  });

  it('ages: a completed trial joins, the oldest member dies whatever its value', () => {
    const { s } = populated(createRng(3));
    expect(s.members.map((m) => m.value)).toEqual([5, 3, 8, 1, 7]);
    const child = s.suggest(5)!;
    expect(child).toBeDefined();
    s.onTrialResult(5, 1, 2);
    s.onTrialIdle(5, 'completed');
    expect(s.members.map((m) => m.value)).toEqual([3, 8, 1, 7, 2]);
    // the best member (1) dies too once it is the oldest
    for (const [id, v] of [[6, 9], [7, 9], [8, 9]] as const) {
      s.suggest(id);
      s.onTrialResult(id, 1, v);
      s.onTrialIdle(id, 'completed');
    }
    expect(s.members.map((m) => m.value)).toEqual([7, 2, 9, 9, 9]);
    // a failed trial never joins
    s.suggest(9);
    s.onTrialIdle(9, 'failed');
    expect(s.members).toHaveLength(5);
  });

  it('with a table, proposes an unused row one hyperparameter away from the parent', () => {
    const table = [
      { a: 'x', b: 1, c: 0.5 },
      { a: 'y', b: 1, c: 0.5 },
      { a: 'y', b: 2, c: 0.25 },
      { a: 'z', b: 3, c: 0.75 },
    ];
    const problem: SearchProblem = { configSpace: space, metric: 'loss', mode: 'min', rng: createRng(2), restrictTo: table };
    const s = new REASearcher(problem, { populationSize: 1, sampleSize: 1 });
    const first = s.suggest(0)!;
    s.onTrialResult(0, 1, 1);
    s.onTrialIdle(0, 'completed');
    const next = s.suggest(1)!;
    const diff = Object.keys(first).filter((k) => next[k] !== first[k]);
    const hasNeighbour = table.some((c) => Object.keys(c).filter((k) => c[k as keyof typeof c] !== first[k]).length === 1);
    if (hasNeighbour) expect(diff).toHaveLength(1);
    expect(table).toContainEqual(next);
  });
});
