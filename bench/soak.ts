/**
 * Soak test of crash safety (issue 11): many short simulator experiments, each run by `tunelab
 * hpo-main` while this process, playing the operator, sends it a random SIGINT, SIGTERM or SIGKILL at
 * a random moment and starts it again with --resume, until it completes. Then it checks that every
 * experiment's final results equal an uninterrupted run of the same seed (the decompressed CSV, bit
 * for bit) and that no process is left behind, and prints the figures. Not part of `npm test`.
 *
 * Usage: node dist/bench/soak.js [--count 200] [--parallel 2] [--seed 1] [--max_delay 3000] [--max_signals 3] [--keep]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import pLimit from 'p-limit';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { readMetadata } from '../src/results/metadata.js';
import { createRng } from '../src/util/rng.js';

const argv = yargs(hideBin(process.argv))
  .option('count', { type: 'number', default: 200, describe: 'experiments to run' })
  .option('parallel', { type: 'number', default: 2, describe: 'experiments at once' })
  .option('seed', { type: 'number', default: 1, describe: 'seed of the studies and of the signal schedule' })
  .option('max_delay', { type: 'number', default: 3000, describe: 'a signal comes after a uniform delay in [0, max_delay] ms' })
  .option('max_signals', { type: 'number', default: 3, describe: 'each experiment is interrupted 0..max_signals times, then left to finish' })
  .option('keep', { type: 'boolean', default: false, describe: 'keep the results folders' })
  .strict()
  .parseSync();

const cli = join(import.meta.dirname, '..', 'src', 'cli.js');
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGKILL'] as const;
const METHODS = ['RS', 'ASHA', 'ASHA-PROMOTION', 'HYPERBAND'];

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

/** The newest folder of seed i under <root>/soak (the one --resume continued last). */
function newestFolder(root: string, seed: number): { folder?: string; all: number } {
  const names = readdirSync(join(root, 'soak'))
    .filter((n) => n.startsWith(`soak-synthetic-fcnet-${seed}-`))
    .sort();
  return { folder: names.length ? join(root, 'soak', names[names.length - 1]) : undefined, all: names.length };
}

const work = mkdtempSync(join(tmpdir(), 'tunelab-soak-'));
const refRoot = join(work, 'reference');
const root = join(work, 'chaos');
const rng = createRng(`soak-${argv.seed}`);
const stats = {
  attempts: 0,
  signals: { SIGINT: 0, SIGTERM: 0, SIGKILL: 0 } as Record<string, number>,
  exits: new Map<string, number>(),
  tornTails: 0,
  discardedNotes: 0,
  lockTakeovers: 0,
  freshStarts: 0,
  extraFolders: 0,
  stackTraces: [] as string[],
  unexpected: [] as string[],
  mismatches: [] as string[],
  tmpLeft: 0,
};

const t0 = performance.now();
// the references: the same experiments, uninterrupted, in this process
for (let i = 0; i < argv.count; i++) {
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
      const log: string[] = [];
      for (let k = 0; ; k++) {
        const planned = schedules[i][k];
        const a = await attempt([...flags(e, root), ...(k > 0 ? ['--resume'] : [])], planned?.signal, planned?.delay);
        stats.attempts++;
        if (a.signal) stats.signals[a.signal]++;
        const exit = a.exitSignal ? `killed by ${a.exitSignal}` : `exit ${a.code}`;
        log.push(`${a.signal ?? 'no signal'} after ${a.delay} ms: ${exit}`);
        stats.exits.set(exit, (stats.exits.get(exit) ?? 0) + 1);
        stats.tornTails += (a.stdout.match(/cut off a damaged tail/g) ?? []).length;
        stats.discardedNotes += (a.stdout.match(/discarded its last \d+ row/g) ?? []).length;
        stats.lockTakeovers += (a.stdout.match(/took over the lock of pid/g) ?? []).length;
        stats.freshStarts += (a.stdout.match(/to resume from; starting a new run/g) ?? []).length;
        if (/\n\s+at /.test(a.stderr)) stats.stackTraces.push(`experiment ${i}, attempt ${k}: ${a.stderr.slice(0, 400)}`);
        // 0 done; 130/143 stopped by SIGINT/SIGTERM; killed by a signal (SIGKILL, or one that came before node set its handlers)
        if (a.code === 0 && /: completed in /.test(a.stdout)) break;
        const expected = a.exitSignal !== null || a.code === 130 || a.code === 143 || (a.code === 0 && /already completed/.test(a.stdout));
        if (a.code === 0 && /already completed/.test(a.stdout)) break;
        if (!expected) {
          stats.unexpected.push(`experiment ${i}, attempt ${k}: ${exit}; ${a.stderr.trim().slice(0, 400)}`);
          if (k >= schedules[i].length) break;
        }
      }
      const { folder, all } = newestFolder(root, e.seed);
      const ref = newestFolder(refRoot, e.seed).folder!;
      if (!folder) {
        stats.mismatches.push(`experiment ${i}: no folder; attempts: ${log.join(' | ')}`);
        return;
      }
      stats.extraFolders += all - 1;
      stats.tmpLeft += readdirSync(folder).filter((n) => n.endsWith('.tmp')).length;
      const status = readMetadata(folder).status;
      if (status !== 'completed') stats.mismatches.push(`experiment ${i}: status ${status} in ${folder}; attempts: ${log.join(' | ')}`);
      else if (!csv(folder).equals(csv(ref))) stats.mismatches.push(`experiment ${i}: ${folder} differs from ${ref}; attempts: ${log.join(' | ')}`);
    }),
  ),
);
const tEnd = performance.now();
const leftBehind = processesUnder(work);

const seconds = (ms: number) => (ms / 1000).toFixed(1);
console.log(`soak: ${argv.count} experiments (${METHODS.join(', ')} on synthetic-fcnet), ${argv.parallel} at once, seed ${argv.seed}, signals after 0-${argv.max_delay} ms`);
console.log(`references (uninterrupted, in process): ${seconds(tRef - t0)} s; chaos: ${seconds(tEnd - tRef)} s`);
console.log(`attempts: ${stats.attempts} (${(stats.attempts / argv.count).toFixed(2)} per experiment); signals sent: ${SIGNALS.map((s) => `${s} ${stats.signals[s]}`).join(', ')}`);
console.log(`exits: ${[...stats.exits].sort().map(([k, v]) => `${k} ×${v}`).join(', ')}`);
console.log(`resumes that cut a torn tail: ${stats.tornTails}; that discarded rows after a stale checkpoint: ${stats.discardedNotes}; took over a dead owner's lock: ${stats.lockTakeovers}`);
console.log(`killed before a checkpoint existed (a new run started): ${stats.freshStarts}; abandoned folders: ${stats.extraFolders}; .tmp files left in final folders: ${stats.tmpLeft}`);
console.log(`final results equal to the uninterrupted run: ${argv.count - stats.mismatches.length}/${argv.count}`);
for (const m of stats.mismatches) console.log(`  MISMATCH ${m}`);
for (const u of stats.unexpected) console.log(`  UNEXPECTED ${u}`);
for (const s of stats.stackTraces) console.log(`  STACK TRACE ${s}`);
console.log(`processes left behind: ${leftBehind.length}`);
for (const p of leftBehind) console.log(`  ${p}`);
if (!argv.keep) rmSync(work, { recursive: true, force: true });
else console.log(`results kept in ${work}`);
process.exitCode = stats.mismatches.length + stats.unexpected.length + stats.stackTraces.length + leftBehind.length > 0 ? 1 : 0;
