import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { acrossBenchmarks, aggregateCurves, bestSoFarAt, iqm, summarise } from '../src/plotting/aggregate.js';
import { type Run, loadResults } from '../src/plotting/load.js';
import { plotStudy } from '../src/plotting/study.js';
import { createRng } from '../src/util/rng.js';
import { tempDir } from './helpers.js';

const run = (setup: string, seed: number, times: number[], values: number[], benchmark = 'b1'): Run => ({
  folder: `/x/${setup}-${seed}`,
  setup,
  benchmark,
  seed,
  metric: 'loss',
  mode: 'min',
  metadata: {} as Run['metadata'],
  times,
  values,
});

describe('aggregation', () => {
  // three hand-made runs of one method
  const runs = [run('A', 0, [1, 2, 4], [5, 3, 4]), run('A', 1, [1, 3], [6, 2]), run('A', 2, [2, 4], [4, 1])];

  it('best-so-far is forward filled and undefined before the first result', () => {
    expect([0.5, 1, 2, 3.9, 4].map((t) => bestSoFarAt(runs[0], t))).toEqual([undefined, 5, 3, 3, 3]);
    expect(bestSoFarAt(runs[2], 1)).toBeUndefined();
  });

  it('mean ± s.e., median with IQR and the IQM on the common grid', () => {
    const mean = aggregateCurves(runs, { agg: 'mean', points: 4 });
    // grid: 1, 2, 3, 4; values at t=2: [3, 6, 4]; at t=4: [3, 2, 1]
    expect(mean.map((p) => p.time)).toEqual([1, 2, 3, 4]);
    expect(mean[0]).toMatchObject({ center: 5.5, n: 2 });
    expect(mean[1].center).toBeCloseTo(13 / 3, 12);
    expect(mean[1].upper - mean[1].center).toBeCloseTo(Math.sqrt(((3 - 13 / 3) ** 2 + (6 - 13 / 3) ** 2 + (4 - 13 / 3) ** 2) / 2 / 3), 12);
    expect(mean[3]).toMatchObject({ center: 2, lower: 2 - 1 / Math.sqrt(3), upper: 2 + 1 / Math.sqrt(3), n: 3 });
    const median = aggregateCurves(runs, { agg: 'median', points: 4 });
    expect(median[1]).toMatchObject({ center: 4, lower: 3.5, upper: 5 });
    expect(iqm([1, 2, 3, 4, 100, -50, 7, 8])).toBe((2 + 3 + 4 + 7) / 4);
    const band = summarise([1, 2, 3, 4, 5, 6, 7, 8], 'iqm', createRng(1));
    expect(band.center).toBe(4.5);
    expect(band.lower).toBeLessThan(4.5);
    expect(band.upper).toBeGreaterThan(4.5);
    // the bootstrap is seeded: same seed, same band
    expect(summarise([1, 2, 3, 4, 5, 6, 7, 8], 'iqm', createRng(1))).toEqual(band);
  });

  it('normalised regret and rank across benchmarks', () => {
    const two = [run('A', 0, [1, 2], [10, 2]), run('B', 0, [1, 2], [8, 6]), run('A', 0, [1, 2], [1, 0.5], 'b2'), run('B', 0, [1, 2], [2, 0], 'b2')];
    const curves = aggregateCurves(two, { agg: 'mean', points: 2 });
    const across = acrossBenchmarks(two, curves);
    // b1: best 2, worst initial 10 → A ends at 0, B at (6-2)/8 = 0.5; b2: best 0, worst 2 → A 0.25, B 0
    const final = Object.fromEntries(across.final.map((f) => [f.setup, f]));
    expect(final.A.regret).toBeCloseTo((0 + 0.25) / 2, 12);
    expect(final.B.regret).toBeCloseTo((0.5 + 0) / 2, 12);
    expect(final.A.rank).toBe(1.5);
    expect(final.B.rank).toBe(1.5);
  });
});

