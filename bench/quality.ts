/**
 * Quality: final best value over 10 seeds per method (median and interquartile range) on the given
 * benchmarks: does BO beat RS, and MOBSTER beat ASHA?
 * Usage: node dist/bench/quality.js [--restrict_configurations] [benchmark ...]   (default: the default benchmarks)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultBenchmarks, formatTable, getBenchmark, getMethod, runExperiment } from '../src/index.js';

const args = process.argv.slice(2);
// tabulated benchmarks: every searcher picks among the table's configs only
const restrictConfigurations = args.includes('--restrict_configurations');
const names = args.filter((a) => a !== '--restrict_configurations');
const benchmarks = names.length > 0 ? names : defaultBenchmarks();
const seeds = 10;
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
};
const root = mkdtempSync(join(tmpdir(), 'tunelab-quality-'));
for (const name of benchmarks) {
  const benchmark = getBenchmark(name);
  const rows: (string | number)[][] = [];
  for (const m of ['RS', 'BO', 'ASHA', 'MOBSTER']) {
    const finals: number[] = [];
    const t = performance.now();
    for (let seed = 0; seed < seeds; seed++) {
      const o = await runExperiment({ tag: 'q', method: getMethod(m), benchmark, seed, masterSeed: 2026, resultsRoot: root, restrictConfigurations });
      finals.push(o.summary!.best!.value);
    }
    const f = (x: number) => Number(x.toPrecision(4));
    rows.push([m, f(quantile(finals, 0.5)), `${f(quantile(finals, 0.25))} – ${f(quantile(finals, 0.75))}`, ((performance.now() - t) / 1000 / seeds).toFixed(1)]);
  }
  console.log(`\n${benchmark.name}: final best ${benchmark.metric} (${benchmark.mode}) over ${seeds} seeds, ${benchmark.nWorkers} workers, ${benchmark.maxWallclockTime} simulated s${restrictConfigurations ? ', configs restricted to the table' : ''}`);
  console.log(formatTable(['method', 'median', 'IQR', 'wall s / run'], rows));
}
rmSync(root, { recursive: true, force: true });
