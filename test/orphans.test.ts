import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalBackend } from '../src/backends/local.js';
import { killLeftoverTrials, runProcesses } from '../src/backends/process-group.js';
import { procStat } from '../src/util/proc.js';
import { tempDir } from './helpers.js';

/**
 * No process of a trial outlives the tuner (issue 21, item 10), checked against the real process
 * table: a helper that ignores SIGTERM while its trial obeys it, and `setsid` grandchildren (one
 * obeying TERM, one ignoring it) that left the trial's process group, after kill -9 of the tuner
 * and after an ordinary close.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it holds; the limit is a bound for a hung test, not a timing assertion. */
async function eventually(what: string, probe: () => boolean, limitSeconds = 30): Promise<void> {
  const t0 = Date.now();
  while (!probe()) {
    if (Date.now() - t0 > limitSeconds * 1000) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

let runs = 0;
const runIds: string[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  // whatever a failed test left: never on the machine after it
  for (const id of runIds.splice(0)) await killLeftoverTrials(id);
});

function newRunId(): string {
  const id = `orphans-${process.pid}-${++runs}`;
  runIds.push(id);
  return id;
}

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
};
const gone = (pid: number) => procStat(pid) === undefined || procStat(pid)!.zombie;

/**
 * A trial by kind: 0 obeys TERM but has a helper that ignores it; 1 has a setsid grandchild; 2 a
 * setsid grandchild that ignores TERM. Each touches `started` once its processes are set up.
 */
function trialScript(dir: string): string {
  const file = join(dir, 'trial.sh');
  writeFileSync(
    file,
    `case "$2" in
  0) (trap '' TERM; exec sleep 303) & ;;
  1) setsid sleep 304 & ;;
  2) setsid sh -c "trap '' TERM; exec sleep 305" & ;;
esac
sleep 0.2
touch "$TUNELAB_CHECKPOINT_DIR/started"
wait
`,
  );
  return file;
}

/** The trials' sleeps (by command line), once all three run. */
async function theSleeps(runId: string): Promise<Map<string, number>> {
  const find = () => new Map(runProcesses(runId).map((p) => [cmdline(p.pid), p.pid] as const).filter(([c]) => /^sleep 30[345]$/.test(c)));
  await eventually('the three sleeps', () => find().size === 3);
  return find();
}

describe('nothing of a trial outlives the tuner', () => {
  const distBackend = join(import.meta.dirname, '..', 'dist', 'src', 'backends', 'local.js');

  it('kill -9 of the tuner: a SIGTERM-ignoring helper and setsid grandchildren (obeying TERM or not) are ended', async () => {
    expect(existsSync(distBackend), 'build first: npx tsc -p tsconfig.json').toBe(true);
    const dir = tempDir();
    const runId = newRunId();
    const trial = trialScript(dir);
    const tunerScript = join(dir, 'tuner.mjs');
    writeFileSync(
      tunerScript,
      `import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LocalBackend } from ${JSON.stringify(distBackend)};
const dir = ${JSON.stringify(dir)};
const b = new LocalBackend({ command: ['/bin/sh', ${JSON.stringify(trial)}], resourceAttr: 'epoch', metricNames: ['loss'],
  logsDir: join(dir, 'logs'), checkpointsDir: join(dir, 'checkpoints'), killGrace: 1, runId: ${JSON.stringify(runId)} });
for (const kind of [0, 1, 2]) await b.start(kind, { kind });
while (![0, 1, 2].every((id) => existsSync(join(dir, 'checkpoints', String(id), 'started')))) await new Promise((r) => setTimeout(r, 20));
console.log('ready');
await b.poll(Infinity);
`,
    );
    const tuner = spawn(process.execPath, [tunerScript], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(tuner);
    await new Promise<void>((resolve, reject) => {
      tuner.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      tuner.on('exit', (code) => reject(new Error(`tuner exited with ${code}`)));
    });
    const sleeps = await theSleeps(runId);
    // the setsid ones left the trial's process group
    const groups = new Map(runProcesses(runId).map((p) => [p.pid, p.pgid]));
    expect(groups.get(sleeps.get('sleep 304')!)).toBe(sleeps.get('sleep 304'));
    expect(groups.get(sleeps.get('sleep 305')!)).toBe(sleeps.get('sleep 305'));
    tuner.kill('SIGKILL');
    await eventually('every process of the trials is gone', () => [...sleeps.values()].every(gone) && runProcesses(runId).length === 0);
  });

  it('an ordinary close ends the setsid grandchildren too, SIGKILLing the one that ignores SIGTERM', async () => {
    const dir = tempDir();
    const runId = newRunId();
    const b = new LocalBackend({ command: ['/bin/sh', trialScript(dir)], resourceAttr: 'epoch', metricNames: ['loss'], logsDir: join(dir, 'logs'), checkpointsDir: join(dir, 'checkpoints'), killGrace: 1, runId });
    for (const kind of [1, 2]) await b.start(kind, { kind });
    await b.start(0, { kind: 0 });
    const sleeps = await theSleeps(runId);
    await b.close();
    // close() resolves once they are gone
    expect([...sleeps.entries()].filter(([, pid]) => !gone(pid))).toEqual([]);
    expect(runProcesses(runId)).toEqual([]);
  });
});
