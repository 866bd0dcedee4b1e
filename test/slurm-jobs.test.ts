import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { readMetadata } from '../src/results/metadata.js';
import { cliAsync, tempDir } from './helpers.js';
import { type SlurmCluster, slurmMissing, startSlurmCluster } from './slurm-helpers.js';

describe.skipIf(slurmMissing.length > 0)('launch-remote --backend slurm on a real one-host Slurm', () => {
  let cluster: SlurmCluster;
  beforeAll(async () => {
    cluster = await startSlurmCluster(8);
  });
  afterAll(() => cluster?.stop());

  it("runs the study's jobs as one throttled array whose results equal one hpo-main run byte for byte; jobs lists them", async () => {
    const root = tempDir();
    const env = { ...cluster.env, TUNELAB_ROOT: root };
    const study = ['--experiment_tag', 'lr', '--method', 'RS', 'ASHA', 'BO', '--benchmark', 'synthetic-fcnet', '--num_seeds', '2', '--random_seed', '9', '--max_wallclock_time', '600'];
    const launch = await cliAsync(['launch-remote', ...study, '--backend', 'slurm', '--max_parallel_jobs', '2', '--wait'], env);
    expect(launch.stderr).toBe('');
    expect(launch.code).toBe(0);
    // RS and ASHA cheap (one task each, both seeds), BO expensive (a task per seed): 4 tasks, at most 2 at once
    const id = /Slurm array (\d+):/.exec(launch.stdout)![1];
    expect(launch.stdout).toContain(`Slurm array ${id}: ${id}_0 RS, ${id}_1 ASHA, ${id}_2 BO-0, ${id}_3 BO-1`);
    const show = spawnSync('scontrol', ['-o', 'show', 'job', id], { env: cluster.env, encoding: 'utf8' }).stdout;
    expect(show).toMatch(/ArrayTaskThrottle=2/);
    const folders = readdirSync(join(root, 'lr')).map((f) => join(root, 'lr', f));
    expect(folders).toHaveLength(6);
    const direct = await hpoMain(
      { experimentTag: 'lr', method: ['RS', 'ASHA', 'BO'], benchmark: ['synthetic-fcnet'], numSeeds: 2, randomSeed: 9, resultsRoot: tempDir(), maxWallclockTime: 600 },
      { log: () => {}, progress: false },
    );
    expect(direct.outcomes).toHaveLength(6);
    for (const o of direct.outcomes) {
      const twin = folders.find((f) => {
        const m = readMetadata(f);
        return m.method === o.metadata.method && m.seed === o.metadata.seed;
      })!;
      expect(readFileSync(join(twin, 'results.csv.gz')).equals(readFileSync(join(o.folder, 'results.csv.gz')))).toBe(true);
    }
    const jobs = await cliAsync(['jobs', '--experiment_tag', 'lr', '--backend', 'slurm'], env);
    expect(jobs.code).toBe(0);
    for (const name of ['RS', 'ASHA', 'BO-0', 'BO-1']) expect(jobs.stdout).toMatch(new RegExp(`^${name}\\s+Completed\\s`, 'm'));
  });

  it('jobs --backend slurm --stop cancels the tasks not ended: squeue empty, each listed Stopped', async () => {
    const root = tempDir();
    const env = { ...cluster.env, TUNELAB_ROOT: root };
    // held back by --begin: the tasks stay pending until stopped
    const launch = await cliAsync(['launch-remote', '--experiment_tag', 'held', '--method', 'RS', 'BO', '--benchmark', 'synthetic-fcnet', '--num_seeds', '2', '--backend', 'slurm', '--slurm_extra=--begin=now+3600'], env);
    expect(launch.stderr).toBe('');
    expect(launch.code).toBe(0);
    const id = /Slurm array (\d+):/.exec(launch.stdout)![1];
    const before = await cliAsync(['jobs', '--experiment_tag', 'held', '--backend', 'slurm'], env);
    expect(before.stdout.match(/InProgress/g)).toHaveLength(3);
    const stop = await cliAsync(['jobs', '--experiment_tag', 'held', '--backend', 'slurm', '--stop'], env);
    expect(stop.stdout).toContain('asked 3 job(s) to stop: RS, BO-0, BO-1');
    expect(spawnSync('squeue', ['-h', '-j', id], { env: cluster.env, encoding: 'utf8' }).stdout.trim()).toBe('');
    const after = await cliAsync(['jobs', '--experiment_tag', 'held', '--backend', 'slurm'], env);
    for (const name of ['RS', 'BO-0', 'BO-1']) expect(after.stdout).toMatch(new RegExp(`^${name}\\s+Stopped\\s`, 'm'));
  });
});
