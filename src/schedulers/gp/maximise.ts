import { type Config, hasConditions, hyperparameters, repairConfig, sampleConfig } from '../../config-space/index.js';
import { randomNormal } from '../../util/rng.js';
import type { SearchProblem } from '../types.js';
import type { RandomSearcher } from '../searchers/random.js';

export interface MaximiseOptions {
  /** Random candidates scored per suggestion. */
  numCandidates: number;
  /** Rounds of local search from the best candidate, 8 neighbours each. */
  localSearchRounds: number;
}

/**
 * The config that maximises an acquisition, as every GP searcher looks for it: the best of
 * `numCandidates` unseen random configs (or of the unseen tabulated ones), then rounds of local
 * search among 8 neighbours of the best so far while one improves. `random` knows the configs seen.
 * Undefined when no unseen candidate is left.
 */
export function maximiseAcquisition(problem: SearchProblem, random: RandomSearcher, score: (configs: Config[]) => Float64Array, o: MaximiseOptions): Config | undefined {
  const candidates = candidateConfigs(problem, random, o.numCandidates);
  if (candidates.length === 0) return undefined;
  const values = score(candidates);
  let bi = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[bi]) bi = i;
  let bestConfig = candidates[bi];
  let bestValue = values[bi];
  if (!problem.restrictTo) {
    for (let round = 0; round < o.localSearchRounds; round++) {
      const neighbours = Array.from({ length: 8 }, () => neighbour(problem, bestConfig)).filter((c) => !random.hasSeen(c));
      if (neighbours.length === 0) break;
      const nv = score(neighbours);
      let k = 0;
      for (let i = 1; i < nv.length; i++) if (nv[i] > nv[k]) k = i;
      if (!(nv[k] > bestValue)) break;
      bestConfig = neighbours[k];
      bestValue = nv[k];
    }
  }
  return bestConfig;
}

/** Unseen candidate configs: random draws from the space, or from the table when restricted. */
function candidateConfigs(problem: SearchProblem, random: RandomSearcher, numCandidates: number): Config[] {
  const { restrictTo, configSpace, rng } = problem;
  const out: Config[] = [];
  if (restrictTo) {
    const unseen = restrictTo.filter((c) => !random.hasSeen(c));
    if (unseen.length <= 2 * numCandidates) return unseen.map((c) => ({ ...c }));
    for (let i = 0; i < numCandidates; i++) out.push({ ...unseen[Math.floor(rng.next() * unseen.length)] });
    return out;
  }
  for (let attempt = 0; out.length < numCandidates && attempt < 4 * numCandidates; attempt++) {
    const c = sampleConfig(configSpace, rng);
    if (!random.hasSeen(c)) out.push(c);
  }
  return out;
}

/**
 * The config with one of its active hyperparameters moved: a nearby value, or another value of a
 * finite domain; in a conditional space, what that turns off is dropped and what it turns on drawn.
 */
function neighbour(problem: SearchProblem, config: Config): Config {
  const { configSpace, rng } = problem;
  const hps = hyperparameters(configSpace).filter(([name]) => name in config);
  if (hps.length === 0) return config;
  const [name, domain] = hps[Math.floor(rng.next() * hps.length)];
  const out = { ...config };
  if (domain.finiteValues && domain.finiteValues.length <= 64) {
    const values = domain.finiteValues.filter((v) => v !== config[name]);
    if (values.length > 0) out[name] = values[Math.floor(rng.next() * values.length)];
  } else {
    const enc = new Float64Array(domain.encodedSize);
    domain.encode(config[name], enc, 0);
    enc[0] = Math.min(1, Math.max(0, enc[0] + 0.1 * randomNormal(rng)));
    out[name] = domain.decode(enc, 0);
  }
  return hasConditions(configSpace) ? repairConfig(configSpace, out, (_, d) => d.sample(rng)) : out;
}
