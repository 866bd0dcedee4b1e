import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { methodDefinitions } from '../src/methods/registry.js';
import { runFile, tempDir } from './helpers.js';

const quiet = { log: () => {}, progress: false };
const NEW_METHODS = ['GRID', 'TPE', 'ASHA-TPE', 'REA', 'BOHB', 'DEHB', 'SYNC-HYPERBAND'];

/** The same seed gives the same results file, bit for bit, on the simulator with 4 workers; another seed another. */
async function expectReproducible(method: string, benchmark: string, maxWallclockTime: number): Promise<void> {
  const run = async (randomSeed: number) => {
    const { outcomes } = await hpoMain({ experimentTag: 't', method: [method], benchmark: [benchmark], randomSeed, resultsRoot: tempDir(), maxWallclockTime, nWorkers: 4 }, quiet);
    expect(outcomes[0].metadata.status).toBe('completed');
    return readFileSync(join(outcomes[0].folder, 'results.csv.gz'));
  };
  const a = await run(7);
  expect(a.length).toBeGreaterThan(1000);
  expect((await run(7)).equals(a)).toBe(true);
  expect((await run(8)).equals(a)).toBe(false);
}

describe('the baselines of issue 26', () => {
  it('are registered (tunelab methods lists the registry)', () => {
    for (const m of NEW_METHODS) expect(methodDefinitions[m]).toBeDefined();
  });

  it.each(NEW_METHODS)('%s: the same seed gives a bit-identical results file on the simulator with 4 workers', (method) => expectReproducible(method, 'synthetic-fcnet', 600));

  // issue 27's methods for several objectives, on a benchmark with two
  it.each(['MO-RS', 'NSGA2', 'MO-ASHA', 'MO-BO', 'EHVI'])('%s: the same seed gives a bit-identical results file on the simulator with 4 workers (two objectives)', (method) =>
    expectReproducible(method, 'fcnet-cars-mo', method === 'MO-BO' || method === 'EHVI' ? 2 : 5),
  );

  it.each(['TPE', 'REA'])('%s runs a user experiment on the local backend with 2 trials at a time', (method) => {
    const dir = tempDir();
    // a quadratic in x with a categorical offset; one report per trial
    const script = "const c = JSON.parse(process.env.TUNELAB_CONFIG); console.log('[tunelab] ' + JSON.stringify({ loss: (c.x - 0.3) ** 2 + (c.kind === 'b' ? 0 : 1) }));";
    const file = join(dir, 'experiment.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'quadratic',
        parameters: [
          { name: 'x', type: 'double', bounds: { min: 0, max: 1 } },
          { name: 'kind', type: 'categorical', categorical_values: ['a', 'b'] },
        ],
        metrics: [{ name: 'loss', objective: 'minimize' }],
        command: [process.execPath, '-e', script, '--'],
        method,
        budget: { max_trials: 14 },
        parallel_bandwidth: 2,
        random_seed: 3,
      }),
    );
    const { rows } = runFile(file, dir);
    expect(new Set(rows.map((row) => row.trial_id)).size).toBe(14);
    expect(rows.every((row) => typeof row.loss === 'number')).toBe(true);
  });
});
