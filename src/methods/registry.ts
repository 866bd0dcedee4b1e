import { type Config, type ConfigSpace, fixHyperparameters } from '../config-space/index.js';
import type { Constraint } from '../schedulers/constraints.js';
import { FIFOScheduler } from '../schedulers/fifo.js';
import { HyperbandScheduler, type HyperbandOptions, rungLevels } from '../schedulers/hyperband.js';
import { GPSearcher, type GPSearcherOptions } from '../schedulers/searchers/gp-searcher.js';
import { RandomSearcher } from '../schedulers/searchers/random.js';
import type { Mode, SearchProblem, TrialScheduler } from '../schedulers/types.js';
import { UserError, unknownName } from '../util/errors.js';
import type { Rng } from '../util/rng.js';

/** What a method gets to build its scheduler for one experiment (Syne Tune's MethodArguments). */
export interface MethodArguments {
  configSpace: ConfigSpace;
  metric: string;
  mode: Mode;
  /** Resource attribute (e.g. 'epoch') and its largest value. */
  resourceAttr: string;
  maxResource: number;
  nWorkers: number;
  /** The run's random source (derived from the master seed and the seed index). */
  rng: Rng;
  /** Tabulated configs, when --restrict_configurations is on. */
  restrictTo?: readonly Config[];
  /** Outcome constraints, for the searchers that model them (BO, MOBSTER). */
  constraints?: readonly Constraint[];
  /** Settings that override the method's defaults (an experiment file's method_options). */
  options?: MethodOptions;
}

/** The options of the built-in methods that an experiment file may set; each method reads those it has. */
export interface MethodOptions {
  gracePeriod?: number;
  reductionFactor?: number;
  brackets?: number;
  /** Random configs before the GP takes over (BO, MOBSTER). */
  numInitRandom?: number;
  /** MOBSTER: observations a rung level needs before EI is scored at it (else at the lowest level). */
  minModelPoints?: number;
}

/** Hyperband options from the method's own type plus the experiment's grace period, η and brackets. */
const hyperbandOptions = (args: MethodArguments, type: HyperbandOptions['type'], brackets?: number): Omit<HyperbandOptions, 'maxT'> => {
  const o = args.options ?? {};
  return { type, gracePeriod: o.gracePeriod, reductionFactor: o.reductionFactor, brackets: o.brackets ?? brackets };
};

/** The experiment's GP settings, those it leaves out taken from the method's defaults. */
const gpOptions = (args: MethodArguments): GPSearcherOptions => {
  const { numInitRandom, minModelPoints } = args.options ?? {};
  return { ...(numInitRandom !== undefined && { numInitRandom }), ...(minModelPoints !== undefined && { minModelPoints }) };
};

export interface MethodDefinition {
  name: string;
  description: string;
  /** Expensive methods run one job per seed in launch-remote; cheap ones run their seeds in one job. */
  expensive: boolean;
  /** Uses intermediate results at several resource levels (cannot run on a single-fidelity benchmark). */
  multiFidelity: boolean;
  create(args: MethodArguments): TrialScheduler;
  /**
   * Why the method cannot search this space (e.g. a hyperparameter it fixes is not in it); empty when
   * it can. Launchers ask it of every (method, benchmark) pair before a study's first run.
   */
  check?(configSpace: ConfigSpace): string[];
}

export function searchProblem(args: MethodArguments): SearchProblem {
  return { configSpace: args.configSpace, metric: args.metric, mode: args.mode, rng: args.rng, restrictTo: args.restrictTo, constraints: args.constraints };
}

export const randomSearch = (args: MethodArguments) => {
  const problem = searchProblem(args);
  return new FIFOScheduler(problem, new RandomSearcher(problem));
};

export const hyperbandRandom = (args: MethodArguments, options: Omit<HyperbandOptions, 'maxT'>) => {
  const problem = searchProblem(args);
  return new HyperbandScheduler(problem, new RandomSearcher(problem), { maxT: args.maxResource, ...options });
};

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

/**
 * A method on a restricted space: some hyperparameters fixed to constants (how the reference study
 * builds ASHA-TANH from ASHA). Tabulated configs that disagree with the fixed values are dropped.
 */
