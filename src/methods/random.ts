import { FIFOScheduler } from '../schedulers/fifo.js';
import { HyperbandScheduler, type HyperbandOptions } from '../schedulers/hyperband.js';
import { RandomSearcher } from '../schedulers/searchers/random.js';
import { type MethodArguments, searchProblem } from './arguments.js';

/** Random search (FIFO). */
export const randomSearch = (args: MethodArguments) => {
  const problem = searchProblem(args);
  return new FIFOScheduler(problem, new RandomSearcher(problem));
};

export const hyperbandRandom = (args: MethodArguments, options: Omit<HyperbandOptions, 'maxT'>) => {
  const problem = searchProblem(args);
  return new HyperbandScheduler(problem, new RandomSearcher(problem), { maxT: args.maxResource, ...options });
};
