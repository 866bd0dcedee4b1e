import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { downloadDataSet } from '../src/blackbox/download.js';
import { parseExperiment } from '../src/experiment/load.js';
import { getBenchmark } from '../src/launchers/benchmarks/index.js';
import { runExperiment } from '../src/launchers/experiment.js';
import { experimentFileOptions, getMethod } from '../src/methods/registry.js';
import { bestOrFront, frontOf } from '../src/operate/best.js';
import { loadFolder } from '../src/operate/folder.js';
import { dominates, paretoFrontIndices, rankByFrontAndCrowding } from '../src/results/pareto.js';
import { Rung } from '../src/schedulers/mo-asha.js';
import { NSGA2Searcher } from '../src/schedulers/searchers/nsga2.js';
import { uniform, choice } from '../src/config-space/index.js';
import { createRng } from '../src/util/rng.js';
import { cliPath, readRows, requireSharedData, stopAndResume, tempDir, runFile } from './helpers.js';

const base = {
  name: 'mo',
  parameters: [{ name: 'x', type: 'double', bounds: { min: 0, max: 1 } }],
  metrics: [
    { name: 'loss', objective: 'minimize' },
    { name: 'latency', objective: 'minimize' },
  ],
  command: 'true',
  budget: { max_trials: 4 },
};

describe('several optimize metrics in an experiment file', () => {
  it('are the objectives, in file order; the default method is MO-BO (MO-ASHA with a resource)', () => {
    const d = parseExperiment(base, experimentFileOptions());
    expect(d.objectives).toEqual([
      { metric: 'loss', mode: 'min' },
      { metric: 'latency', mode: 'min' },
    ]);
    expect([d.metric, d.mode]).toEqual(['loss', 'min']);
  });

  it('refuse a single-objective method, naming the methods for several', () => {
    expect(() => parseExperiment({ ...base, method: 'BO' }, experimentFileOptions())).toThrow(/method: BO optimises one objective, and this file has 2 \(loss, latency\); methods for several objectives: MO-RS, NSGA2, MO-ASHA, MO-BO/);
    expect(() => parseExperiment({ ...base, metrics: [{ name: 'loss', strategy: 'store' }] }, experimentFileOptions())).toThrow(/at least one metric needs strategy 'optimize', found none/);
  });

  it('run -f writes every objective in the rows and prints the Pareto front that `best` shows', () => {
    const dir = tempDir();
    // loss falls and latency rises with x: a trade-off, kind 'b' paying an offset
    const script = "const c = JSON.parse(process.env.TUNELAB_CONFIG); console.log('[tunelab] ' + JSON.stringify({ loss: (1 - c.x) + (c.kind === 'b' ? 0.5 : 0), latency: c.x, size: 7 }));";
    writeFileSync(join(dir, 'trial.js'), script);
    const file = join(dir, 'experiment.json');
    writeFileSync(
      file,
      JSON.stringify({
        ...base,
        parameters: [...base.parameters, { name: 'kind', type: 'categorical', categorical_values: ['a', 'b'] }],
        metrics: [...base.metrics, { name: 'size', strategy: 'store' }],
        command: [process.execPath, 'trial.js'],
        method: 'NSGA2',
        budget: { max_trials: 10 },
        parallel_bandwidth: 2,
        random_seed: 3,
      }),
    );
    const { folder, rows, stdout } = runFile(file, dir);
    expect(rows.every((row) => typeof row.loss === 'number' && typeof row.latency === 'number' && row.size === 7)).toBe(true);
    const front = frontOf(folder, loadFolder(folder))!;
    // the front is exactly the non-dominated rows (one row per trial here)
    const expected = paretoFrontIndices(rows.map((row) => [row.loss as number, row.latency as number])).map((i) => rows[i].trial_id);
    expect(front.points.map((p) => p.trialId).sort()).toEqual([...expected].sort());
    expect(front.points.length).toBeGreaterThan(1);
    expect(stdout).toContain(`Pareto front of ${front.points.length} point(s) (loss min, latency min`);
    for (const p of front.points) expect(stdout).toContain(`trial ${p.trialId}: loss=`);
    const best = spawnSync(process.execPath, [cliPath, 'best', folder, '--json'], { encoding: 'utf8' });
    expect(JSON.parse(best.stdout).points.map((p: { trialId: number }) => p.trialId)).toEqual(front.points.map((p) => p.trialId));
    const status = spawnSync(process.execPath, [cliPath, 'status', folder], { encoding: 'utf8' });
    expect(status.stdout).toContain('objectives loss min, latency min');
    expect(status.stdout).toContain(`Pareto front of ${front.points.length} point(s)`);
  });
});

