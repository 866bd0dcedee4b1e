import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadResults } from '../src/plotting/load.js';
import { bestSoFarAt } from '../src/plotting/aggregate.js';
import { formatValue } from '../src/util/table.js';
import { readMetadata } from '../src/results/metadata.js';
import { isFeasible } from '../src/schedulers/constraints.js';
import { cliPath, readRows, tempDir } from './helpers.js';

const examples = join(import.meta.dirname, '..', 'examples');

/** Processes (pid, args) whose command line or environment holds `marker`: what a run may leave behind. */
function processesWith(marker: string): { pid: number; args: string }[] {
  const out: { pid: number; args: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const env = readFileSync(`/proc/${name}/environ`, 'utf8');
      if (args.includes(marker) || env.includes(marker)) out.push({ pid: Number(name), args });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

async function until<T>(what: string, probe: () => T | undefined | false, limitSeconds = 60): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() - t0 > limitSeconds * 1000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function runCli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
}

function startCli(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => text, exited };
}

const onlyFolder = (root: string, tag: string) => {
  const names = readdirSync(join(root, tag));
  expect(names).toHaveLength(1);
  return join(root, tag, names[0]);
};

/** A script that "trains" slowly: epoch e reports loss (x-2)^2 + 1/e, and size = 10·x, checkpointing its epoch. */
function slowScript(dir: string, sleepSeconds: number): string {
  const file = join(dir, 'slow.py');
  writeFileSync(
    file,
    `import json, os, sys, time
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
x = float(args['--x'])
ckpt = os.path.join(os.environ['TUNELAB_CHECKPOINT_DIR'], 'epoch')
start = int(open(ckpt).read()) + 1 if os.path.exists(ckpt) else 1
for e in range(start, 6):
    time.sleep(${sleepSeconds})
    print('[tunelab] ' + json.dumps({'epoch': e, 'loss': (x - 2) ** 2 + 1 / e, 'size': 10 * x}), flush=True)
    open(ckpt + '.tmp', 'w').write(str(e)); os.replace(ckpt + '.tmp', ckpt)
`,
  );
  return file;
}

function experimentFile(dir: string, body: Record<string, unknown>): string {
  const file = join(dir, 'experiment.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'slow',
      parameters: [{ name: 'x', type: 'double', bounds: { min: 0, max: 4 } }],
      metrics: [{ name: 'loss', objective: 'minimize' }],
      command: ['python3', 'slow.py'],
      resource: { name: 'epoch', max: 5 },
      random_seed: 11,
      ...body,
    }),
  );
  return file;
}

