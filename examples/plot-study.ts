/**
 * Notebook-style analysis of a study with the plotting API: run a small study, load it into an
 * arquero table, aggregate it, render one figure, then every results column as one table and each
 * run's best trial — each step's result is a value to inspect.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { op } from 'arquero';
import {
  acrossBenchmarks,
  aggregateCurves,
  benchmarkSpec,
  bestTrials,
  finalTableMarkdown,
  finalValues,
  formatTable,
  hpoMain,
  loadExperimentsTable,
  loadResults,
  resultsRoot,
  svgToPNG,
  toSVG,
} from '../src/index.js';

const root = resultsRoot(process.env.TUNELAB_ROOT);
const tag = 'plot-example';
const since = new Date().toISOString();
await hpoMain(
  { experimentTag: tag, method: ['RS', 'ASHA', 'HYPERBAND'], benchmark: ['synthetic-mlp', 'synthetic-branin'], numSeeds: 3, randomSeed: 11, resultsRoot: root, maxWallclockTime: 900 },
  { progress: false, log: () => {} },
);

// 1. the results as an arquero table (one row per reported result, with setup/benchmark/seed/folder)
const { runs, table } = await loadResults({ tags: [tag], root, from: since });
console.log(`${runs.length} runs, ${table.numRows()} rows`);
const perSetup = table.groupby('benchmark', 'setup').rollup({ results: op.count(), last_time: op.max('st_tuner_time') }).orderby('benchmark', 'setup').objects() as Record<string, string | number>[];
console.log(formatTable(['benchmark', 'setup', 'results', 'last_time'], perSetup.map((r) => [r.benchmark, r.setup, r.results, r.last_time])));

// 2. aggregated curves (median and IQR here) and the comparison across benchmarks
const curves = aggregateCurves(runs, { agg: 'median' });
const across = acrossBenchmarks(runs, curves);
console.log(finalTableMarkdown(across.final, finalValues(runs)));

// 3. one figure as a vega-lite spec, rendered to PNG
const spec = benchmarkSpec('synthetic-mlp', 'val_accuracy', curves, 'median, IQR');
const png = join(root, `${tag}-synthetic-mlp.png`);
writeFileSync(png, svgToPNG(await toSVG(spec)));
console.log(`figure: ${png}`);

// 4. every column of every run's results in one call (Syne Tune's load_experiments_df), and each run's best trial
const all = await loadExperimentsTable({ tags: [tag], root, from: since });
console.log(`all columns: ${all.numRows()} rows × ${all.numCols()} columns: ${all.columnNames().slice(0, 7).join(', ')}, …`);
const epochs = all.filter((d: { benchmark: string }) => d.benchmark === 'synthetic-mlp').groupby('setup').rollup({ max_epoch: op.max('epoch') }).orderby('setup').objects() as { setup: string; max_epoch: number }[];
console.log(`highest epoch on synthetic-mlp: ${epochs.map((e) => `${e.setup} ${e.max_epoch}`).join(', ')}`);
for (const t of bestTrials(runs.filter((r) => r.benchmark === 'synthetic-branin' && r.seed === 0))) {
  console.log(`best trial of ${t.setup} seed ${t.seed} on ${t.benchmark}: trial ${t.trialId}, ${t.metric} ${t.value.toFixed(4)}, config ${Object.entries(t.config).map(([k, v]) => `${k}=${v}`).join(' ')}`);
}
