import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hpoMain, type HpoMainOptions } from '../src/launchers/hpo-main.js';
import { runExperiment } from '../src/launchers/experiment.js';
import { getBenchmark } from '../src/launchers/benchmarks/index.js';
import { getMethod } from '../src/methods/registry.js';
import { createExperimentFolder, parseExperimentFolderName } from '../src/results/layout.js';
import { readMetadata } from '../src/results/metadata.js';
import { UserError } from '../src/util/errors.js';
import { cliPath, readRows, tempDir } from './helpers.js';

const quiet = { log: () => {}, progress: false };
const run = (opts: Partial<HpoMainOptions>, root = tempDir()) =>
  hpoMain({ experimentTag: 't', benchmark: ['synthetic-fcnet'], randomSeed: 42, resultsRoot: root, maxWallclockTime: 900, ...opts }, quiet);

function cli(args: string[], env: Record<string, string> = {}) {
  // --verbose 1 prints a line per trial event: megabytes, beyond spawnSync's default 1 MB buffer
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('hpo-main runs', () => {
  it('the same seed gives a bit-identical results.csv.gz', async () => {
    const a = await run({ method: ['ASHA'] });
    const b = await run({ method: ['ASHA'] });
    const fa = readFileSync(join(a.outcomes[0].folder, 'results.csv.gz'));
    const fb = readFileSync(join(b.outcomes[0].folder, 'results.csv.gz'));
    expect(fa.length).toBeGreaterThan(1000);
    expect(fa.equals(fb)).toBe(true);
    const c = await run({ method: ['ASHA'], randomSeed: 43 });
    expect(readFileSync(join(c.outcomes[0].folder, 'results.csv.gz')).equals(fa)).toBe(false);
  });

  it('writes the folder layout and metadata of DESIGN §4', async () => {
    const root = tempDir();
    const { outcomes } = await run({ method: ['ASHA-PROMOTION'], numSeeds: 2, startSeed: 1 }, root);
    expect(outcomes).toHaveLength(1);
    const folder = outcomes[0].folder;
    const name = folder.split('/').pop()!;
    expect(name).toMatch(/^t-synthetic-fcnet-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{3}$/);
    expect(folder).toBe(join(root, 't', name));
    expect(readdirSync(folder).sort()).toEqual(['decisions.jsonl', 'metadata.json', 'results.csv.gz', 'trials.jsonl', 'tuner.json']);
    const meta = readMetadata(folder);
    expect(meta).toMatchObject({
      tag: 't',
      method: 'ASHA-PROMOTION',
      benchmark: 'synthetic-fcnet',
      seed: 1,
      random_seed: 42,
      n_workers: 4,
      max_wallclock_time: 900,
      metric: 'valid_loss',
      mode: 'min',
      status: 'completed',
      scheduler: { type: 'promotion', rung_levels: [1, 3, 9, 27, 81] },
    });
    expect(Date.parse(meta.end_time!)).toBeGreaterThanOrEqual(Date.parse(meta.start_time));
    const rows = readRows(join(folder, 'results.csv.gz'));
    expect(rows.some((r) => r.st_decision === 'pause')).toBe(true);
    // resumed trials continue after the rung they paused at
    const byTrial = new Map<number, number[]>();
    for (const r of rows) byTrial.set(r.trial_id as number, [...(byTrial.get(r.trial_id as number) ?? []), r.epoch as number]);
    const promoted = [...byTrial.values()].filter((e) => e.length > 1);
    expect(promoted.length).toBeGreaterThan(0);
    for (const epochs of promoted) expect(epochs).toEqual(epochs.map((_, i) => i + 1));
  });

  it('a run with seed i depends on (random_seed, i) only, not on what else runs', async () => {
    const alone = await run({ method: ['RS'], numSeeds: 3, startSeed: 2 });
    const together = await run({ method: ['RS'], numSeeds: 3 });
    const f = (o: { folder: string }) => readFileSync(join(o.folder, 'results.csv.gz'));
    expect(f(alone.outcomes[0]).equals(f(together.outcomes[2]))).toBe(true);
  });

  it('resuming an interrupted run continues it and gives the rows of an uninterrupted run', async () => {
    const root = tempDir();
    const spec = {
      tag: 't',
      method: getMethod('ASHA'),
      benchmark: getBenchmark('synthetic-fcnet'),
      seed: 0,
      masterSeed: 7,
      resultsRoot: root,
    };
    const interrupted = await runExperiment({
      ...spec,
      callbacks: [{ onResult: (tuner) => tuner.resultsWritten >= 4000 && tuner.requestStop('test') }],
    });
    expect(interrupted.metadata.status).toBe('stopped');
    expect(interrupted.metadata.stop_reason).toMatch(/^test; continue it with --resume/);
    const partial = readRows(join(interrupted.folder, 'results.csv.gz'));
    expect(partial.length).toBeGreaterThanOrEqual(4000);
    // hpo-main --resume picks that folder up and finishes it
    const resumed = await hpoMain({ experimentTag: 't', method: ['ASHA'], benchmark: ['synthetic-fcnet'], randomSeed: 7, resultsRoot: root, resume: true }, quiet);
    expect(resumed.outcomes[0].folder).toBe(interrupted.folder);
    expect(resumed.outcomes[0].metadata.status).toBe('completed');
    const full = readRows(join(interrupted.folder, 'results.csv.gz'));
    expect(full.slice(0, partial.length)).toEqual(partial);
    const fresh = await runExperiment({ ...spec, resultsRoot: tempDir() });
    expect(full).toEqual(readRows(join(fresh.folder, 'results.csv.gz')));
    // and the decisions with their reasons of an uninterrupted run, each once
    const decisions = readFileSync(join(interrupted.folder, 'decisions.jsonl'));
    expect(decisions.length).toBeGreaterThan(1000);
    expect(decisions.equals(readFileSync(join(fresh.folder, 'decisions.jsonl')))).toBe(true);
    // a second --resume finds it completed and skips it
    const again = await hpoMain({ experimentTag: 't', method: ['ASHA'], benchmark: ['synthetic-fcnet'], randomSeed: 7, resultsRoot: root, resume: true }, quiet);
    expect(again.outcomes).toHaveLength(0);
    expect(again.skipped).toEqual([interrupted.folder]);
  });

  it('a corrupt or foreign tuner.json is an error and leaves the results untouched', async () => {
    const root = tempDir();
    const first = await run({ method: ['RS'], maxWallclockTime: 300 }, root);
    const folder = first.outcomes[0].folder;
    const meta = readMetadata(folder);
    writeFileSync(join(folder, 'metadata.json'), JSON.stringify({ ...meta, status: 'running' }));
    const before = readFileSync(join(folder, 'results.csv.gz'));
    const metaBefore = readFileSync(join(folder, 'metadata.json'));
    writeFileSync(join(folder, 'tuner.json'), '{"format": "tunelab-tuner", "version": 1, "tun');
    await expect(run({ method: ['RS'], resume: true }, root)).rejects.toThrow(/cannot resume from .*tuner.json: .*JSON/);
    writeFileSync(join(folder, 'tuner.json'), JSON.stringify({ format: 'syne-tune', version: 1 }));
    await expect(run({ method: ['RS'], resume: true }, root)).rejects.toThrow(/not a tunelab tuner checkpoint/);
    expect(readFileSync(join(folder, 'results.csv.gz')).equals(before)).toBe(true);
    expect(readFileSync(join(folder, 'metadata.json')).equals(metaBefore)).toBe(true);
  });

  it('two runs never share a folder', () => {
    const root = tempDir();
    const now = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6));
    const folders = Array.from({ length: 20 }, () => createExperimentFolder(root, 'tag', 'bench-x', 3, now));
    expect(new Set(folders).size).toBe(20);
    expect(folders[0].endsWith('tag-bench-x-3-2026-01-02-03-04-05-006')).toBe(true);
    expect(parseExperimentFolderName('tag', folders[1].split('/').pop()!)).toEqual({ benchmark: 'bench-x', seed: 3, datetime: '2026-01-02-03-04-05-007' });
  });

  it('rejects a multi-method error up front, before any folder is written', async () => {
    const root = tempDir();
    await expect(run({ method: ['RS', 'NOPE'] }, root)).rejects.toThrow(UserError);
    expect(readdirSync(join(root))).toEqual([]);
  });

  it('checks every (method, benchmark) pair before the first run and lists every one that cannot run', async () => {
    const root = tempDir();
    const fcnet = getBenchmark('synthetic-fcnet');
    // a benchmark that names a resource its blackbox does not report
    const benchmarks = { 'synthetic-fcnet': fcnet, 'steps-fcnet': { ...fcnet, name: 'steps-fcnet', maxResourceAttr: 'step' } };
    const error = await hpoMain(
      { experimentTag: 't', method: ['RS', 'ASHA', 'ASHA-TANH'], benchmark: ['synthetic-fcnet', 'steps-fcnet'], randomSeed: 1, resultsRoot: root, backend: 'local' },
      { ...quiet, benchmarks },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    const lines = (error as Error).message.split('\n');
    expect(lines[0]).toBe('6 of 6 (method, benchmark) pair(s) cannot run; nothing was started:');
    const byPair = Object.fromEntries(lines.slice(1).map((l) => [l.trim().split(':')[0], l]));
    expect(Object.keys(byPair).sort()).toEqual(['ASHA on steps-fcnet', 'ASHA on synthetic-fcnet', 'ASHA-TANH on steps-fcnet', 'ASHA-TANH on synthetic-fcnet', 'RS on steps-fcnet', 'RS on synthetic-fcnet']);
    expect(byPair['ASHA on steps-fcnet']).toMatch(/needs the resource attribute 'step' of steps-fcnet, which its blackbox does not report \(its fidelity is 'epoch'\)/);
    expect(byPair['RS on steps-fcnet']).not.toMatch(/resource attribute/);
    expect(byPair['RS on synthetic-fcnet']).toMatch(/synthetic-fcnet has no training command; --backend local needs one/);
    expect(byPair['ASHA-TANH on synthetic-fcnet']).not.toMatch(/cannot fix/);
    expect(readdirSync(root)).toEqual([]);
  });
});

