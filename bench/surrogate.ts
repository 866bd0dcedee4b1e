/**
 * YAHPO LCBench surrogate speed: wall time of one ASHA and one RS experiment on yahpo-lcbench-3945
 * (4 workers, its time budget), how much of it the surrogate takes, how many model calls and curve
 * rows (epochs) it computes (the simulator asks for growing prefixes of the curves: most trials stop
 * early), and surrogate evaluations (52-epoch curves) per second. Each experiment is run `repeats`
 * times (default 5), every time with the surrogate's curve cache emptied, so that every run computes
 * all its rows; the first run (the tuner's own code not yet optimised by V8), the median and the
 * fastest run are printed (the machine may be shared: compare figures taken in the same conditions).
 * Needs the data: $TUNELAB_DATA/yahpo_lcbench/ (defaults to ../shared/data beside the project).
 * Usage: node dist/bench/surrogate.js [repeats]
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng, formatTable, getBenchmark, getMethod, runExperiment, sampleConfig } from '../src/index.js';
import { loadBlackbox } from '../src/blackbox/repository.js';
import type { Config } from '../src/config-space/index.js';
import type { YahpoLCBenchBlackbox } from '../src/blackbox/yahpo-lcbench.js';
import { packageRoot } from '../src/util/package-info.js';

const repeats = Number(process.argv[2] ?? 5);
process.env.TUNELAB_DATA ??= join(packageRoot, '..', 'shared', 'data');
if (!existsSync(join(process.env.TUNELAB_DATA, 'yahpo_lcbench'))) throw new Error(`no yahpo_lcbench/ under ${process.env.TUNELAB_DATA}`);
const benchmark = getBenchmark('yahpo-lcbench-3945');
// the very blackbox the experiments use (blackboxes are cached per process)
const bb = (await loadBlackbox({ blackbox: benchmark.blackbox, dataset: benchmark.dataset, surrogate: benchmark.surrogate })) as YahpoLCBenchBlackbox;
let surrogateMs = 0;
// curve() computes through curvePrefix() too
const curvePrefix = bb.curvePrefix.bind(bb);
bb.curvePrefix = async (config: Config, seed: number, upTo: number) => {
  const t0 = performance.now();
  try {
    return await curvePrefix(config, seed, upTo);
  } finally {
    surrogateMs += performance.now() - t0;
  }
};

let t = performance.now();
await bb.curve(sampleConfig(bb.configSpace, createRng(0)));
const loadMs = performance.now() - t;
const rng = createRng(1);
const rate = async (n: number) => {
  const start = performance.now();
  for (let i = 0; i < n; i++) await bb.curve(sampleConfig(bb.configSpace, rng));
  return n / ((performance.now() - start) / 1000);
};
// the first curves run on V8's baseline WebAssembly code, until the optimised code is ready
const first = await rate(200);
const steady = await rate(200);
console.log(
  `model load + first curve: ${loadMs.toFixed(0)} ms; next 200 curves: ${first.toFixed(0)} curves/s; then ${steady.toFixed(0)} curves/s (${(steady * 52).toFixed(0)} epoch evaluations/s)`,
);

const root = mkdtempSync(join(tmpdir(), 'tunelab-surrogate-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows: (string | number)[][] = [];
for (const m of ['ASHA', 'RS']) {
  const walls: number[] = [];
  const surrogate: number[] = [];
  let summary: { trials: number; results: number; calls: number; rows: number; best: number } | undefined;
  for (let r = 0; r < repeats; r++) {
    bb.clearCache();
    surrogateMs = 0;
    const { calls, rows } = bb.computed;
    t = performance.now();
    const o = await runExperiment({ tag: 's', method: getMethod(m), benchmark, seed: 0, masterSeed: 1, resultsRoot: root });
    walls.push((performance.now() - t) / 1000);
    surrogate.push(surrogateMs / 1000);
    const s = {
      trials: o.summary!.numTrials,
      results: o.summary!.numResults,
      calls: bb.computed.calls - calls,
      rows: bb.computed.rows - rows,
      best: Number(o.summary!.best!.value.toPrecision(5)),
    };
    if (summary && JSON.stringify(s) !== JSON.stringify(summary)) throw new Error(`${m}: run ${r} differs from run 0: ${JSON.stringify(s)} vs ${JSON.stringify(summary)}`);
    summary = s;
  }
  const { trials, results, calls, rows: computed, best } = summary!;
  rows.push([m, trials, results, calls, `${computed} of ${trials * bb.fidelityValues.length}`, walls[0].toFixed(2), median(walls).toFixed(2), Math.min(...walls).toFixed(2), median(surrogate).toFixed(2), best]);
}
rmSync(root, { recursive: true, force: true });
console.log(`one experiment on ${benchmark.name} (${benchmark.nWorkers} workers, ${benchmark.maxWallclockTime} simulated s; model loaded and warm; ${repeats} runs each):`);
console.log(formatTable(['method', 'trials', 'results', 'model calls', 'rows computed (of full curves)', 'wall s (1st run)', 'wall s (median)', 'wall s (min)', 'surrogate s (median)', 'best val_accuracy'], rows));
