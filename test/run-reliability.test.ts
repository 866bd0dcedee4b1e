import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { runProcesses } from '../src/backends/process-group.js';
import { readMetadata } from '../src/results/metadata.js';
import { S3_ENV, silentServer } from './cloud-helpers.js';
import { cliPath, readRows, snapshot, tempDir } from './helpers.js';

/**
 * `tunelab run -f experiment.json --resume` on damaged state and results files, and on a full disk:
 * the guarantees test/reliability.test.ts checks for hpo-main, here for a user's own training
 * command (a shell script reporting through the [tunelab] protocol), run as real CLI processes.
 */

const noStackTrace = /\n\s+at /;
const TRIALS = 16;

function runCli(args: string[]) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A training script of one report per trial: loss (x-2)^2 after 0.4 s (the 16 trials outlast two of
 * the run's 2 s checkpoints, so that one midway is caught however fast the machine). With $FILL set, the first
 * trial of all fills the disk (once: $FILL.done marks it) before it reports.
 */
function experiment(dir: string, env: Record<string, string> = {}): string {
  writeFileSync(
    join(dir, 'trial.sh'),
    `x=$2
sleep 0.4
if [ -n "\${FILL:-}" ] && [ ! -e "$FILL.done" ]; then : > "$FILL.done"; head -c 4000000 /dev/zero > "$TUNELAB_CHECKPOINT_DIR/filler" 2>/dev/null; fi
awk -v x="$x" 'BEGIN { printf "[tunelab] {\\"loss\\": %.6f}\\n", (x - 2) ^ 2 }'
`,
  );
  const file = join(dir, 'experiment.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'quick',
      parameters: [{ name: 'x', type: 'double', bounds: { min: 0, max: 4 } }],
      metrics: [{ name: 'loss', objective: 'minimize' }],
      command: ['sh', 'trial.sh'],
      method: 'RS',
      budget: { max_trials: TRIALS },
      parallel_bandwidth: 1,
      random_seed: 5,
      env,
    }),
  );
  return file;
}

/**
 * A completed run (`folder`, its results `rows`) and a tuner.json it wrote midway (`staleCheckpoint`,
 * counting `staleRows`): put back in a copy of the folder, it is a checkpoint older than the rows on
 * disk, as a crash between a flush and the next checkpoint leaves one.
 */
interface Reference {
  file: string;
  folder: string;
  rows: Record<string, unknown>[];
  staleCheckpoint: string;
  staleRows: number;
}

