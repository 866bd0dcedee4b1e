import { describe, expect, it } from 'vitest';
import { type Config, uniform } from '../src/config-space/index.js';
import { GPSearcher } from '../src/schedulers/searchers/gp-searcher.js';
import { RandomSearcher } from '../src/schedulers/searchers/random.js';
import type { SearchProblem } from '../src/schedulers/types.js';
import { createRng } from '../src/util/rng.js';

/** Two inputs (d = 2), rung levels 1, 3, 9 below maxT 27: the MOBSTER searcher as ASHA drives it. */
const problem = (seed: number): SearchProblem => ({ configSpace: { x1: uniform(0, 1), x2: uniform(0, 1) }, metric: 'loss', mode: 'min', rng: createRng(seed) });
const resource = { levels: [1, 3, 9], maxT: 27 };
const loss = (c: Config, r: number) => ((c.x1 as number) - 0.3) ** 2 + ((c.x2 as number) - 0.7) ** 2 + 1 / r;

describe('MOBSTER searcher: when the model takes over', () => {
  it('draws random configs while only the lowest rung has more than d results, then asks the model', () => {
    const mobster = new GPSearcher(problem(11), {}, resource);
    // the random stream the searcher draws from, replayed on its own
    const random = new RandomSearcher(problem(11));
    const configs: Config[] = [];
    // 12 trials reach rung 1 (12 > d results there, and the default 5 random configs long passed);
    // all but the first three are stopped there
    for (let id = 0; id < 12; id++) {
      const c = mobster.suggest(id)!;
      configs.push(c);
      mobster.onTrialResult(id, 1, loss(c, 1));
      if (id >= 3) mobster.onTrialIdle(id, 'stopped');
    }
    expect(configs).toEqual(Array.from({ length: 12 }, () => random.suggest()));
    // two trials continue to rung 3: still no more than d results above the lowest rung
    for (const id of [0, 1]) mobster.onTrialResult(id, 3, loss(configs[id], 3));
    expect(mobster.suggest(12)).toEqual(random.suggest());
    // a third: rung 3 has more than d results, EI is scored there and the model picks the next config
    mobster.onTrialResult(2, 3, loss(configs[2], 3));
    expect(mobster.suggest(13)).not.toEqual(random.suggest());
  });

  it('with a single level (grace period = max_t) the model takes over after the initial random configs, as in BO', () => {
    const mobster = new GPSearcher(problem(4), { numInitRandom: 3 }, { levels: [], maxT: 27 });
    const random = new RandomSearcher(problem(4));
    for (let id = 0; id < 3; id++) {
      const c = mobster.suggest(id)!;
      expect(c).toEqual(random.suggest());
      mobster.onTrialResult(id, 27, loss(c, 27));
      mobster.onTrialIdle(id, 'completed');
    }
    expect(mobster.suggest(3)).not.toEqual(random.suggest());
  });

  it('BO (no resource model) still takes over after numInitRandom configs', () => {
    const bo = new GPSearcher(problem(7), { numInitRandom: 3 });
    const random = new RandomSearcher(problem(7));
    for (let id = 0; id < 3; id++) {
      const c = bo.suggest(id)!;
      expect(c).toEqual(random.suggest());
      bo.onTrialResult(id, 1, loss(c, 1));
      bo.onTrialIdle(id, 'completed');
    }
    expect(bo.suggest(3)).not.toEqual(random.suggest());
  });
});
