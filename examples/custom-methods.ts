/**
 * A study with methods of its own, as in Syne Tune's baselines.py: ASHA on the full space and ASHA
 * with the batch size fixed to 64, 2 seeds each, plus an extra results column.
 */
import { type ExtraResultsComposer, HyperbandScheduler, hpoMain, methodDefinitions, withFixedHyperparameters } from '../src/index.js';

const methods = {
  ASHA: methodDefinitions.ASHA,
  'ASHA-BS64': withFixedHyperparameters(methodDefinitions.ASHA, 'ASHA-BS64', { hp_batch_size: 64 }),
};

// how many trials reached each rung, recorded with every result
const rungSizes: ExtraResultsComposer = {
  keys: () => ['num_at_level1', 'num_at_level9'],
  compose: (tuner) => {
    if (!(tuner.scheduler instanceof HyperbandScheduler)) return undefined;
    const sizes = new Map(tuner.scheduler.informationForRungs().map((r) => [r.level, r.count]));
    return { num_at_level1: sizes.get(1), num_at_level9: sizes.get(9) };
  },
};

const report = await hpoMain(
  {
    experimentTag: 'custom-methods',
    method: Object.keys(methods),
    benchmark: ['synthetic-fcnet'],
    numSeeds: 2,
    randomSeed: 1,
    maxWallclockTime: Number(process.env.MAX_TIME ?? 1800),
    resultsRoot: process.env.TUNELAB_ROOT,
  },
  { methods, extraResults: rungSizes, progress: false },
);
for (const o of report.outcomes) console.log(`${o.metadata.method} seed ${o.metadata.seed}: best ${o.summary?.best?.value} (${o.summary?.numTrials} trials)`);
