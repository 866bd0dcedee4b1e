import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { loadResults } from '../src/plotting/load.js';
import { plotStudy } from '../src/plotting/study.js';
import { experimentFolderName } from '../src/results/layout.js';
import { LOCK_FILE } from '../src/results/lock.js';
import { readMetadata, writeMetadata } from '../src/results/metadata.js';
import { cliPath, tempDir } from './helpers.js';

/**
 * A study of RS × seeds 0–2 (completed), plus runs that did not finish, each newer than the completed
 * run of its seed (as a run killed mid-way and never resumed is): the loader must not let them win.
 */
describe('unfinished runs', () => {
  const root = tempDir();
  const tag = 'u';
  const completed: string[] = [];
  const unfinished: Record<string, string> = {};

  /** A newer copy of a completed run with only its first rows, as a run cut off early leaves it. */
  function cutOff(from: string, seed: number, status: 'running' | 'stopped', lockPid?: number): string {
    const folder = join(root, tag, experimentFolderName(tag, 'synthetic-branin', seed, new Date(Date.now() + 86_400_000 * (seed + 1))));
    cpSync(from, folder, { recursive: true });
    const lines = gunzipSync(readFileSync(join(from, 'results.csv.gz'))).toString('utf8').split('\n');
    writeFileSync(join(folder, 'results.csv.gz'), gzipSync(lines.slice(0, 4).join('\n') + '\n'));
    const m = readMetadata(from);
    writeMetadata(folder, { ...m, status, end_time: null, start_time: new Date(Date.now() + 86_400_000 * (seed + 1)).toISOString() });
    if (lockPid !== undefined) writeFileSync(join(folder, LOCK_FILE), JSON.stringify({ pid: lockPid, host: hostname(), started: m.start_time, command: 'hpo-main' }) + '\n');
    return folder;
  }

  beforeAll(async () => {
    const report = await hpoMain({ experimentTag: tag, method: ['RS'], benchmark: ['synthetic-branin'], numSeeds: 3, randomSeed: 5, resultsRoot: root, maxWallclockTime: 200 }, { log: () => {}, progress: false });
    completed.push(...report.outcomes.map((o) => o.folder));
    // a pid that is certainly gone: a child that has exited
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    unfinished.dead = cutOff(completed[0], 0, 'running', dead);
    unfinished.stopped = cutOff(completed[1], 1, 'stopped');
    unfinished.live = cutOff(completed[2], 2, 'running', process.pid);
    // seed 3 exists only as a stopped run
    unfinished.only = cutOff(completed[2], 3, 'stopped');
    writeMetadata(unfinished.only, { ...readMetadata(unfinished.only), seed: 3 });
  }, 120_000);

  it('are left out and named with the reason; the completed run of each seed is used', async () => {
    const warnings: string[] = [];
    const { runs } = await loadResults({ tags: [tag], root, warn: (w) => warnings.push(w) });
    expect(runs.map((r) => r.folder)).toEqual(completed);
    const left = warnings.find((w) => w.startsWith('left out 4 unfinished run(s) (--include_unfinished plots them): '))!;
    expect(left).toBeDefined();
    expect(left).toContain(`${unfinished.dead} (running, but its process (pid `);
    expect(left).toContain(`${unfinished.stopped} (stopped)`);
    expect(left).toContain(`${unfinished.live} (still running: pid ${process.pid} on host ${hostname()})`);
    expect(left).toContain(`${unfinished.only} (stopped)`);
    // no run left out is mistaken for a repeated seed
    expect(warnings.filter((w) => /results for \d+ seeds/.test(w))).toEqual([]);
  });

  it('with includeUnfinished: a completed run still wins its seed; a seed without one gets the unfinished run', async () => {
    const warnings: string[] = [];
    const { runs } = await loadResults({ tags: [tag], root, includeUnfinished: true, warn: (w) => warnings.push(w) });
    expect(runs.map((r) => r.folder)).toEqual([...completed, unfinished.only]);
    expect(warnings.some((w) => w.startsWith('RS on synthetic-branin: 7 results for 4 seeds; using the newest completed run per seed.') && w.includes(unfinished.dead))).toBe(true);
  });

  it('the report names the runs left out', async () => {
    const out = join(root, 'plots');
    const result = await plotStudy({ tags: [tag], root, out, formats: ['html'], warn: () => {} });
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    const warningsList = /<ul id="warnings">([\s\S]*?)<\/ul>/.exec(html)![1];
    for (const f of Object.values(unfinished)) expect(warningsList).toContain(f);
    expect(result.tableMarkdown).toContain('3 seeds');
  });

  it('CLI: --include_unfinished plots them; --out naming a file is refused (exit 2) and the file kept', () => {
    const env = { ...process.env, TUNELAB_ROOT: root };
    const plot = (args: string[]) => spawnSync(process.execPath, [cliPath, 'plot', '--experiment_tag', tag, '--format', 'svg', ...args], { encoding: 'utf8', env });
    const all = plot(['--out', join(root, 'plots-all'), '--include_unfinished']);
    expect(all.status).toBe(0);
    expect(all.stdout).toMatch(/\| RS \| 1\.000 \| [\d.]+ \| 1 \/ 1 \| [\d.]+ \([\d.]+–[\d.]+\), 4 seeds \|/);
    const file = join(root, 'not-a-folder.txt');
    writeFileSync(file, 'keep me\n');
    const bad = plot(['--out', file]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(`--out ${file} is a file; give a folder`);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(file, 'utf8')).toBe('keep me\n');
  });
});
