import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterWorkers, executorFolder, launchWorkers, stopClusterWorkers, submissionsOf } from '../src/executors/launch.js';
import { type LocalPostgres, startLocalPostgres } from '../src/study/storage/local-postgres.js';
import { openStore } from '../src/study/storage/open.js';
import { stopStudy } from '../src/study/status.js';
import { createStudy } from '../src/study/study.js';
import { cliAsync, cliPath, tempDir } from './helpers.js';
import { call, startServerProcess } from './server-helpers.js';
import { type SlurmCluster, slurmMissing, startSlurmCluster } from './slurm-helpers.js';

/** A study of a quick script: `seconds` per trial, the loss of a closed-form function; `sh`, not node, so that hundreds of trials stay cheap. */
function experimentFile(dir: string, budget: number, seconds: number, name = 'slurm-quad', gate?: string): string {
  // the config comes as `--x <value>`; with a gate, each trial first waits for that file
  const wait = gate ? `while [ ! -f '${gate}' ]; do sleep 0.1; done\n` : '';
  writeFileSync(join(dir, 'trial.sh'), `${wait}sleep ${seconds}\nawk -v x="$2" 'BEGIN { printf "[tunelab] {\\"loss\\": %.6f}\\n", (x - 0.3) ^ 2 }'\n`);
  const file = join(dir, 'experiment.json');
  writeFileSync(
    file,
    JSON.stringify({
      name,
      parameters: [{ name: 'x', type: 'double', bounds: { min: 0, max: 1 } }],
      metrics: [{ name: 'loss', objective: 'minimize', strategy: 'optimize' }],
      command: ['/bin/sh', 'trial.sh'],
      method: 'RS',
      budget: { max_trials: budget },
      parallel_bandwidth: 8,
      resources: { cpus: 1, memory: 200 },
      study: { lease_seconds: 20 },
    }),
  );
  return file;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, seconds = 150): Promise<T> {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe.skipIf(slurmMissing.length > 0)('a study on a real one-host Slurm cluster', () => {
  let cluster: SlurmCluster;
  let pg: LocalPostgres;
  let root: string;
  const saved = { conf: process.env.SLURM_CONF, root: process.env.TUNELAB_ROOT };
  beforeAll(async () => {
    [cluster, pg] = await Promise.all([startSlurmCluster(8), startLocalPostgres()]);
    root = tempDir('tunelab-slurm-study-');
    process.env.SLURM_CONF = cluster.env.SLURM_CONF;
    // the workers' own folders go under this root too (the tasks inherit the environment)
    process.env.TUNELAB_ROOT = root;
  });
  afterAll(async () => {
    for (const [k, v] of [['SLURM_CONF', saved.conf], ['TUNELAB_ROOT', saved.root]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    cluster?.stop();
    await pg?.stop();
  });

  it('refuses a SQLite study for a multi-node executor, saying why', async () => {
    const study = await createStudy(experimentFile(tempDir(), 10, 0), { storage: join(root, 'studies.db') });
    try {
      await expect(launchWorkers(study, { executor: 'slurm', workers: 2, storage: join(root, 'studies.db'), root })).rejects.toThrow(/cannot share the SQLite file .*postgresql:\/\//);
      expect(submissionsOf(study, root)).toEqual([]);
    } finally {
      await study.close();
    }
  });

  it('8 array tasks meet a budget of 200 exactly; tasks cancelled or sent USR1 mid-trial give their trials back, others finish them, none failed; stop empties squeue', async () => {
    const dir = tempDir();
    const gate = join(dir, 'gate');
    const study = await createStudy(experimentFile(dir, 200, 0.3, 'slurm-quad', gate), { storage: pg.url });
    try {
      // the password of the store travels in the environment: the command line names no store
      const submission = await launchWorkers(study, { executor: 'slurm', workers: 8, parallelism: 8, storage: pg.url, root, orphanTimeout: 30, resources: study.definition.resources });
      const running = await until('8 running tasks', async () => {
        const [{ workers }] = await clusterWorkers(study, root);
        return workers.filter((w) => w.state === 'running').length === 8 ? workers : undefined;
      });
      expect(running.map((w) => w.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => `${submission.id}_${i}`));
      const store = await openStore(pg.url);
      try {
        // every task holds a trial (each waits at the gate), then two are cancelled and one warned as Slurm does
        // before a time limit: mid-trial, they give their trials back, which wait ready until the gate opens
        await until('8 open suggestions', async () => ((await store.listSuggestions(study.id, ['open'])).length >= 8 ? true : undefined));
        spawnSync('scancel', [`${submission.id}_1`, `${submission.id}_2`], { env: cluster.env });
        spawnSync('scancel', ['--signal=USR1', '--batch', `${submission.id}_3`], { env: cluster.env });
        await until('3 trials given back', async () => ((await store.listSuggestions(study.id, ['ready'])).length === 3 ? true : undefined), 60);
        writeFileSync(gate, '');
        await until('the study done', async () => ((await store.findStudy(String(study.id)))?.status === 'completed' ? true : undefined), 240);
        const suggestions = await store.listSuggestions(study.id);
        const observations = await store.listObservations(study.id);
        expect(observations.length).toBe(200);
        expect(observations.filter((o) => o.failed)).toEqual([]);
        expect(new Set(observations.map((o) => o.suggestionId)).size).toBe(200);
        // the three interrupted trials were given back (ready again), and other workers (the givers ended)
        // finished them under the same ids: none abandoned, failed, or observed twice
        const given = suggestions.filter((s) => s.attempts >= 2);
        expect(given.map((s) => [s.attempts, s.state])).toEqual([[2, 'completed'], [2, 'completed'], [2, 'completed']]);
        expect(suggestions.filter((s) => s.state === 'abandoned')).toEqual([]);
        expect(suggestions.filter((s) => s.state === 'failed')).toEqual([]);
      } finally {
        await store.close();
      }
      const ended = await until('every task ended', async () => {
        const [{ workers }] = await clusterWorkers(study, root);
        return workers.every((w) => w.state !== 'running' && w.state !== 'pending') ? workers : undefined;
      });
      expect(ended.filter((w) => w.state === 'cancelled').map((w) => w.index).sort()).toEqual([1, 2]);
      // USR1: the worker gave its trial back and ended cleanly (exit 0)
      expect(ended.find((w) => w.index === 3)?.state).toBe('succeeded');
      expect(ended.filter((w) => w.state === 'failed')).toEqual([]);
      // the status command shows the cluster side
      const status = spawnSync(process.execPath, [cliPath, 'study', 'status', String(study.id), '--storage', pg.url], { env: { ...process.env, TUNELAB_ROOT: root }, encoding: 'utf8' });
      expect(status.stdout).toMatch(/workers on executors: .*cancelled/);
      expect(status.stdout).toContain(`${submission.id}_3`);
    } finally {
      await study.close();
    }
  });

  it('study stop withdraws the tasks not yet started, and --abandon ends the running ones: squeue is empty', async () => {
    const dir = tempDir();
    const study = await createStudy(experimentFile(dir, 500, 30), { storage: pg.url, name: 'slurm-stop' });
    try {
      const submission = await launchWorkers(study, { executor: 'slurm', workers: 6, parallelism: 2, storage: pg.url, root });
      await until('2 running, 4 pending', async () => {
        const [{ workers }] = await clusterWorkers(study, root);
        return workers.filter((w) => w.state === 'running').length === 2 && workers.filter((w) => w.state === 'pending').length === 4 ? true : undefined;
      });
      await stopStudy(study, true);
      await stopClusterWorkers(study, true, root);
      await until('squeue empty', async () => (spawnSync('squeue', ['-h', '-j', submission.id], { env: cluster.env, encoding: 'utf8' }).stdout.trim() === '' ? true : undefined), 60);
    } finally {
      await study.close();
    }
  });

  it('run -f --executor slurm: creates the study, submits its workers, follows their output prefixed by task, ends with the study; squeue empty', async () => {
    const dir = tempDir();
    const file = experimentFile(dir, 24, 0.2, 'slurm-run');
    const env = { ...process.env, TUNELAB_ROOT: root, TUNELAB_STORAGE: pg.url };
    // SQLite first: refused before any study is created or job submitted
    const sqlite = join(root, 'refused.db');
    const refused = await cliAsync(['run', '-f', file, '--executor', 'slurm', '--storage', sqlite], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/cannot share the SQLite file .*refused\.db/);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(sqlite)).toBe(false);
    // the store's URL (with its password) only in the environment
    const run = await cliAsync(['run', '-f', file, '--executor', 'slurm', '--workers', '3'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const id = /submitted to slurm as (\d+)/.exec(run.stdout)?.[1];
    expect(id).toBeDefined();
    // each task's output merged, prefixed by its task, to the worker's last line
    for (const i of [0, 1, 2]) expect(run.stdout).toMatch(new RegExp(`^\\[slurm ${id}_${i}\\] worker .*ended: budget$`, 'm'));
    expect(run.stdout.match(/^\[slurm \d+_\d\] trial \d+: loss /gm)).toHaveLength(24);
    const store = await openStore(pg.url);
    try {
      const study = (await store.findStudy('slurm-run'))!;
      expect(study.status).toBe('completed');
      expect(await store.listObservations(study.id)).toHaveLength(24);
    } finally {
      await store.close();
    }
    expect(spawnSync('squeue', ['-h', '-j', id!], { env: cluster.env, encoding: 'utf8' }).stdout.trim()).toBe('');
  });

  it('run -f --executor slurm --storage http://…: the tasks reach the study server over HTTP, its token in their environment only; squeue empty', async () => {
    const dir = tempDir();
    const file = experimentFile(dir, 12, 0.2, 'slurm-http');
    const token = 'tok-slurm-0123456789abcdef';
    writeFileSync(join(dir, 'tokens'), `${token}\n`);
    const children: ChildProcess[] = [];
    const server = await startServerProcess(dir, children, join(dir, 'server.db'), { tokenFile: join(dir, 'tokens') });
    try {
      // no store URL anywhere: the nodes need HTTP only
      const { TUNELAB_STORAGE: _, ...base } = process.env;
      const run = await cliAsync(['run', '-f', file, '--executor', 'slurm', '--workers', '3', '--storage', server.url], { ...base, TUNELAB_ROOT: root, TUNELAB_TOKEN: token });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const id = /submitted to slurm as (\d+)/.exec(run.stdout)?.[1];
      expect(run.stdout.match(/^\[slurm \d+_\d\] trial \d+: loss /gm)).toHaveLength(12);
      expect(run.stdout).toMatch(/study 1 'slurm-http': completed, 12 \/ 12 observations/);
      const experiment = (await call(server.url, 'GET', '/v1/experiments/1', undefined, { authorization: `Bearer ${token}` })).body;
      expect(experiment.progress.observation_count).toBe(12);
      expect(spawnSync('squeue', ['-h', '-j', id!], { env: cluster.env, encoding: 'utf8' }).stdout.trim()).toBe('');
      // the batch script starts each task on the study's URL; the token is in no file the submission wrote (that script, the tasks' output)
      const folder = executorFolder({ id: 1, name: 'slurm-http' }, root);
      expect(spawnSync('grep', ['-rl', `'worker' '${server.url}/v1/experiments/1'`, folder], { encoding: 'utf8' }).stdout).toMatch(/worker\.sbatch/);
      expect(spawnSync('grep', ['-rl', token, folder], { encoding: 'utf8' }).stdout).toBe('');
    } finally {
      for (const c of children) c.kill('SIGKILL');
    }
  });

  it('study logs --follow merges each task\'s output, prefixed, until the study and its tasks end; study delete --data cancels the tasks and removes the study', async () => {
    const env = { ...process.env, TUNELAB_ROOT: root, TUNELAB_STORAGE: pg.url };
    const study = await createStudy(experimentFile(tempDir(), 6, 0.3, 'slurm-logs'), { storage: pg.url });
    try {
      const submission = await launchWorkers(study, { executor: 'slurm', workers: 2, storage: pg.url, root });
      const logs = await cliAsync(['study', 'logs', String(study.id), '--follow'], env);
      expect(logs.code).toBe(0);
      // the trials' lines from the store, and every task's own lines to its last
      expect(logs.stdout.match(/^\[\S+ trial \d+\] \[tunelab\] \{"loss"/gm)).toHaveLength(6);
      for (const i of [0, 1]) expect(logs.stdout).toMatch(new RegExp(`^\\[slurm ${submission.id}_${i}\\] worker .*ended: budget$`, 'm'));
      expect(logs.stdout.match(/^\[slurm \d+_\d\] trial \d+: loss /gm)).toHaveLength(6);
    } finally {
      await study.close();
    }
    // a second submission still running, then deleted with the study
    const again = await createStudy(experimentFile(tempDir(), 500, 30, 'slurm-delete'), { storage: pg.url });
    const submission = await launchWorkers(again, { executor: 'slurm', workers: 3, parallelism: 1, storage: pg.url, root });
    await again.close();
    await until('a running task', async () => ((await clusterWorkers(again, root))[0].workers.some((w) => w.state === 'running') ? true : undefined));
    const del = await cliAsync(['study', 'delete', 'slurm-delete', '--data'], env);
    expect(del.stderr).toBe('');
    expect(del.code).toBe(0);
    await until('squeue empty', async () => (spawnSync('squeue', ['-h', '-j', submission.id], { env: cluster.env, encoding: 'utf8' }).stdout.trim() === '' ? true : undefined), 60);
    const store = await openStore(pg.url);
    try {
      expect(await store.findStudy('slurm-delete')).toBeUndefined();
      expect(await store.findStudy('slurm-logs')).toBeDefined();
    } finally {
      await store.close();
    }
    expect(existsSync(executorFolder(again, root))).toBe(false);
    expect(submissionsOf(again, root)).toEqual([]);
  });

  it('SIGINT to run -f --executor slurm ends its tasks (each gives its trial back, none failed), exits 130, squeue empty', async () => {
    const file = experimentFile(tempDir(), 100, 60, 'slurm-interrupted');
    const child = spawn(process.execPath, [cliPath, 'run', '-f', file, '--executor', 'slurm', '--workers', '2'], { env: { ...process.env, TUNELAB_ROOT: root, TUNELAB_STORAGE: pg.url }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    const exited = new Promise<number | null>((r) => child.on('close', r));
    const store = await openStore(pg.url);
    try {
      const study = await until('the study', async () => store.findStudy('slurm-interrupted'));
      await until('2 open suggestions', async () => ((await store.listSuggestions(study.id, ['open'])).length === 2 ? true : undefined));
      const id = /submitted to slurm as (\d+)/.exec(stdout)![1];
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      await until('squeue empty', async () => (spawnSync('squeue', ['-h', '-j', id], { env: cluster.env, encoding: 'utf8' }).stdout.trim() === '' ? true : undefined), 60);
      // given back: ready for a later worker to continue each from its checkpoint
      await until('both trials given back', async () => ((await store.listSuggestions(study.id, ['ready'])).length === 2 ? true : undefined), 60);
      expect(await store.listSuggestions(study.id, ['open', 'failed'])).toEqual([]);
      expect(await store.listObservations(study.id)).toEqual([]);
      expect(stdout).toMatch(/SIGINT: the run's workers were stopped/);
    } finally {
      await store.close();
    }
  });

  it('study stop without --abandon: the pending tasks are withdrawn at once, the running one finishes its trial (told, not abandoned) and succeeds', async () => {
    const study = await createStudy(experimentFile(tempDir(), 100, 3, 'slurm-finish'), { storage: pg.url });
    try {
      const submission = await launchWorkers(study, { executor: 'slurm', workers: 4, parallelism: 1, storage: pg.url, root });
      const store = await openStore(pg.url);
      try {
        await until('a trial running', async () => ((await store.listSuggestions(study.id, ['open'])).length === 1 ? true : undefined));
        await stopStudy(study, false);
        await stopClusterWorkers(study, false, root);
        const ended = await until('every task ended', async () => {
          const [{ workers }] = await clusterWorkers(study, root);
          return workers.length === 4 && workers.every((w) => w.state !== 'running' && w.state !== 'pending') ? workers : undefined;
        });
        // the running task told its trial and ended by itself; the three others never started
        expect(ended.map((w) => w.state)).toEqual(['succeeded', 'cancelled', 'cancelled', 'cancelled']);
        expect(await store.listSuggestions(study.id, ['abandoned', 'failed', 'open'])).toEqual([]);
        expect((await store.listObservations(study.id)).length).toBeGreaterThanOrEqual(1);
        expect(spawnSync('squeue', ['-h', '-j', submission.id], { env: cluster.env, encoding: 'utf8' }).stdout.trim()).toBe('');
      } finally {
        await store.close();
      }
    } finally {
      await study.close();
    }
  });
});
