/**
 * Plotting at the reference study's scale: 8 setups × 4 benchmarks × 20 seeds = 640 experiments,
 * generated with the simulator, then timed: loading, aggregating and rendering every figure.
 * The 8 setup names of the study run RS or ASHA (BO and MOBSTER would take an hour to generate here;
 * what plotting costs depends on the number of runs and rows, not on the method that made them),
 * on the 3 closed-form benchmarks plus synthetic-fcnet under a second name.
 * Usage: node dist/bench/plot.js [results_root]  (reuses the generated runs when present)
 */
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BenchmarkDefinition, type MethodDefinition, acrossBenchmarks, aggregateCurves, benchmarkDefinitions, hpoMain, loadResults, methodDefinitions, plotStudy } from '../src/index.js';

const root = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'tunelab-plotbench-'));
const setups = ['RS', 'BO', 'ASHA', 'MOBSTER', 'ASHA-TANH', 'MOBSTER-TANH', 'ASHA-RELU', 'MOBSTER-RELU'];
const methods: Record<string, MethodDefinition> = Object.fromEntries(
  setups.map((name) => [name, { ...(name === 'RS' || name === 'BO' ? methodDefinitions.RS : methodDefinitions.ASHA), name }]),
);
const benchmarks: Record<string, BenchmarkDefinition> = {
  'synthetic-fcnet': benchmarkDefinitions['synthetic-fcnet'],
  'synthetic-fcnet-2': { ...benchmarkDefinitions['synthetic-fcnet'], name: 'synthetic-fcnet-2' },
  'synthetic-mlp': benchmarkDefinitions['synthetic-mlp'],
  'synthetic-branin': benchmarkDefinitions['synthetic-branin'],
};
if (!existsSync(join(root, 'plotbench'))) {
  const t = performance.now();
  await hpoMain(
    { experimentTag: 'plotbench', method: setups, benchmark: Object.keys(benchmarks), numSeeds: 20, randomSeed: 7, resultsRoot: root, maxWallclockTime: 1200 },
    { methods, benchmarks, log: () => {}, progress: false },
  );
  console.log(`generated 640 experiments in ${((performance.now() - t) / 1000).toFixed(0)} s under ${root}/plotbench`);
}
let t = performance.now();
const { runs, table } = await loadResults({ tags: ['plotbench'], root, warn: () => {} });
const loadS = (performance.now() - t) / 1000;
t = performance.now();
const curves = aggregateCurves(runs);
acrossBenchmarks(runs, curves);
const aggS = (performance.now() - t) / 1000;
t = performance.now();
const result = await plotStudy({ tags: ['plotbench'], root, out: join(root, 'plots'), formats: ['svg', 'png', 'html'], warn: () => {} });
const allS = (performance.now() - t) / 1000;
console.log(`${runs.length} runs, ${table.numRows()} result rows`);
console.log(`load ${loadS.toFixed(2)} s, aggregate (IQM + bootstrap, regret, rank) ${aggS.toFixed(2)} s`);
console.log(`plotStudy end to end (load + aggregate + ${result.specs.length} figures as SVG, PNG and HTML, best configurations): ${allS.toFixed(2)} s`);
const mb = (f: string) => (statSync(join(root, 'plots', f)).size / 1e6).toFixed(2);
console.log(`report.html ${mb('report.html')} MB, learning-curves spec ${mb('learning-curves.vl.json')} MB`);