let ref: Reference;
beforeAll(async () => {
  const dir = tempDir();
  const root = join(dir, 'results');
  const file = experiment(dir);
  const child = spawn(process.execPath, [cliPath, 'run', '-f', file, '--results_root', root], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  let staleCheckpoint: string | undefined;
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    const tagDir = join(root, 'quick');
    const [name] = existsSync(tagDir) ? readdirSync(tagDir) : [];
    const path = name ? join(tagDir, name, 'tuner.json') : '';
    if (!staleCheckpoint && path && existsSync(path)) {
      const text = readFileSync(path, 'utf8'); // written by a rename: never half a file
      if ((JSON.parse(text) as { rowsWritten: number }).rowsWritten > 0) staleCheckpoint = text;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(await exited).toBe(0);
  const [name] = readdirSync(join(root, 'quick'));
  const folder = join(root, 'quick', name);
  expect(readMetadata(folder).status).toBe('completed');
  expect(staleCheckpoint).toBeDefined();
  const rows = readRows(join(folder, 'results.csv.gz'));
  expect(rows).toHaveLength(TRIALS);
  ref = { file, folder, rows, staleCheckpoint: staleCheckpoint!, staleRows: (JSON.parse(staleCheckpoint!) as { rowsWritten: number }).rowsWritten };
  // the checkpoint is stale only if the run went on flushing after it
  expect(ref.staleRows).toBeLessThan(TRIALS);
}, 120_000);

/** A copy of the reference folder in a fresh results root, as a crash leaves it: status running, the stale checkpoint. */
function crashedCopy(): { root: string; folder: string } {
  const root = tempDir();
  const folder = join(root, 'quick', ref.folder.split('/').pop()!);
  cpSync(ref.folder, folder, { recursive: true });
  writeFileSync(join(folder, 'tuner.json'), ref.staleCheckpoint);
  writeFileSync(join(folder, 'metadata.json'), JSON.stringify({ ...readMetadata(folder), status: 'running', end_time: null }, null, 2));
  return { root, folder };
}

/** The resumed run's rows: the checkpoint's first rows as they were, then the budget's rest, each trial once. */
function expectContinued(folder: string) {
  expect(readMetadata(folder).status).toBe('completed');
  const rows = readRows(join(folder, 'results.csv.gz'));
  expect(rows.slice(0, ref.staleRows)).toEqual(ref.rows.slice(0, ref.staleRows));
  expect(rows.map((r) => r.trial_id)).toEqual([...Array(TRIALS).keys()]);
  expect(existsSync(join(folder, 'lock'))).toBe(false);
}

describe('run --resume reconciles the results file with its checkpoint', () => {
  it('a stale checkpoint: the rows after it are discarded aloud, and the run continues from it to its budget', () => {
    const { root, folder } = crashedCopy();
    const r = runCli(['run', '-f', ref.file, '--results_root', root, '--resume']);
    expect(r.stderr).not.toMatch(noStackTrace);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `${join(folder, 'results.csv.gz')}: discarded its last ${TRIALS - ref.staleRows} row(s): they were written after the checkpoint, which counts ${ref.staleRows}`,
    );
    expect(r.stdout).toMatch(/resuming RS/);
    expectContinued(folder);
  });

  it('a torn last gzip member (a crash mid-flush): cut off, named, and the run continued', () => {
    const { root, folder } = crashedCopy();
    const path = join(folder, 'results.csv.gz');
    // half of the next flush's member went out
    const member = gzipSync(`${TRIALS},1.5,1.5,1,continue,InProgress,1,0.25,1.5\n`);
    const torn = member.subarray(0, Math.floor(member.length / 2));
    appendFileSync(path, torn);
    const r = runCli(['run', '-f', ref.file, '--results_root', root, '--resume']);
    expect(r.stderr).not.toMatch(noStackTrace);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${path}: cut off a damaged tail of ${torn.length} bytes (a damaged gzip member`);
    expect(r.stdout).toContain(`${path}: discarded its last ${TRIALS - ref.staleRows} row(s)`);
    expectContinued(folder);
  });
});

describe('run --resume refuses damaged files: exit 2, the file named, no stack trace, every file as it was', () => {
  /** A stopped run (as SIGINT leaves it, with its resume hint) to damage. */
  function stoppedCopy() {
    const { root, folder } = crashedCopy();
    writeFileSync(join(folder, 'metadata.json'), JSON.stringify({ ...readMetadata(folder), status: 'stopped', stop_reason: 'SIGINT; continue it with --resume' }, null, 2));
    return { root, folder };
  }
  const checkpoint = (folder: string) => JSON.parse(readFileSync(join(folder, 'tuner.json'), 'utf8'));
  const tunerJson = (f: string) => join(f, 'tuner.json').replace(/[.]/g, '\\.');

  const cases: [string, (folder: string) => void, (folder: string) => RegExp][] = [
    ['a tuner.json whose scheduler is {}', (f) => writeFileSync(join(f, 'tuner.json'), JSON.stringify({ ...checkpoint(f), scheduler: {} })), (f) => new RegExp(`cannot resume from ${tunerJson(f)}: scheduler\\.\\w+ is not an? \\w+ as this run's scheduler saves it`)],
    ['a tuner.json whose backend is {}', (f) => writeFileSync(join(f, 'tuner.json'), JSON.stringify({ ...checkpoint(f), backend: {} })), (f) => new RegExp(`cannot resume from ${tunerJson(f)}: backend\\.\\w+ is not an? \\w+ as this run's backend saves it`)],
    [
      'a tuner.json whose counts disagree',
      (f) => {
        const c = checkpoint(f);
        writeFileSync(join(f, 'tuner.json'), JSON.stringify({ ...c, rowsWritten: c.rowsWritten + 1 }));
      },
      (f) => new RegExp(`cannot resume from ${tunerJson(f)}: it counts ${ref.staleRows} results but ${ref.staleRows + 1} rows written`),
    ],
    ['a results.csv.gz truncated inside its first member', (f) => truncateSync(join(f, 'results.csv.gz'), 5), (f) => new RegExp(`cannot resume from ${join(f, 'results.csv.gz')}: no complete gzip member in it \\(a truncated gzip header`)],
    ['a garbage metadata.json', (f) => writeFileSync(join(f, 'metadata.json'), '{"tag": "quick", garbage'), (f) => new RegExp(`${f}: metadata.json is not valid JSON .*; it may be an unfinished run of RS on quick seed 0 \\(its tuner.json says so\\)`)],
  ];
  it.each(cases)('%s', (_, damage, message) => {
    const { root, folder } = stoppedCopy();
    damage(folder);
    const before = snapshot(root);
    const r = runCli(['run', '-f', ref.file, '--results_root', root, '--resume']);
    expect(r.stderr).toMatch(message(folder));
    expect(r.stderr).not.toMatch(noStackTrace);
    expect(r.code).toBe(2);
    // no new run started, the resume hint kept, not a byte changed
    expect(snapshot(root)).toEqual(before);
  });
});

/** Whether this machine lets a test mount a tmpfs of its own (a user and mount namespace: root not needed). */
const canMountTmpfs = spawnSync('unshare', ['-rm', 'sh', '-c', `mount -t tmpfs -o size=64k tmpfs ${tempDir()}`]).status === 0;

describe('run on a full disk (a real one: a 256 KiB tmpfs)', () => {
  it.skipIf(!canMountTmpfs)('full before it starts: the reason, exit 1; full while it runs: the run failed with the reason, no temporary file; --resume with space finishes it', () => {
    const work = tempDir();
    const mnt = join(work, 'mnt');
    const file = experiment(work, { FILL: join(work, 'fill') });
    const run = `"${process.execPath}" ${cliPath} run -f ${file}`;
    // the tmpfs lives as long as the namespace: each stage's folder is copied out before it ends
    const script = `set -u
mkdir -p ${mnt} && mount -t tmpfs -o size=256k tmpfs ${mnt} || exit 99
head -c 4000000 /dev/zero > ${mnt}/filler 2>/dev/null
${run} --results_root ${mnt}/a > ${work}/0.out 2> ${work}/0.err; echo $? > ${work}/0.rc
find ${mnt}/a -name lock > ${work}/0.locks
rm ${mnt}/filler
${run} --results_root ${mnt}/b > ${work}/1.out 2> ${work}/1.err; echo $? > ${work}/1.rc
cp -r ${mnt}/b ${work}/full
mount -o remount,size=64m ${mnt}
${run} --results_root ${mnt}/b --resume > ${work}/2.out 2> ${work}/2.err; echo $? > ${work}/2.rc
cp -r ${mnt}/b ${work}/resumed`;
    expect(spawnSync('unshare', ['-rm', 'sh', '-c', script]).status).toBe(0);
    const read = (name: string) => readFileSync(join(work, name), 'utf8');
    // full before the run could record a thing
    expect(read('0.err')).toMatch(new RegExp(`^tunelab: the disk is full \\(ENOSPC in \\w+[^)]*\\) under ${mnt}/a/quick; `));
    expect(read('0.err')).not.toMatch(noStackTrace);
    expect(read('0.rc').trim()).toBe('1');
    // and leaves no empty lock file for the next run to find unreadable
    expect(read('0.locks')).toBe('');
    // full while it runs: failed with the reason, no stack trace, no temporary file
    expect(read('1.err')).not.toMatch(noStackTrace);
    expect(read('1.rc').trim()).toBe('1');
    expect(existsSync(join(work, 'fill.done'))).toBe(true);
    const [name, ...others] = readdirSync(join(work, 'full', 'quick'));
    expect(others).toEqual([]);
    const full = join(work, 'full', 'quick', name);
    expect(read('1.out')).toMatch(new RegExp(`failed: the disk is full \\(ENOSPC in \\w+[^)]*\\) under ${mnt}/b/quick/${name}; its rows up to the last checkpoint are kept: free space, then continue it with --resume → `));
    expect(readMetadata(full)).toMatchObject({ status: 'failed', error: expect.stringMatching(/^the disk is full \(ENOSPC/) });
    const files = [...snapshot(full).keys()];
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(files).toContain('tuner.json');
    expect(existsSync(join(full, 'lock'))).toBe(false);
    // how many rows made it before the disk filled depends on the machine's speed (the filler races
    // the run); the run failed on the full disk either way (above), and loses none it wrote
    const kept = readRows(join(full, 'results.csv.gz')).length;
    expect(kept).toBeLessThanOrEqual(TRIALS);
    // with space again, --resume continues it from its checkpoint to the budget's end
    expect(read('2.err')).not.toMatch(noStackTrace);
    expect(read('2.rc').trim()).toBe('0');
    expect(read('2.out')).toMatch(/resuming RS/);
    const resumed = join(work, 'resumed', 'quick', name);
    expect(readMetadata(resumed).status).toBe('completed');
    expect(readRows(join(resumed, 'results.csv.gz')).map((r) => r.trial_id)).toEqual([...Array(TRIALS).keys()]);
  }, 120_000);
});

/** `tunelab <args>` in the background, its output collected; `lines` resolves each time stdout grows. */
function background(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(process.execPath, [cliPath, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d) => (out.stdout += d));
  child.stderr!.on('data', (d) => (out.stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { child, out, done };
}

async function until(what: () => boolean): Promise<void> {
  while (!what()) await new Promise((r) => setTimeout(r, 20));
}

describe('signals and a closed stdout', () => {
  const folderUnder = (root: string) => {
    const tag = join(root, 'quick');
    const [name] = existsSync(tag) ? readdirSync(tag) : [];
    return name ? join(tag, name) : undefined;
  };

  it('SIGHUP (a closed terminal or ssh session) stops run -f as SIGTERM does: rows flushed, tuner.json written, status stopped, exit 129, no trial left; --resume finishes it', async () => {
    const dir = tempDir();
    const root = join(dir, 'results');
    const file = experiment(dir);
    const run = background(['run', '-f', file, '--results_root', root]);
    await until(() => {
      const f = folderUnder(root);
      return f !== undefined && existsSync(join(f, 'results.csv.gz')) && readRows(join(f, 'results.csv.gz')).length >= 2;
    });
    run.child.kill('SIGHUP');
    const { code, signal } = await run.done;
    const folder = folderUnder(root)!;
    expect(run.out.stderr).not.toMatch(noStackTrace);
    expect([code, signal]).toEqual([129, null]);
    expect(run.out.stdout).toMatch(/SIGHUP: stopping the trials/);
    const meta = readMetadata(folder);
    expect(meta.status).toBe('stopped');
    expect(meta.stop_reason).toMatch(/^SIGHUP; continue it with --resume/);
    // the final checkpoint counts every row on disk
    const rows = readRows(join(folder, 'results.csv.gz'));
    expect((JSON.parse(readFileSync(join(folder, 'tuner.json'), 'utf8')) as { rowsWritten: number }).rowsWritten).toBe(rows.length);
    expect(runProcesses(String(meta.run_id))).toEqual([]);
    const resumed = runCli(['run', '-f', file, '--results_root', root, '--resume']);
    expect(resumed.code).toBe(0);
    expect(readRows(join(folder, 'results.csv.gz')).map((r) => r.trial_id)).toEqual([...Array(TRIALS).keys()]);
  }, 120_000);

  it('`run -f … | head -1`: the closed pipe is no error; the run goes on to its end, every row written, exit 0, no stack trace', async () => {
    const dir = tempDir();
    const root = join(dir, 'results');
    const file = experiment(dir);
    const run = background(['run', '-f', file, '--results_root', root]);
    // head -1: read one line, then close the pipe
    await until(() => run.out.stdout.includes('\n'));
    run.child.stdout!.destroy();
    const { code } = await run.done;
    expect(run.out.stderr).not.toMatch(/EPIPE/);
    expect(run.out.stderr).not.toMatch(noStackTrace);
    expect(code).toBe(0);
    const folder = folderUnder(root)!;
    expect(readMetadata(folder).status).toBe('completed');
    expect(readRows(join(folder, 'results.csv.gz')).map((r) => r.trial_id)).toEqual([...Array(TRIALS).keys()]);
  }, 120_000);

  describe('while an S3 upload hangs (a server that accepts and never answers)', () => {
    const hpoMainArgs = (root: string, budget: number) => [
      'hpo-main', '--experiment_tag', 'hang', '--method', 'RS', '--benchmark', 'synthetic-branin', '--random_seed', '3',
      '--max_wallclock_time', String(budget), '--results_root', root, '--s3_bucket', 'b',
    ];
    // the upload would wait 10 min per attempt: the signal, not a timeout, must end it
    const env = (endpoint: string) => ({ ...process.env, ...S3_ENV, AWS_ENDPOINT_URL_S3: endpoint, TUNELAB_AWS_TIMEOUT: '600', TUNELAB_AWS_MAX_ATTEMPTS: '1' });

    it.each(['SIGINT', 'SIGTERM'] as const)('%s aborts the upload under way and exits at once, the local results kept', async (sig) => {
      const silent = await silentServer();
      try {
        const root = tempDir();
        const run = background(hpoMainArgs(root, 200), env(silent.endpoint));
        // the run is done and its final upload waits on the server
        await until(() => silent.stats.connections > 0);
        run.child.kill(sig);
        const { code } = await run.done;
        expect(run.out.stderr).not.toMatch(noStackTrace);
        expect(code).toBe(sig === 'SIGINT' ? 130 : 143);
        expect(run.out.stdout).toMatch(new RegExp(`${sig}: abandoned the upload under way; the local results stay`));
        expect(run.out.stdout).toMatch(/upload of \S+ abandoned \(SIG\w+\) \(the local results stay in /);
        const tag = join(root, 'hang');
        const [name] = readdirSync(tag);
        const meta = readMetadata(join(tag, name));
        expect(meta.status).toBe('completed');
        expect(readRows(join(tag, name, 'results.csv.gz')).length).toBeGreaterThan(0);
      } finally {
        await silent.close();
      }
    }, 60_000);

    it('a second Ctrl-C exits at once: the first stopped the run, the second ends the upload of the stopped run', async () => {
      const silent = await silentServer();
      let run: ReturnType<typeof background> | undefined;
      try {
        const root = tempDir();
        run = background(hpoMainArgs(root, 1e9), env(silent.endpoint));
        await until(() => /: started/.test(run.out.stdout));
        run.child.kill('SIGINT');
        // stopped, and its final upload (a stopped run goes to S3 too) waits on the server
        await until(() => silent.stats.connections > 0);
        run.child.kill('SIGINT');
        const { code } = await run.done;
        expect(run.out.stderr).not.toMatch(noStackTrace);
        expect(code).toBe(130);
        expect(run.out.stdout).toMatch(/SIGINT again: exiting now/);
        const tag = join(root, 'hang');
        const [name] = readdirSync(tag);
        expect(readMetadata(join(tag, name)).status).toBe('stopped');
        expect(readRows(join(tag, name, 'results.csv.gz')).length).toBeGreaterThan(0);
      } finally {
        // a run this test failed to stop must not outlive it (its budget is 1e9 s)
        if (run && run.child.exitCode === null) run.child.kill('SIGKILL');
        await silent.close();
      }
    }, 60_000);
  });
});
