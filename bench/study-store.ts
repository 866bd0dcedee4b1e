/**
 * Shared-study store throughput (`node dist/bench/study-store.js [--quick]`): suggest → observe
 * cycles per second of a zero-cost objective with RS, for 1, 4, 16 and 64 worker processes on
 * SQLite and PostgreSQL (a local server with its default durability), timed from the release of
 * the workers (all connected and waiting) to the last exit, as a peer would see it. Then BO: a
 * worker's wait for a suggestion (ask() latency) against the in-process BO step (GPSearcher.suggest
 * on the same number of observations with the same number pending).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatTable } from '../src/util/table.js';
import { GPSearcher } from '../src/schedulers/searchers/gp-searcher.js';
import { startLocalPostgres } from '../src/study/storage/local-postgres.js';
import { createStudy, loadStudy } from '../src/study/study.js';
import { createRng } from '../src/util/rng.js';
import { parseExperiment } from '../src/experiment/load.js';

const self = fileURLToPath(import.meta.url);

const experimentData = (name: string, method: string, budget: number, bandwidth: number) => ({
  name,
  parameters: [
    { name: 'x', type: 'double', bounds: { min: 0, max: 1 } },
    { name: 'y', type: 'double', bounds: { min: 0, max: 1 } },
    { name: 'k', type: 'int', bounds: { min: 1, max: 50 } },
  ],
  metrics: [{ name: 'loss', objective: 'minimize' }],
  command: 'true',
  method,
  budget: { max_trials: budget },
  parallel_bandwidth: bandwidth,
  study: { initial_random: 5, buffer: 4, max_threshold: 2, lease_seconds: 60 },
});

const objective = (c: Record<string, unknown>) => (Number(c.x) - 0.3) ** 2 + (Number(c.y) - 0.6) ** 2 + Number(c.k) / 1000;

/** What a worker prints when done: its waits between evaluations, and its CPU time from the release. */
interface WorkerLine {
  waits: number[];
  cpuMs: number;
}

/** Worker mode: connect, say ready, wait for the go line, then evaluate suggestions until the budget is met. */
async function worker(storage: string, id: string, cost: number): Promise<void> {
  const study = await loadStudy(id, { storage });
  process.stdout.write('ready\n');
  const go = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => go.once('line', () => resolve()));
  // an open stdin would keep the process alive after the last tell
  go.close();
  process.stdin.destroy();
  const cpu0 = process.cpuUsage();
  // optimize's loop (the observation and the next suggestion in one step); a wait is the time
  // between two evaluations, the first one from the release
  const waits: number[] = [];
  let since = performance.now();
  await study.optimize(async (config) => {
    waits.push(performance.now() - since);
    if (cost > 0) await sleep(cost);
    const value = objective(config);
    since = performance.now();
    return value;
  });
  await study.close();
  const cpu = process.cpuUsage(cpu0);
  const line: WorkerLine = { waits, cpuMs: (cpu.user + cpu.system) / 1000 };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

interface Run {
  seconds: number;
  cycles: number;
  waits: number[];
  /** CPU time of the workers (from the release) and of the server's processes, per cycle: what bounds throughput on an idle machine. */
  cpuMsPerCycle: number;
}

const TICKS_PER_MS = 100 / 1000; // USER_HZ, 100 on Linux

/** CPU ms used so far by a PostgreSQL server: the postmaster, its live processes, and those that exited (reaped by it). */
function serverCpuMs(dataDir: string | undefined): number {
  if (!dataDir) return 0;
  const stat = (pid: string) => {
    try {
      const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return text.slice(text.lastIndexOf(')') + 2).split(' ');
    } catch {
      return undefined;
    }
  };
  const pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  const postmaster = pids.find((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dataDir);
    } catch {
      return false;
    }
  });
  if (!postmaster) return 0;
  // fields after the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
  const own = stat(postmaster)!;
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const p of pids) {
    const f = stat(p);
    if (f && f[1] === postmaster) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / TICKS_PER_MS;
}