describe('tunelab CLI', () => {
  it('refuses --method RS ASHA-TANH --benchmark synthetic-mlp before any folder is written, naming the pair', () => {
    const root = tempDir();
    const r = cli(['hpo-main', '--experiment_tag', 'pre', '--method', 'RS', 'ASHA-TANH', '--benchmark', 'synthetic-mlp', '--results_root', root, '--random_seed', '1', '--max_wallclock_time', '60']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "tunelab: 1 of 2 (method, benchmark) pair(s) cannot run; nothing was started:\n  ASHA-TANH on synthetic-mlp: cannot fix 'hp_activation_fn_1': not in the config space (learning_rate, weight_decay, dropout, num_layers, max_units, optimizer, batch_size)\n",
    );
    expect(r.stdout).not.toMatch(/started/);
    expect(readdirSync(root)).toEqual([]);
  });

  it('--num_seeds 14 --start_seed 13 runs exactly seed 13', () => {
    const root = tempDir();
    const r = cli(['hpo-main', '--experiment_tag', 'docs-2', '--random_seed', '2465497701', '--num_seeds', '14', '--start_seed', '13', '--method', 'ASHA', '--benchmark', 'synthetic-fcnet', '--results_root', root, '--max_wallclock_time', '600']);
    expect(r.code).toBe(0);
    const folders = readdirSync(join(root, 'docs-2'));
    expect(folders).toHaveLength(1);
    expect(parseExperimentFolderName('docs-2', folders[0])?.seed).toBe(13);
  });

  it('runs the reference study debug command with --verbose 1', () => {
    const root = tempDir();
    const r = cli(['hpo-main', '--experiment_tag', 'docs-2-debug', '--random_seed', '2465497701', '--method', 'ASHA-RELU', '--verbose', '1'], { TUNELAB_ROOT: root });
    expect(r.stderr).not.toMatch(/error|\n\s+at /i);
    expect(r.code).toBe(0);
    const starts = r.stdout.split('\n').filter((l) => / trial \d+ started: /.test(l));
    expect(starts.length).toBeGreaterThan(10);
    for (const l of starts) expect(l).toMatch(/hp_activation_fn_1=relu, hp_activation_fn_2=relu/);
    expect(r.stdout).toMatch(/stopped at 1: valid_loss=/);
    expect(readdirSync(join(root, 'docs-2-debug')).length).toBeGreaterThan(0);
  });

  it('--start_seed 1 --num_seeds 3 runs seeds 1 and 2', () => {
    const root = tempDir();
    const r = cli(['hpo-main', '--experiment_tag', 'x', '--num_seeds', '3', '--start_seed', '1', '--method', 'RS', '--benchmark', 'synthetic-branin', '--results_root', root, '--max_wallclock_time', '100']);
    expect(r.code).toBe(0);
    expect(readdirSync(join(root, 'x')).map((f) => parseExperimentFolderName('x', f)?.seed).sort()).toEqual([1, 2]);
    expect(r.stdout).toMatch(/random_seed \d+ \(drawn; pass --random_seed \d+ to extend or repeat this study\)/);
  });

  it('--max_num_trials_started ends each run after that many trials, recorded in metadata.json; a resume keeps the budget', () => {
    const root = tempDir();
    const flags = ['hpo-main', '--experiment_tag', 'n', '--random_seed', '3', '--method', 'RS', 'ASHA', '--benchmark', 'synthetic-fcnet', '--results_root', root, '--max_num_trials_started', '7'];
    expect(cli(flags).code).toBe(0);
    for (const f of readdirSync(join(root, 'n'))) {
      const folder = join(root, 'n', f);
      expect(readMetadata(folder)).toMatchObject({ status: 'completed', max_num_trials_started: 7 });
      expect(new Set(readRows(join(folder, 'results.csv.gz')).map((r) => r.trial_id))).toEqual(new Set([0, 1, 2, 3, 4, 5, 6]));
    }
    const again = cli([...flags, '--resume']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already completed/);
  });

  const bad: [string, string[], RegExp][] = [
    ['a trial budget of 0', ['--max_num_trials_started', '0'], /--max_num_trials_started must be a positive integer, got 0/],
    ['unknown method', ['--method', 'ASHA', 'BOGUS'], /unknown method 'BOGUS'; valid methods: RS, GRID, ASHA, ASHA-PROMOTION, HYPERBAND/],
    ['unknown benchmark', ['--benchmark', 'fcnet-mars'], /unknown benchmark 'fcnet-mars'; valid benchmarks: .*synthetic-fcnet/],
    ['a flag of the wrong type', ['--num_seeds', 'many'], /--num_seeds expects an integer, got 'many'/],
    ['a float seed', ['--random_seed', '1.5'], /--random_seed expects an integer, got '1.5'/],
    ['an unknown flag', ['--num_seed', '3'], /unknown flag --num_seed \(did you mean --num_seeds\?\)/],
    ['an empty seed range', ['--num_seeds', '3', '--start_seed', '3'], /--start_seed 3 must be below --num_seeds 3/],
    ['an unknown backend', ['--backend', 'slurm'], /Invalid values:[\s\S]*backend[\s\S]*slurm/],
  ];
  it.each(bad)('%s: exit code 2, the bad value named, no stack trace', (_, args, re) => {
    const r = cli(['hpo-main', '--experiment_tag', 'x', '--results_root', tempDir(), ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('an unwritable results root: exit code 2, named, nothing written', () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'x');
    const r = cli(['hpo-main', '--experiment_tag', 'x', '--results_root', file, '--method', 'RS']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`cannot write results under ${file}/x: ENOTDIR`));
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('lists methods and benchmarks', () => {
    expect(cli(['methods']).stdout).toMatch(/ASHA-RELU\s+cheap/);
    const b = cli(['benchmarks']);
    expect(b.stdout).toMatch(/synthetic-fcnet\s+closed form\s+valid_loss \(min\)/);
    expect(cli(['benchmarks', '--info', 'synthetic-mlp']).stdout).toMatch(/\n {2}metric +val_accuracy \(maximised\)\n/);
    expect(cli(['benchmarks', '--info', 'nope']).code).toBe(2);
  });

  it('Ctrl-C stops gracefully with results flushed; --resume continues from tuner.json', async () => {
    const root = tempDir();
    const args = ['hpo-main', '--experiment_tag', 'int', '--method', 'RS', '--benchmark', 'synthetic-branin', '--random_seed', '3', '--results_root', root, '--max_wallclock_time', '5000000'];
    const interrupt = () =>
      new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn(process.execPath, [cliPath, ...args, ...(interruptCount++ ? ['--resume'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        child.stdout.on('data', (d) => {
          stdout += d;
          if (/: (started|resuming)/.test(stdout)) setTimeout(() => child.kill('SIGINT'), 1500);
        });
        child.on('exit', (code) => resolve({ code, stdout }));
      });
    let interruptCount = 0;
    const first = await interrupt();
    expect(first.stdout).toMatch(/SIGINT: stopping after the current step/);
    expect(first.code).toBe(130);
    const [folderName] = readdirSync(join(root, 'int'));
    const folder = join(root, 'int', folderName);
    const meta = readMetadata(folder);
    expect(meta.status).toBe('stopped');
    expect(meta.stop_reason).toMatch(/^SIGINT; continue it with --resume/);
    const rows1 = readRows(join(folder, 'results.csv.gz'));
    expect(rows1.length).toBeGreaterThan(1000);
    const second = await interrupt();
    expect(second.stdout).toMatch(/resuming .*int-synthetic-branin-0-/);
    expect(readdirSync(join(root, 'int'))).toHaveLength(1);
    const rows2 = readRows(join(folder, 'results.csv.gz'));
    expect(rows2.length).toBeGreaterThan(rows1.length);
    expect(rows2.slice(0, rows1.length)).toEqual(rows1);
  });
});
