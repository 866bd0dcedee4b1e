import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Every process of a local run's trials carries `TUNELAB_RUN_ID=<runId>`, so a later run can find them. */
export const ENV_RUN_ID = 'TUNELAB_RUN_ID';

/**
 * The leader of each trial's group, run by /bin/sh (dash starts in ~1 ms). It forks a watcher that
 * blocks on fd 3, a pipe whose other end only the tuner holds: when the tuner dies, even by
 * SIGKILL, the read returns EOF and the watcher ends the group (TERM, then KILL after the grace
 * period). The watcher ignores TERM, so it also guards a command that is slow to obey the tuner's
 * TERM. The command runs in the foreground (a background job would get SIGINT ignored), with fd 3
 * closed and the real stderr (kept in fd 4: the shell's own stderr is /dev/null, so that its
 * "Killed" notices stay out of the trial's). The leader catches TERM only to outlive it, then
 * kills and reaps the watcher and exits with the command's status (128 + n for death by signal
 * n). Everything in the group is thus reaped by its parent, and the group is gone (ESRCH) the
 * moment the leader's exit is seen, unless the command left processes behind.
 */
function supervisorScript(graceSeconds: number): string {
  return [
    'trap : TERM',
    'exec 4>&2 2>/dev/null',
    `(trap '' TERM; read _ <&3; kill -TERM 0; sleep ${graceSeconds}; kill -KILL 0) </dev/null >/dev/null 4>&- &`,
    '(exec 2>&4 3<&- 4>&-; exec "$@")',
    's=$?',
    'kill -KILL $!; wait $!',
    'exit $s',
  ].join('\n');
}

/** Starts `argv` under the supervisor, as the leader of a new session and process group (pgid = the child's pid); stdio 1 and 2 are pipes. */
export function spawnGroup(argv: readonly string[], options: { cwd?: string; env: NodeJS.ProcessEnv; graceSeconds: number }): ChildProcess {
  return spawn('/bin/sh', ['-c', supervisorScript(options.graceSeconds), 'sh', ...argv], {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
}

interface ProcStat {
  pid: number;
  pgid: number;
  zombie: boolean;
}

function procStat(pid: string): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined; // gone meanwhile
  }
  // "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid: Number(pid), pgid: Number(fields[2]), zombie: fields[0] === 'Z' || fields[0] === 'X' };
}

function procPids(): string[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name));
}

const hasProc = process.platform === 'linux';

/**
 * Whether any process of the group still runs. kill(-pgid, 0) also succeeds for zombies, and an
 * orphan's zombie lingers until init reaps it (seconds, on some machines), so on Linux a group
 * with only zombies left counts as gone.
 */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (!hasProc) return true;
  return procPids().some((pid) => {
    const s = procStat(pid);
    return s !== undefined && s.pgid === pgid && !s.zombie;
  });
}

/** False if the group is gone already. */
function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves when `event` settles or after `ms`, whichever is first, leaving no timer behind. */
function within(event: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void event.finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Resolves with true once the group is gone, or false at `until` (performance.now() ms). Checks at
 * growing intervals: what is left of a group that was just signalled is usually gone within
 * milliseconds; a stubborn one is checked ten times a second.
 */
async function waitGone(pgid: number, until: number): Promise<boolean> {
  for (let interval = 2; ; interval = Math.min(100, interval * 2)) {
    if (!groupAlive(pgid)) return true;
    const left = until - performance.now();
    if (left <= 0) return false;
    await sleep(Math.min(interval, left));
  }
}

/** After SIGKILL only a process stuck in the kernel (state D) survives; we stop waiting for it after this long. */
const KILL_WAIT_MS = 10_000;

/**
 * SIGTERM to the whole group, SIGKILL after `graceSeconds` if anything of it is still alive;
 * resolves once it is gone. `leaderExit` (the leader's exit event) lets the usual case, a group
 * that ends with its leader, finish without checking the process table.
 */
export async function endGroup(pgid: number, graceSeconds: number, leaderExit: Promise<unknown>): Promise<void> {
  if (!signalGroup(pgid, 'SIGTERM')) return;
  const until = performance.now() + graceSeconds * 1000;
  await within(leaderExit, graceSeconds * 1000);
  if (await waitGone(pgid, until)) return;
  signalGroup(pgid, 'SIGKILL');
  await waitGone(pgid, performance.now() + KILL_WAIT_MS);
}

/** Live processes (not zombies) whose environment has `TUNELAB_RUN_ID=<runId>`; empty where there is no /proc. */
export function runProcesses(runId: string): ProcStat[] {
  if (!hasProc) return [];
  const entry = `\0${ENV_RUN_ID}=${runId}\0`;
  const found: ProcStat[] = [];
  for (const pid of procPids()) {
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue; // gone, or another user's
    }
    if (!`\0${environ}`.includes(entry)) continue;
    const s = procStat(pid);
    if (s && !s.zombie) found.push(s);
  }
  return found;
}

/**
 * Kills (SIGKILL) every process group holding a process of the run `runId`, e.g. trials of an
 * earlier tuner of the same experiment folder that is gone, and resolves with how many groups it
 * killed once they are gone. Never this process's own group. Linux only; elsewhere 0.
 */
export async function killLeftoverTrials(runId: string): Promise<number> {
  let own: number | undefined;
  if (hasProc) own = procStat(String(process.pid))?.pgid;
  const groups = new Set(runProcesses(runId).filter((p) => p.pid !== process.pid && p.pgid > 1 && p.pgid !== own).map((p) => p.pgid));
  for (const pgid of groups) signalGroup(pgid, 'SIGKILL');
  const until = performance.now() + KILL_WAIT_MS;
  await Promise.all([...groups].map((pgid) => waitGone(pgid, until)));
  return groups.size;
}
