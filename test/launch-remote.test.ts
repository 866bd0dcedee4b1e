import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { launchRemote, planJobs } from '../src/launchers/launch-remote.js';
import { methodDefinitions } from '../src/launchers/methods.js';
import { readMetadata } from '../src/results/metadata.js';
import { tempDir } from './helpers.js';

describe('launch-remote', () => {
  it('plans one job per cheap method and one per seed of an expensive method (the reference study: 4 + 4 × 20 = 84)', () => {
    const registry = Object.fromEntries(
      ['RS', 'BO', 'ASHA', 'MOBSTER', 'ASHA-TANH', 'MOBSTER-TANH', 'ASHA-RELU', 'MOBSTER-RELU'].map((name) => [
        name,
        { ...methodDefinitions.RS, name, expensive: name === 'BO' || name.startsWith('MOBSTER') },
      ]),
    );
    const jobs = planJobs({ experimentTag: 'docs-2', randomSeed: 2465497701, numSeeds: 20 }, registry);
    expect(jobs).toHaveLength(84);
    expect(jobs.filter((j) => j.seeds.length === 20).map((j) => j.name)).toEqual(['RS', 'ASHA', 'ASHA-TANH', 'ASHA-RELU']);
    const m13 = jobs.find((j) => j.name === 'MOBSTER-TANH-13')!;
    expect(m13.args).toEqual(['hpo-main', '--experiment_tag', 'docs-2', '--random_seed', '2465497701', '--method', 'MOBSTER-TANH', '--start_seed', '13', '--num_seeds', '14']);
    // --start_seed 1: seeds 1..19
    const rest = planJobs({ experimentTag: 'docs-2', randomSeed: 1, numSeeds: 20, startSeed: 1 }, registry);
    expect(rest.find((j) => j.name === 'ASHA')!.seeds).toEqual(Array.from({ length: 19 }, (_, i) => i + 1));
    expect(rest.some((j) => j.name === 'BO-0')).toBe(false);
  });

  it('runs the jobs in a process pool and gives the same results as one hpo-main run', async () => {
    const root = tempDir();
    const lines: string[] = [];
    const outcomes = await launchRemote(
      { experimentTag: 'lr', method: ['RS', 'ASHA'], benchmark: ['synthetic-fcnet'], numSeeds: 2, randomSeed: 9, resultsRoot: root, maxWallclockTime: 600, maxParallelJobs: 2 },
      (l) => lines.push(l),
    );
    expect(outcomes.map((o) => [o.job.name, o.ok])).toEqual([
      ['RS', true],
      ['ASHA', true],
    ]);
    const logFile = /log (\S+)$/.exec(outcomes[1].detail)![1];
    expect(readFileSync(logFile, 'utf8')).toMatch(/ASHA synthetic-fcnet seed 1: completed/);
    const folders = readdirSync(join(root, 'lr')).map((f) => join(root, 'lr', f));
    expect(folders).toHaveLength(4);
    const direct = await hpoMain(
      { experimentTag: 'lr', method: ['RS', 'ASHA'], benchmark: ['synthetic-fcnet'], numSeeds: 2, randomSeed: 9, resultsRoot: tempDir(), maxWallclockTime: 600 },
      { log: () => {}, progress: false },
    );
    for (const o of direct.outcomes) {
      const twin = folders.find((f) => {
        const m = readMetadata(f);
        return m.method === o.metadata.method && m.seed === o.metadata.seed;
      })!;
      expect(readFileSync(join(twin, 'results.csv.gz')).equals(readFileSync(join(o.folder, 'results.csv.gz')))).toBe(true);
    }
  });

  it('names an unknown method before launching anything', async () => {
    const root = tempDir();
    await expect(launchRemote({ experimentTag: 'lr', method: ['RS', 'NOPE'], resultsRoot: root }, () => {})).rejects.toThrow(/unknown method 'NOPE'; valid methods: RS/);
    expect(readdirSync(root)).toEqual([]);
  });
});
