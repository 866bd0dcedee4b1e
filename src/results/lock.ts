import { closeSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';

export const LOCK_FILE = 'lock';

/** Who owns an experiment folder while it runs (DESIGN.md §4). */
export interface LockOwner {
  pid: number;
  host: string;
  started: string;
  /** e.g. 'run', 'hpo-main' */
  command: string;
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

/** True when the owner is known to be dead: same host and no such process. A lock of another host is trusted. */
export function lockIsStale(owner: LockOwner): boolean {
  return owner.host === hostname() && !processAlive(owner.pid);
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
 * UserError naming it; a dead owner's lock (same host, no such pid) is taken over: it is renamed
 * aside first, so of two processes taking over at once only one succeeds.
 */
export function acquireFolderLock(folder: string, command: string): FolderLock {
  const path = join(folder, LOCK_FILE);
  const owner: LockOwner = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command };
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
