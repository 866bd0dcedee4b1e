/**
 * YAHPO LCBench surrogate speed: wall time of one ASHA and one RS experiment on yahpo-lcbench-3945
 * (4 workers, its time budget) and surrogate evaluations (52-epoch curves) per second.
 * Needs the data: $TUNELAB_DATA/yahpo_lcbench/ (defaults to ../shared/data beside the project).
 * Usage: node dist/bench/surrogate.js
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng, formatTable, getBenchmark, getMethod, runExperiment, sampleConfig } from '../src/index.js';
import { loadYahpoLCBench } from '../src/blackbox/yahpo-lcbench.js';
import { packageRoot } from '../src/util/package-info.js';

process.env.TUNELAB_DATA ??= join(packageRoot, '..', 'shared', 'data');
if (!existsSync(join(process.env.TUNELAB_DATA, 'yahpo_lcbench'))) throw new Error(`no yahpo_lcbench/ under ${process.env.TUNELAB_DATA}`);
const bb = loadYahpoLCBench(process.env.TUNELAB_DATA, '3945');
let t = performance.now();
await bb.curve(sampleConfig(bb.configSpace, createRng(0)));
const loadMs = performance.now() - t;
const rng = createRng(1);
t = performance.now();
const n = 200;
for (let i = 0; i < n; i++) await bb.curve(sampleConfig(bb.configSpace, rng));
const perSecond = n / ((performance.now() - t) / 1000);
console.log(`model load + first curve: ${loadMs.toFixed(0)} ms; ${perSecond.toFixed(0)} curves/s (${(perSecond * 52).toFixed(0)} epoch evaluations/s)`);
const benchmark = getBenchmark('yahpo-lcbench-3945');
const root = mkdtempSync(join(tmpdir(), 'tunelab-surrogate-'));
const rows: (string | number)[][] = [];
for (const m of ['ASHA', 'RS']) {
  t = performance.now();
  const o = await runExperiment({ tag: 's', method: getMethod(m), benchmark, seed: 0, masterSeed: 1, resultsRoot: root });
  rows.push([m, o.summary!.numTrials, o.summary!.numResults, ((performance.now() - t) / 1000).toFixed(2), Number(o.summary!.best!.value.toPrecision(5))]);
}
rmSync(root, { recursive: true, force: true });
console.log(`one experiment on ${benchmark.name} (${benchmark.nWorkers} workers, ${benchmark.maxWallclockTime} simulated s; model already loaded):`);
console.log(formatTable(['method', 'trials', 'results', 'wall s', 'best val_accuracy'], rows));
