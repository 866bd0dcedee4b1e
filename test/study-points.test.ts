import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../src/study/storage/open.js';
import { createStudy } from '../src/study/study.js';
import { tempDir } from './helpers.js';

/**
 * A shared study's points_to_evaluate: tried first, in order, each once across every worker of
 * every process (two Study objects on one store stand for two machines: each has its own cache).
 */
describe('points_to_evaluate in a shared study', () => {
  const points = [{ x: 0.11 }, { x: 0.52 }, { x: 0.93 }, { x: 0.34 }];
  for (const method of ['RS', 'BO', 'TPE', 'ASHA'] as const) {
    it(`${method}: the file's points are the study's first suggestions, in order, each once, over 2 processes × 3 workers`, async () => {
      const storage = join(tempDir(), 'studies.db');
      const definition = {
        name: `points-${method.toLowerCase()}`,
        parameters: [{ name: 'x', type: 'double', bounds: { min: 0, max: 1 } }],
        metrics: [{ name: 'loss', objective: 'minimize' }],
        method,
        budget: { max_trials: 12 },
        parallel_bandwidth: 6,
        random_seed: 3,
        points_to_evaluate: points,
        ...(method === 'ASHA' && { resource: { name: 'epoch', max: 3 } }),
      };
      const [a, b] = [await createStudy(definition, { storage }), await createStudy(definition, { storage, loadIfExists: true })];
      expect(b.id).toBe(a.id);
      try {
        const objective = async (config: Record<string, unknown>, trial: { report: (r: number, v: number) => Promise<unknown> }) => {
          await new Promise((r) => setTimeout(r, 5));
          const loss = ((config.x as number) - 0.3) ** 2;
          if (method === 'ASHA') for (const e of [1, 2, 3]) await trial.report(e, loss + 1 / e);
          return loss;
        };
        const [ra, rb] = await Promise.all([a.optimize(objective as never, { workers: 3 }), b.optimize(objective as never, { workers: 3 })]);
        expect(ra.observations + rb.observations).toBe(12);
      } finally {
        await a.close();
        await b.close();
      }
      const store = await openStore(storage);
      try {
        const suggestions = await store.listSuggestions(a.id);
        const xs = suggestions.map((s) => s.config.x);
        expect(xs.slice(0, points.length)).toEqual(points.map((p) => p.x));
        for (const p of points) expect(xs.filter((x) => x === p.x)).toHaveLength(1);
        expect((await store.listObservations(a.id)).length).toBe(12);
      } finally {
        await store.close();
      }
    }, 60_000);
  }
});
