/**
 * Notebook-style analysis of a study with the plotting API: run a small study, load it into an
 * arquero table, aggregate it, and render one figure — each step's result is a value to inspect.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { op } from 'arquero';
import { acrossBenchmarks, aggregateCurves, formatTable, benchmarkSpec, finalTableMarkdown, hpoMain, loadResults, resultsRoot, svgToPNG, toSVG } from '../src/index.js';

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
console.log(finalTableMarkdown(across.final));

// 3. one figure as a vega-lite spec, rendered to PNG
const spec = benchmarkSpec('synthetic-mlp', 'val_accuracy', curves, 'median, IQR');
const png = join(root, `${tag}-synthetic-mlp.png`);
writeFileSync(png, svgToPNG(await toSVG(spec)));
console.log(`figure: ${png}`);
