import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { readMetadata } from '../src/results/metadata.js';
import { readRows, tempDir } from './helpers.js';
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
  it("Syne Tune's rule: numInitRandom random configs, then the model as soon as one result is in; EI at the highest rung with minModelPoints results, else the lowest", () => {
    const mobster = new GPSearcher(problem(11), { numInitRandom: 6 }, resource);
    // the random stream the searcher draws from, replayed on its own
    const random = new RandomSearcher(problem(11));
    const configs: Config[] = [];
    for (let id = 0; id < 6; id++) configs.push(mobster.suggest(id)!);
    expect(configs).toEqual(Array.from({ length: 6 }, () => random.suggest()));
    // six configs suggested but no result yet: nothing to fit, still random
    expect(mobster.suggest(6)).toEqual(random.suggest());
    expect(mobster.suggestionCounts()).toEqual({ model: 0, random: 7 });
    // one result at the lowest rung: the model takes over
    mobster.onTrialResult(0, 1, loss(configs[0], 1));
    expect(mobster.suggest(7)).not.toEqual(random.suggest());
    expect(mobster.suggestionCounts()).toEqual({ model: 1, random: 7 });
    expect(mobster.metadata()).toMatchObject({ searcher: 'mobster-gp', numInitRandom: 6, minModelPoints: 3 });
  });

  it('scores EI at the highest rung with minModelPoints results: a config good early but bad late loses once rung 3 has them', () => {
    // x1 < 0.5 looks best at rung 1 and worst at rung 3 (learning curves that cross)
    const crossing = (c: Config, r: number) => (r === 1 ? (c.x1 as number) : 1 - (c.x1 as number));
    const run = (minModelPoints: number) => {
      const s = new GPSearcher(problem(3), { numInitRandom: 6, minModelPoints }, resource);
      const cs: Config[] = [];
      for (let id = 0; id < 12; id++) {
        const c = s.suggest(id)!;
        cs.push(c);
        s.onTrialResult(id, 1, crossing(c, 1));
        s.onTrialIdle(id, 'stopped');
      }
      // three trials reach rung 3
      for (const id of [0, 1, 2]) s.onTrialResult(id, 3, crossing(cs[id], 3));
      return Array.from({ length: 6 }, (_, k) => s.suggest(12 + k)!.x1 as number);
    };
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    // at rung 3 (3 results there, the default) the model wants large x1; waiting for 4 keeps EI at rung 1: small x1
    expect(mean(run(3))).toBeGreaterThan(0.5);
    expect(mean(run(4))).toBeLessThan(0.5);
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

describe('MOBSTER in an experiment', () => {
  it("records in metadata.json where its configs came from; its 7th config, the model's first, differs from ASHA's 7th", async () => {
    const root = tempDir();
    const run = async (method: string) => {
      const { outcomes } = await hpoMain(
        { experimentTag: 'm', method: [method], benchmark: ['synthetic-fcnet'], randomSeed: 5, resultsRoot: root, maxWallclockTime: 300 },
        { log: () => {}, progress: false },
      );
      const { folder, summary } = outcomes[0];
      const configs = new Map<number, string>();
      for (const r of readRows(join(folder, 'results.csv.gz'))) {
        const id = r.trial_id as number;
        if (!configs.has(id)) configs.set(id, JSON.stringify(Object.entries(r).filter(([k]) => k.startsWith('config_'))));
      }
      return { configs: [...configs.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c), meta: readMetadata(folder), trials: summary!.numTrials };
    };
    const asha = await run('ASHA');
    const mobster = await run('MOBSTER');
    expect(mobster.meta.suggestions).toEqual({ model: mobster.trials - 6, random: 6 });
    expect(mobster.meta.suggestions!.model).toBeGreaterThan(50);
    expect(mobster.meta.scheduler).toMatchObject({ numInitRandom: 6, minModelPoints: 3 });
    expect(asha.meta.suggestions).toBeUndefined();
    // the same random stream up to the model's first config
    expect(mobster.configs.slice(0, 6)).toEqual(asha.configs.slice(0, 6));
    expect(mobster.configs[6]).not.toEqual(asha.configs[6]);
  });
});
