import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalBackend, type LocalBackendOptions, killLeftoverTrials } from '../src/backends/local.js';
import { runProcesses } from '../src/backends/process-group.js';
import type { PollResult } from '../src/backends/types.js';
import { eventually, sleep, tempDir } from './helpers.js';

/**
 * Faults of real trials, each checked against the process table: `ps` for the groups a trial's
 * processes were in, and the environment tag TUNELAB_RUN_ID for anything that left them.
 */

interface Proc {
  pid: number;
  pgid: number;
  args: string;
}

/** Live (not zombie) processes in these process groups, from ps. */
function inGroups(pgids: Iterable<number>): Proc[] {
  const wanted = new Set(pgids);
  return execFileSync('ps', ['-eo', 'pid=,pgid=,stat=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim().match(/^(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/))
    .filter((m): m is RegExpMatchArray => m !== null && wanted.has(Number(m[2])) && !m[3].startsWith('Z'))
    .map((m) => ({ pid: Number(m[1]), pgid: Number(m[2]), args: m[4] }));
}

let runs = 0;
const cleanups: (() => Promise<unknown> | void)[] = [];
/** Every test's trials carry their own run id; after each, nothing with it may be left. */
const checked: string[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const runId of checked.splice(0)) expect(runProcesses(runId)).toEqual([]);
});

function newRunId(): string {
  const id = `local-faults-${process.pid}-${++runs}`;
  checked.push(id);
  return id;
}

const python = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();

function backend(command: readonly string[] | string, extra: Partial<LocalBackendOptions> = {}) {
  const dir = tempDir();
  const runId = newRunId();
  const b = new LocalBackend({
    command,
    resourceAttr: 'epoch',
    metricNames: ['loss'],
    logsDir: join(dir, 'logs'),
    checkpointsDir: join(dir, 'checkpoints'),
    killGrace: 1,
    runId,
    ...extra,
  });
  cleanups.push(() => b.close());
  return { b, dir, runId };
}

function file(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
}

async function drain(b: LocalBackend, until: (p: PollResult[]) => boolean): Promise<PollResult[]> {
  const polls: PollResult[] = [];
  const t0 = Date.now();
  while (!until(polls)) {
    if (Date.now() - t0 > 30_000) throw new Error('timed out');
    polls.push(await b.poll(Infinity));
  }
  return polls;
}
const firstResult = (b: LocalBackend) => drain(b, (ps) => ps.some((p) => p.results.length > 0 || p.failed.length > 0));

/** A Python trial with a helper process that ignores SIGTERM (as data-loader workers may): it reports, then trains on. */
const PY_WITH_HELPER = `
import json, signal, subprocess, sys, time
helper = subprocess.Popen([sys.executable, '-c', 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)'])
time.sleep(0.2)  # the helper is set up
print('[tunelab] ' + json.dumps({'epoch': 1, 'loss': 0.5}), flush=True)
time.sleep(300)
`;

describe('local backend: every trial is a process group, ended as a whole', () => {
  it.each(['stop', 'pause', 'trial timeout', 'close'] as const)('%s ends the whole group, SIGKILLing what ignores SIGTERM', async (how) => {
    const dir = tempDir();
    const { b, runId } = backend([python, file(dir, 'train.py', PY_WITH_HELPER)], how === 'trial timeout' ? { trialTimeout: 1 } : {});
    await b.start(0, {});
    const polls = await firstResult(b);
    expect(polls.flatMap((p) => p.failed)).toEqual([]);
    const pgids = new Set(runProcesses(runId).map((p) => p.pgid));
    expect(pgids.size).toBe(1);
    // the supervising shell, its watcher, the script and its helper
    expect(inGroups(pgids).length).toBe(4);
    expect(inGroups(pgids).filter((p) => p.args.includes('SIG_IGN'))).toHaveLength(1);
    if (how === 'stop') await b.stop(0);
    if (how === 'pause') await b.pause(0);
    if (how === 'close') {
      await b.close();
      // close() resolves only once the groups are gone
      expect(inGroups(pgids)).toEqual([]);
    }
    if (how === 'trial timeout') {
      const failed = (await drain(b, (ps) => ps.some((p) => p.failed.length > 0))).flatMap((p) => p.failed);
      expect(failed[0].error).toMatch(/^no report for 1 s \(hung\?\); killed/);
    }
    await eventually('the group is gone', () => inGroups(pgids).length === 0);
  });

  it('a script that ignores SIGTERM is SIGKILLed after the grace period', async () => {
    const dir = tempDir();
    const script = file(dir, 'stubborn.py', `
import json, signal, sys, time
signal.signal(signal.SIGTERM, lambda *a: print('SIGTERM ignored', file=sys.stderr, flush=True))
print('[tunelab] ' + json.dumps({'epoch': 1, 'loss': 0.5}), flush=True)
while True: time.sleep(1)
`);
    const { b, dir: out, runId } = backend([python, script]);
    await b.start(0, {});
    await firstResult(b);
    const pgids = new Set(runProcesses(runId).map((p) => p.pgid));
    await b.stop(0);
    await b.close();
    expect(inGroups(pgids)).toEqual([]);
    expect(readFileSync(join(out, 'logs', 'trial-0.stderr'), 'utf8')).toContain('SIGTERM ignored');
  });

  it("completion is decided on the script's exit, not on pipes a descendant holds; what it left is ended", async () => {
    // one descendant obeys SIGTERM, one ignores it; both hold the trial's stdout and stderr
    // the script reports and exits only once the stubborn one ignores TERM (else, on a loaded machine,
    // the group's TERM could reach that subshell before its trap)
    const ready = join(tempDir(), 'ready');
    const { b, runId } = backend(`(sleep 300) & (trap "" TERM; touch ${ready}; exec sleep 301) & while [ ! -e ${ready} ]; do sleep 0.02; done; echo "[tunelab] {\\"epoch\\": 1, \\"loss\\": 0.5}"; exit 0;`, { killGrace: 60 });
    await b.start(0, {});
    const polls = await drain(b, (ps) => ps.some((p) => p.completed.length + p.failed.length > 0));
    expect(polls.flatMap((p) => p.completed)).toEqual([0]);
    expect(polls.flatMap((p) => p.results).map((r) => r.result.metrics.loss)).toEqual([0.5]);
    // decided while the stubborn one still holds the pipes (its SIGKILL comes after 60 s); the other one obeyed TERM
    const commandLines = () => runProcesses(runId).map((p) => readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim());
    await eventually('only the stubborn descendant is left', () => JSON.stringify(commandLines()) === JSON.stringify(['sleep 301']));
    const left = runProcesses(runId);
    const pgids = new Set(left.map((p) => p.pgid));
    process.kill(left[0].pid, 'SIGKILL');
    await b.close();
    expect(inGroups(pgids)).toEqual([]);
  });

  it("the idle tuner waits for slow trials without busy polling", async () => {
    const { b } = backend(['sleep', '30']);
    await b.start(0, {});
    const deadline = b.now() + 1.5;
    const cpu0 = process.cpuUsage();
    expect(await b.poll(deadline)).toEqual({ results: [], completed: [], failed: [] });
    const cpu = process.cpuUsage(cpu0);
    // returns at the deadline, not before; a busy loop would have used ~1.5 s of CPU
    expect(b.now()).toBeGreaterThanOrEqual(deadline);
    expect((cpu.user + cpu.system) / 1e6).toBeLessThan(0.3);
  });
});