describe('MO-ASHA', () => {
  it('ranks a hand-made rung by front, then crowding distance', () => {
    const rung = new Rung();
    // η = 3: the k-th arrival continues when its position < ceil(k / 3)
    const positions = [
      [2, 2], // alone: position 0
      [3, 3], // dominated by (2, 2): front 1, position 1 of 2 → stopped (needs < 1)
      [1, 4], // front 0 with (2, 2); both extremes (crowding ∞), the earlier first: position 1 of 3 → stopped
      [0, 0], // dominates all: position 0 of 4 → continues (needs < 2)
      [4, 1], // front 1 with (2, 2) and (1, 4) behind (0, 0); an extreme like (1, 4), which came first: position 2 of 5 → stopped
    ].map((p, i) => rung.add(i, p));
    expect(positions).toEqual([0, 1, 1, 0, 2]);
    const keep = positions.map((p, i) => p < Math.ceil((i + 1) / 3));
    expect(keep).toEqual([true, false, false, true, false]);
  });

  it("places every arrival where the full front-and-crowding order of the rung does (random rungs, ties included)", () => {
    const rng = createRng(11);
    for (const m of [2, 3]) {
      const rung = new Rung();
      const pts: number[][] = [];
      for (let i = 0; i < 150; i++) {
        const p = Array.from({ length: m }, () => Math.floor(rng.next() * 12));
        pts.push(p);
        expect(rung.add(i, p)).toBe(rankByFrontAndCrowding(pts).indexOf(i));
      }
    }
    // 2-D, where fronts are kept from one arrival to the next: many equal points, long cascades
    for (const [n, grid] of [[400, 6], [400, 40], [300, 1000]]) {
      const rung = new Rung();
      const pts: number[][] = [];
      for (let i = 0; i < n; i++) {
        const p = [Math.floor(rng.next() * grid), Math.floor(rng.next() * grid)];
        pts.push(p);
        expect(rung.add(i, p)).toBe(rankByFrontAndCrowding(pts).indexOf(i));
      }
    }
  });

  it('stops a trial whose point is dominated at the rung, on the simulator', async () => {
    const spec = { tag: 'm', method: getMethod('MO-ASHA'), benchmark: getBenchmark('fcnet-cars-mo'), seed: 0, masterSeed: 2, resultsRoot: tempDir(), maxWallclockTime: 4 };
    const run = await runExperiment(spec);
    expect(run.metadata.status).toBe('completed');
    expect(run.metadata.scheduler).toMatchObject({ scheduler: 'mo-asha', tie_break: 'crowding distance', rung_levels: [1, 3, 9] });
    const rows = readRows(join(run.folder, 'results.csv.gz'));
    const stops = rows.filter((r) => r.st_decision === 'stop');
    expect(stops.length).toBeGreaterThan(10);
    expect(stops.every((r) => [1, 3, 9].includes(r.epoch as number))).toBe(true);
  });
});

describe('NSGA2', () => {
  it('keeps the best population by front and crowding, and then proposes children of its members', () => {
    const problem = { configSpace: { x: uniform(0, 1), k: choice(['a', 'b']) }, metric: 'f1', mode: 'min' as const, objectives: [{ metric: 'f1', mode: 'min' as const }, { metric: 'f2', mode: 'min' as const }], rng: createRng(1) };
    const s = new NSGA2Searcher(problem, { populationSize: 4 });
    const f = (x: number) => ({ f1: x, f2: (1 - x) ** 2 + 0.5 });
    for (let i = 0; i < 8; i++) {
      const c = s.suggest(i)!;
      const x = c.x as number;
      // trial 5 is dominated by everything: it never survives
      s.onTrialResult(i, 1, 0, i === 5 ? { f1: 2, f2: 2 } : f(x));
      s.onTrialIdle(i, 'completed');
    }
    expect(s.members).toHaveLength(4);
    expect(s.members.some((m) => m.trialId === 5)).toBe(false);
    // a child's x lies near a parent's (SBX with η 15, polynomial mutation η 20)
    const xs = s.members.map((m) => m.config.x as number);
    const child = s.suggest(8)!.x as number;
    expect(Math.min(...xs.map((x) => Math.abs(x - child)))).toBeLessThan(0.5);
    // restored from its JSON state (and the random stream's), it proposes the same next config
    const rngCopy = createRng(0);
    rngCopy.setState(problem.rng.state());
    const fromRestored = new NSGA2Searcher({ ...problem, rng: rngCopy }, { populationSize: 4 });
    fromRestored.restore(JSON.parse(JSON.stringify(s.state())));
    expect(fromRestored.suggest(9)).toEqual(s.suggest(9));
  });
});

describe('multi-objective runs on the simulator', () => {
  it.each(['MO-RS', 'NSGA2', 'MO-ASHA'])('%s: a run stopped and resumed writes the same rows as one run', async (method) => {
    const spec = { tag: 'r', method: getMethod(method), benchmark: getBenchmark('fcnet-cars-mo'), seed: 0, masterSeed: 5, maxWallclockTime: 6 };
    const { full, rows, resumed, resumedRows } = await stopAndResume(spec, 400);
    expect(resumedRows).toEqual(rows);
    expect(resumed.summary!.front).toEqual(full.summary!.front);
    expect(full.metadata.objectives).toEqual([
      { metric: 'valid_loss', mode: 'min' },
      { metric: 'n_params', mode: 'min' },
    ]);
  });
});

