import type { Config } from '../../config-space/index.js';
import type { SearchProblem, SuggestionCounts } from '../types.js';
import type { RandomSearcher } from './random.js';

/**
 * One suggestion of a model-based searcher (BO, MOBSTER, EHVI): the user's points and random configs
 * until the model is ready, then the model's choice while unseen configs remain; `counts` records
 * which of the two gave it (metadata.json's suggestion counts).
 */
export function randomOrModel(
  random: RandomSearcher,
  problem: SearchProblem,
  counts: SuggestionCounts,
  modelReady: boolean,
  modelSuggest: () => Config | undefined,
): Config | undefined {
  let config: Config | undefined;
  if (!modelReady || (problem.pointsToEvaluate?.length ?? 0) > random.numSeen) {
    config = random.suggest();
    if (config) counts.random++;
  } else if (random.hasUnseen) {
    config = modelSuggest();
    if (config) {
      random.markSeen(config);
      counts.model++;
    }
  }
  return config;
}
