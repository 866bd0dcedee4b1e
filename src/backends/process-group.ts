import { type ChildProcess, spawn } from 'node:child_process';
import { type ProcStat, hasProc, procPids, procStat, readProcText } from '../util/proc.js';

/** Every process of a local run's trials carries `TUNELAB_RUN_ID=<runId>`, so a later run can find them. */
export const ENV_RUN_ID = 'TUNELAB_RUN_ID';

/**
 * The leader of each trial's group, run by /bin/sh (dash starts in ~1 ms). It forks a watcher that
 * blocks on fd 3, a pipe whose other end only the tuner holds: when the tuner dies, even by
 * SIGKILL, the read returns EOF and the watcher ends the trial: it tells the leader (USR1: from now
 * on the watcher must outlive the command), TERMs the group and the trial's escaped processes
 * (`setsid`, double forks: found by their environment, see sweepFunction), and after the grace
 * period KILLs those and then the group, itself included. The watcher ignores TERM, so it also
 * guards a command that is slow to obey the tuner's TERM. The command runs in the foreground (a
 * background job would get SIGINT ignored), with fd 3 closed and the real stderr (kept in fd 4: the
 * shell's own stderr is /dev/null, so that its "Killed" notices stay out of the trial's). The
 * leader catches TERM only to outlive it; once the command exited it kills and reaps the watcher,
 * unless the watcher is ending the trial (a helper that ignored the TERM must still get its KILL),
 * and exits with the command's status (128 + n for death by signal n). Everything in the group is
 * thus reaped by its parent, and the group is gone (ESRCH) the moment the leader's exit is seen,
 * unless the command left processes behind.
 */
function supervisorScript(graceSeconds: number, marks: readonly string[]): string {
  return [
    'trap : TERM',
    "trap 'orphaned=1' USR1",
    'exec 4>&2 2>/dev/null',
    `(trap '' TERM; read _ <&3; read -r self _ </proc/self/stat; ${sweepFunction(marks)}; kill -USR1 $$; kill -TERM 0; sweep TERM; sleep ${graceSeconds}; sweep KILL; kill -KILL 0) </dev/null >/dev/null 4>&- &`,
    '(exec 2>&4 3<&- 4>&-; exec "$@")',
    's=$?',
    '[ -n "${orphaned:-}" ] || { kill -KILL $!; wait $!; }',
    'exit $s',
  ].join('\n');
}

/**
 * The watcher's `sweep SIGNAL`: signals every process but the watcher itself whose environment
 * holds each of `marks` with the watcher's own value (grep -z over /proc/<pid>/environ, whose
 * entries are NUL-separated), in the group or out of it. Without /proc the glob matches nothing.
 */
function sweepFunction(marks: readonly string[]): string {
  let files = '/proc/[0-9]*/environ';
  for (const m of marks) files = `$(grep -lzxF "${m}=$${m}" ${files} 2>/dev/null)`;
  return `sweep() { for f in ${files}; do p=\${f#/proc/}; p=\${p%/environ}; [ "$p" = "$self" ] || kill -$1 "$p" 2>/dev/null; done; }`;
}

/**
 * Starts `argv` under the supervisor, as the leader of a new session and process group (pgid = the
 * child's pid); stdio 1 and 2 are pipes. `marks`: names of variables of `env` whose values together
 * tag the trial's processes, which inherit them, also those that leave the group (endGroup's strays).
 */
export function spawnGroup(argv: readonly string[], options: { cwd?: string; env: NodeJS.ProcessEnv; graceSeconds: number; marks: readonly string[] }): ChildProcess {
  return spawn('/bin/sh', ['-c', supervisorScript(options.graceSeconds, options.marks), 'sh', ...argv], {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
}

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
 * Resolves with true once `alive` turns false, or false at `until` (performance.now() ms). Checks
 * at growing intervals: what is left of a group that was just signalled is usually gone within
 * milliseconds; a stubborn one is checked ten times a second.
 */
async function waitGone(alive: () => boolean, until: number): Promise<boolean> {
  for (let interval = 2; ; interval = Math.min(100, interval * 2)) {
    if (!alive()) return true;
    const left = until - performance.now();
    if (left <= 0) return false;
    await sleep(Math.min(interval, left));
  }
}

/** After SIGKILL only a process stuck in the kernel (state D) survives; we stop waiting for it after this long. */
const KILL_WAIT_MS = 10_000;

function signalEach(processes: readonly ProcStat[], signal: NodeJS.Signals): void {
  for (const p of processes) {
    try {
      process.kill(p.pid, signal);
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * SIGTERM to the whole group and to its strays, SIGKILL after `graceSeconds` to whatever of them
 * is still alive; resolves once all are gone. Strays are the processes outside the group whose
 * environment carries `marks` (name → value; spawnGroup's marks): a `setsid` or daemonised
 * descendant (Linux only: found in /proc). `leaderExit` (the leader's exit event) lets the usual
 * case, a group that ends with its leader and leaves no stray, finish after one look at /proc.
 */
export async function endGroup(pgid: number, graceSeconds: number, leaderExit: Promise<unknown>, marks: Readonly<Record<string, string>>): Promise<void> {
  const strays = () => processesWithEnv(marks).filter((p) => p.pgid !== pgid);
  const grouped = signalGroup(pgid, 'SIGTERM');
  const first = strays();
  signalEach(first, 'SIGTERM');
  if (!grouped && first.length === 0) return;
  const until = performance.now() + graceSeconds * 1000;
  if (grouped) await within(leaderExit, graceSeconds * 1000);
  const alive = () => groupAlive(pgid) || strays().length > 0;
  if (await waitGone(alive, until)) return;
  signalEach(strays(), 'SIGKILL');
  signalGroup(pgid, 'SIGKILL');
  await waitGone(alive, performance.now() + KILL_WAIT_MS);
}

/** Live processes (not zombies) whose environment holds every `name=value` of `vars`; empty where there is no /proc. */
export function processesWithEnv(vars: Readonly<Record<string, string>>): ProcStat[] {
  if (!hasProc) return [];
  const entries = Object.entries(vars).map(([k, v]) => `\0${k}=${v}\0`);
  const found: ProcStat[] = [];
  for (const pid of procPids()) {
    let environ: string;
    try {
      environ = `\0${readProcText(`/proc/${pid}/environ`)}`;
    } catch {
      continue; // gone, or another user's
    }
    if (!entries.every((e) => environ.includes(e))) continue;
    const s = procStat(pid);
    if (s && !s.zombie) found.push(s);
  }
  return found;
}

/** Live processes (not zombies) whose environment has `TUNELAB_RUN_ID=<runId>`; empty where there is no /proc. */
export function runProcesses(runId: string): ProcStat[] {
  return processesWithEnv({ [ENV_RUN_ID]: runId });
}

/**
 * Kills (SIGKILL) every process group holding a process of the run `runId`, e.g. trials of an
 * earlier tuner of the same experiment folder that is gone, and resolves with how many groups it
 * killed once they are gone. Never this process's own group. Linux only; elsewhere 0.
 */
export async function killLeftoverTrials(runId: string): Promise<number> {
  let own: number | undefined;
  if (hasProc) own = procStat(process.pid)?.pgid;
  const groups = new Set(runProcesses(runId).filter((p) => p.pid !== process.pid && p.pgid > 1 && p.pgid !== own).map((p) => p.pgid));
  for (const pgid of groups) signalGroup(pgid, 'SIGKILL');
  const until = performance.now() + KILL_WAIT_MS;
  await Promise.all([...groups].map((pgid) => waitGone(() => groupAlive(pgid), until)));
  return groups.size;
}
