/**
 * Several objectives (issue 27): speed of the pieces and quality of the methods. Times are CPU
 * time (process.cpuUsage: the machine is shared) and the load average is printed beside them.
 * - hypervolume: 100, 1,000 and 10,000 random 2-D points (and 10,000 on one front), 1,000 random
 *   3-D points and 1,000 on one front; the first call and the median of 21 after it;
 * - hypervolume over time (hypervolumeCurve) for 100, 1,000 and 10,000 reports, against recomputing
 *   the front's hypervolume at every report in the same process;
 * - NSGA2: suggest + result of 3,000 trials (population 50) on a 2-objective function, per trial;
 * - MO-ASHA against ASHA: CPU time of the same simulated experiment (fcnet-cars-mo, fcnet-cars);
 * - NSGA2 against MO-RS: final hypervolume (the benchmark's setting) over seeds, median and wins, on
 *   fcnet-cars-mo and on nmt-en-ja-mo / nmt-zh-en-mo when ../shared/data/nmt_hpo is there;
 * - EHVI against MO-RS on fcnet-cars-mo, the same (EHVI costs about 25 s of CPU a seed: its own seed count).
 * Usage: node dist/bench/multi-objective.js [seeds] [ehviSeeds]   (default 30 and 10)
 *        node dist/bench/multi-objective.js --quick                (5 seeds, 3 for EHVI, no NMT)
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downloadDataSet } from '../src/blackbox/download.js';
import { uniform } from '../src/config-space/index.js';
import { getBenchmark } from '../src/launchers/benchmarks/index.js';
import { runExperiment } from '../src/launchers/experiment.js';
import { getMethod } from '../src/methods/registry.js';
import { bestOrFront } from '../src/operate/best.js';
import { loadavg } from 'node:os';
import { hypervolumeCurve, ParetoTracker } from '../src/results/best.js';
import { hypervolume, hypervolumeSetting, normalisedHypervolume } from '../src/results/pareto.js';
import { NSGA2Searcher } from '../src/schedulers/searchers/nsga2.js';
import { packageRoot } from '../src/util/package-info.js';
import { createRng } from '../src/util/rng.js';

const quick = process.argv.includes('--quick');
const numbers = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const seeds = quick ? 5 : Number(numbers[0] ?? 30);
const ehviSeeds = quick ? 3 : Number(numbers[1] ?? 10);
const load = () => `load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`;
/** CPU milliseconds of f (user + system). */
const cpuMs = (f: () => void) => {
  const c = process.cpuUsage();
  f();
  const d = process.cpuUsage(c);
  return (d.user + d.system) / 1000;
};
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const rng = createRng(1);
const random = (n: number, m: number) => Array.from({ length: n }, () => Array.from({ length: m }, () => rng.next()));
const onFront = (n: number, m: number) =>
  random(n, m).map((p) => {
    const norm = Math.hypot(...p);
    return p.map((v) => v / norm);
  });
console.log(`hypervolume, CPU ms: first call, then median of 21 (${load()}):`);
for (const [label, pts] of [
  ['2-D, 100 random points', random(100, 2)],
  ['2-D, 1,000 random points', random(1_000, 2)],
  ['2-D, 10,000 random points', random(10_000, 2)],
  ['2-D, 10,000 points on one front', onFront(10_000, 2)],
  ['3-D, 1,000 random points', random(1_000, 3)],
  ['3-D, 1,000 points on one front', onFront(1_000, 3)],
] as const) {
  const ref = pts[0].map(() => 1.1);
  const first = cpuMs(() => hypervolume(pts, ref));
  const med = median(Array.from({ length: 21 }, () => cpuMs(() => hypervolume(pts, ref))));
  console.log(`  ${label}: ${first.toFixed(2)} then ${med.toFixed(2)} ms (target: 2-D 10,000 points 10 ms, 3-D 1,000 points 100 ms)`);
}

console.log(`hypervolume over time, CPU ms, incremental (hypervolumeCurve) vs the front's hypervolume recomputed at every report (${load()}):`);
for (const m of [2, 3]) {
  const setting = hypervolumeSetting(new Array(m).fill(0), new Array(m).fill(1));
  for (const n of [100, 1_000, 10_000]) {
    // reports on a front that keeps improving (what a search does), one per trial
    const reports = Array.from({ length: n }, (_, i) => {
      const p = Array.from({ length: m }, () => rng.next());
      const norm = Math.hypot(...p) * (1 + 2 * (1 - i / n) * rng.next());
      return { trialId: i, point: p.map((v) => v / norm), feasible: true, order: i, item: null, time: i };
    });
    const inc = cpuMs(() => hypervolumeCurve(reports, new Set(), 'any', setting));
    const full = cpuMs(() => {
      const t = new ParetoTracker<null>('any');
      for (const r of reports) {
        t.add(r);
        normalisedHypervolume(t.front().map((f) => f.point), setting);
      }
    });
    console.log(`  ${m}-D, ${n} reports: ${inc.toFixed(1)} ms vs ${full.toFixed(1)} ms recomputed (×${(full / inc).toFixed(1)})`);
  }
}

