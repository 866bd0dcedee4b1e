import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_FILE, type LockOwner, acquireFolderLock, lockIsStale, readLock, takeoverNotice } from '../src/results/lock.js';
import { readMetadata } from '../src/results/metadata.js';
import { bootId, procStat } from '../src/util/proc.js';
import { cliPath, tempDir } from './helpers.js';

/**
 * A folder's lock names its owner by pid, start time and boot id (issue 21, item 8): a pid that
 * belongs to another process by now (a container restarted with the same pids and host name) is
 * never signalled by `tunelab stop`, and `--resume` takes such a lock over.
 */

const noStackTrace = /\n\s+at /;
const sleepers: ChildProcess[] = [];
afterEach(() => {
  for (const s of sleepers.splice(0)) s.kill('SIGKILL');
});

/** An unrelated live process: what a reused pid names. */
function unrelated(): ChildProcess {
  const s = spawn('sleep', ['300'], { stdio: 'ignore' });
  sleepers.push(s);
  return s;
}

const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null && procStat(c.pid!) !== undefined && !procStat(c.pid!)!.zombie;

/** A lock naming `pid` as a run of this host, with the given start time (and this boot). */
function lockOf(pid: number, startTime: string | undefined, boot = bootId()): LockOwner {
  const owner: LockOwner = { pid, host: hostname(), started: new Date().toISOString(), command: 'run' };
  if (startTime !== undefined) Object.assign(owner, { start_time: startTime, boot_id: boot });
  return owner;
}

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the lock names its owner by pid, start time and boot', () => {
  it('records them, and judges a live pid with another start time or boot as a dead owner; an old lock by its pid alone', () => {
    const dir = tempDir();
    const lock = acquireFolderLock(dir, 'run');
    expect(lock.owner).toMatchObject({ pid: process.pid, start_time: procStat(process.pid)!.startTime, boot_id: bootId() });
    expect(readLock(dir)).toEqual(lock.owner);
    lock.release();

    const s = unrelated();
    const real = procStat(s.pid!)!.startTime;
    expect(lockIsStale(lockOf(s.pid!, real))).toBe(false);
    expect(lockIsStale(lockOf(s.pid!, String(Number(real) + 1)))).toBe(true);
    expect(lockIsStale(lockOf(s.pid!, real, '00000000-0000-0000-0000-000000000000'))).toBe(true);
    // a lock written before these fields existed: as before, the pid alone
    expect(lockIsStale(lockOf(s.pid!, undefined))).toBe(false);
  });

  it('a reused pid: the lock is taken over with a notice saying so, and its process is left alone', () => {
    const dir = tempDir();
    const s = unrelated();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify(lockOf(s.pid!, '1')));
    const lock = acquireFolderLock(dir, 'run');
    expect(lock.tookOverFrom?.pid).toBe(s.pid);
    expect(takeoverNotice(dir, lock)).toBe(`${dir}: took over the lock of pid ${s.pid} (run, since ${lock.tookOverFrom!.started}), which is gone (pid ${s.pid} is another process by now)`);
    expect(readLock(dir)?.pid).toBe(process.pid);
    lock.release();
    expect(alive(s)).toBe(true);
    // the pid of a live owner with the right start time is refused, as before
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify(lockOf(s.pid!, procStat(s.pid!)!.startTime)));
    expect(() => acquireFolderLock(dir, 'run')).toThrow(new RegExp(`is in use by run \\(pid ${s.pid} on ${hostname()}`));
  });
});

/** A tiny `run -f` experiment: three trials of a shell command, run to its end. */
function completedRun(dir: string): { file: string; root: string; folder: string } {
  writeFileSync(join(dir, 'trial.sh'), `awk -v x="$2" 'BEGIN { printf "[tunelab] {\\"loss\\": %.6f}\\n", (x - 0.3) ^ 2 }'\n`);
  const file = join(dir, 'experiment.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'locked',
      parameters: [{ name: 'x', type: 'double', bounds: { min: 0, max: 1 } }],
      metrics: [{ name: 'loss', objective: 'minimize' }],
      command: ['sh', join(dir, 'trial.sh')],
      method: 'RS',
      budget: { max_trials: 3 },
      parallel_bandwidth: 1,
      random_seed: 1,
    }),
  );
  const root = join(dir, 'results');
  const r = cli(['run', '-f', file, '--results_root', root]);
  expect(r.code, r.stderr).toBe(0);
  const [name] = readdirSync(join(root, 'locked'));
  return { file, root, folder: join(root, 'locked', name) };
}

/** The folder as a crash leaves it: recorded running, its lock naming `owner`. */
function crashed(folder: string, owner: LockOwner) {
  writeFileSync(join(folder, 'metadata.json'), JSON.stringify({ ...readMetadata(folder), status: 'running', end_time: null }, null, 2));
  writeFileSync(join(folder, LOCK_FILE), JSON.stringify(owner));
}

describe('tunelab stop and --resume on a lock whose pid is another process by now', () => {
  it('stop does not signal it (the owner is gone); --resume takes the lock over with a message and finishes', () => {
    const { file, root, folder } = completedRun(tempDir());
    const s = unrelated();
    crashed(folder, lockOf(s.pid!, String(Number(procStat(s.pid!)!.startTime) + 7)));

    const stop = cli(['stop', folder, '--timeout', '5']);
    expect(stop.code, stop.stderr).toBe(1);
    expect(stop.stderr).toContain(`nothing to stop: ${folder} is recorded as running, but its owner is gone (pid ${s.pid} on host ${hostname()})`);
    expect(stop.stderr).not.toContain('sent SIGTERM');
    expect(alive(s)).toBe(true);

    const resumed = cli(['run', '-f', file, '--results_root', root, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`${folder}: took over the lock of pid ${s.pid} (run, since `);
    expect(resumed.stdout).toContain(`which is gone (pid ${s.pid} is another process by now)`);
    expect(readMetadata(folder).status).toBe('completed');
    expect(existsSync(join(folder, LOCK_FILE))).toBe(false);
    expect(alive(s)).toBe(true);
  });

  it('stop refuses a folder that tunelab did not write, naming it (exit 2), and signals nobody', () => {
    const s = unrelated();
    const foreign = join(tempDir(), 'some-project');
    mkdirSync(foreign);
    // another tool's metadata.json, even with the fields tunelab reads, and a lock naming a live process rightly
    writeFileSync(join(foreign, 'metadata.json'), JSON.stringify({ method: 'x', benchmark: 'y', seed: 0, metric: 'm', mode: 'min', status: 'running' }));
    writeFileSync(join(foreign, LOCK_FILE), JSON.stringify(lockOf(s.pid!, procStat(s.pid!)!.startTime)));
    const r = cli(['stop', foreign, '--timeout', '5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`tunelab: ${foreign} is not a tunelab experiment folder: its metadata.json was not written by tunelab (it has no tunelab_version)\n`);
    expect(alive(s)).toBe(true);

    // a folder of such folders is no tag either
    const parent = join(tempDir(), 'not-a-tag');
    mkdirSync(join(parent, 'member'), { recursive: true });
    writeFileSync(join(parent, 'member', 'metadata.json'), readFileSync(join(foreign, 'metadata.json')));
    writeFileSync(join(parent, 'member', LOCK_FILE), readFileSync(join(foreign, LOCK_FILE)));
    const t = cli(['stop', parent, '--timeout', '5']);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain(`tunelab: no experiment '${parent}': not a tunelab experiment folder`);
    expect(t.stderr).not.toMatch(noStackTrace);
    expect(alive(s)).toBe(true);
  });
});
