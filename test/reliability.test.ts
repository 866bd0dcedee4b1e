import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { getBenchmark } from '../src/launchers/benchmarks/index.js';
import { runExperiment } from '../src/launchers/experiment.js';
import { getMethod } from '../src/launchers/methods.js';
import { loadResults } from '../src/plotting/load.js';
import { readMetadata } from '../src/results/metadata.js';
import { gzipMembers } from '../src/results/members.js';
import { readExperiment } from '../src/results/read.js';
import { cliPath, tempDir } from './helpers.js';

function tunelab(args: string[]) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every file under a folder, path → bytes: to show a failed command left them as they were. */
function snapshot(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

const noStackTrace = /\n\s+at /;
const RUN = ['--experiment_tag', 't', '--method', 'RS', '--benchmark', 'synthetic-fcnet', '--random_seed', '7'];

/**
 * One uninterrupted run of RS on synthetic-fcnet (the reference) and a copy of the periodic
 * tuner.json it had written once 4000 rows were out: a genuine checkpoint older than the file.
 */
interface Reference {
  folder: string;
  results: Buffer;
  staleCheckpoint: string;
  staleRows: number;
}

let ref: Reference;
beforeAll(async () => {
  const root = tempDir();
  const staleCheckpoint = join(tempDir(), 'tuner.json');
  let copied = false;
  const outcome = await runExperiment({
    tag: 't',
    method: getMethod('RS'),
    benchmark: getBenchmark('synthetic-fcnet'),
    seed: 0,
    masterSeed: 7,
    resultsRoot: root,
    log: () => {},
    callbacks: [
      {
        onResult: (tuner) => {
          if (copied || tuner.resultsWritten < 4000) return;
          copyFileSync(join(onlyFolder(root), 'tuner.json'), staleCheckpoint);
          copied = true;
        },
      },
    ],
  });
  expect(outcome.metadata.status).toBe('completed');
  const staleRows = JSON.parse(readFileSync(staleCheckpoint, 'utf8')).rowsWritten as number;
  ref = { folder: outcome.folder, results: readFileSync(join(outcome.folder, 'results.csv.gz')), staleCheckpoint, staleRows };
});

/** The one experiment folder under a root (the run in progress). */
function onlyFolder(root: string): string {
  return join(root, 't', readdirSync(join(root, 't'))[0]);
}

/** A copy of the reference folder in a fresh results root, as a crash left it: status running, the stale checkpoint. */
function crashedCopy(): { root: string; folder: string } {
  const root = tempDir();
  const folder = join(root, 't', ref.folder.split('/').pop()!);
  cpSync(ref.folder, folder, { recursive: true });
  copyFileSync(ref.staleCheckpoint, join(folder, 'tuner.json'));
  writeFileSync(join(folder, 'metadata.json'), JSON.stringify({ ...readMetadata(folder), status: 'running', end_time: null }, null, 2));
  return { root, folder };
}

const rowsOf = (buf: Buffer) => gunzipSync(buf).toString('utf8').split('\n').length - 2;

describe('resume reconciles the results file with its checkpoint', () => {
  it('a stale checkpoint: the later rows are discarded aloud and recomputed, bit for bit', () => {
    const { root, folder } = crashedCopy();
    const total = rowsOf(ref.results);
    expect(ref.staleRows).toBeGreaterThan(1000);
    expect(total).toBeGreaterThan(ref.staleRows);
    const r = tunelab(['hpo-main', ...RUN, '--results_root', root, '--resume']);
    expect(r.stderr).not.toMatch(noStackTrace);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${join(folder, 'results.csv.gz')}: discarded its last ${total - ref.staleRows} row(s): they were written after the checkpoint, which counts ${ref.staleRows}`);
    expect(readMetadata(folder).status).toBe('completed');
    // the kept members are the original bytes and the recomputed ones flush on the same schedule
    expect(readFileSync(join(folder, 'results.csv.gz')).equals(ref.results)).toBe(true);
  });

  it('a torn last member (a crash mid-flush): cut off, named, and the run continued to the same bytes', () => {
    const { root, folder } = crashedCopy();
    const { members } = gzipMembers(ref.results);
    // the crash: one flush after the checkpoint went out whole, the next one half
    const rowsUpTo = (k: number) => members.slice(0, k + 1).reduce((n, m) => n + m.data.toString('utf8').split('\n').length - 1, 0) - 1;
    const c = members.findIndex((_, k) => rowsUpTo(k) === ref.staleRows);
    expect(c).toBeGreaterThan(0);
    const tornAt = members[c + 1].end + Math.floor((members[c + 2].end - members[c + 1].end) / 2);
    const path = join(folder, 'results.csv.gz');
    truncateSync(path, tornAt);
    expect(() => gunzipSync(readFileSync(path))).toThrow();
    const r = tunelab(['hpo-main', ...RUN, '--results_root', root, '--resume']);
    expect(r.stderr).not.toMatch(noStackTrace);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${path}: cut off a damaged tail of ${tornAt - members[c + 1].end} bytes (a damaged gzip member`);
    expect(r.stdout).toContain(`discarded its last ${rowsUpTo(c + 1) - ref.staleRows} row(s)`);
    expect(readFileSync(path).equals(ref.results)).toBe(true);
  });

  it('readers keep every complete member of a torn file and say what they dropped', async () => {
    const root = tempDir();
    const folder = join(root, 't', ref.folder.split('/').pop()!);
    cpSync(ref.folder, folder, { recursive: true });
    const { members } = gzipMembers(ref.results);
    const last = members.length - 1;
    const path = join(folder, 'results.csv.gz');
    truncateSync(path, members[last - 1].end + 7);
    const kept = rowsOf(ref.results.subarray(0, members[last - 1].end));
    expect(kept).toBeGreaterThan(8000);
    const warnings: string[] = [];
    const { rows } = readExperiment(folder, (w) => warnings.push(w));
    expect(rows).toHaveLength(kept);
    expect(warnings).toEqual([`${path}: kept its ${kept} rows in ${last} complete gzip member(s) and dropped the last 7 bytes: a damaged gzip member (unexpected end of file) at byte ${members[last - 1].end} (member ${last + 1}) (left by a crash while writing?)`]);
    // plot's loader: the run is kept with those rows, the warning passed on
    const plotWarnings: string[] = [];
    const { runs } = await loadResults({ tags: ['t'], root, warn: (w) => plotWarnings.push(w) });
    expect(runs).toHaveLength(1);
    expect(runs[0].times).toHaveLength(rows.filter((r) => Number.isFinite(r.valid_loss)).length);
    expect(plotWarnings).toEqual(warnings);
  });
});