{
  const problem = { configSpace: { x: uniform(0, 1), y: uniform(0, 1), z: uniform(0, 1) }, metric: 'f1', mode: 'min' as const, objectives: [{ metric: 'f1', mode: 'min' as const }, { metric: 'f2', mode: 'min' as const }], rng: createRng(2) };
  const s = new NSGA2Searcher(problem);
  const n = 3000;
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    const c = s.suggest(i)!;
    const [x, y, z] = [c.x, c.y, c.z] as number[];
    s.onTrialResult(i, 1, 0, { f1: x, f2: (1 + 9 * (y + z) / 2) * (1 - Math.sqrt(x / (1 + 9 * (y + z) / 2))) });
    s.onTrialIdle(i, 'completed');
  }
  console.log(`NSGA2: suggest + result ${((performance.now() - t) / n * 1000).toFixed(1)} µs per trial over ${n} trials (target: suggest under 1 ms)`);
}

const root = mkdtempSync(join(tmpdir(), 'tunelab-bench-mo-'));
try {
  const cost = async (method: string, benchmark: string) => {
    const c = process.cpuUsage();
    const r = await runExperiment({ tag: 'w', method: getMethod(method), benchmark: getBenchmark(benchmark), seed: 0, masterSeed: 1, resultsRoot: root, log: () => {} });
    const d = process.cpuUsage(c);
    return { ms: (d.user + d.system) / 1000, trials: r.summary!.numTrials, results: r.summary!.numResults };
  };
  // warm-up: table loading and JIT; then alternately, the median of 3 each
  await cost('ASHA', 'fcnet-cars');
  await cost('MO-ASHA', 'fcnet-cars-mo');
  const runs: Record<string, Awaited<ReturnType<typeof cost>>[]> = { ASHA: [], 'MO-ASHA': [] };
  for (let i = 0; i < 3; i++) {
    runs.ASHA.push(await cost('ASHA', 'fcnet-cars'));
    runs['MO-ASHA'].push(await cost('MO-ASHA', 'fcnet-cars-mo'));
  }
  const asha = { ...runs.ASHA[0], ms: median(runs.ASHA.map((r) => r.ms)) };
  const moasha = { ...runs['MO-ASHA'][0], ms: median(runs['MO-ASHA'].map((r) => r.ms)) };
  console.log(`MO-ASHA vs ASHA (fcnet-cars, one seed, CPU, median of 3): ${moasha.ms.toFixed(0)} ms (${moasha.results} results) vs ${asha.ms.toFixed(0)} ms (${asha.results} results): ×${(moasha.ms / asha.ms).toFixed(2)}; per result ×${(moasha.ms / moasha.results / (asha.ms / asha.results)).toFixed(2)} (target ×2; ${load()})`);

  const benchmarks = ['fcnet-cars-mo'];
  const shared = join(packageRoot, '..', 'shared', 'data', 'nmt_hpo', 'datasets');
  if (quick) console.log('(--quick: NMT left out)');
  else if (existsSync(shared)) {
    const cache = join(root, 'data');
    await downloadDataSet('nmt-hpo', cache, { dataDir: shared, log: () => {} });
    process.env.TUNELAB_DATA = cache;
    benchmarks.push('nmt-en-ja-mo', 'nmt-zh-en-mo');
  } else console.log(`(NMT tables not at ${shared}: NMT left out)`);
  for (const benchmark of benchmarks) {
    const hv: Record<string, number[]> = { NSGA2: [], 'MO-RS': [] };
    // the NMT tables are small: configs drawn from the table, as the paper's setting
    const restrictConfigurations = benchmark.startsWith('nmt');
    for (const method of Object.keys(hv)) {
      for (let seed = 0; seed < seeds; seed++) {
        const r = await runExperiment({ tag: 'q', method: getMethod(method), benchmark: getBenchmark(benchmark), seed, masterSeed: 27, resultsRoot: root, restrictConfigurations });
        const best = bestOrFront(r.folder);
        hv[method].push(best && 'front' in best ? best.front.hypervolume! : 0);
      }
    }
    const wins = hv.NSGA2.filter((v, i) => v > hv['MO-RS'][i]).length;
    const ties = hv.NSGA2.filter((v, i) => v === hv['MO-RS'][i]).length;
    console.log(`${benchmark}: final hypervolume over ${seeds} seeds, median NSGA2 ${median(hv.NSGA2).toFixed(4)} vs MO-RS ${median(hv['MO-RS']).toFixed(4)}; NSGA2 better on ${wins}, tied on ${ties}`);
  }
  {
    const hv: Record<string, number[]> = { EHVI: [], 'MO-RS': [] };
    const cpu: number[] = [];
    for (const method of Object.keys(hv)) {
      for (let seed = 0; seed < ehviSeeds; seed++) {
        const c = process.cpuUsage();
        const r = await runExperiment({ tag: 'e', method: getMethod(method), benchmark: getBenchmark('fcnet-cars-mo'), seed, masterSeed: 27, resultsRoot: root, log: () => {} });
        const d = process.cpuUsage(c);
        if (method === 'EHVI') cpu.push((d.user + d.system) / 1e6);
        const best = bestOrFront(r.folder);
        hv[method].push(best && 'front' in best ? best.front.hypervolume! : 0);
      }
    }
    const wins = hv.EHVI.filter((v, i) => v > hv['MO-RS'][i]).length;
    console.log(`fcnet-cars-mo: final hypervolume over ${ehviSeeds} seeds, median EHVI ${median(hv.EHVI).toFixed(4)} vs MO-RS ${median(hv['MO-RS']).toFixed(4)}; EHVI better on ${wins}; EHVI ${median(cpu).toFixed(1)} s CPU a seed (${load()})`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
