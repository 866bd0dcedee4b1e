/**
 * CPU per trial of tunelab's in-process Python loop against Optuna's (`node dist/bench/python-inprocess.js
 * [--trials 20] [--method BO|TPE|RS] [--rounds 3]`): examples/sklearn-digits/tune_digits.py (the Python
 * client's study.optimize on `tunelab server`, which holds the searcher) and bench/python/optuna_digits.py
 * (Optuna's study.optimize, TPE) evaluate the same digits MLP (examples/sklearn-digits/digits.py).
 * tunelab's CPU is its Python process's and the server's (the searcher runs there); Optuna's, its one
 * process; each side's interpreter start and imports count, as a user pays them. The rounds alternate
 * (tunelab, Optuna, tunelab, ...) so that the machine's noise falls on both; BLAS runs one thread on both.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/util/package-info.js';
import { procStat } from '../src/util/proc.js';
import { formatTable } from '../src/util/table.js';
import { startServer } from './server-process.js';

const PYTHON = '/usr/bin/python3';
const flag = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const trials = Number(flag('trials', '20'));
const method = flag('method', 'BO');
const rounds = Number(flag('rounds', '3'));
const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };

interface Outcome {
  /** CPU seconds, every process of the side. */
  cpu: number;
  /** Of which in the objective (scikit-learn's fits). */
  objective: number;
  best: number;
  trials: number;
}

/** A Python script to its end; its last line parsed as JSON. */
function python(args: string[]): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${args[0]} exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!));
    });
  });
}

async function main(): Promise<void> {
  for (const module of ['sklearn', 'optuna']) {
    try {
      execFileSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' });
    } catch {
      console.log(`skipped: ${PYTHON} cannot import ${module} (apt-get install python3-sklearn python3-optuna)`);
      return;
    }
  }
  const tick = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
  const dir = mkdtempSync(join(tmpdir(), 'tunelab-bench-python-'));
  const server = await startServer(join(dir, 'studies.db'));
  const serverCpu = () => procStat(server.child.pid!)!.cpuTicks / tick;
  const tunelab: Outcome[] = [];
  const optuna: Outcome[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const before = serverCpu();
      const t = await python([join(packageRoot, 'examples', 'sklearn-digits', 'tune_digits.py'), '--server', server.url, '--name', `digits-${round}`, '--budget', String(trials), '--method', method, '--seed', String(round)]);
      tunelab.push({ cpu: t.cpu_seconds + (serverCpu() - before), objective: t.objective_cpu_seconds, best: t.best, trials: t.observations });
      const o = await python([join(packageRoot, 'bench', 'python', 'optuna_digits.py'), '--trials', String(trials), '--seed', String(round)]);
      optuna.push({ cpu: o.cpu_seconds, objective: o.objective_cpu_seconds, best: o.best, trials: o.trials });
      console.error(`round ${round}: tunelab ${method} ${(tunelab[round].cpu / trials).toFixed(3)} CPU-s a trial (best error ${t.best.toFixed(4)}), Optuna TPE ${(o.cpu_seconds / trials).toFixed(3)} (best ${o.best.toFixed(4)})`);
    }
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('close', r));
    rmSync(dir, { recursive: true, force: true });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const perTrial = (os: Outcome[]) => median(os.map((o) => o.cpu / o.trials));
  // the loop's own cost: start-up, imports, searcher, HTTP (the configs each searcher picks make the fits cost more or less)
  const outside = (os: Outcome[]) => median(os.map((o) => (o.cpu - o.objective) / o.trials));
  const row = (name: string, os: Outcome[]) => [name, trials, perTrial(os).toFixed(3), outside(os).toFixed(3), median(os.map((o) => o.best)).toFixed(4)];
  console.log(formatTable(['loop', 'trials', 'CPU-s a trial', 'outside the objective', 'best error'], [row(`tunelab ${method} (Python client + server)`, tunelab), row('Optuna TPE (one process)', optuna)]));
  console.log(`medians of ${rounds} round(s); tunelab / Optuna CPU a trial: ${(perTrial(tunelab) / perTrial(optuna)).toFixed(2)} (target: at most 1.3); outside the objective: ${(outside(tunelab) / outside(optuna)).toFixed(2)}`);
}

await main();
