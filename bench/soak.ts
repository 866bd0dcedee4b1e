/**
 * Soak test of crash safety (issues 11 and 21): many short experiments, each run while this
 * process, playing the operator, sends it a random signal at a random moment and starts it again
 * with --resume, until it completes. Then it checks the final results and that no process is left
 * behind, and prints the figures. Not part of `npm test`.
 *
 * --target hpo-main: simulator experiments (`tunelab hpo-main`; SIGINT, SIGTERM, SIGKILL), each
 * final results file compared with an uninterrupted run of the same seed (the CSV, bit for bit).
 * --target run: `tunelab run -f` of a real training script that checkpoints every epoch
 * (test/fixtures/checkpointing-trial.sh; RS, ASHA and ASHA-PROMOTION in turn; SIGINT, SIGTERM,
 * SIGHUP, SIGKILL): every (trial, epoch) the trials printed to their logs must be in
 * results.csv.gz exactly once — but those a trial printed after the scheduler stopped or paused
 * it for good, which no run records.
 *
 * Usage: node dist/bench/soak.js [--target hpo-main|run] [--count 200] [--parallel 2] [--seed 1] [--max_delay 3000] [--max_signals 3] [--keep]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import pLimit from 'p-limit';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runProcesses } from '../src/backends/process-group.js';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { readMetadata } from '../src/results/metadata.js';
import { parseCsv } from '../src/results/csv.js';
import { createRng } from '../src/util/rng.js';

const argv = yargs(hideBin(process.argv))
  .option('target', { choices: ['hpo-main', 'run'] as const, default: 'hpo-main' as const, describe: 'what is interrupted: simulator experiments of hpo-main, or run -f of a real checkpointing script' })
  .option('count', { type: 'number', default: 200, describe: 'experiments to run' })
  .option('parallel', { type: 'number', default: 2, describe: 'experiments at once' })
  .option('seed', { type: 'number', default: 1, describe: 'seed of the studies and of the signal schedule' })
  .option('max_delay', { type: 'number', default: 3000, describe: 'a signal comes after a uniform delay in [0, max_delay] ms' })
  .option('max_signals', { type: 'number', default: 3, describe: 'each experiment is interrupted 0..max_signals times, then left to finish' })
  .option('keep', { type: 'boolean', default: false, describe: 'keep the results folders' })
  .strict()
  .parseSync();

const cli = join(import.meta.dirname, '..', 'src', 'cli.js');
const SCRIPT = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'checkpointing-trial.sh');
const SIGNALS = argv.target === 'run' ? (['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGKILL'] as const) : (['SIGINT', 'SIGTERM', 'SIGKILL'] as const);
const METHODS = argv.target === 'run' ? ['RS', 'ASHA', 'ASHA-PROMOTION'] : ['RS', 'ASHA', 'ASHA-PROMOTION', 'HYPERBAND'];

/** Experiment i: a method in turn, synthetic-fcnet, seed i, a budget of 600..1800 s (about a second of wall time). */
function experiment(i: number) {
  return { method: METHODS[i % METHODS.length], benchmark: 'synthetic-fcnet', seed: i, maxWallclockTime: 600 + 300 * (i % 5) };
}
const flags = (e: ReturnType<typeof experiment>, root: string) => [
  'hpo-main',
  '--experiment_tag', 'soak',
  '--method', e.method,
  '--benchmark', e.benchmark,
  '--start_seed', String(e.seed),
  '--num_seeds', String(e.seed + 1),
  '--random_seed', String(argv.seed),
  '--max_wallclock_time', String(e.maxWallclockTime),
  '--results_root', root,
];