describe('local backend: nothing outlives the tuner', () => {
  const distBackend = join(import.meta.dirname, '..', 'dist', 'src', 'backends', 'local.js');

  it('kill -9 of the tuner ends its trials, grandchildren and SIGTERM-ignoring ones included', async () => {
    expect(existsSync(distBackend), 'build first: npx tsc -p tsconfig.json').toBe(true);
    const dir = tempDir();
    const runId = newRunId();
    // quiet trials: one sleeps, one has a grandchild, one ignores SIGTERM
    const trial = file(dir, 'trial.sh', `
touch "$TUNELAB_CHECKPOINT_DIR/started"
case "$2" in
  0) exec sleep 300 ;;
  1) sleep 301 & wait ;;
  2) trap '' TERM; sleep 302 ;;
esac
`);
    const tunerScript = file(dir, 'tuner.mjs', `
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LocalBackend } from ${JSON.stringify(distBackend)};
const dir = ${JSON.stringify(dir)};
const b = new LocalBackend({ command: ['/bin/sh', ${JSON.stringify(trial)}], resourceAttr: 'epoch', metricNames: ['loss'],
  logsDir: join(dir, 'logs'), checkpointsDir: join(dir, 'checkpoints'), killGrace: 1, runId: ${JSON.stringify(runId)} });
for (const kind of [0, 1, 2]) await b.start(kind, { kind });
while (![0, 1, 2].every((id) => existsSync(join(dir, 'checkpoints', String(id), 'started')))) await new Promise((r) => setTimeout(r, 20));
console.log('ready');
await b.poll(Infinity);
`);
    const tuner: ChildProcess = spawn(process.execPath, [tunerScript], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => {
      tuner.kill('SIGKILL');
    });
    await new Promise<void>((resolve, reject) => {
      tuner.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      tuner.on('exit', (code) => reject(new Error(`tuner exited with ${code}`)));
    });
    await eventually('three trials sleep', () => runProcesses(runId).filter((p) => readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').startsWith('sleep')).length === 3);
    const pgids = new Set(runProcesses(runId).map((p) => p.pgid));
    expect(pgids.size).toBe(3);
    const before = inGroups(pgids);
    expect(before.filter((p) => /^sleep 30[012]$/.test(p.args))).toHaveLength(3);
    tuner.kill('SIGKILL');
    await eventually('every trial process is gone', () => inGroups(pgids).length === 0 && runProcesses(runId).length === 0);
  });

  it('killLeftoverTrials kills the groups holding a process of that run, and only those', async () => {
    const runId = newRunId();
    const other = newRunId();
    const start = (id: string, script: string) => {
      const c = spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore', env: { ...process.env, TUNELAB_RUN_ID: id } });
      cleanups.push(() => {
        try {
          process.kill(-c.pid!, 'SIGKILL');
        } catch {
          // gone
        }
      });
      return c.pid!;
    };
    const a = start(runId, 'sleep 300 & sleep 301; wait');
    const bPid = start(runId, 'exec sleep 302');
    const c = start(other, 'exec sleep 303');
    await eventually('all sleep', () => inGroups([a, bPid, c]).length === 5);
    expect(await killLeftoverTrials(runId)).toBe(2);
    expect(inGroups([a, bPid])).toEqual([]);
    expect(inGroups([c]).map((p) => p.args)).toEqual(['sleep 303']);
    expect(await killLeftoverTrials(runId)).toBe(0);
    expect(await killLeftoverTrials(other)).toBe(1);
  });
});