describe('loading a study', () => {
  it('warns about repeated and missing seeds, keeps the newest, skips a corrupt folder by name', async () => {
    const root = tempDir();
    const quiet = { log: () => {}, progress: false };
    const base = { experimentTag: 's', benchmark: ['synthetic-branin'], randomSeed: 4, resultsRoot: root, maxWallclockTime: 200 };
    await hpoMain({ ...base, method: ['RS'], numSeeds: 2 }, quiet);
    const rerun = await hpoMain({ ...base, method: ['RS'], numSeeds: 2, startSeed: 1 }, quiet);
    const ashaOnly = await hpoMain({ ...base, method: ['ASHA'], numSeeds: 1 }, quiet);
    const corrupt = ashaOnly.outcomes[0].folder.replace(/-0-(\d{4})/, '-7-$1');
    mkdirSync(corrupt);
    writeFileSync(join(corrupt, 'metadata.json'), readFileSync(join(ashaOnly.outcomes[0].folder, 'metadata.json')));
    writeFileSync(join(corrupt, 'results.csv.gz'), 'this is not gzip');
    const warnings: string[] = [];
    const { runs, table } = await loadResults({ tags: ['s'], root, warn: (m) => warnings.push(m) });
    expect(warnings.some((w) => w.includes(corrupt) && /results.csv.gz is corrupt/.test(w))).toBe(true);
    const tooMany = warnings.find((w) => w.startsWith('RS on synthetic-branin: 3 results for 2 seeds; using the newest per seed.'))!;
    expect(tooMany).toBeDefined();
    expect(tooMany).toContain(rerun.outcomes[0].folder);
    expect(warnings).toContain('ASHA on synthetic-branin: missing seeds 1 (other setups have them)');
    const rs1 = runs.find((r) => r.setup === 'RS' && r.seed === 1)!;
    expect(rs1.folder).toBe(rerun.outcomes[0].folder);
    expect(runs).toHaveLength(3);
    expect(table.numRows()).toBe(runs.reduce((n, r) => n + r.times.length, 0));
    expect(table.columnNames()).toEqual(['setup', 'benchmark', 'seed', 'folder', 'st_tuner_time', 'value']);
  });
});

/** Width, height and whether any pixel differs from white, from a PNG's own chunks. */
function pngFacts(png: Buffer): { width: number; height: number; inked: number } {
  expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const idat: Buffer[] = [];
  for (let o = 8; o < png.length; ) {
    const len = png.readUInt32BE(o);
    if (png.toString('latin1', o + 4, o + 8) === 'IDAT') idat.push(png.subarray(o + 8, o + 8 + len));
    o += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  let inked = 0;
  for (let i = 0; i < raw.length; i++) if (raw[i] !== 0xff && raw[i] !== 0) inked++;
  return { width, height, inked };
}

describe('figures', () => {
  it('writes PNGs that decode and are not blank, and an HTML report holding every spec', async () => {
    const root = tempDir();
    await hpoMain({ experimentTag: 'f', method: ['RS', 'ASHA'], benchmark: ['synthetic-branin'], numSeeds: 2, randomSeed: 1, resultsRoot: root, maxWallclockTime: 300 }, { log: () => {}, progress: false });
    const out = join(root, 'plots');
    const result = await plotStudy({ tags: ['f'], root, out, formats: ['png', 'svg', 'html'], warn: () => {} });
    expect(result.specs.map((s) => s.name)).toEqual(['benchmark-synthetic-branin', 'regret', 'rank', 'learning-curves']);
    const png = pngFacts(readFileSync(join(out, 'benchmark-synthetic-branin.png')));
    const svg = readFileSync(join(out, 'benchmark-synthetic-branin.svg'), 'utf8');
    const [, w, h] = /<svg[^>]* width="(\d+)" height="(\d+)"/.exec(svg)!;
    expect(png.width).toBe(2 * Number(w));
    expect(png.height).toBe(2 * Number(h));
    expect(png.inked).toBeGreaterThan(1000);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    const embedded = [...html.matchAll(/<script type="application\/json" class="vega-lite-spec" data-name="([^"]+)">([\s\S]*?)<\/script>/g)];
    expect(embedded.map((m) => m[1])).toEqual(result.specs.map((s) => s.name));
    for (const [i, m] of embedded.entries()) expect(JSON.parse(m[2])).toEqual(JSON.parse(JSON.stringify(result.specs[i].spec)));
    expect(html).not.toMatch(/<script src=|<link /);
    expect(html).toContain('<th>mean rank</th>');
    expect(readFileSync(join(out, 'final-table.csv'), 'utf8')).toMatch(/^setup,mean_rank,mean_regret\n(ASHA|RS),/);
  });

  it('names the tag when there is nothing to plot', async () => {
    await expect(plotStudy({ tags: ['nothing'], root: tempDir(), out: tempDir(), warn: () => {} })).rejects.toThrow(/no results to plot for tag\(s\) nothing/);
  });
});