/** run -f's experiment file of experiment i: 6 trials of up to 6 epochs of 0.1 s, two at once. */
function runFile(i: number, dir: string): string {
  const file = join(dir, `e${i}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      name: `e${i}`,
      parameters: [{ name: 'x', type: 'double', bounds: { min: 0, max: 4 } }],
      metrics: [{ name: 'loss', objective: 'minimize' }],
      resource: { name: 'epoch', max: 6 },
      command: ['sh', SCRIPT],
      method: METHODS[i % METHODS.length],
      // rungs at epochs 1, 2 and 4: trials are stopped (ASHA) or paused and resumed (promotion) often
      ...(i % METHODS.length === 0 ? {} : { method_options: { grace_period: 1, reduction_factor: 2 } }),
      budget: { max_trials: 6 },
      parallel_bandwidth: 2,
      random_seed: argv.seed * 1000 + i,
      env: { EPOCHS: '6', STEP: '0.1' },
    }),
  );
  return file;
}

interface Attempt {
  signal?: (typeof SIGNALS)[number];
  delay?: number;
  code: number | null;
  exitSignal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();

/** One hpo-main in its own process group; `signal` is sent to the group after `delay` ms unless it ended first. */
function attempt(args: string[], signal?: Attempt['signal'], delay = 0): Promise<Attempt> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = signal
      ? setTimeout(() => {
          try {
            process.kill(-child.pid!, signal);
          } catch {
            // it ended in the meantime
          }
        }, delay)
      : undefined;
    child.on('close', (code, exitSignal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ signal, delay, code, exitSignal, stdout, stderr });
    });
  });
}

/** The process ids whose command line names the soak's results root (there must be none at the end). */
function processesUnder(mark: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(mark)) found.push(`${pid}: ${cmd}`);
    } catch {
      // it ended while we looked
    }
  }
  return found;
}

const csv = (folder: string) => gunzipSync(readFileSync(join(folder, 'results.csv.gz')));

/** The newest folder of experiment i (the one --resume continued last). */
function newestFolder(root: string, i: number): { folder?: string; all: number } {
  const [tag, prefix] = argv.target === 'run' ? [`e${i}`, `e${i}-e${i}-0-`] : ['soak', `soak-synthetic-fcnet-${i}-`];
  let names: string[] = [];
  try {
    names = readdirSync(join(root, tag))
      .filter((n) => n.startsWith(prefix))
      .sort();
  } catch {
    // not created: killed before it could
  }
  return { folder: names.length ? join(root, tag, names[names.length - 1]) : undefined, all: names.length };
}

/**
 * A run -f folder's rows against its trials' logs: (trial, epoch) printed but not recorded, and
 * recorded more than once. A report a trial printed after the row on which the scheduler stopped
 * or paused it (for good: it was not resumed) is no row of any run, and not counted as lost.
 */
function checkRows(folder: string): { printed: number; lost: string[]; duplicates: string[]; gaps: number } {
  const [header, ...rows] = parseCsv(gunzipSync(readFileSync(join(folder, 'results.csv.gz'))).toString('utf8'));
  const col = (name: string) => header.indexOf(name);
  const recorded = new Map<string, number>();
  const last = new Map<number, { epoch: number; decision: string }>();
  for (const r of rows) {
    const trial = Number(r[col('trial_id')]);
    const epoch = Number(r[col('epoch')]);
    recorded.set(`${trial}:${epoch}`, (recorded.get(`${trial}:${epoch}`) ?? 0) + 1);
    last.set(trial, { epoch, decision: String(r[col('st_decision')]) });
  }
  const lost: string[] = [];
  let printed = 0;
  for (const name of readdirSync(join(folder, 'logs'))) {
    const m = /^trial-(\d+)\.stdout$/.exec(name);
    if (!m) continue;
    const trial = Number(m[1]);
    const end = last.get(trial);
    for (const line of readFileSync(join(folder, 'logs', name), 'utf8').split('\n')) {
      if (!line.startsWith('[tunelab] ')) continue;
      const epoch = (JSON.parse(line.slice(10)) as { epoch: number }).epoch;
      const key = `${trial}:${epoch}`;
      printed++;
      if (recorded.has(key)) continue;
      if (end && end.decision !== 'continue' && epoch > end.epoch) continue;
      if (!lost.includes(key)) lost.push(key);
    }
  }
  // an epoch below a trial's last one in neither its log nor the results: written into the pipe in
  // the instant before a kill -9, not yet read (the trial had saved it: it never printed it again)
  let gaps = 0;
  for (const [trial, end] of last) for (let e = 1; e < end.epoch; e++) if (!recorded.has(`${trial}:${e}`)) gaps++;
  return { printed, lost, duplicates: [...recorded].filter(([, n]) => n > 1).map(([k]) => k), gaps };
}

const work = mkdtempSync(join(tmpdir(), 'tunelab-soak-'));
const refRoot = join(work, 'reference');
const root = join(work, 'chaos');
const rng = createRng(`soak-${argv.seed}`);
const stats = {
  attempts: 0,
  signals: Object.fromEntries(SIGNALS.map((s) => [s, 0])) as Record<string, number>,
  rowsPrinted: 0,
  rowsLost: [] as string[],
  gaps: 0,
  duplicates: [] as string[],
  orphans: [] as string[],
  exits: new Map<string, number>(),
  tornTails: 0,
  discardedNotes: 0,
  recoveredReports: 0,
  lockTakeovers: 0,
  freshStarts: 0,
  extraFolders: 0,
  stackTraces: [] as string[],
  unexpected: [] as string[],
  mismatches: [] as string[],
  tmpLeft: 0,
};

const t0 = performance.now();
const filesDir = join(work, 'files');
mkdirSync(filesDir);
// the references: the same experiments, uninterrupted, in this process (real trials have none: their timing differs each run)
for (let i = 0; i < (argv.target === 'run' ? 0 : argv.count); i++) {
  const e = experiment(i);
  await hpoMain(
    { experimentTag: 'soak', method: [e.method], benchmark: [e.benchmark], startSeed: e.seed, numSeeds: e.seed + 1, randomSeed: argv.seed, maxWallclockTime: e.maxWallclockTime, resultsRoot: refRoot },
    { log: () => {}, progress: false },
  );
}
const tRef = performance.now();

// the schedule is drawn up front, so that it is a function of --seed alone
const schedules = Array.from({ length: argv.count }, () =>
  Array.from({ length: Math.floor(rng.next() * (argv.max_signals + 1)) }, () => ({ signal: SIGNALS[Math.floor(rng.next() * SIGNALS.length)], delay: Math.round(rng.next() * argv.max_delay) })),
);

const limit = pLimit(argv.parallel);
await Promise.all(
  Array.from({ length: argv.count }, (_, i) =>
    limit(async () => {
      const e = experiment(i);
      const args = argv.target === 'run' ? ['run', '-f', runFile(i, filesDir), '--results_root', root] : flags(e, root);
      const log: string[] = [];
      for (let k = 0; ; k++) {
        const planned = schedules[i][k];
        const a = await attempt([...args, ...(k > 0 ? ['--resume'] : [])], planned?.signal, planned?.delay);
        stats.attempts++;
        if (a.signal) stats.signals[a.signal]++;
        const exit = a.exitSignal ? `killed by ${a.exitSignal}` : `exit ${a.code}`;
        log.push(`${a.signal ?? 'no signal'} after ${a.delay} ms: ${exit}`);
        stats.exits.set(exit, (stats.exits.get(exit) ?? 0) + 1);
        stats.tornTails += (a.stdout.match(/cut off a damaged tail/g) ?? []).length;
        stats.discardedNotes += (a.stdout.match(/discarded its last \d+ row/g) ?? []).length;
        for (const m of a.stdout.matchAll(/recovered (\d+) report\(s\) the trials printed after the checkpoint/g)) stats.recoveredReports += Number(m[1]);
        stats.lockTakeovers += (a.stdout.match(/took over the lock of pid/g) ?? []).length;
        stats.freshStarts += (a.stdout.match(/to resume from; starting a new run/g) ?? []).length;
        if (/\n\s+at /.test(a.stderr)) stats.stackTraces.push(`experiment ${i}, attempt ${k}: ${a.stderr.slice(0, 400)}`);
        // 0 done; 130/143/129 stopped by SIGINT/SIGTERM/SIGHUP; killed by a signal (SIGKILL, or one that came before node set its handlers)
        if (a.code === 0 && (/: completed in /.test(a.stdout) || /^completed → /m.test(a.stdout))) break;
        const expected = a.exitSignal !== null || a.code === 130 || a.code === 143 || a.code === 129 || (a.code === 0 && /already completed/.test(a.stdout));
        if (a.code === 0 && /already completed/.test(a.stdout)) break;
        if (!expected) {
          stats.unexpected.push(`experiment ${i}, attempt ${k}: ${exit}; ${(a.stderr.trim() || a.stdout.trim().split('\n').slice(-2).join(' | ')).slice(0, 600)}`);
          if (k >= schedules[i].length) break;
        }
      }
      const { folder, all } = newestFolder(root, i);
      if (!folder) {
        stats.mismatches.push(`experiment ${i}: no folder; attempts: ${log.join(' | ')}`);
        return;
      }
      stats.extraFolders += all - 1;
      stats.tmpLeft += readdirSync(folder).filter((n) => n.endsWith('.tmp')).length;
      const metadata = readMetadata(folder);
      if (metadata.status !== 'completed') stats.mismatches.push(`experiment ${i}: status ${metadata.status}${metadata.error ? ` (${metadata.error})` : ''} in ${folder}; attempts: ${log.join(' | ')}`);
      else if (argv.target === 'run') {
        const rows = checkRows(folder);
        stats.rowsPrinted += rows.printed;
        stats.gaps += rows.gaps;
        stats.rowsLost.push(...rows.lost.map((k) => `experiment ${i} (${METHODS[i % METHODS.length]}) trial:epoch ${k}; attempts: ${log.join(' | ')}`));
        stats.duplicates.push(...rows.duplicates.map((k) => `experiment ${i} trial:epoch ${k}`));
        stats.orphans.push(...runProcesses(String(metadata.run_id)).map((p) => `experiment ${i}: pid ${p.pid}`));
      } else {
        const ref = newestFolder(refRoot, i).folder!;
        if (!csv(folder).equals(csv(ref))) stats.mismatches.push(`experiment ${i}: ${folder} differs from ${ref}; attempts: ${log.join(' | ')}`);
      }
    }),
  ),
);
const tEnd = performance.now();
const leftBehind = processesUnder(work);

const seconds = (ms: number) => (ms / 1000).toFixed(1);
const what = argv.target === 'run' ? `run -f of a checkpointing script (${METHODS.join(', ')})` : `hpo-main (${METHODS.join(', ')} on synthetic-fcnet)`;
console.log(`soak: ${argv.count} experiments, ${what}, ${argv.parallel} at once, seed ${argv.seed}, signals after 0-${argv.max_delay} ms`);
console.log(`${argv.target === 'run' ? '' : `references (uninterrupted, in process): ${seconds(tRef - t0)} s; `}chaos: ${seconds(tEnd - tRef)} s`);
console.log(`attempts: ${stats.attempts} (${(stats.attempts / argv.count).toFixed(2)} per experiment); signals sent: ${SIGNALS.map((s) => `${s} ${stats.signals[s]}`).join(', ')}`);
console.log(`exits: ${[...stats.exits].sort().map(([k, v]) => `${k} ×${v}`).join(', ')}`);
console.log(`resumes that cut a torn tail: ${stats.tornTails}; that discarded rows after a stale checkpoint: ${stats.discardedNotes}; took over a dead owner's lock: ${stats.lockTakeovers}${argv.target === 'run' ? `; reports recovered from the trials' logs: ${stats.recoveredReports}` : ''}`);
console.log(`killed before a checkpoint existed (a new run started): ${stats.freshStarts}; abandoned folders: ${stats.extraFolders}; .tmp files left in final folders: ${stats.tmpLeft}`);
if (argv.target === 'run') {
  console.log(`completed: ${argv.count - stats.mismatches.length}/${argv.count}; rows the trials printed: ${stats.rowsPrinted}; rows lost: ${stats.rowsLost.length}; duplicates: ${stats.duplicates.length}; orphan trial processes: ${stats.orphans.length}`);
  console.log(`epochs in neither log nor results (a report in the pipe, unread, when the tuner was killed): ${stats.gaps}`);
  for (const l of [...stats.rowsLost, ...stats.duplicates, ...stats.orphans]) console.log(`  ${l}`);
} else console.log(`final results equal to the uninterrupted run: ${argv.count - stats.mismatches.length}/${argv.count}`);
for (const m of stats.mismatches) console.log(`  MISMATCH ${m}`);
for (const u of stats.unexpected) console.log(`  UNEXPECTED ${u}`);
for (const s of stats.stackTraces) console.log(`  STACK TRACE ${s}`);
console.log(`processes left behind: ${leftBehind.length}`);
for (const p of leftBehind) console.log(`  ${p}`);
if (!argv.keep) rmSync(work, { recursive: true, force: true });
else console.log(`results kept in ${work}`);
const failures = stats.mismatches.length + stats.unexpected.length + stats.stackTraces.length + leftBehind.length + stats.rowsLost.length + stats.duplicates.length + stats.orphans.length;
process.exitCode = failures > 0 ? 1 : 0;
