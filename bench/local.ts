/**
 * Local backend costs, on real subprocesses:
 *  (a) overhead per trial: start → first report and start → exit (completion) through the backend,
 *      against running the same script directly with child_process in this process; medians of
 *      --repeats pairs, one trial at a time (node and python3 scripts that report once and exit, and
 *      a /bin/sh script that echoes the report: next to the backend's own cost);
 *  (b) trials per second with 8 workers for such a script, driven by the Tuner with random search;
 *  (c) this process's CPU while it waits for 4 trials that sleep 5 s, as % of one core.
 * Usage: node dist/bench/local.js [--repeats N] [--trials N]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBackend } from '../src/backends/local.js';
import { REPORT_PREFIX } from '../src/trial/protocol.js';
import { uniform } from '../src/config-space/index.js';
import { randomSearch } from '../src/methods/random.js';
import { formatTable } from '../src/util/table.js';
import { Tuner } from '../src/tuner/tuner.js';
import { createRng } from '../src/util/rng.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const repeats = flag('--repeats', 30);
const numTrials = flag('--trials', 200);
const root = mkdtempSync(join(tmpdir(), 'tunelab-bench-local-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x: number) => x.toFixed(1);

const nodeScript = join(root, 'report.cjs');
writeFileSync(nodeScript, `console.log(${JSON.stringify(REPORT_PREFIX)} + JSON.stringify({ epoch: 1, loss: 0.5 }));\n`);
const pyScript = join(root, 'report.py');
writeFileSync(pyScript, `import json\nprint(${JSON.stringify(REPORT_PREFIX)} + json.dumps({'epoch': 1, 'loss': 0.5}), flush=True)\n`);
const shScript = join(root, 'report.sh');
writeFileSync(shScript, `echo '${REPORT_PREFIX}{"epoch": 1, "loss": 0.5}'\n`);
// the interpreter itself: pyenv's python3 is a shell script that costs more than everything measured here
const python = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();

const backendFor = (command: readonly string[], name: string) =>
  new LocalBackend({ command, resourceAttr: 'epoch', metricNames: ['loss'], logsDir: join(root, name, 'logs'), checkpointsDir: join(root, name, 'checkpoints') });

/** Milliseconds to the first report line and to the exit, running `command` straight from here. */
function direct(command: readonly string[]): Promise<[number, number]> {
  const t0 = performance.now();
  let first = NaN;
  const child = spawn(command[0], [...command.slice(1), '--x', '0.5'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d: Buffer) => {
    if (Number.isNaN(first) && d.toString().includes(REPORT_PREFIX)) first = performance.now() - t0;
  });
  child.stderr.resume();
  return new Promise((resolve) => child.on('close', () => resolve([first, performance.now() - t0])));
}

/** The same through the backend: start → the poll that brings the result, and the one that brings the completion. */
async function viaBackend(b: LocalBackend, trialId: number): Promise<[number, number]> {
  const t0 = performance.now();
  let first = NaN;
  await b.start(trialId, { x: 0.5 });
  for (;;) {
    const p = await b.poll(Infinity);
    if (p.failed.length) throw new Error(p.failed[0].error);
    if (p.results.length && Number.isNaN(first)) first = performance.now() - t0;
    if (p.completed.includes(trialId)) return [first, performance.now() - t0];
  }
}

async function overhead(name: string, command: readonly string[]): Promise<(string | number)[]> {
  const b = backendFor(command, `overhead-${name}`);
  const d: [number, number][] = [];
  const v: [number, number][] = [];
  // a warm-up of each, then alternating, so that drifting machine load hits both alike
  await direct(command);
  await viaBackend(b, -1);
  for (let i = 0; i < repeats; i++) {
    d.push(await direct(command));
    v.push(await viaBackend(b, i));
  }
  await b.close();
  // the overhead is the median of each pair's difference, which drifting load affects least
  const [d1, d2] = [median(d.map((x) => x[0])), median(d.map((x) => x[1]))];
  const [v1, v2] = [median(v.map((x) => x[0])), median(v.map((x) => x[1]))];
  const [o1, o2] = [median(v.map((x, i) => x[0] - d[i][0])), median(v.map((x, i) => x[1] - d[i][1]))];
  return [name, ms(d1), ms(v1), ms(o1), ms(d2), ms(v2), ms(o2)];
}

async function throughput(name: string, command: readonly string[]): Promise<(string | number)[]> {
  const backend = backendFor(command, `throughput-${name}`);
  const nWorkers = 8;
  const scheduler = randomSearch({ configSpace: { x: uniform(0, 1) }, metric: 'loss', mode: 'min', resourceAttr: 'epoch', maxResource: 1, nWorkers, rng: createRng(1) });
  const tuner = new Tuner({ scheduler, backend, nWorkers, stopping: { maxNumTrialsStarted: numTrials }, configNames: ['x'] });
  const t0 = performance.now();
  const summary = await tuner.run();
  await backend.close();
  const wall = (performance.now() - t0) / 1000;
  return [name, nWorkers, summary.numTrials, summary.numFailures, wall.toFixed(2), (summary.numTrials / wall).toFixed(1)];
}

async function idleCpu(): Promise<(string | number)[]> {
  const b = backendFor(['sleep', '5'], 'idle');
  // no config: `sleep` takes no --name value arguments
  for (let i = 0; i < 4; i++) await b.start(i, {});
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let done = 0;
  while (done < 4) {
    const p = await b.poll(Infinity);
    if (p.failed.length) throw new Error(p.failed[0].error);
    done += p.completed.length;
  }
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - t0) / 1000;
  await b.close();
  const used = (cpu.user + cpu.system) / 1e6;
  return [4, wall.toFixed(2), (used * 1000).toFixed(1), ((100 * used) / wall).toFixed(2)];
}

console.log(`(a) overhead per trial, medians of ${repeats} pairs (ms; direct = child_process.spawn in this process; overhead = median of the pairs' differences)`);
console.log(
  formatTable(
    ['script', 'direct first report', 'backend first report', 'overhead', 'direct exit', 'backend completion', 'overhead'],
    [await overhead('node', [process.execPath, nodeScript]), await overhead('python3', [python, pyScript]), await overhead('sh', ['/bin/sh', shScript])],
  ),
);
console.log(`\n(b) throughput: ${numTrials} trials that report once and exit, Tuner with random search`);
console.log(
  formatTable(['script', 'workers', 'trials', 'failed', 'wall s', 'trials/s'], [await throughput('node', [process.execPath, nodeScript]), await throughput('sh', ['/bin/sh', shScript])]),
);
console.log('\n(c) the tuner waiting for slow trials (sleep 5)');
console.log(formatTable(['trials', 'wall s', 'tuner CPU ms', '% of a core'], [await idleCpu()]));
rmSync(root, { recursive: true, force: true });
