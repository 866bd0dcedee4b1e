import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalJobRecord, readLocalJobs } from '../src/cloud/local-jobs.js';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { launchRemote, planJobs } from '../src/launchers/launch-remote.js';
import { methodDefinitions } from '../src/methods/registry.js';
import { readMetadata } from '../src/results/metadata.js';
import { cliPath, tempDir } from './helpers.js';
import { processesUnder, startProcess, until } from './study-helpers.js';

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
    const { outcomes } = await launchRemote(
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

  it('checks every (method, benchmark) pair before creating any job, and names each that cannot run', async () => {
    const root = tempDir();
    const lines: string[] = [];
    const run = launchRemote({ experimentTag: 'lr', method: ['RS', 'ASHA-TANH', 'MOBSTER-RELU'], benchmark: ['synthetic-mlp', 'synthetic-fcnet'], randomSeed: 3, resultsRoot: root }, (l) => lines.push(l));
    await expect(run).rejects.toThrow(
      /^2 of 6 \(method, benchmark\) pair\(s\) cannot run; nothing was started:\n  ASHA-TANH on synthetic-mlp: cannot fix 'hp_activation_fn_1': not in the config space [^\n]*\n  MOBSTER-RELU on synthetic-mlp: cannot fix 'hp_activation_fn_1'/,
    );
    expect(lines).toEqual([]);
    expect(readdirSync(root)).toEqual([]);
  });
});

describe('launch-remote and signals', () => {
  const launch = (root: string, children: ChildProcess[], tag: string) =>
    startProcess(root, children, [
      cliPath, 'launch-remote', '--experiment_tag', tag, '--method', 'RS', 'BO', '--benchmark', 'synthetic-branin', '--num_seeds', '2',
      '--random_seed', '4', '--results_root', root, '--max_wallclock_time', '50000000', '--max_parallel_jobs', '2',
    ]);
  /** The job records of the one launch, once `n` jobs run an experiment that can be stopped (its tuner.json is there). */
  const running = async (root: string, tag: string, n: number) => {
    let records: LocalJobRecord[] = [];
    await until(`${n} running jobs`, () => {
      records = readLocalJobs(root, tag);
      const folders = existsSync(join(root, tag)) ? readdirSync(join(root, tag)).filter((f) => existsSync(join(root, tag, f, 'tuner.json'))) : [];
      return records.filter((r) => r.state === 'InProgress').length === n && folders.length === n;
    });
    return records;
  };
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  });

  it('kill -INT passes SIGINT to the running jobs and waits for them to stop gracefully (status stopped, resumable); queued jobs never start; exit 130, no process left', async () => {
    const root = tempDir();
    const run = launch(root, children, 'sig');
    const records = await running(root, 'sig', 2);
    expect(records.map((r) => r.name)).toEqual(['BO-0', 'RS']);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expect(run.out.stdout).toMatch(/SIGINT: no new jobs; passing SIGINT to 2 running job\(s\) and waiting for them to stop/);
    const after = readLocalJobs(root, 'sig');
    expect(after.map((r) => [r.name, r.state])).toEqual([
      ['BO-0', 'Stopped'],
      ['RS', 'Stopped'],
    ]);
    expect(run.out.stdout).toMatch(/BO-1 +1 +NotStarted +not started \(SIGINT\)/);
    for (const f of readdirSync(join(root, 'sig'))) {
      expect(readMetadata(join(root, 'sig', f))).toMatchObject({ status: 'stopped', stop_reason: expect.stringMatching(/^SIGINT; continue it with --resume/) });
    }
    // each job's log holds its own goodbye
    expect(readFileSync(after[1].log, 'utf8')).toMatch(/SIGINT: stopping after the current step/);
    expect(processesUnder([root])).toEqual([]);
  });

  it('a second SIGTERM kills the jobs that have not stopped yet (SIGKILL to their process groups); exit 143, no process left', async () => {
    const root = tempDir();
    const run = launch(root, children, 'sig2');
    const records = await running(root, 'sig2', 2);
    // BO-0 cannot obey the first SIGTERM: it is stopped (SIGSTOP) until the second one kills it
    const frozen = records.find((r) => r.name === 'BO-0')!;
    process.kill(frozen.pid, 'SIGSTOP');
    run.child.kill('SIGTERM');
    await until('the first SIGTERM passed on', () => run.out.stdout.includes('SIGTERM: no new jobs'));
    await until('RS stopped', () => readLocalJobs(root, 'sig2').some((r) => r.name === 'RS' && r.state === 'Stopped'));
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(143);
    expect(run.out.stdout).toMatch(/SIGTERM again: killing 1 job\(s\)/);
    const after = Object.fromEntries(readLocalJobs(root, 'sig2').map((r) => [r.name, r]));
    expect(after.RS.state).toBe('Stopped');
    expect(after['BO-0']).toMatchObject({ state: 'Failed', failureReason: expect.stringMatching(/^killed by SIGKILL/) });
    expect(processesUnder([root])).toEqual([]);
  });
});