/** Starts n workers on a fresh study, releases them together, and times them to the last exit. */
async function run(storage: string, method: string, n: number, budget: number, cost = 0, serverDir?: string): Promise<Run> {
  const name = `bench-${method}-${n}-${Date.now()}`;
  const file = join(tmpdir(), `${name}.json`);
  writeFileSync(file, JSON.stringify(experimentData(name, method, budget, n)));
  const study = await createStudy(file, { storage });
  await study.close();
  rmSync(file);
  const children: ChildProcess[] = [];
  const waits: number[] = [];
  let workerCpuMs = 0;
  const ready: Promise<void>[] = [];
  const exited: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const child = spawn(process.execPath, [...(process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : []), self, '--worker', storage, String(study.id), String(cost)], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(child);
    const lines = createInterface({ input: child.stdout! });
    ready.push(new Promise((resolve) => lines.once('line', () => resolve())));
    lines.on('line', (line) => {
      if (!line.startsWith('{')) return;
      const r = JSON.parse(line) as WorkerLine;
      waits.push(...r.waits);
      workerCpuMs += r.cpuMs;
    });
    exited.push(
      new Promise((resolve, reject) =>
        child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`)))),
      ),
    );
  }
  await Promise.all(ready);
  const server0 = serverCpuMs(serverDir);
  const t0 = performance.now();
  for (const c of children) c.stdin!.write('go\n');
  await Promise.all(exited);
  const seconds = (performance.now() - t0) / 1000;
  // the workers' server processes end when they disconnect; the postmaster counts them once reaped
  await sleep(500);
  const serverMs = serverCpuMs(serverDir) - server0;
  const check = await loadStudy(study.id, { storage });
  const cycles = (await check.store.listObservations(study.id)).length;
  await check.close();
  if (cycles !== budget) throw new Error(`${storage}: ${cycles} observations for a budget of ${budget}`);
  return { seconds, cycles, waits, cpuMsPerCycle: (workerCpuMs + serverMs) / cycles };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
};

/** The in-process BO step: GPSearcher.suggest with `pending` trials running, over a run of `budget` observations. */
function inProcessSteps(budget: number, pending: number): number[] {
  const definition = parseExperiment(experimentData('gp', 'BO', budget, pending), { methods: ['BO'], multiFidelityMethods: [] });
  const rng = createRng(1);
  const searcher = new GPSearcher({ configSpace: definition.configSpace, metric: 'loss', mode: 'min', rng }, { numInitRandom: 5 });
  const running: { id: number; config: Record<string, unknown> }[] = [];
  const steps: number[] = [];
  let next = 0;
  for (let done = 0; done < budget; ) {
    while (running.length < pending) {
      const t = performance.now();
      const config = searcher.suggest(next)!;
      steps.push(performance.now() - t);
      running.push({ id: next++, config });
    }
    const t = running.shift()!;
    searcher.onTrialResult(t.id, 1, objective(t.config), {});
    searcher.onTrialIdle(t.id);
    done++;
  }
  return steps;
}

async function main() {
  const quick = process.argv.includes('--quick');
  const flag = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  // --workers 16, --store PostgreSQL, --no_bo and --only_bo narrow the run (profiling one case);
  // BENCH_PROF=<dir> writes each worker's CPU profile there
  const counts = flag('--workers') ? [Number(flag('--workers'))] : quick ? [1, 4] : [1, 4, 16, 64];
  const storeKinds = ['SQLite', 'PostgreSQL'];
  if (flag('--store') !== undefined && !storeKinds.includes(flag('--store')!)) {
    console.error(`--store '${flag('--store')}' is not a store; accepted: ${storeKinds.join(', ')}`);
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), 'tunelab-bench-study-'));
  const pg = await startLocalPostgres({ fast: false });
  const stores = [
    { kind: 'SQLite', storage: join(dir, 'studies.db') },
    { kind: 'PostgreSQL', storage: pg.url, serverDir: pg.dataDir },
  ];
  try {
    const rows: (string | number)[][] = [];
    for (const { kind, storage, serverDir } of stores.filter((s) => !flag('--store') || s.kind === flag('--store'))) {
      for (const n of process.argv.includes('--only_bo') ? [] : counts) {
        // 250 cycles a worker at least, so that each process's start (JIT, first connection) is amortised
        const budget = quick ? 500 : Math.max(4000, 250 * n);
        const r = await run(storage, 'RS', n, budget, 0, serverDir);
        const load = loadavg()[0];
        rows.push([kind, n, r.cycles, r.seconds.toFixed(2), Math.round(r.cycles / r.seconds), median(r.waits).toFixed(2), r.cpuMsPerCycle.toFixed(2), Math.round(2000 / r.cpuMsPerCycle), load.toFixed(1)]);
        console.error(`${kind} ${n} workers: ${Math.round(r.cycles / r.seconds)} cycles/s`);
      }
    }
    console.log('RS, zero-cost objective: suggest → observe cycles per second (from release to the last exit);');
    console.log('CPU ms per cycle: the workers\' and the server\'s CPU time over the cycles, so 2,000 / it is what 2 idle cores sustain\n');
    console.log(formatTable(['store', 'workers', 'cycles', 'seconds', 'cycles/s', 'median ask ms', 'CPU ms/cycle', 'cycles/s on 2 idle cores', 'load (1 min)'], rows));
    if (process.argv.includes('--no_bo')) return;

    // BO: each evaluation costs about one in-process step, so that the buffer can hide the fit
    const budget = quick ? 60 : 150;
    const workers = 4;
    const steps = inProcessSteps(budget, workers);
    const step = median(steps);
    const boRows: (string | number)[][] = [['in-process GPSearcher.suggest', '-', step.toFixed(1), quantile(steps, 0.9).toFixed(1), '1.00']];
    for (const { kind, storage } of stores) {
      const r = await run(storage, 'BO', workers, budget, Math.max(20, Math.round(step)));
      boRows.push([`${kind}: a worker's wait`, workers, median(r.waits).toFixed(1), quantile(r.waits, 0.9).toFixed(1), (median(r.waits) / step).toFixed(2)]);
    }
    console.log(`\nBO (${budget} observations, ${workers} workers, evaluations of ${Math.max(20, Math.round(step))} ms): a worker's wait for a suggestion against the in-process step\n`);
    console.log(formatTable(['', 'workers', 'median ms', 'p90 ms', 'median / in-process'], boRows));
  } finally {
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--worker') await worker(process.argv[3], process.argv[4], Number(process.argv[5]));
else await main();