describe('tunelab run (real subprocesses)', () => {
  it('tunes the Python example with ASHA-PROMOTION: standard folder, exact trial budget, paused trials continue their curves', () => {
    const root = tempDir();
    const r = runCli(['run', '-f', join(examples, 'python-sgd', 'experiment.yml'), '--results_root', root]);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/best valid_loss [\d.]+ \(trial \d+: lr=/);
    const folder = onlyFolder(root, 'python-sgd');
    expect(folder).toMatch(/python-sgd-python-sgd-0-\d{4}-\d\d-\d\d-/);
    const meta = readMetadata(folder);
    expect(meta).toMatchObject({ status: 'completed', method: 'ASHA-PROMOTION', metric: 'valid_loss', mode: 'min', resource_attr: 'epoch', backend: 'local', random_seed: 3 });
    expect((meta.experiment as { name: string }).name).toBe('python-sgd');
    expect(existsSync(join(folder, 'lock'))).toBe(false);
    const rows = readRows(join(folder, 'results.csv.gz'));
    expect(Object.keys(rows[0])).toEqual(['trial_id', 'st_tuner_time', 'st_worker_time', 'st_worker_iter', 'st_decision', 'st_status', 'epoch', 'valid_loss', 'valid_accuracy', 'config_lr', 'config_l2', 'config_batch_size', 'config_features']);
    const trials = new Map<number, typeof rows>();
    for (const row of rows) trials.set(row.trial_id as number, [...(trials.get(row.trial_id as number) ?? []), row]);
    expect(trials.size).toBe(12);
    // every trial's epochs are 1, 2, 3, ... without gaps or repeats, also across pauses
    for (const list of trials.values()) expect(list.map((x) => x.epoch)).toEqual(list.map((_, i) => i + 1));
    const paused = [...trials.values()].filter((list) => list.some((x) => x.st_decision === 'pause') && list.length > 1);
    expect(paused.length).toBeGreaterThan(0);
    // a resumed trial's values are those of an uninterrupted run of its config: it continued from its checkpoint
    const list = paused[0];
    const c = list[0];
    const direct = spawnSync('python3', [join(examples, 'python-sgd', 'train.py'), '--epochs', String(list.length), '--lr', String(c.config_lr), '--l2', String(c.config_l2), '--batch_size', String(c.config_batch_size), '--features', String(c.config_features)], { encoding: 'utf8', env: { ...process.env, TUNELAB_CHECKPOINT_DIR: tempDir() } });
    const curve = direct.stdout.trim().split('\n').map((l) => JSON.parse(l.slice('[tunelab] '.length)).valid_loss);
    expect(list.map((x) => x.valid_loss)).toEqual(curve);
    expect(readFileSync(join(folder, 'logs', `trial-${c.trial_id}.stdout`), 'utf8')).toContain('[tunelab] {"epoch": 1');
  });

  it('tunes the TypeScript example (the MLP on the penguins, checkpoints per epoch) with ASHA-PROMOTION', () => {
    const root = tempDir();
    const r = runCli(['run', '-f', join(examples, 'own-model', 'experiment.yml'), '--results_root', root]);
    expect(r.status).toBe(0);
    const folder = onlyFolder(root, 'penguins-mlp');
    expect(readMetadata(folder).status).toBe('completed');
    const rows = readRows(join(folder, 'results.csv.gz'));
    const byTrial = new Map<number, number[]>();
    for (const row of rows) byTrial.set(row.trial_id as number, [...(byTrial.get(row.trial_id as number) ?? []), row.epoch as number]);
    expect(byTrial.size).toBe(30);
    for (const epochs of byTrial.values()) expect(epochs).toEqual(epochs.map((_, i) => i + 1));
    // the promoted trials reached the end of the budget in their checkpoint folders
    expect(Math.max(...rows.map((x) => x.epoch as number))).toBe(27);
    expect(Math.min(...rows.filter((x) => x.epoch === 27).map((x) => x.valid_loss as number))).toBeLessThan(0.4);
  });

  it('a constraint: BO on the penguins MLP never calls an infeasible trial best, in the summary, best, status and the plot curves', async () => {
    const root = tempDir();
    const r = runCli(['run', '-f', join(examples, 'constrained', 'experiment.yml'), '--results_root', root]);
    expect(r.status).toBe(0);
    const folder = onlyFolder(root, 'penguins-mlp-small');
    const constraints = [{ metric: 'n_params', mode: 'min' as const, threshold: 3000 }];
    expect(readMetadata(folder).constraints).toEqual(constraints);
    const allRows = readRows(join(folder, 'results.csv.gz'));
    // a trial's value is its last report (the file's `best` is the default, last)
    const rows = [...new Map(allRows.map((x) => [x.trial_id, x])).values()];
    const feasible = rows.filter((x) => isFeasible(x as Record<string, number>, constraints));
    expect(feasible.length).toBeGreaterThan(0);
    const bestFeasible = Math.min(...feasible.map((x) => x.valid_loss as number));
    const bestAny = Math.min(...rows.map((x) => x.valid_loss as number));
    const best = JSON.parse(runCli(['best', folder, '--json']).stdout);
    expect(best.metrics.valid_loss).toBe(bestFeasible);
    expect(best.metrics.n_params).toBeLessThanOrEqual(3000);
    expect(r.stdout).toContain(`best valid_loss ${formatValue(bestFeasible)} `);
    const { runs } = await loadResults({ tags: ['penguins-mlp-small'], root, warn: () => {} });
    expect(bestSoFarAt(runs[0], Infinity)).toBe(bestFeasible);
    // the test means something only if the constraint bit: BO tried larger nets that did better
    if (bestAny < bestFeasible) expect(rows.some((x) => (x.n_params as number) > 3000 && (x.valid_loss as number) === bestAny)).toBe(true);
    expect(rows.some((x) => (x.n_params as number) > 3000)).toBe(true);
  });

  it('SIGTERM stops every trial group, flushes and marks the run stopped; --resume continues clock and budget', async () => {
    const dir = tempDir();
    const root = join(dir, 'results');
    slowScript(dir, 0.5);
    const file = experimentFile(dir, { method: 'ASHA', budget: { max_trials: 6 }, parallel_bandwidth: 2 });
    const run = startCli(['run', '-f', file, '--results_root', root]);
    // some trial in its second epoch (which one ASHA lets continue depends on which reports first)
    const folder = await until('a trial in its second epoch', () => {
      const tagDir = join(root, 'slow');
      const names = existsSync(tagDir) ? readdirSync(tagDir) : [];
      const logs = names.length && existsSync(join(tagDir, names[0], 'logs')) ? readdirSync(join(tagDir, names[0], 'logs')).filter((n) => n.endsWith('.stdout')) : [];
      return logs.some((n) => readFileSync(join(tagDir, names[0], 'logs', n), 'utf8').includes('"epoch": 2')) && join(tagDir, names[0]);
    });
    const runId = String(readMetadata(folder).run_id);
    expect(processesWith(runId).length).toBeGreaterThan(0);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(143);
    expect(run.output()).toMatch(/SIGTERM: stopping the trials/);
    expect(processesWith(runId)).toEqual([]);
    const meta = readMetadata(folder);
    expect(meta.status).toBe('stopped');
    expect(existsSync(join(folder, 'lock'))).toBe(false);
    const before = readRows(join(folder, 'results.csv.gz'));
    expect(before.length).toBeGreaterThan(0);
    const lastTime = Math.max(...before.map((x) => x.st_tuner_time as number));

    const resumed = runCli(['run', '-f', file, '--results_root', root, '--resume']);
    expect(resumed.status).toBe(0);
    expect(resumed.stdout).toMatch(/resuming ASHA/);
    expect(readMetadata(folder).status).toBe('completed');
    const after = readRows(join(folder, 'results.csv.gz'));
    expect(after.slice(0, before.length)).toEqual(before);
    // the clock continues: no row of the resumed run is stamped earlier than the last row before the stop
    for (const row of after.slice(before.length)) expect(row.st_tuner_time as number).toBeGreaterThanOrEqual(lastTime);
    // the budget continues: 6 trials in all, not 6 more
    expect(new Set(after.map((x) => x.trial_id)).size).toBeLessThanOrEqual(6);
    expect(JSON.parse(readFileSync(join(folder, 'tuner.json'), 'utf8')).tuner.nextTrialId).toBe(6);
    expect(processesWith(runId)).toEqual([]);
  });

  it('kill -9 of run: its trials end within seconds; a second run --resume while one is alive is refused; resume takes the stale lock over', async () => {
    const dir = tempDir();
    const root = join(dir, 'results');
    slowScript(dir, 1);
    const file = experimentFile(dir, { method: 'RS', budget: { max_trials: 4 }, parallel_bandwidth: 2 });
    const run = startCli(['run', '-f', file, '--results_root', root]);
    const folder = await until('the first report', () => {
      const tagDir = join(root, 'slow');
      const names = existsSync(tagDir) ? readdirSync(tagDir) : [];
      const f = names.length ? join(tagDir, names[0]) : '';
      return f && existsSync(join(f, 'logs', 'trial-0.stdout')) && readFileSync(join(f, 'logs', 'trial-0.stdout'), 'utf8').includes('"epoch": 1') && f;
    });
    const runId = String(readMetadata(folder).run_id);
    const second = runCli(['run', '-f', file, '--results_root', root, '--resume']);
    expect(second.status).toBe(2);
    expect(second.stderr).toMatch(new RegExp(`is in use by run \\(pid ${run.child.pid} on `));
    run.child.kill('SIGKILL');
    await run.exited;
    await until('the orphaned trials to end', () => processesWith(runId).length === 0, 20);
    const resumed = runCli(['run', '-f', file, '--results_root', root, '--resume']);
    expect(resumed.status).toBe(0);
    expect(resumed.stdout).toMatch(new RegExp(`took over the lock of pid ${run.child.pid}`));
    expect(readMetadata(folder).status).toBe('completed');
    const rows = readRows(join(folder, 'results.csv.gz'));
    expect(new Set(rows.map((x) => x.trial_id)).size).toBe(4);
    expect(processesWith(runId)).toEqual([]);
  });

  it('failing trials: the reason and the end of stderr in metadata.json; more than max_failures fails the run with its results intact', () => {
    const dir = tempDir();
    const root = join(dir, 'results');
    writeFileSync(join(dir, 'flaky.py'), `import json, sys\nargs = dict(zip(sys.argv[1::2], sys.argv[2::2]))\nx = float(args['--x'])\nif x > 2:\n    print('diverged at lr', x, file=sys.stderr)\n    sys.exit(3)\nprint('[tunelab] ' + json.dumps({'loss': x}))\n`);
    const file = experimentFile(dir, { command: 'python3 flaky.py', resource: undefined, method: 'RS', budget: { max_trials: 40 }, max_failures: 2 });
    const r = runCli(['run', '-f', file, '--results_root', root]);
    expect(r.status).toBe(1);
    const folder = onlyFolder(root, 'slow');
    const meta = readMetadata(folder);
    expect(meta.status).toBe('failed');
    expect(meta.error).toMatch(/3 trials failed, more than max_failures=2/);
    const failures = meta.failed_trials as { trial_id: number; error: string }[];
    expect(failures).toHaveLength(3);
    for (const f of failures) expect(f.error).toMatch(/exit code 3; stderr: diverged at lr/);
    const rows = readRows(join(folder, 'results.csv.gz'));
    // without a resource each report is the trial's next iteration
    expect(rows.every((x) => x.iteration === 1 && (x.loss as number) <= 2)).toBe(true);
  });

  it('a command that does not exist is named before any trial starts; nothing is written', () => {
    const dir = tempDir();
    const root = join(dir, 'results');
    const file = experimentFile(dir, { command: ['./no-such-train.sh'], method: 'RS', budget: { max_trials: 2 } });
    const r = runCli(['run', '-f', file, '--results_root', root]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no-such-train.sh/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(root, 'slow')) && readdirSync(join(root, 'slow')).length).toBeFalsy();
  });

  it('--backend sagemaker without its settings names every missing flag; nothing is written', () => {
    const dir = tempDir();
    const root = join(dir, 'results');
    const file = experimentFile(dir, { method: 'RS', budget: { max_trials: 2 } });
    const r = runCli(['run', '-f', file, '--results_root', root, '--backend', 'sagemaker', '--sagemaker_role', 'arn:aws:iam::1:role/x']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--backend sagemaker needs --sagemaker_image, --s3_bucket');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(root)).toBe(false);
    const bad = runCli(['run', '-f', file, '--results_root', root, '--backend', 'simulator']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/simulator/);
    expect(bad.stderr).toMatch(/local.*sagemaker/);
  });

  it('run --storage: the same file as a shared study, workers started here, the budget met exactly', () => {
    const dir = tempDir();
    slowScript(dir, 0.05);
    const file = experimentFile(dir, { method: 'ASHA', budget: { max_trials: 8 }, parallel_bandwidth: 3 });
    const storage = `sqlite:${join(dir, 'studies.db')}`;
    const r = runCli(['run', '-f', file, '--storage', storage]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/starting 3 worker\(s\); join from elsewhere with: tunelab study worker 1 --storage/);
    const status = JSON.parse(runCli(['study', 'status', 'slow', '--storage', storage, '--json']).stdout);
    expect(status.observations).toBe(8);
    expect(runCli(['run', '-f', file, '--storage', storage, '--resume']).stderr).toMatch(/--resume does not apply with --storage/);
    expect(processesWith(dir)).toEqual([]);
  });

  it('run --storage refuses the flags of a methods × seeds study (exit 2, the flag, why, what to do instead); no store is created', () => {
    const dir = tempDir();
    const file = experimentFile(dir, { method: 'RS', budget: { max_trials: 2 } });
    const db = join(dir, 'studies.db');
    const cases: [string[], RegExp][] = [
      [['--method', 'BO', 'ASHA'], /--method does not apply with --storage: a shared study is the file as written; it runs the file's one method .*set `method:` in the file; to compare methods on your script, run without --storage/],
      [['--method', 'BO'], /--method does not apply with --storage/],
      [['--num_seeds', '3'], /--num_seeds does not apply with --storage: .*one run with the file's random_seed.*run without --storage \(--num_seeds N\)/],
      [['--start_seed', '1'], /--start_seed does not apply with --storage: .*set `random_seed:` in the file/],
      [['--random_seed', '7'], /--random_seed does not apply with --storage: .*set `random_seed:` in the file/],
      [['--max_trials', '9'], /--max_trials does not apply with --storage: .*budget: \{max_trials: N\}/],
    ];
    for (const [flags, message] of cases) {
      const r = runCli(['run', '-f', file, '--storage', `sqlite:${db}`, ...flags]);
      expect(r.status, flags.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(db)).toBe(false);
    }
  });

  it('run --storage -- <command>: the workers run the given command, not the file\'s', () => {
    const dir = tempDir();
    slowScript(dir, 0);
    // the file's command fails every trial: the run succeeds only with the command after --
    const file = experimentFile(dir, { method: 'RS', budget: { max_trials: 3 }, parallel_bandwidth: 1, max_failures: 0, command: ['sh', '-c', 'exit 3'] });
    const storage = `sqlite:${join(dir, 'studies.db')}`;
    const r = runCli(['run', '-f', file, '--storage', storage, '--', 'python3', 'slow.py']);
    expect(r.status, r.stderr).toBe(0);
    const status = JSON.parse(runCli(['study', 'status', 'slow', '--storage', storage, '--json']).stdout);
    expect([status.observations, status.failed]).toEqual([3, 0]);
  });
});
