import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILD_DIR, buildBlackbox, gridConfigs, sampleDistinctConfigs } from '../src/blackbox/build/builder.js';
import { fcnetBuildSpace } from '../src/blackbox/build/fcnet-trainer.js';
import { readTable } from '../src/blackbox/format.js';
import { choice, configKey, finrange, uniform } from '../src/config-space/index.js';
import { cliPath, tempDir } from './helpers.js';

const quiet = { progress: false, log: () => {} };
const F = 6;
const M = 5; // valid_loss, valid_accuracy, train_loss, n_params, elapsed_time

/** Objectives of a table without the elapsed-time column (the measured CPU time differs run to run). */
function withoutTime(objectives: Float32Array): Float32Array {
  return objectives.filter((_, i) => i % M !== M - 1);
}

describe('config selection', () => {
  it('the full grid enumerates every combination and keeps constants', () => {
    const grid = gridConfigs({ a: choice(['x', 'y']), b: finrange(0, 1, 3), c: 7 });
    expect(grid).toHaveLength(6);
    expect(new Set(grid.map((g) => JSON.stringify(g))).size).toBe(6);
    expect(grid.every((g) => g.c === 7)).toBe(true);
    expect(() => gridConfigs({ a: uniform(0, 1) })).toThrow(/hyperparameter 'a' is continuous \(uniform\); give --num_configs N/);
  });

  it('a seeded sample holds distinct configs and is reproducible', () => {
    const space = fcnetBuildSpace();
    const a = sampleDistinctConfigs(space, 500, 3);
    expect(new Set(a.map((c) => configKey(space, c))).size).toBe(500);
    expect(sampleDistinctConfigs(space, 500, 3)).toEqual(a);
    expect(sampleDistinctConfigs(space, 500, 4)).not.toEqual(a);
    expect(() => sampleDistinctConfigs({ a: choice(['x', 'y']) }, 3, 0)).toThrow(/--num_configs 3 exceeds the 2 distinct configs of the space; use --grid/);
  });
});

