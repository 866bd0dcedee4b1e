import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../src/util/package-info.js';
import { choice } from '../src/config-space/index.js';
import { TabularBlackbox } from '../src/blackbox/tabular.js';
import type { ExperimentSpec } from '../src/launchers/experiment.js';

const madeDirs: string[] = [];

/** A fresh folder under the system's temp folder, removed when its test file ends (test/setup.ts). */
export function tempDir(prefix = 'tunelab-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  madeDirs.push(dir);
  return dir;
}

/** Removes the folders tempDir made in this test file (thousands were left in /tmp, run after run). */
export function removeTempDirs(): void {
  for (const dir of madeDirs.splice(0)) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // a folder a slow child still writes in: left, as before; the test's own outcome stands
    }
  }
}

/**
 * Two configs, one seed, epochs 1..3, objectives [loss, elapsed_time]:
 * 'a' takes 2 s per epoch (loss 3, 2, 1), 'b' takes 3 s per epoch (loss 5, 4, 3).
 */
export function tinyBlackbox(): TabularBlackbox {
  return new TabularBlackbox({
    configSpace: { x: choice(['a', 'b']) },
    configurations: [{ x: 'a' }, { x: 'b' }],
    fidelityName: 'epoch',
    fidelityValues: [1, 2, 3],
    objectiveNames: ['loss', 'elapsed_time'],
    elapsedTimeAttr: 'elapsed_time',
    numSeeds: 1,
    objectives: Float32Array.from([3, 2, 2, 4, 1, 6, 5, 3, 4, 6, 3, 9]),
    metadata: { source: 'test' },
  });
}

export const cliPath = join(import.meta.dirname, '..', 'dist', 'src', 'cli.js');

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseCell, parseCsv } from '../src/results/csv.js';

/** Rows of a results.csv.gz as objects (numbers parsed). */
export function readRows(path: string): Record<string, string | number | null>[] {
  const [header, ...rows] = parseCsv(gunzipSync(readFileSync(path)).toString('utf8'));
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, parseCell(r[i])])));
}

/** Every file under a folder, path → bytes: to show a refused command left them as they were. */
export function snapshot(dir: string): Map<string, Buffer> {
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

/** Real benchmark data (never committed): `$TUNELAB_SHARED_DATA`, else `../shared/data` beside the checkout. */
export const sharedDataRoot = () => process.env.TUNELAB_SHARED_DATA ?? join(packageRoot, '..', 'shared', 'data');

/**
 * The folders of the shared data that a test reads, with `describe` and `it` that run when they are all
 * there and otherwise skip with one line naming the missing folder (CI has the data, a user's clone may not).
 * A skipped describe's body is not run: it may open the data while collecting its tests.
 */
export function requireSharedData(...names: string[]): { dir: string; missing: string | undefined; describe: typeof describe; it: typeof it } {
  const dir = sharedDataRoot();
  const missing = names.map((n) => join(dir, n)).find((p) => !existsSync(p));
  if (missing === undefined) return { dir, missing, describe, it };
  const why = `skipped: ${missing} is absent (real benchmark data; set $TUNELAB_SHARED_DATA to its folder)`;
  const skipDescribe = ((title: string) => describe(String(title), () => it.skip(why, () => {}))) as unknown as typeof describe;
  const skipIt = ((title: string) => it.skip(`${String(title)} (${why})`, () => {})) as unknown as typeof it;
  return { dir, missing, describe: skipDescribe, it: skipIt };
}

/** Runs the CLI to its end without blocking the test's event loop (its store and cluster stay served). */
export function cliAsync(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it holds; the limit is a bound for a hung test, not a timing assertion. */
export async function eventually(what: string, probe: () => boolean, limitSeconds = 30): Promise<void> {
  const t0 = Date.now();
  while (!probe()) {
    if (Date.now() - t0 > limitSeconds * 1000) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

/**
 * Runs `hpo-main` in process on `methods` × synthetic-fcnet × 2 seeds and checks that each launched
 * folder (a remote launch of the same study) holds the very same results.csv.gz bytes.
 */
export async function expectSameAsHpoMain(folders: string[], methods: string[]): Promise<void> {
  const { hpoMain } = await import('../src/launchers/hpo-main.js');
  const { readMetadata } = await import('../src/results/metadata.js');
  const direct = await hpoMain(
    { experimentTag: 'lr', method: methods, benchmark: ['synthetic-fcnet'], numSeeds: 2, randomSeed: 9, resultsRoot: tempDir(), maxWallclockTime: 600 },
    { log: () => {}, progress: false },
  );
  expect(direct.outcomes).toHaveLength(methods.length * 2);
  for (const o of direct.outcomes) {
    const twin = folders.find((f) => {
      const m = readMetadata(f);
      return m.method === o.metadata.method && m.seed === o.metadata.seed;
    });
    expect(twin, `a launched folder for ${o.metadata.method} seed ${o.metadata.seed}`).toBeDefined();
    expect(readFileSync(join(twin!, 'results.csv.gz')).equals(readFileSync(join(o.folder, 'results.csv.gz')))).toBe(true);
  }
}

/**
 * `tunelab run -f file --results_root dir`, expected to succeed quietly: the experiment folder it
 * printed, its rows, and its stdout.
 */
export function runFile(file: string, dir: string): { folder: string; rows: ReturnType<typeof readRows>; stdout: string } {
  const r = spawnSync(process.execPath, [cliPath, 'run', '-f', file, '--results_root', dir], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const folder = r.stdout.match(/→ (\S+)/)?.[1] ?? '';
  return { folder, rows: readRows(join(folder, 'results.csv.gz')), stdout: r.stdout };
}

/**
 * A simulator run, then the same spec stopped once `stopAfter` results are written and resumed from
 * its folder: the whole run, its rows, the resumed run and the rows its folder then holds (equal to
 * the whole run's when resuming is exact). The launcher loads on first use, not with every test file.
 */
export async function stopAndResume(spec: Omit<ExperimentSpec, 'resultsRoot' | 'callbacks' | 'resumeFolder'>, stopAfter: number) {
  const { runExperiment } = await import('../src/launchers/experiment.js');
  const full = await runExperiment({ ...spec, resultsRoot: tempDir() });
  const rows = readRows(join(full.folder, 'results.csv.gz'));
  const interrupted = await runExperiment({ ...spec, resultsRoot: tempDir(), callbacks: [{ onResult: (t) => t.resultsWritten >= stopAfter && t.requestStop('test') }] });
  expect(interrupted.metadata.status).toBe('stopped');
  const resumed = await runExperiment({ ...spec, resultsRoot: tempDir(), resumeFolder: interrupted.folder });
  expect(resumed.metadata.status).toBe('completed');
  return { full, rows, resumed, resumedRows: readRows(join(interrupted.folder, 'results.csv.gz')) };
}
