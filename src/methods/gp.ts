import { FIFOScheduler } from '../schedulers/fifo.js';
import { HyperbandScheduler, type HyperbandOptions, rungLevels } from '../schedulers/hyperband.js';
import { GPSearcher, type GPSearcherOptions } from '../schedulers/searchers/gp-searcher.js';
import { type MethodArguments, searchProblem } from './arguments.js';

/** Bayesian optimisation: FIFO with a GP searcher (expected improvement, pending trials fantasized). */
export const bayesOpt = (args: MethodArguments, options: GPSearcherOptions = {}) => {
  const problem = searchProblem(args);
  return new FIFOScheduler(problem, new GPSearcher(problem, options));
};

/** MOBSTER: hyperband (ASHA) whose new configs come from a GP over (config, resource). */
export const mobster = (args: MethodArguments, options: Omit<HyperbandOptions, 'maxT'>, searcherOptions: GPSearcherOptions = {}) => {
  const problem = searchProblem(args);
  const levels = rungLevels(options.gracePeriod ?? 1, options.reductionFactor ?? 3, args.maxResource);
  // ASHA starts thousands of trials per experiment; smaller model caps keep each suggestion in milliseconds.
  // Six random configs, then the model: Syne Tune's MOBSTER default (num_init_random for hyperband schedulers)
  const defaults: GPSearcherOptions = { numInitRandom: 6, minModelPoints: 3, maxFitPoints: 80, maxHyperFitPoints: 80, numCandidates: 100, numFantasies: 4, localSearchRounds: 2, refitGrowth: 0.1 };
  const searcher = new GPSearcher(problem, { ...defaults, ...searcherOptions }, { levels, maxT: args.maxResource });
  return new HyperbandScheduler(problem, searcher, { maxT: args.maxResource, ...options });
};