describe('tunelab blackbox build', () => {
  it('tabulates in worker processes; the table round-trips through the format bit for bit', async () => {
    const out = join(tempDir(), 'iris');
    const r = await buildBlackbox({ trainer: 'fcnet-iris', out, numConfigs: 12, numSeeds: 2, epochs: F, workers: 2, ...quiet });
    expect(r.trained).toBe(24);
    expect(r.resumed).toBe(0);
    expect(existsSync(join(out, BUILD_DIR))).toBe(false);
    const { table } = r;
    expect(table.objectiveNames).toEqual(['valid_loss', 'valid_accuracy', 'train_loss', 'n_params', 'elapsed_time']);
    expect(table.objectives.length).toBe(12 * 2 * F * M);
    expect(table.objectives.every(Number.isFinite)).toBe(true);
    const back = readTable(out);
    expect(Buffer.from(back.objectives.buffer).equals(Buffer.from(table.objectives.buffer))).toBe(true);
    expect(back.configurations).toEqual(table.configurations);
    expect(back.fidelityValues).toEqual([1, 2, 3, 4, 5, 6]);
    expect(back.metadata).toMatchObject({ trainer: 'fcnet-iris', seeds: 2, epochs: F, dataset: 'iris' });
    // a finished table is not overwritten by accident
    await expect(buildBlackbox({ trainer: 'fcnet-iris', out, numConfigs: 12, numSeeds: 2, epochs: F, ...quiet })).rejects.toThrow(/already holds a table/);
  });

  it('resumes after the build process is killed, giving the same table as an uninterrupted build', async () => {
    const root = tempDir();
    const out = join(root, 'killed');
    const args = ['blackbox', 'build', 'fcnet-iris', '--out', out, '--num_configs', '60', '--num_seeds', '2', '--epochs', String(F), '--workers', '2'];
    const child: ChildProcess = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    const journal = join(out, BUILD_DIR, 'journal.bin');
    const recordBytes = 4 + 4 * F * M;
    const records = () => (existsSync(journal) ? Math.floor(statSync(journal).size / recordBytes) : 0);
    const deadline = Date.now() + 30_000;
    while (records() < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const workers = execFileSync('pgrep', ['-P', String(child.pid)]).toString().trim().split('\n').map(Number);
    expect(workers).toHaveLength(2);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const atKill = records();
    expect(atKill).toBeGreaterThanOrEqual(10);
    expect(atKill).toBeLessThan(120);
    expect(existsSync(join(out, 'meta.json'))).toBe(false);
    // the workers notice their builder is gone and exit (no orphans training on)
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const until = Date.now() + 15_000;
    while (workers.some(alive) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(workers.filter(alive)).toEqual([]);

    // other settings than the killed build's are refused, naming the difference
    await expect(buildBlackbox({ trainer: 'fcnet-iris', out, numConfigs: 60, numSeeds: 2, epochs: 5, workers: 2, ...quiet })).rejects.toThrow(/epochs: 6 there, 5 now/);

    const resumed = await buildBlackbox({ trainer: 'fcnet-iris', out, numConfigs: 60, numSeeds: 2, epochs: F, workers: 2, ...quiet });
    expect(resumed.resumed).toBeGreaterThanOrEqual(atKill);
    expect(resumed.resumed + resumed.trained).toBe(120);
    const fresh = await buildBlackbox({ trainer: 'fcnet-iris', out: join(root, 'fresh'), numConfigs: 60, numSeeds: 2, epochs: F, workers: 1, ...quiet });
    expect(fresh.trained).toBe(120);
    expect(resumed.table.configurations).toEqual(fresh.table.configurations);
    expect(Buffer.from(withoutTime(resumed.table.objectives).buffer).equals(Buffer.from(withoutTime(fresh.table.objectives).buffer))).toBe(true);
  });

  it('tabulates any training function given as <module>#<export>', async () => {
    const dir = tempDir();
    const mod = join(dir, 'quadratic.mjs');
    // the config space is made of tunelab's domains, imported from the built package
    writeFileSync(
      mod,
      `import { finrange } from ${JSON.stringify(join(import.meta.dirname, '..', 'dist', 'src', 'config-space', 'index.js'))};
      export function quadratic() {
        return {
          name: 'quadratic', metadata: { source: 'test' },
          configSpace: { x: finrange(0, 1, 5) },
          objectiveNames: ['loss'],
          *run(config, seed, epochs) { for (let e = 1; e <= epochs; e++) yield [(config.x - 0.5) ** 2 / e]; },
        };
      }
      export const notAFunction = 3;`,
    );
    const out = join(dir, 'table');
    const r = await buildBlackbox({ trainer: `${mod}#quadratic`, out, numSeeds: 1, epochs: 3, workers: 1, ...quiet });
    const t = readTable(out);
    expect(t.configurations.map((c) => c.x)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(t.objectiveNames).toEqual(['loss', 'elapsed_time']);
    t.configurations.forEach((c, i) => {
      for (let e = 0; e < 3; e++) expect(t.objectives[(i * 3 + e) * 2]).toBe(Math.fround(((Number(c.x) - 0.5) ** 2) / (e + 1)));
    });
    expect(r.trained).toBe(5);
    await expect(buildBlackbox({ trainer: `${mod}#notAFunction`, out: join(dir, 'x'), numSeeds: 1, epochs: 3, ...quiet })).rejects.toThrow(/export 'notAFunction' is not a training function/);
    await expect(buildBlackbox({ trainer: 'fcnet-mnist', out: join(dir, 'y'), numSeeds: 1, epochs: 3, ...quiet })).rejects.toThrow(/unknown training function 'fcnet-mnist'; built-in ones: fcnet-cars, fcnet-penguins, fcnet-weather, fcnet-iris/);
  });

  it('the CLI checks its flags', () => {
    const run = (args: string[]) => {
      try {
        execFileSync(process.execPath, [cliPath, 'blackbox', 'build', ...args], { stdio: 'pipe' });
        return '';
      } catch (e) {
        return String((e as { stderr: Buffer }).stderr);
      }
    };
    expect(run(['fcnet-iris', '--out', join(tempDir(), 'a')])).toMatch(/give exactly one of --num_configs N and --grid/);
    expect(run(['fcnet-iris', '--out', join(tempDir(), 'a'), '--num_configs', '5', '--num_seeds', '0'])).toMatch(/--num_seeds must be a positive integer, got 0/);
  });
});
