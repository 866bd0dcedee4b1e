/**
 * The reference study's experiment script: runs `hpo-main` with the study's eight methods and records
 * the size of every rung level over time as extra results columns. Takes the same flags as
 * `tunelab hpo-main`, e.g.
 *   node dist/examples/reference-study/hpo-main.js --experiment_tag docs-2-debug --random_seed 2465497701 --method ASHA-RELU --verbose 1
 */
// in a project of your own, import these from 'tunelab'
import { type ExtraResultsComposer, HyperbandScheduler, UserError, hpoMain, parseHpoMainFlags } from '../../src/index.js';
import { methods } from './baselines.js';

const RESOURCE_LEVELS = [1, 3, 9, 27, 81];

/** Number of trials at each rung level (ASHA and MOBSTER only; empty cells for RS and BO). */
export const rungLevelsExtraResults: ExtraResultsComposer = {
  keys: () => RESOURCE_LEVELS.map((r) => `num_at_level${r}`),
  compose: (tuner) => {
    if (!(tuner.scheduler instanceof HyperbandScheduler)) return undefined;
    const out: Record<string, number> = {};
    for (const { level, count } of tuner.scheduler.informationForRungs()) if (RESOURCE_LEVELS.includes(level)) out[`num_at_level${level}`] = count;
    return out;
  },
};

try {
  const options = await parseHpoMainFlags(process.argv.slice(2), 'reference-study/hpo-main.js');
  const report = await hpoMain(options, { methods, extraResults: rungLevelsExtraResults });
  if (report.outcomes.some((o) => o.metadata.status !== 'completed')) process.exitCode = 1;
} catch (e) {
  if (!(e instanceof UserError)) throw e;
  console.error(`reference-study: ${e.message}`);
  process.exitCode = e.exitCode;
}
