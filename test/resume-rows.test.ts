import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalBackend } from '../src/backends/local.js';
import { runProcesses } from '../src/backends/process-group.js';
import { SimulatorBackend } from '../src/backends/simulator.js';
import type { BackendResult, PollResult } from '../src/backends/types.js';
import { syntheticBlackbox } from '../src/blackbox/synthetic.js';
import { randomSearch } from '../src/methods/random.js';
import { gzipMembers } from '../src/results/members.js';
import { parseCsv } from '../src/results/csv.js';
import { readMetadata } from '../src/results/metadata.js';
import { readCheckpoint } from '../src/tuner/checkpoint.js';
import { Tuner } from '../src/tuner/tuner.js';
import { createRng } from '../src/util/rng.js';
import { cliPath, tempDir } from './helpers.js';

/**
 * Rows on resume (issue 21, items 5 and 6): whatever a real trial printed to its log — before a
 * kill -9 of the tuner, or while a graceful stop ends it — is in results.csv.gz exactly once after
 * `--resume`, although the trial, restarted from its own checkpoint, never prints it again.
 */

const FIXTURE = join(import.meta.dirname, 'fixtures', 'checkpointing-trial.sh');
const TRIALS = 6;
const EPOCHS = 6;

function experiment(dir: string, env: Record<string, string> = {}): string {
  const file = join(dir, 'experiment.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'ckpt',
      parameters: [{ name: 'x', type: 'double', bounds: { min: 0, max: 4 } }],
      metrics: [{ name: 'loss', objective: 'minimize' }],
      resource: { name: 'epoch', max: EPOCHS },
      command: ['sh', FIXTURE],
      method: 'RS',
      budget: { max_trials: TRIALS },
      parallel_bandwidth: 2,
      random_seed: 11,
      env: { EPOCHS: String(EPOCHS), STEP: '0.15', ...env },
    }),
  );
  return file;
}

/** (trial, epoch) of every report line in the trials' logs: what they printed. */
function printed(folder: string): string[] {
  const logs = join(folder, 'logs');
  const out: string[] = [];
  for (const name of existsSync(logs) ? readdirSync(logs) : []) {
    const m = /^trial-(\d+)\.stdout$/.exec(name);
    if (!m) continue;
    for (const line of readFileSync(join(logs, name), 'utf8').split('\n')) {
      if (line.startsWith('[tunelab] ')) out.push(`${m[1]}:${(JSON.parse(line.slice(10)) as { epoch: number }).epoch}`);
    }
  }
  return out;
}

/** (trial, epoch) of every row in results.csv.gz (its complete members, as a crash leaves it). */
function recorded(folder: string): string[] {
  const path = join(folder, 'results.csv.gz');
  if (!existsSync(path)) return [];
  const [header, ...rows] = gzipMembers(readFileSync(path)).members.flatMap((m) => parseCsv(m.data.toString('utf8')));
  if (!header) return []; // created, its header not yet written
  const t = header.indexOf('trial_id');
  const e = header.indexOf('epoch');
  return rows.map((r) => `${r[t]}:${r[e]}`);
}

/** Whether a trial of the fixture has set its SIGTERM trap and has two epochs or more left to run. */
function trappedMidRun(folder: string): boolean {
  const checkpoints = join(folder, 'checkpoints');
  return (existsSync(checkpoints) ? readdirSync(checkpoints) : []).some((id) => {
    const dir = join(checkpoints, id);
    const epoch = existsSync(join(dir, 'epoch')) ? Number(readFileSync(join(dir, 'epoch'), 'utf8')) : 0;
    return existsSync(join(dir, 'trapped')) && epoch <= EPOCHS - 2;
  });
}

const unique = (xs: string[]) => [...new Set(xs)].sort();
const duplicates = (xs: string[]) => xs.filter((x, i) => xs.indexOf(x) !== i);

const children = new Set<ChildProcess>();
afterEach(() => {
  for (const c of children) c.kill('SIGKILL');
});

