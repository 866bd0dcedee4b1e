import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { acrossBenchmarks, aggregateCurves, bestSoFarAt, finalTable, finalValues, iqm, regretReference, summarise } from '../src/plotting/aggregate.js';
import { type Run, loadResults } from '../src/plotting/load.js';
import { plotStudy } from '../src/plotting/study.js';
import { createRng } from '../src/util/rng.js';
import { benchmarkSpec, learningCurvesSpec, rankSpec, regretSpec } from '../src/plotting/specs.js';
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

  it('normalised regret (1 = the median first result) and rank across benchmarks', () => {
    const two = [run('A', 0, [1, 2], [10, 2]), run('B', 0, [1, 2], [8, 6]), run('A', 0, [1, 2], [1, 0.5], 'b2'), run('B', 0, [1, 2], [2, 0], 'b2')];
    const curves = aggregateCurves(two, { agg: 'mean', points: 2 });
    const across = acrossBenchmarks(two, curves);
    // b1: best 2, median first result 9 → A ends at 0, B at (6-2)/7; b2: best 0, median first 1.5 → A 0.5/1.5, B 0
    expect(regretReference(two.filter((r) => r.benchmark === 'b1'))).toEqual({ best: 2, reference: 9 });
    const final = Object.fromEntries(across.final.map((f) => [f.setup, f]));
    expect(final.A.regret).toBeCloseTo((0 + 1 / 3) / 2, 12);
    expect(final.B.regret).toBeCloseTo((4 / 7 + 0) / 2, 12);
    expect(final.A).toMatchObject({ rank: 1.5, benchmarks: 2, compared: 2 });
    expect(final.B.rank).toBe(1.5);
    expect(across.warnings).toEqual([]);
  });

  it('each across-benchmark point is every benchmark at the same fraction of its time axis, not a shifted one', () => {
    // b2 has no result before t = 6 of its 10: its first values must not be stretched over the budget
    const t1 = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const t2 = [6, 7, 8, 9, 10];
    const runs = [
      run('A', 0, t1, t1.map((t) => 11 - t)),
      run('B', 0, t1, t1.map(() => 10)),
      run('A', 0, t2, t2.map((t) => 11 - t), 'b2'),
      run('B', 0, t2, t2.map(() => 5), 'b2'),
    ];
    const across = acrossBenchmarks(runs, aggregateCurves(runs, { agg: 'mean', points: 10 }));
    const a = (f: number) => across.curves.find((c) => c.setup === 'A' && Math.abs(c.fraction - f) < 1e-9);
    // b1: best 1, median first 10 → A's regret (10 - t) / 9; b2: best 1, median first 5 → (10 - t) / 4
    for (const f of [0.1, 0.2, 0.5]) expect(a(f)!.regret).toBeUndefined();
    expect(a(0.6)!.regret).toBeCloseTo((4 / 9 + 4 / 4) / 2, 12);
    expect(a(0.8)!.regret).toBeCloseTo((2 / 9 + 2 / 4) / 2, 12);
    // at 20 %: A leads on b1, and on b2 nobody has a result (both rank 1)
    expect(a(0.2)!.rank).toBe(1);
    expect(across.curves.find((c) => c.setup === 'B' && Math.abs(c.fraction - 0.2) < 1e-9)!.rank).toBe(1.5);
    // at 60 %: A leads on b1 and ties with B on b2 (both 5): ties share the better rank
    expect(a(0.6)!.rank).toBe(1);
    expect(across.curves.find((c) => c.setup === 'B' && Math.abs(c.fraction - 0.6) < 1e-9)!.rank).toBe(1.5);
  });

  it('compares setups only on the benchmarks they all ran on, warns, and counts them per setup', () => {
    // C ran on b1 alone and is best there; A and B ran on b1 and b2
    const runs = [
      run('A', 0, [1, 2], [10, 5]),
      run('B', 0, [1, 2], [10, 8]),
      run('C', 0, [1, 2], [10, 1]),
      run('A', 0, [1, 2], [10, 9], 'b2'),
      run('B', 0, [1, 2], [10, 2], 'b2'),
    ];
    const across = acrossBenchmarks(runs, aggregateCurves(runs, { agg: 'mean', points: 2 }));
    expect(across.shared).toEqual(['b1']);
    expect(across.warnings).toEqual(['rank and regret across benchmarks compare the setups on the 1 of 2 benchmarks they all ran on (b1): C lacks b2']);
    const final = Object.fromEntries(across.final.map((f) => [f.setup, f]));
    // on b1 alone: C 1, A 2, B 3 (B's good b2 result does not count against C, which never ran it)
    expect(final.C).toMatchObject({ rank: 1, benchmarks: 1, compared: 1 });
    expect(final.A).toMatchObject({ rank: 2, benchmarks: 2, compared: 1 });
    expect(final.B).toMatchObject({ rank: 3, benchmarks: 2, compared: 1 });
    // b1: best 1, median first 10 → A (5 - 1) / 9
    expect(final.A.regret).toBeCloseTo(4 / 9, 12);
    const table = finalTable(across.final, finalValues(runs));
    expect(table.header.slice(0, 4)).toEqual(['setup', 'mean rank', 'mean normalised regret', 'benchmarks compared / run']);
    expect(table.rows.map((r) => [r[0], r[3]])).toEqual([['C', '1 / 1'], ['A', '1 / 2'], ['B', '1 / 2']]);
    // the final best values over seeds, per benchmark, in the benchmark's metric and direction
    expect(table.header[4]).toBe('b1: best loss (min), IQM (IQR) over seeds');
    expect(table.rows[1][5]).toBe('9.000 (9.000–9.000), 1 seeds');
    expect(table.rows[0][5]).toBe('');
  });

  it('final values: the IQM and interquartile range over seeds of each run\'s best', () => {
    const runs = [run('A', 0, [1, 2], [4, 3]), run('A', 1, [1], [1]), run('A', 2, [1, 2], [9, 5]), run('A', 3, [1], [2])];
    // bests 3, 1, 5, 2 → sorted 1 2 3 5: IQM mean(2, 3), q25 1.75, q75 3.5
    expect(finalValues(runs)).toEqual([{ benchmark: 'b1', setup: 'A', metric: 'loss', mode: 'min', seeds: 4, iqm: 2.5, q25: 1.75, q75: 3.5 }]);
  });
});

