import { setTimeout as sleep } from 'node:timers/promises';
import { type LockOwner, ownerAlive, readLock } from '../results/lock.js';
import { UserError } from '../util/errors.js';
import { assertTunelabFolder, describeOwner, liveness } from './folder.js';
import { type ExperimentStatusReport, experimentStatus } from './status.js';

export interface StopOptions {
  /** Seconds to wait for the owner to release the lock (default 120). */
  timeoutSec?: number;
  /** Milliseconds between looks at the lock (default 100). */
  pollMs?: number;
  /** Told what is happening ("sent SIGTERM to ..."). */
  log?: (line: string) => void;
}

export interface StopOutcome {
  /** 'stopped': the owner was signalled and let go of the folder; 'not-running': nothing to stop; 'owner-gone': recorded running, but its owner is dead. */
  outcome: 'stopped' | 'not-running' | 'owner-gone';
  /** The owner that was signalled. */
  owner?: LockOwner;
  report: ExperimentStatusReport;
}

const sameOwner = (a: LockOwner | undefined, b: LockOwner) => a !== undefined && a.pid === b.pid && a.host === b.host && a.started === b.started;

/**
 * Stops the run that owns a folder, as Ctrl-C would: SIGTERM to the lock's owner (it stops its
 * trials, flushes, writes tuner.json, marks the folder stopped and removes the lock), then waits for
 * the lock to go. An owner on another host cannot be signalled from here: a UserError names the host.
 */
export async function stopExperiment(folder: string, options: StopOptions = {}): Promise<StopOutcome> {
  // a tag's newest member may be another tool's folder: its lock's pid is nobody we started
  assertTunelabFolder(folder);
  const live = liveness(folder);
  const owner = live.owner;
  if (!owner?.alive) return { outcome: live.ownerGone ? 'owner-gone' : 'not-running', report: experimentStatus(folder) };
  if (!owner.sameHost) throw new UserError(`${folder} is run by ${describeOwner(owner)}, not this host; run tunelab stop there`);
  try {
    process.kill(owner.pid, 'SIGTERM');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EPERM') throw new UserError(`cannot signal ${describeOwner(owner)} (${owner.command}): it belongs to another user`);
    if (code !== 'ESRCH') throw e;
  }
  options.log?.(`sent SIGTERM to ${owner.command} (${describeOwner(owner)}); waiting for it to release ${folder}`);
  const timeoutSec = options.timeoutSec ?? 120;
  const deadline = Date.now() + timeoutSec * 1000;
  // done when the lock is gone or another's, or the owner died without releasing it
  while (sameOwner(readLock(folder), owner) && ownerAlive(owner)) {
    if (Date.now() >= deadline) {
      throw new UserError(`${describeOwner(owner)} has not released ${folder} within ${timeoutSec}s; it may still be flushing (see tunelab status ${folder}, or wait longer with --timeout)`, 1);
    }
    await sleep(options.pollMs ?? 100);
  }
  return { outcome: 'stopped', owner, report: experimentStatus(folder) };
}