function startRun(file: string, root: string, resume = false) {
  const child = spawn(process.execPath, [cliPath, 'run', '-f', file, '--results_root', root, ...(resume ? ['--resume'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return { child, done };
}

const folderOf = (root: string) => {
  const tag = join(root, 'ckpt');
  const [name] = existsSync(tag) ? readdirSync(tag) : [];
  return name ? join(tag, name) : undefined;
};

/** Waits until `ready(folder)` holds (polling the files), then returns the folder. */
async function waitFor(root: string, ready: (folder: string) => boolean): Promise<string> {
  for (;;) {
    const folder = folderOf(root);
    if (folder && ready(folder)) return folder;
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function resumeToEnd(file: string, root: string, folder: string) {
  const r = await startRun(file, root, true).done;
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.code).toBe(0);
  expect(readMetadata(folder).status).toBe('completed');
  // no process of the run is left
  expect(runProcesses(String(readMetadata(folder).run_id))).toEqual([]);
  return r;
}

/**
 * What the trials printed is recorded once each; with `whole`, every trial ran to its last epoch
 * (RS does not stop trials). Not after a kill -9: a report written into the pipe in the instant
 * before the tuner died, not yet read, is in neither the log nor the results (README, Reliability).
 */
function expectEveryPrintedRowOnce(folder: string, whole: boolean) {
  const rows = recorded(folder);
  expect(duplicates(rows)).toEqual([]);
  expect(unique(rows)).toEqual(unique(printed(folder)));
  if (whole) expect(unique(rows)).toHaveLength(TRIALS * EPOCHS);
}

describe('run -f --resume after the tuner was killed: nothing a trial printed is lost', () => {
  it('kill -9 while rows it received are not yet written: --resume recovers them from the trials\' logs, each once', async () => {
    const dir = tempDir();
    const root = join(dir, 'results');
    const file = experiment(dir);
    const run = startRun(file, root);
    // the moment a crash loses most: the trials printed (and checkpointed) rows the tuner holds in memory
    const folder = await waitFor(root, (f) => {
      const p = printed(f).length;
      return p >= 6 && p >= recorded(f).length + 3;
    });
    run.child.kill('SIGKILL');
    await run.done;
    const before = { printed: printed(folder).length, recorded: recorded(folder).length };
    expect(before.printed).toBeGreaterThan(before.recorded);
    await resumeToEnd(file, root, folder);
    expectEveryPrintedRowOnce(folder, false);
  }, 120_000);
});

describe('a graceful stop loses no row', () => {
  it('a report a trial prints on its way out (on SIGTERM) is recorded on --resume, though the trial never prints it again', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const root = join(dir, 'results');
    const file = experiment(dir, { TRAP_TERM: '1' });
    const run = startRun(file, root);
    // and a trial that will report on its way out: its trap is set, and two epochs or more are left
    const folder = await waitFor(root, (f) => recorded(f).length >= 4 && trappedMidRun(f));
    run.child.kill('SIGTERM');
    const stopped = await run.done;
    expect(stopped.code).toBe(143);
    expect(readMetadata(folder).status).toBe('stopped');
    const resumed = await resumeToEnd(file, root, folder);
    // said aloud: the trials' last reports, printed after the final checkpoint, come from their logs
    expect(resumed.stdout).toMatch(/logs: recovered [1-9]\d* report\(s\) the trials printed after the checkpoint; they are recorded now/);
    expectEveryPrintedRowOnce(folder, true);
  });

  it('a result received but not yet handed to the tuner is in the backend state, and handed out after restore', async () => {
    const dir = tempDir();
    // two reports in one write, then a long epoch: the first poll hands out one result per trial
    const script = join(dir, 'two.sh');
    writeFileSync(
      script,
      `e=0; [ -f "$TUNELAB_CHECKPOINT_DIR/e" ] && e=$(cat "$TUNELAB_CHECKPOINT_DIR/e")
if [ "$e" -lt 2 ]; then printf '[tunelab] {"epoch": 1, "loss": 1}\\n[tunelab] {"epoch": 2, "loss": 0.5}\\n'; echo 2 > "$TUNELAB_CHECKPOINT_DIR/e"; fi
sleep 30 & wait $!`,
    );
    const make = () => new LocalBackend({ command: ['sh', script], resourceAttr: 'epoch', metricNames: ['loss'], logsDir: join(dir, 'logs'), checkpointsDir: join(dir, 'checkpoints'), runId: `resume-rows-${process.pid}` });
    const first = make();
    await first.start(0, { x: 1 });
    let got: BackendResult[] = [];
    while (got.length === 0) got = (await first.poll(first.now() + 10)).results;
    expect(got.map((r) => r.result.resource)).toEqual([1]);
    const state = JSON.parse(JSON.stringify(first.state()));
    await first.close();
    const second = make();
    await second.restore(state);
    const after: BackendResult[] = [];
    const deadline = second.now() + 5;
    while (second.now() < deadline && after.length === 0) after.push(...(await second.poll(second.now() + 0.5)).results);
    await second.close();
    expect(after.map((r) => r.result.resource)).toEqual([2]);
    expect(after[0].workerIter).toBe(1);
  }, 30_000);
});

describe('what restore() does with a trial folder and a restarted script', () => {
  const make = (dir: string, script: string, extra: Partial<ConstructorParameters<typeof LocalBackend>[0]> = {}) =>
    new LocalBackend({ command: ['sh', script], resourceAttr: 'epoch', metricNames: ['loss'], logsDir: join(dir, 'logs'), checkpointsDir: join(dir, 'checkpoints'), runId: `resume-rows-${process.pid}`, ...extra });

  async function pollUntil(b: LocalBackend, done: (p: PollResult) => boolean): Promise<BackendResult[]> {
    const out: BackendResult[] = [];
    for (;;) {
      const p = await b.poll(b.now() + 10);
      out.push(...p.results);
      if (done(p)) return out;
    }
  }

  it('without a resource, a restarted script starts over: its reports up to those taken in are repeats, what it printed after the checkpoint is recovered once', async () => {
    const dir = tempDir();
    const script = join(dir, 'count.sh');
    // three reports, a pause between the first and the rest; no checkpoint: restarted, it starts over
    writeFileSync(script, `echo '[tunelab] {"loss": 3}'; sleep 0.5; echo '[tunelab] {"loss": 2}'; echo '[tunelab] {"loss": 1}'; sleep 30 & wait $!`);
    const first = make(dir, script, { resourceAttr: 'iteration', countReports: true });
    await first.start(0, {});
    await pollUntil(first, (p) => p.results.length > 0);
    const state = JSON.parse(JSON.stringify(first.state()));
    // the two later reports come after the state was taken: only the log holds them
    while (!readFileSync(join(dir, 'logs', 'trial-0.stdout'), 'utf8').includes('"loss": 1')) await new Promise((r) => setTimeout(r, 20));
    await first.close();
    const second = make(dir, script, { resourceAttr: 'iteration', countReports: true });
    await second.restore(state);
    const after: BackendResult[] = [];
    const deadline = second.now() + 3;
    while (second.now() < deadline) after.push(...(await second.poll(deadline)).results);
    await second.close();
    expect(after.map((r) => [r.result.resource, r.result.metrics.loss])).toEqual([
      [2, 2],
      [3, 1],
    ]);
  }, 30_000);

  it('empties the checkpoint folder of a trial the state does not know (started in the instant before a crash), and keeps the others', async () => {
    const dir = tempDir();
    const script = join(dir, 'quiet.sh');
    writeFileSync(script, 'exit 0');
    const first = make(dir, script);
    await first.start(0, {});
    await pollUntil(first, (p) => p.completed.includes(0));
    const state = JSON.parse(JSON.stringify(first.state()));
    writeFileSync(join(dir, 'checkpoints', '0', 'model'), 'kept');
    // trial 1 started after the state was taken, and saved a checkpoint before the crash
    mkdirSync(join(dir, 'checkpoints', '1'));
    writeFileSync(join(dir, 'checkpoints', '1', 'model'), 'of a config nobody recorded');
    await first.close();
    const second = make(dir, script);
    await second.restore(state);
    await second.close();
    expect(existsSync(join(dir, 'checkpoints', '1'))).toBe(false);
    expect(readFileSync(join(dir, 'checkpoints', '0', 'model'), 'utf8')).toBe('kept');
  }, 30_000);
});

describe('Tuner checkpointOnLaunch', () => {
  it('tuner.json knows every trial from the moment it starts, with every row received before', async () => {
    const blackbox = syntheticBlackbox('synthetic-branin');
    const folder = tempDir();
    const seen: [number, number[], number, number][] = [];
    const tuner = new Tuner({
      scheduler: randomSearch({ configSpace: blackbox.configSpace, metric: 'value', mode: 'min', resourceAttr: 'epoch', maxResource: 27, nWorkers: 2, rng: createRng(1) }),
      backend: new SimulatorBackend(blackbox, { seed: 1 }),
      nWorkers: 2,
      stopping: { maxNumTrialsStarted: 6 },
      configNames: ['x1', 'x2'],
      folder,
      checkpointOnLaunch: true,
      callbacks: [
        {
          onTrialStart(t, trial) {
            const c = readCheckpoint(folder, {});
            seen.push([trial.id, c.tuner.trials.map((x) => x.id), c.rowsWritten, t.resultsWritten]);
          },
        },
      ],
    });
    await tuner.run();
    expect(seen.map(([id]) => id)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const [id, ids, rows, results] of seen) {
      expect(ids).toContain(id);
      expect(rows).toBe(results);
    }
  });
});
