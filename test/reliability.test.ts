import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { getBenchmark } from '../src/launchers/benchmarks/index.js';
import { runExperiment } from '../src/launchers/experiment.js';
import { getMethod } from '../src/methods/registry.js';
import { loadResults } from '../src/plotting/load.js';
import { readMetadata } from '../src/results/metadata.js';
import { gzipMembers } from '../src/results/members.js';
import { readExperiment } from '../src/results/read.js';
import { cliPath, snapshot, tempDir } from './helpers.js';

function tunelab(args: string[]) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const noStackTrace = /\n\s+at /;
const RUN = ['--experiment_tag', 't', '--method', 'RS', '--benchmark', 'synthetic-fcnet', '--random_seed', '7'];

/**
 * RS on synthetic-fcnet, seed 0, random_seed 7: `results` of an uninterrupted run; and a run stopped
 * once 4000 rows were out (its tuner.json kept as `staleCheckpoint`, counting `staleRows`), then
 * resumed to its end (`folder`, `resumedResults`): its file holds rows that checkpoint does not count.
 */
interface Reference {
  results: Buffer;
  folder: string;
  resumedResults: Buffer;
  staleCheckpoint: string;
  staleRows: number;
}

let ref: Reference;
beforeAll(async () => {
  const spec = { tag: 't', method: getMethod('RS'), benchmark: getBenchmark('synthetic-fcnet'), seed: 0, masterSeed: 7, log: () => {} };
  const fresh = await runExperiment({ ...spec, resultsRoot: tempDir() });
  const root = tempDir();
  const stopped = await runExperiment({ ...spec, resultsRoot: root, callbacks: [{ onResult: (t) => t.resultsWritten >= 4000 && t.requestStop('test') }] });
  expect(stopped.metadata.status).toBe('stopped');
  const staleCheckpoint = join(tempDir(), 'tuner.json');
  copyFileSync(join(stopped.folder, 'tuner.json'), staleCheckpoint);
  const resumed = await runExperiment({ ...spec, resultsRoot: root, resumeFolder: stopped.folder });
  expect(resumed.metadata.status).toBe('completed');
  ref = {
    results: readFileSync(join(fresh.folder, 'results.csv.gz')),
    folder: stopped.folder,
    resumedResults: readFileSync(join(stopped.folder, 'results.csv.gz')),
    staleCheckpoint,
    staleRows: JSON.parse(readFileSync(staleCheckpoint, 'utf8')).rowsWritten as number,
  };
});

/** A copy of the resumed run's folder in a fresh results root, as a crash leaves it: status running, the stale checkpoint. */
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
    expect(ref.staleRows).toBeGreaterThanOrEqual(4000);
    expect(total).toBeGreaterThan(ref.staleRows);
    const r = tunelab(['hpo-main', ...RUN, '--results_root', root, '--resume']);
    expect(r.stderr).not.toMatch(noStackTrace);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${join(folder, 'results.csv.gz')}: discarded its last ${total - ref.staleRows} row(s): they were written after the checkpoint, which counts ${ref.staleRows}`);
    expect(readMetadata(folder).status).toBe('completed');
    // the rows of an uninterrupted run, bit for bit; and the file's bytes are those of the run that
    // was not set back (the kept members are the original bytes, the recomputed ones flush on the same schedule)
    const after = readFileSync(join(folder, 'results.csv.gz'));
    expect(gunzipSync(after).equals(gunzipSync(ref.results))).toBe(true);
    expect(after.equals(ref.resumedResults)).toBe(true);
  });

  it('a torn last member (a crash mid-flush): cut off, named, and the run continued to the same bytes', () => {
    const { root, folder } = crashedCopy();
    const { members } = gzipMembers(ref.resumedResults);
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
    expect(gunzipSync(readFileSync(path)).equals(gunzipSync(ref.results))).toBe(true);
    expect(readFileSync(path).equals(ref.resumedResults)).toBe(true);
  });

  it('readers keep every complete member of a torn file and say what they dropped', async () => {
    const root = tempDir();
    const folder = join(root, 't', ref.folder.split('/').pop()!);
    cpSync(ref.folder, folder, { recursive: true });
    const { members } = gzipMembers(ref.resumedResults);
    const last = members.length - 1;
    const path = join(folder, 'results.csv.gz');
    truncateSync(path, members[last - 1].end + 40);
    const kept = rowsOf(ref.resumedResults.subarray(0, members[last - 1].end));
    expect(kept).toBeGreaterThan(8000);
    const warnings: string[] = [];
    const { rows } = readExperiment(folder, (w) => warnings.push(w));
    expect(rows).toHaveLength(kept);
    expect(warnings).toEqual([`${path}: kept its ${kept} rows in ${last} complete gzip member(s) and dropped the last 40 bytes: a damaged gzip member (unexpected end of file) at byte ${members[last - 1].end} (member ${last + 1}) (left by a crash while writing?)`]);
    // plot's loader: the run is kept with those rows, the warning passed on
    const plotWarnings: string[] = [];
    const { runs } = await loadResults({ tags: ['t'], root, warn: (w) => plotWarnings.push(w) });
    expect(runs).toHaveLength(1);
    expect(runs[0].times).toHaveLength(rows.filter((r) => Number.isFinite(r.valid_loss)).length);
    expect(plotWarnings).toEqual(warnings);
  });
});

/** Whether this machine lets a test mount a tmpfs of its own (a user and mount namespace: root not needed). */
const canMountTmpfs = spawnSync('unshare', ['-rm', 'sh', '-c', `mount -t tmpfs -o size=64k tmpfs ${tempDir()}`]).status === 0;

describe('a full disk (a real one: a 200 KiB tmpfs)', () => {
  it.skipIf(!canMountTmpfs)('marks the experiment failed with the reason, leaves no temporary file, stops the study; --resume finishes it to the same bytes', () => {
    const work = tempDir();
    const mnt = join(work, 'mnt');
    // the tmpfs lives as long as the namespace: each stage's folder is copied out before it ends
    const script = `set -u
