/**
 * Shared-study store throughput (`node dist/bench/study-store.js [--quick]`): suggest → observe
 * cycles per second of a zero-cost objective with RS, for 1, 4, 16 and 64 worker processes on
 * SQLite and PostgreSQL (a local server with its default durability), timed from the release of
 * the workers (all connected and waiting) to the last exit, as a peer would see it. Then BO: a
 * worker's wait for a suggestion (ask() latency) against the in-process BO step (GPSearcher.suggest
 * on the same number of observations with the same number pending).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatTable } from '../src/launchers/reporting.js';
import { GPSearcher } from '../src/schedulers/searchers/gp-searcher.js';
import { startLocalPostgres } from '../src/study/local-postgres.js';
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

/** Worker mode: connect, say ready, wait for the go line, then ask → evaluate → tell until the budget is met. */
async function worker(storage: string, id: string, cost: number): Promise<void> {
  const study = await loadStudy(id, { storage });
  process.stdout.write('ready\n');
  const go = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => go.once('line', () => resolve()));
  // an open stdin would keep the process alive after the last tell
  go.close();
  process.stdin.destroy();
  const waits: number[] = [];
  for (;;) {
    const t = performance.now();
    const s = await study.ask();
    waits.push(performance.now() - t);
    if (!s) break;
    if (cost > 0) await sleep(cost);
    await study.tell(s.suggestionId, objective(s.config));
  }
  await study.close();
  // the last wait is the one that found the budget met
  process.stdout.write(`${JSON.stringify({ waits: waits.slice(0, -1) })}\n`);
}

interface Run {
  seconds: number;
  cycles: number;
  waits: number[];
}

/** Starts n workers on a fresh study, releases them together, and times them to the last exit. */
async function run(storage: string, method: string, n: number, budget: number, cost = 0): Promise<Run> {
  const name = `bench-${method}-${n}-${Date.now()}`;
  const file = join(tmpdir(), `${name}.json`);
  writeFileSync(file, JSON.stringify(experimentData(name, method, budget, n)));
  const study = await createStudy(file, { storage });
  await study.close();
  rmSync(file);
  const children: ChildProcess[] = [];
  const waits: number[] = [];
  const ready: Promise<void>[] = [];
  const exited: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const child = spawn(process.execPath, [self, '--worker', storage, String(study.id), String(cost)], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(child);
    const lines = createInterface({ input: child.stdout! });
    ready.push(new Promise((resolve) => lines.once('line', () => resolve())));
    lines.on('line', (line) => {
      if (line.startsWith('{')) waits.push(...(JSON.parse(line) as { waits: number[] }).waits);
    });
    exited.push(
      new Promise((resolve, reject) =>
        child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`)))),
      ),
    );
  }
  await Promise.all(ready);
  const t0 = performance.now();
  for (const c of children) c.stdin!.write('go\n');
  await Promise.all(exited);
  const seconds = (performance.now() - t0) / 1000;
  const check = await loadStudy(study.id, { storage });
  const cycles = (await check.store.listObservations(study.id)).length;
  await check.close();
  if (cycles !== budget) throw new Error(`${storage}: ${cycles} observations for a budget of ${budget}`);
  return { seconds, cycles, waits };
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
  const counts = quick ? [1, 4] : [1, 4, 16, 64];
  const dir = mkdtempSync(join(tmpdir(), 'tunelab-bench-study-'));
  const pg = await startLocalPostgres({ fast: false });
  const stores = [
    { kind: 'SQLite', storage: join(dir, 'studies.db') },
    { kind: 'PostgreSQL', storage: pg.url },
  ];
  try {
    const rows: (string | number)[][] = [];
    for (const { kind, storage } of stores) {
      for (const n of counts) {
        const budget = quick ? 500 : Math.max(2000, 50 * n);
        const r = await run(storage, 'RS', n, budget);
        rows.push([kind, n, r.cycles, r.seconds.toFixed(2), Math.round(r.cycles / r.seconds), median(r.waits).toFixed(2)]);
        console.error(`${kind} ${n} workers: ${Math.round(r.cycles / r.seconds)} cycles/s`);
      }
    }
    console.log('RS, zero-cost objective: suggest → observe cycles per second (from release to the last exit)\n');
    console.log(formatTable(['store', 'workers', 'cycles', 'seconds', 'cycles/s', 'median ask ms'], rows));

    // BO: each evaluation costs about one in-process step, so that the buffer can hide the fit
    const budget = quick ? 60 : 150;
    const workers = 4;
    const steps = inProcessSteps(budget, workers);
    const step = median(steps);
    const boRows: (string | number)[][] = [['in-process GPSearcher.suggest', '-', step.toFixed(1), quantile(steps, 0.9).toFixed(1), '1.00']];
    for (const { kind, storage } of stores) {
      const r = await run(storage, 'BO', workers, budget, Math.max(20, Math.round(step)));
      boRows.push([`${kind}: a worker's ask()`, workers, median(r.waits).toFixed(1), quantile(r.waits, 0.9).toFixed(1), (median(r.waits) / step).toFixed(2)]);
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
