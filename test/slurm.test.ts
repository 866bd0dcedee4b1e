import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlurmExecutor, arrayIndices, workerState } from '../src/executors/slurm.js';
import type { WorkerInfo } from '../src/executors/types.js';
import { tempDir } from './helpers.js';
import { type SlurmCluster, slurmMissing, startSlurmCluster } from './slurm-helpers.js';

describe('Slurm words', () => {
  it('reads array task ids as scontrol prints them', () => {
    expect(arrayIndices('3')).toEqual([3]);
    expect(arrayIndices('2-5%2')).toEqual([2, 3, 4, 5]);
    expect(arrayIndices('0,4-5')).toEqual([0, 4, 5]);
  });
  it('maps job states to worker states', () => {
    expect(['PENDING', 'RUNNING', 'COMPLETED', 'CANCELLED+', 'TIMEOUT', 'FAILED', 'OUT_OF_MEMORY', 'NODE_FAIL'].map(workerState)).toEqual([
      'pending',
      'running',
      'succeeded',
      'cancelled',
      'cancelled',
      'failed',
      'failed',
      'failed',
    ]);
  });
});

/** Polls `list` until `done` holds of the workers (the cluster starts a task within a second or two). */
async function until(list: () => Promise<WorkerInfo[]>, done: (w: WorkerInfo[]) => boolean, seconds = 90): Promise<WorkerInfo[]> {
  const end = Date.now() + seconds * 1000;
  let workers = await list();
  while (!done(workers)) {
    if (Date.now() > end) throw new Error(`workers did not get there in ${seconds} s: ${JSON.stringify(workers)}`);
    await new Promise((r) => setTimeout(r, 300));
    workers = await list();
  }
  return workers;
}

describe.skipIf(slurmMissing.length > 0)('the Slurm executor on a real one-host Slurm', () => {
  let cluster: SlurmCluster;
  let savedConf: string | undefined;
  beforeAll(async () => {
    cluster = await startSlurmCluster(8);
    savedConf = process.env.SLURM_CONF;
    process.env.SLURM_CONF = cluster.env.SLURM_CONF;
  });
  afterAll(() => {
    if (savedConf === undefined) delete process.env.SLURM_CONF;
    else process.env.SLURM_CONF = savedConf;
    cluster?.stop();
  });

  it('runs N workers as one throttled array, the secret in their environment only, and lists them to the end', async () => {
    const logDir = join(tempDir(), 'study-1', 'slurm');
    const script = 'const fs = require("fs"); console.log("task", process.env.SLURM_ARRAY_TASK_ID, "secret", process.env.TUNELAB_STORAGE.split(":").length === 3); setTimeout(() => {}, 1500)';
    const executor = new SlurmExecutor({ tunelab: [process.execPath, '-e', script] });
    const submission = await executor.submit({
      studyId: 1,
      studyName: 'demo',
      workers: 4,
      parallelism: 2,
      args: [],
      secretEnv: { TUNELAB_STORAGE: 'postgresql://u:pw@h/db' },
      resources: { cpus: 2, memory: 100 },
      logDir,
    });
    expect(submission.id).toMatch(/^\d+$/);
    // at most two at once (the %2 throttle), each with 2 CPUs
    const seen = await until(() => executor.list(submission), (w) => w.length === 4 && w.some((x) => x.state === 'running'));
    expect(seen.filter((w) => w.state === 'running').length).toBeLessThanOrEqual(2);
    const ended = await until(() => executor.list(submission), (w) => w.length === 4 && w.every((x) => x.state === 'succeeded'));
    expect(ended.map((w) => w.id)).toEqual([0, 1, 2, 3].map((i) => `${submission.id}_${i}`));
    for (let i = 0; i < 4; i++) expect((await executor.output(submission, i)).toString()).toBe(`task ${i} secret true\n`);
    // followed from where it was left: only the bytes after `from`
    expect((await executor.output(submission, 2, 'task 2 '.length)).toString()).toBe('secret true\n');
    expect(await executor.output(submission, 2, 100)).toHaveLength(0);
    // the password is in no file the submission wrote
    for (const f of readdirSync(logDir)) expect(readFileSync(join(logDir, f), 'utf8')).not.toContain('pw@');
  });

  it('stop cancels every task: squeue is empty and the tasks show cancelled', async () => {
    const logDir = join(tempDir(), 'study-2', 'slurm');
    const executor = new SlurmExecutor({ tunelab: ['/bin/sleep'] });
    const submission = await executor.submit({ studyId: 2, studyName: 'long', workers: 3, args: ['600'], secretEnv: {}, logDir });
    await until(() => executor.list(submission), (w) => w.length === 3 && w.every((x) => x.state === 'running'));
    await executor.stop(submission);
    const after = await until(() => executor.list(submission), (w) => w.every((x) => x.state === 'cancelled'));
    expect(after).toHaveLength(3);
    const squeue = spawnSync('squeue', ['-h', '-j', submission.id], { env: cluster.env, encoding: 'utf8' });
    expect(squeue.stdout.trim()).toBe('');
    // no sleep of the tasks is left in the process table
    const sleeps = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && existsSync(`/proc/${p}/cmdline`) && readFileSync(`/proc/${p}/cmdline`, 'utf8') === '/bin/sleep\u0000600\u0000');
    expect(sleeps).toEqual([]);
  });

  it('a bad sbatch flag is a clear error naming sbatch', async () => {
    const executor = new SlurmExecutor({ partition: 'no-such-partition' });
    await expect(executor.submit({ studyId: 3, studyName: 'x', workers: 1, args: [], secretEnv: {}, logDir: tempDir() })).rejects.toThrow(/sbatch --parsable: .*partition/i);
  });
});