mkdir -p ${mnt} && mount -t tmpfs -o size=200k tmpfs ${mnt} || exit 99
run() { "${process.execPath}" ${cliPath} hpo-main ${RUN.join(' ').replace('--method RS', '--method RS ASHA')} --results_root ${mnt} "$@"; }
run > ${work}/1.out 2> ${work}/1.err; echo $? > ${work}/1.rc
cp -r ${mnt}/t ${work}/full
mount -o remount,size=64m ${mnt}
run --resume > ${work}/2.out 2> ${work}/2.err; echo $? > ${work}/2.rc
cp -r ${mnt}/t ${work}/resumed`;
    expect(spawnSync('unshare', ['-rm', 'sh', '-c', script]).status).toBe(0);
    const read = (name: string) => readFileSync(join(work, name), 'utf8');
    expect(read('1.err')).toMatch(/^tunelab: \[1\/2\] RS synthetic-fcnet seed 0: the disk is full \(ENOSPC in write\) under \S+; its rows up to the last checkpoint are kept: free space, then continue it with --resume\n$/);
    expect(read('1.rc').trim()).toBe('1');
    expect(read('1.out')).toContain('stopped the study on a full disk: 1 experiment(s) not run; free space, then run the same command with --resume');
    // ASHA, second, never started; RS's folder is whole
    const [name, ...others] = readdirSync(join(work, 'full'));
    expect(others).toEqual([]);
    const full = join(work, 'full', name);
    expect(readdirSync(full).sort()).toEqual(['metadata.json', 'results.csv.gz', 'trials.jsonl', 'tuner.json']);
    expect(readMetadata(full)).toMatchObject({ status: 'failed', error: expect.stringMatching(/^the disk is full \(ENOSPC/) });
    const kept = rowsOf(readFileSync(join(full, 'results.csv.gz')));
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(rowsOf(ref.results));
    // with space again, --resume continues it from its checkpoint and runs ASHA
    expect(read('2.err')).toBe('');
    expect(read('2.rc').trim()).toBe('0');
    expect(read('2.out')).toMatch(/\[1\/2\] RS synthetic-fcnet seed 0: resuming /);
    const resumed = join(work, 'resumed', name);
    expect(readMetadata(resumed).status).toBe('completed');
    expect(readFileSync(join(resumed, 'results.csv.gz')).equals(ref.results)).toBe(true);
    expect(readdirSync(join(work, 'resumed'))).toHaveLength(2);
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
      (f) => truncateSync(join(f, 'results.csv.gz'), gzipMembers(ref.resumedResults).members[3].end + 10),
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
    expect(r.stderr).toMatch(new RegExp(`cannot create the --results_root folder ${file}/\\.jobs/t/\\S+: ${file} is a file, not a folder`));
    expect(r.stderr).not.toMatch(noStackTrace);
    expect(r.code).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe('mine');
    expect(existsSync(`${file}.jobs`)).toBe(false);
  });
});