export function withFixedHyperparameters(base: MethodDefinition, name: string, fixed: Config, description?: string): MethodDefinition {
  return {
    name,
    description: description ?? `${base.name} with ${Object.entries(fixed).map(([k, v]) => `${k}=${v}`).join(', ')}`,
    expensive: base.expensive,
    multiFidelity: base.multiFidelity,
    check(configSpace) {
      try {
        // evaluated before the call: `base.check?.(…)` would skip its argument when base has no check
        const restricted = fixHyperparameters(configSpace, fixed);
        return base.check?.(restricted) ?? [];
      } catch (e) {
        if (e instanceof UserError) return [e.message];
        throw e;
      }
    },
    create(args) {
      const configSpace = fixHyperparameters(args.configSpace, fixed);
      const restrictTo = args.restrictTo?.filter((c) => Object.entries(fixed).every(([k, v]) => c[k] === v));
      return base.create({ ...args, configSpace, restrictTo });
    },
  };
}

const RS: MethodDefinition = { name: 'RS', description: 'random search (FIFO)', expensive: false, multiFidelity: false, create: randomSearch };
const ASHA: MethodDefinition = {
  name: 'ASHA',
  description: 'asynchronous successive halving, stopping type (grace period 1, η = 3)',
  expensive: false,
  multiFidelity: true,
  create: (args) => hyperbandRandom(args, hyperbandOptions(args, 'stopping')),
};
const ASHA_PROMOTION: MethodDefinition = {
  name: 'ASHA-PROMOTION',
  description: 'asynchronous successive halving, promotion type (trials pause at rungs)',
  expensive: false,
  multiFidelity: true,
  create: (args) => hyperbandRandom(args, hyperbandOptions(args, 'promotion')),
};
const HYPERBAND: MethodDefinition = {
  name: 'HYPERBAND',
  description: 'asynchronous Hyperband, stopping type, one bracket per rung level',
  expensive: false,
  multiFidelity: true,
  create: (args) => {
    const { gracePeriod = 1, reductionFactor = 3 } = args.options ?? {};
    return hyperbandRandom(args, hyperbandOptions(args, 'stopping', Math.max(1, rungLevels(gracePeriod, reductionFactor, args.maxResource).length)));
  },
};

const BO: MethodDefinition = {
  name: 'BO',
  description: 'Bayesian optimisation: GP (Matern 5/2 ARD) + expected improvement, FIFO',
  expensive: true,
  multiFidelity: false,
  create: (args) => bayesOpt(args, gpOptions(args)),
};
const MOBSTER: MethodDefinition = {
  name: 'MOBSTER',
  description: 'ASHA (stopping) with a GP searcher over config × resource',
  expensive: true,
  multiFidelity: true,
  create: (args) => mobster(args, hyperbandOptions(args, 'stopping'), gpOptions(args)),
};
const MOBSTER_PROMOTION: MethodDefinition = {
  name: 'MOBSTER-PROMOTION',
  description: 'ASHA (promotion) with a GP searcher over config × resource',
  expensive: true,
  multiFidelity: true,
  create: (args) => mobster(args, hyperbandOptions(args, 'promotion'), gpOptions(args)),
};

const tanh = { hp_activation_fn_1: 'tanh', hp_activation_fn_2: 'tanh' };
const relu = { hp_activation_fn_1: 'relu', hp_activation_fn_2: 'relu' };

/** The built-in methods. */
export const methodDefinitions: Record<string, MethodDefinition> = Object.fromEntries(
  [
    RS,
    ASHA,
    ASHA_PROMOTION,
    HYPERBAND,
    BO,
    MOBSTER,
    MOBSTER_PROMOTION,
    withFixedHyperparameters(ASHA, 'ASHA-TANH', tanh),
    withFixedHyperparameters(ASHA, 'ASHA-RELU', relu),
    withFixedHyperparameters(MOBSTER, 'MOBSTER-TANH', tanh),
    withFixedHyperparameters(MOBSTER, 'MOBSTER-RELU', relu),
  ].map((m) => [m.name, m]),
);

/** What the experiment file's validation needs to know of a method registry. */
export function experimentFileOptions(registry: Record<string, MethodDefinition> = methodDefinitions): { methods: string[]; multiFidelityMethods: string[] } {
  return { methods: Object.keys(registry), multiFidelityMethods: Object.values(registry).filter((m) => m.multiFidelity).map((m) => m.name) };
}

export function getMethod(name: string, registry: Record<string, MethodDefinition> = methodDefinitions): MethodDefinition {
  const m = registry[name];
  if (!m) throw unknownName('method', name, Object.keys(registry));
  return m;
}
