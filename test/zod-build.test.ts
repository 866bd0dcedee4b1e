import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { experimentSchema } from '../src/experiment/schema.js';
import { ZOD_BUILDERS } from '../src/experiment/zod.js';

// the build's tree-shaken zod (scripts/bundle-zod.mjs), against zod itself, which tests running from source use
const dist = join(import.meta.dirname, '..', 'dist', 'src');
const built = async <T>(path: string): Promise<T> => (await import(pathToFileURL(join(dist, path)).href)) as T;

const good = { name: 'x', parameters: [{ name: 'x', type: 'double', bounds: { min: 0, max: 1 } }], metrics: [{ name: 'loss', objective: 'minimize' }], command: ['sh'], budget: { max_trials: 1 } };
const bad: unknown[] = [
  {},
  { ...good, name: '' },
  { ...good, parameters: [] },
  { ...good, parameters: [{ name: '1x', type: 'float', bounds: { min: 'a' } }] },
  { ...good, metrics: [{ name: 'loss', objective: 'min', strategy: 'best' }], extra: 1 },
  { ...good, budget: { max_trials: -1, max_wallclock_time: 0 }, parallel_bandwidth: 1.5 },
  { ...good, env: { A: { from_env: '' }, B: [1] }, random_seed: 2 ** 33 },
  { ...good, study: { recover: 'keep', buffer: -1 }, best: 'first', command: [] },
  { ...good, points_to_evaluate: [{ x: true }], resource: { name: 'epoch', max: 0 }, method_options: { reduction_factor: 1, typo: 2 } },
];

describe("the build's zod", () => {
  it('exports exactly the builders the schema is written with', () => {
    expect(Object.keys(createRequire(import.meta.url)(join(dist, 'vendor', 'zod.cjs'))).sort()).toEqual([...ZOD_BUILDERS].sort());
  });

  it('parses an experiment file to the same data, and a bad one to the same issues and messages, as zod', async () => {
    const { experimentSchema: builtSchema } = await built<typeof import('../src/experiment/schema.js')>('experiment/schema.js');
    expect(builtSchema.parse(good)).toEqual(experimentSchema.parse(good));
    for (const input of bad) {
      const ours = builtSchema.safeParse(input, { reportInput: true });
      const zods = experimentSchema.safeParse(input, { reportInput: true });
      expect(ours.success).toBe(false);
      expect(JSON.parse(JSON.stringify(ours.error!.issues))).toEqual(JSON.parse(JSON.stringify(zods.error!.issues)));
    }
    // the server's request schemas are generated from it with zod's own toJSONSchema (server/schemas.ts)
    expect(z.toJSONSchema(builtSchema, { target: 'draft-7', io: 'input' })).toEqual(z.toJSONSchema(experimentSchema, { target: 'draft-7', io: 'input' }));
  });
});
