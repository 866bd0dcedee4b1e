import { closeSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { bootId, procStat } from '../util/proc.js';

export const LOCK_FILE = 'lock';

/** Who owns an experiment folder while it runs (DESIGN.md §4). */
export interface LockOwner {
  pid: number;
  host: string;
  started: string;
  /** e.g. 'run', 'hpo-main' */
  command: string;
  /**
   * The owner's start time (clock ticks after boot, /proc/<pid>/stat field 22) and the boot's id: a
   * pid names the owner only together with these, as a container restarted with the same pids (and
   * host name) or a reboot hands the pid to another process. Absent in locks of older versions, and
   * where there is no /proc.
   */
  start_time?: string;
  boot_id?: string;
}

/** This process, as a lock records its owner. */
function currentOwner(command: string): LockOwner {
  const owner: LockOwner = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command };
  const startTime = procStat(process.pid)?.startTime;
  const boot = bootId();
  if (startTime !== undefined && boot !== undefined) Object.assign(owner, { start_time: startTime, boot_id: boot });
  return owner;
}

export function readLock(folder: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(join(folder, LOCK_FILE), 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid exists on this machine (EPERM: it exists, owned by another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the owner a lock names still runs on this machine: a process with its pid, and — when the
 * lock recorded them — the same start time under the same boot (else the pid was reused, and
 * signalling it would hit an unrelated process). A lock without them is judged by its pid alone.
 */
export function ownerAlive(owner: LockOwner): boolean {
  if (!processAlive(owner.pid)) return false;
  if (owner.start_time === undefined || owner.boot_id === undefined) return true;
  const boot = bootId();
  if (boot === undefined) return true; // no /proc here: the pid is all there is to go by
  return owner.boot_id === boot && procStat(owner.pid)?.startTime === owner.start_time;
}

/** True when the owner is known to be dead: same host and no such process (or another one with its pid). A lock of another host is trusted. */
export function lockIsStale(owner: LockOwner): boolean {
  return owner.host === hostname() && !ownerAlive(owner);
}

const inUse = (folder: string, owner: LockOwner) =>
  new UserError(`${folder} is in use by ${owner.command} (pid ${owner.pid} on ${owner.host}, since ${owner.started}); stop it first (tunelab stop ${folder})`);

/** Refuses (UserError, exit 2) when a live process owns the folder: what --resume checks before choosing a folder. */
export function assertNotInUse(folder: string): void {
  const owner = readLock(folder);
  if (owner && !lockIsStale(owner)) throw inUse(folder, owner);
}

export interface FolderLock {
  owner: LockOwner;
  /** A dead owner's lock that this one replaced. */
  tookOverFrom?: LockOwner;
  release(): void;
}

/** What a run says when it took a dead owner's lock over (undefined: it took a free folder). */
export function takeoverNotice(folder: string, lock: FolderLock): string | undefined {
  const old = lock.tookOverFrom;
  if (!old) return undefined;
  // the pid alive, yet the owner dead: another process has its pid by now
  const why = old.host === hostname() && processAlive(old.pid) ? `which is gone (pid ${old.pid} is another process by now)` : 'which is gone';
  return `${folder}: took over the lock of pid ${old.pid} (${old.command}, since ${old.started}), ${why}`;
}

function createExclusive(path: string, owner: LockOwner): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, JSON.stringify(owner) + '\n');
  } catch (e) {
    // a full disk: no empty lock file left behind for the next run to find unreadable
    closeSync(fd);
    rmSync(path, { force: true });
    throw e;
  }
  closeSync(fd);
  return true;
}

/**
 * Takes the folder's lock atomically (an exclusive create). A live owner's lock is refused with a
 * UserError naming it; a dead owner's lock (same host, no such pid, or a pid now another process's) is taken over: it is renamed
 * aside first, so of two processes taking over at once only one succeeds.
 */
export function acquireFolderLock(folder: string, command: string): FolderLock {
  const path = join(folder, LOCK_FILE);
  const owner = currentOwner(command);
  let tookOverFrom: LockOwner | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createExclusive(path, owner)) {
      let released = false;
      return {
        owner,
        tookOverFrom,
        release() {
          if (released) return;
          released = true;
          const current = readLock(folder);
          if (current && current.pid === owner.pid && current.host === owner.host && current.started === owner.started) rmSync(path, { force: true });
        },
      };
    }
    const existing = readLock(folder);
    if (existing && !lockIsStale(existing)) throw inUse(folder, existing);
    // stale, or unreadable (a crash between create and write): move it aside, then retry the create
    const aside = `${path}.stale-${process.pid}`;
    try {
      renameSync(path, aside);
      rmSync(aside, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    tookOverFrom = existing;
  }
  throw new UserError(`${folder}: could not take its lock (another process keeps taking it)`);
}
