/**
 * The README's main job (`npm start`): a small comparative study, RS and ASHA × 3 seeds on the
 * default benchmark, on the simulator. Prints where the results are and the best metric per method.
 */
import { join } from 'node:path';
import { benchmarkDefinitions, defaultBenchmarks, formatTable, hpoMain, plotStudy, resultsRoot } from '../src/index.js';

const benchmark = defaultBenchmarks()[0];
const tag = process.env.TUNELAB_TAG ?? 'main-study';
const startedAt = new Date().toISOString();
const { metric, mode } = benchmarkDefinitions[benchmark];
const report = await hpoMain(
  {
    experimentTag: tag,
    method: ['RS', 'ASHA'],
    benchmark: [benchmark],
    numSeeds: 3,
    randomSeed: Number(process.env.TUNELAB_SEED ?? 31415),
    resultsRoot: process.env.TUNELAB_ROOT,
  },
  { progress: false },
);

const byMethod = new Map<string, number[]>();
for (const o of report.outcomes) {
  if (o.summary?.best) byMethod.set(o.metadata.method, [...(byMethod.get(o.metadata.method) ?? []), o.summary.best.value]);
}
const fmt = (x: number) => x.toPrecision(4);
console.log(`\nbest ${metric} (${mode}) per method on ${benchmark}, over seeds ${report.seeds.join(', ')}:`);
console.log(
  formatTable(
    ['method', 'seeds', 'mean', 'best', 'worst'],
    [...byMethod].map(([method, values]) => {
      const sorted = [...values].sort((a, b) => (mode === 'min' ? a - b : b - a));
      return [method, values.length, fmt(values.reduce((a, b) => a + b, 0) / values.length), fmt(sorted[0]), fmt(sorted[sorted.length - 1])];
    }),
  ),
);
const folders = report.outcomes.map((o) => o.folder);
console.log(`\nresults: ${folders.length} experiment folders, e.g. ${folders[0]}`);

// the figures and report of this invocation's runs (earlier runs under the same tag are left out)
const out = join(resultsRoot(process.env.TUNELAB_ROOT), 'plots', tag);
const plots = await plotStudy({ tags: [tag], root: resultsRoot(process.env.TUNELAB_ROOT), from: startedAt, out, formats: ['png', 'html'] });
console.log(`figures: ${plots.files.filter((f) => f.endsWith('.png')).join(', ')}`);
console.log(`report: ${plots.files.find((f) => f.endsWith('.html'))}`);
if (report.outcomes.some((o) => o.metadata.status !== 'completed')) process.exitCode = 1;