describe('specs', () => {
  it('learning curves: at most maxTrials trials (half of them among those that went furthest), thinned, y clipped to quantiles', () => {
    // 300 trials: every 10th reaches epoch 50, the others stop at 5; one wild value far above the rest
    const rows = Array.from({ length: 300 }, (_, t) =>
      Array.from({ length: t % 10 === 0 ? 50 : 5 }, (_, e) => ({ trial_id: t, epoch: e + 1, loss: t === 7 && e === 0 ? 1000 : 1 / (e + 1) + t / 3000, st_decision: 'continue', st_status: 'completed' })),
    ).flat();
    const spec = learningCurvesSpec('lc', 'epoch', 'loss', rows, { maxTrials: 40, pointsPerTrial: 12 }) as unknown as { data: { values: { trial_id: number; resource: number; value: number }[] }; encoding: { y: { scale: { domain: number[]; clamp: boolean } } } };
    const trials = new Map<number, number[]>();
    for (const v of spec.data.values) trials.set(v.trial_id, [...(trials.get(v.trial_id) ?? []), v.resource]);
    expect(trials.size).toBe(40);
    // 20 of the 30 trials that reached epoch 50, each with its first and last epoch, and 20 of the others
    const full = [...trials].filter(([id]) => id % 10 === 0);
    expect(full).toHaveLength(20);
    for (const [, epochs] of full) expect([epochs.length, epochs[0], epochs[epochs.length - 1]]).toEqual([12, 1, 50]);
    const { domain, clamp } = spec.encoding.y.scale;
    expect(clamp).toBe(true);
    expect(domain[1]).toBeLessThan(2);
    // seeded: the same sample again
    expect(learningCurvesSpec('lc', 'epoch', 'loss', rows, { maxTrials: 40, pointsPerTrial: 12 })).toEqual(spec);
  });

  it('legends show the line (opaque stroke), every figure says "setup", y titles fit the plot height', () => {
    const runs = [run('A', 0, [1, 2], [10, 2]), run('B', 0, [1, 2], [8, 6]), run('A', 0, [1, 2], [1, 0.5], 'b2'), run('B', 0, [1, 2], [2, 0], 'b2')];
    const curves = aggregateCurves(runs, { agg: 'mean', points: 2 });
    const across = acrossBenchmarks(runs, curves);
    for (const spec of [benchmarkSpec('b1', 'loss', curves, 'mean, ± s.e.'), regretSpec(across), rankSpec(across)]) {
      const json = JSON.stringify(spec);
      const color = (spec as { encoding: { color: { title: string; legend: { symbolOpacity: number; symbolType: string } } } }).encoding.color;
      expect(color.title).toBe('setup');
      expect(color.legend).toMatchObject({ symbolOpacity: 1, symbolType: 'stroke' });
      expect(json).not.toMatch(/"method"/);
      const y = (spec as { encoding?: { y?: { title: string | string[] } }; layer?: { encoding: { y: { title?: string | string[] } } }[] }).encoding?.y?.title ?? spec.layer![0].encoding.y.title!;
      for (const line of [y].flat()) expect(line.length).toBeLessThanOrEqual(25);
    }
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
    const tooMany = warnings.find((w) => w.startsWith('RS on synthetic-branin: 3 results for 2 seeds; using the newest completed run per seed.'))!;
    expect(tooMany).toBeDefined();
    expect(tooMany).toContain(rerun.outcomes[0].folder);
    expect(warnings).toContain('ASHA on synthetic-branin: missing seeds 1 (other setups have them)');
    const rs1 = runs.find((r) => r.setup === 'RS' && r.seed === 1)!;
    expect(rs1.folder).toBe(rerun.outcomes[0].folder);
    expect(runs).toHaveLength(3);
    expect(table.numRows()).toBe(runs.reduce((n, r) => n + r.times.length, 0));
    expect(table.columnNames()).toEqual(['setup', 'benchmark', 'seed', 'folder', 'st_tuner_time', 'value']);
    // each run's rows carry its fields and its curve, runs one after another
    let k = 0;
    for (const r of runs) {
      const last = k + r.times.length - 1;
      expect([k, last].map((i) => [table.get('setup', i), table.get('benchmark', i), table.get('seed', i), table.get('folder', i)])).toEqual([0, 1].map(() => [r.setup, r.benchmark, r.seed, r.folder]));
      expect([table.get('st_tuner_time', last), table.get('value', last)]).toEqual([r.times.at(-1), r.values.at(-1)]);
      k = last + 1;
    }
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
    // one benchmark: no rank figure (it would be the order of the panel's lines, flat)
    expect(result.specs.map((s) => s.name)).toEqual(['benchmark-synthetic-branin', 'regret', 'learning-curves']);
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
    expect(readFileSync(join(out, 'final-table.csv'), 'utf8')).toMatch(
      /^setup,mean_rank,mean_regret,benchmarks_compared,benchmarks_run,synthetic-branin_iqm,synthetic-branin_q25,synthetic-branin_q75,synthetic-branin_seeds\n(ASHA|RS),[\d.]+,[\d.]+,1,1,[\d.]+,[\d.]+,[\d.]+,2\n/,
    );
  });

  it("the report says how many of a model-based setup's configs came from the model and how many were random", async () => {
    const root = tempDir();
    const { outcomes } = await hpoMain({ experimentTag: 'g', method: ['RS', 'MOBSTER'], benchmark: ['synthetic-branin'], numSeeds: 2, randomSeed: 3, resultsRoot: root, maxWallclockTime: 150 }, { log: () => {}, progress: false });
    const mobster = outcomes.filter((o) => o.metadata.method === 'MOBSTER');
    const model = mobster.reduce((n, o) => n + o.summary!.numTrials - 6, 0);
    expect(mobster.map((o) => o.metadata.suggestions!.random)).toEqual([6, 6]);
    // a run that never got to the model: its counts are still shown, and it is named as such
    const early = mobster[1].folder;
    const meta = JSON.parse(readFileSync(join(early, 'metadata.json'), 'utf8'));
    const earlyModel = meta.suggestions.model;
    writeFileSync(join(early, 'metadata.json'), JSON.stringify({ ...meta, suggestions: { model: 0, random: meta.suggestions.random + earlyModel } }));
    const out = join(root, 'plots');
    await plotStudy({ tags: ['g'], root, out, formats: ['html'], warn: () => {} });
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain(`<dt>configs from the model / random</dt><dd>MOBSTER: ${model - earlyModel} from the model, ${12 + earlyModel} random in 2 run(s), 1 of which never consulted the model</dd>`);
  });

  it('names the tag when there is nothing to plot', async () => {
    await expect(plotStudy({ tags: ['nothing'], root: tempDir(), out: tempDir(), warn: () => {} })).rejects.toThrow(/no results to plot for tag\(s\) nothing/);
  });
});