const nmt = requireSharedData('nmt_hpo');

describe('NMT tables (BLEU against GPU time, with published Pareto flags)', () => {
  const datasets = join(nmt.dir, 'nmt_hpo', 'datasets');
  const table = (pair: string) => ({
    evals: readFileSync(join(datasets, `${pair}.evals`), 'utf8').trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number)),
    flags: readFileSync(join(datasets, `${pair}.fronts`), 'utf8').trim().split('\n').map(Number),
  });

  nmt.it("our non-dominated sorting gives the tables' own flags on every pair", () => {
    for (const pair of ['zh-en', 'ru-en', 'ja-en', 'en-ja', 'sw-en', 'so-en']) {
      const { evals, flags } = table(pair);
      expect(paretoFrontIndices(evals.map((r) => [-r[0], r[1]]))).toEqual(flags.flatMap((f, i) => (f ? [i] : [])));
    }
  });

  nmt.it("every point `best` calls Pareto-optimal is non-dominated among the evaluated rows, and every flagged row evaluated is on the front", async () => {
    const cache = tempDir();
    await downloadDataSet('nmt-hpo', cache, { dataDir: datasets, log: () => {} });
    const previous = process.env.TUNELAB_DATA;
    process.env.TUNELAB_DATA = cache;
    try {
      const { evals, flags } = table('en-ja');
      for (const method of ['NSGA2', 'MO-RS']) {
        const run = await runExperiment({ tag: 'n', method: getMethod(method), benchmark: getBenchmark('nmt-en-ja-mo'), seed: 0, masterSeed: 1, resultsRoot: tempDir(), restrictConfigurations: true, maxWallclockTime: 6000 });
        expect(run.metadata.status).toBe('completed');
        const rows = readRows(join(run.folder, 'results.csv.gz'));
        // rows map to table rows by their (BLEU, GPU time): every config evaluated is a table row
        const rowOf = (bleu: number, time: number) => evals.findIndex((e) => Math.fround(e[0]) === Math.fround(bleu) && Math.fround(e[1]) === Math.fround(time));
        const evaluated = new Set(rows.map((r) => rowOf(r.dev_bleu as number, r.dev_gpu_time as number)));
        expect(evaluated.has(-1)).toBe(false);
        const best = bestOrFront(run.folder);
        if (!best || !('front' in best)) throw new Error('no front');
        const onFront = new Set(best.front.points.map((p) => rowOf(p.values!.dev_bleu, p.values!.dev_gpu_time)));
        const point = (i: number) => [-evals[i][0], evals[i][1]];
        for (const i of onFront) for (const j of evaluated) expect(dominates(point(j), point(i))).toBe(false);
        for (const i of evaluated) if (flags[i]) expect(onFront.has(i)).toBe(true);
        expect(best.front.hypervolume).toBeGreaterThan(0);
      }
    } finally {
      if (previous === undefined) delete process.env.TUNELAB_DATA;
      else process.env.TUNELAB_DATA = previous;
    }
  });
});

describe('tunelab plot with several objectives', () => {
  it('draws the hypervolume over time per setup and the final fronts of every run', async () => {
    const { plotStudy } = await import('../src/plotting/study.js');
    const root = tempDir();
    const fronts: Record<string, number> = {};
    for (const method of ['MO-RS', 'NSGA2']) {
      for (const seed of [0, 1]) {
        const r = await runExperiment({ tag: 'p', method: getMethod(method), benchmark: getBenchmark('fcnet-cars-mo'), seed, masterSeed: 4, resultsRoot: root, maxWallclockTime: 3 });
        fronts[`${method} ${seed}`] = frontOf(r.folder, loadFolder(r.folder))!.points.length;
      }
    }
    const out = join(tempDir(), 'plots');
    const result = await plotStudy({ tags: ['p'], root, out, formats: [], warn: () => {} });
    const names = result.specs.map((s) => s.name);
    expect(names).toContain('benchmark-fcnet-cars-mo');
    expect(names).toContain('pareto-fcnet-cars-mo');
    expect(result.tableMarkdown).toContain('fcnet-cars-mo: best hypervolume (max)');
    const pareto = JSON.parse(readFileSync(join(out, 'pareto-fcnet-cars-mo.vl.json'), 'utf8')) as { data: { values: { setup: string; seed: number }[] } };
    for (const [key, n] of Object.entries(fronts)) expect(pareto.data.values.filter((p) => `${p.setup} ${p.seed}` === key)).toHaveLength(n);
  });
});