describe('user errors on --resume: exit 2, the file named, no stack trace, every file as it was', () => {
  /** A stopped run (as SIGINT leaves it, with its resume hint) to damage. */
  function stoppedCopy() {
    const { root, folder } = crashedCopy();
    const meta = readMetadata(folder);
    writeFileSync(join(folder, 'metadata.json'), JSON.stringify({ ...meta, status: 'stopped', stop_reason: 'SIGINT; continue it with --resume' }, null, 2));
    return { root, folder };
  }
  const checkpoint = (folder: string) => JSON.parse(readFileSync(join(folder, 'tuner.json'), 'utf8'));

  const cases: [string, (folder: string) => void, (folder: string) => RegExp][] = [
    ['a tuner.json whose scheduler is {}', (f) => writeFileSync(join(f, 'tuner.json'), JSON.stringify({ ...checkpoint(f), scheduler: {} })), (f) => new RegExp(`cannot resume from ${join(f, 'tuner.json')}: scheduler.rng is not an object`)],
    ['a tuner.json whose backend is {}', (f) => writeFileSync(join(f, 'tuner.json'), JSON.stringify({ ...checkpoint(f), backend: {} })), (f) => new RegExp(`cannot resume from ${join(f, 'tuner.json')}: backend.clock is not a number`)],
    ['a results.csv.gz truncated inside its first member', (f) => truncateSync(join(f, 'results.csv.gz'), 5), (f) => new RegExp(`cannot resume from ${join(f, 'results.csv.gz')}: no complete gzip member in it \\(a truncated gzip header`)],
    [
      'a results.csv.gz truncated to fewer rows than the checkpoint counts',
      (f) => truncateSync(join(f, 'results.csv.gz'), gzipMembers(ref.results).members[3].end + 10),
      (f) => new RegExp(`cannot resume from ${join(f, 'results.csv.gz')}: it holds \\d+ complete rows but the checkpoint counted ${ref.staleRows}; its tail is damaged`),
    ],
    ['a garbage metadata.json', (f) => writeFileSync(join(f, 'metadata.json'), '{"tag": "t", garbage'), (f) => new RegExp(`${f}: metadata.json is not valid JSON .*; it may be an unfinished run of RS on synthetic-fcnet seed 0 \\(its tuner.json says so\\)`)],
  ];
  it.each(cases)('%s', (_, damage, message) => {
    const { root, folder } = stoppedCopy();
    damage(folder);
    const before = snapshot(root);
    const r = tunelab(['hpo-main', ...RUN, '--results_root', root, '--resume']);
    expect(r.stderr).toMatch(message(folder));
    expect(r.stderr).not.toMatch(noStackTrace);
    expect(r.code).toBe(2);
    // no new run started, the resume hint kept, not a byte changed
    expect(snapshot(root)).toEqual(before);
  });
});

describe('user errors of other commands: exit 2, named, no stack trace, files as they were', () => {
  it('blackbox build of an unknown training function', () => {
    const dir = tempDir();
    const r = tunelab(['blackbox', 'build', 'fcnet-nope', '--num_configs', '2', '--out', join(dir, 'out')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown training function 'fcnet-nope'; built-in ones: fcnet-cars, /);
    expect(r.stderr).not.toMatch(noStackTrace);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('blackbox build --out <a file>', () => {
    const file = join(tempDir(), 'table');
    writeFileSync(file, 'mine');
    const r = tunelab(['blackbox', 'build', 'fcnet-iris', '--num_configs', '2', '--epochs', '2', '--num_seeds', '1', '--workers', '1', '--out', file]);
    expect(r.stderr).toContain(`cannot create the output folder (--out) ${file}: ${file} is a file, not a folder`);
    expect(r.stderr).not.toMatch(noStackTrace);
    expect(r.code).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe('mine');
  });

  it('launch-remote --results_root <a file>', () => {
    const file = join(tempDir(), 'root');
    writeFileSync(file, 'mine');
    const r = tunelab(['launch-remote', ...RUN, '--max_wallclock_time', '10', '--results_root', file]);
    expect(r.stderr).toMatch(new RegExp(`cannot create the job log folder \\(under --results_root\\) ${file}/\\.jobs/t/\\S+: ${file} is a file, not a folder`));
    expect(r.stderr).not.toMatch(noStackTrace);
    expect(r.code).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe('mine');
    expect(existsSync(`${file}.jobs`)).toBe(false);
  });
});
