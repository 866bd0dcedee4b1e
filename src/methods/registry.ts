import { type Config, type ConfigSpace, fixHyperparameters } from '../config-space/index.js';
import type { HyperbandOptions } from '../schedulers/hyperband.js';
import type { GPSearcherOptions } from '../schedulers/searchers/gp-searcher.js';
import type { TrialScheduler } from '../schedulers/types.js';
import type { Objective } from '../results/pareto.js';
import { UserError, unknownName } from '../util/errors.js';
import { type MethodArguments, searchProblem } from './arguments.js';

export type { MethodArguments, MethodOptions } from './arguments.js';

// A method's scheduler and searcher modules load when it builds its scheduler, not with the registry:
// a run of one method (`run -f` of a one-trial file) loads only its own.
const fifo = () => import('../schedulers/fifo.js');
const hyperband = () => import('../schedulers/hyperband.js');

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
  /** Optimises several objectives at once (a problem with several needs such a method). */
  multiObjective?: boolean;
  /** The most objectives it handles (unset: any number). */
  maxObjectives?: number;
  /** Hyperparameters the method fixes to constants (it fits only a space that has them). */
  fixed?: Config;
  /** Its scheduler for one experiment (a promise when the method loads its modules on demand, as the built-in ones do). */
  create(args: MethodArguments): TrialScheduler | Promise<TrialScheduler>;
  /**
   * Why the method cannot search this space (e.g. a hyperparameter it fixes is not in it); empty when
   * it can. Launchers ask it of every (method, benchmark) pair before a study's first run.
   */
  check?(configSpace: ConfigSpace): string[];
}

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
    fixed: { ...base.fixed, ...fixed },
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

const RS: MethodDefinition = { name: 'RS', description: 'random search (FIFO)', expensive: false, multiFidelity: false, create: async (args) => (await import('./random.js')).randomSearch(args) };
const GRID: MethodDefinition = {
  name: 'GRID',
  description: 'grid search (FIFO): every value of finite domains, 5 points of continuous ones, in a seeded order',
  expensive: false,
  multiFidelity: false,
  create: async (args) => {
    const [{ FIFOScheduler }, { GridSearcher }] = await Promise.all([fifo(), import('../schedulers/searchers/grid.js')]);
    const problem = searchProblem(args);
    return new FIFOScheduler(problem, new GridSearcher(problem, { numPoints: args.options?.gridPoints }));
  },
};
const ASHA: MethodDefinition = {
  name: 'ASHA',
  description: 'asynchronous successive halving, stopping type (grace period 1, η = 3)',
  expensive: false,
  multiFidelity: true,
  create: async (args) => (await import('./random.js')).hyperbandRandom(args, hyperbandOptions(args, 'stopping')),
};
const ASHA_PROMOTION: MethodDefinition = {
  name: 'ASHA-PROMOTION',
  description: 'asynchronous successive halving, promotion type (trials pause at rungs)',
  expensive: false,
  multiFidelity: true,
  create: async (args) => (await import('./random.js')).hyperbandRandom(args, hyperbandOptions(args, 'promotion')),
};
const HYPERBAND: MethodDefinition = {
  name: 'HYPERBAND',
  description: 'asynchronous Hyperband, stopping type, one bracket per rung level',
  expensive: false,
  multiFidelity: true,
  create: async (args) => {
    const [{ hyperbandRandom }, { rungLevels }] = await Promise.all([import('./random.js'), hyperband()]);
    return hyperbandRandom(args, hyperbandOptions(args, 'stopping', allBrackets(args, rungLevels)));
  },
};

/** The number of brackets of Hyperband: one per rung level. */
const allBrackets = (args: MethodArguments, rungLevels: (gracePeriod: number, eta: number, maxT: number) => number[]) => {
  const { gracePeriod = 1, reductionFactor = 3 } = args.options ?? {};
  return Math.max(1, rungLevels(gracePeriod, reductionFactor, args.maxResource).length);
};

const SYNC_HYPERBAND: MethodDefinition = {
  name: 'SYNC-HYPERBAND',
  description: 'synchronous Hyperband (Li et al. 2018): brackets in turn, each rung waits for all its trials, random configs',
  expensive: false,
  multiFidelity: true,
  create: async (args) => {
    const [{ SyncHyperbandScheduler }, { RandomSearcher }] = await Promise.all([import('../schedulers/sync-hyperband.js'), import('../schedulers/searchers/random.js')]);
    const problem = searchProblem(args);
    const { gracePeriod, reductionFactor } = args.options ?? {};
    return new SyncHyperbandScheduler(problem, new RandomSearcher(problem), { maxT: args.maxResource, gracePeriod, reductionFactor });
  },
};
const BOHB: MethodDefinition = {
  name: 'BOHB',
  description: "asynchronous Hyperband (stopping, one bracket per rung level) with BOHB's KDE per rung level as searcher",
  expensive: false,
  multiFidelity: true,
  create: async (args) => {
    const [{ HyperbandScheduler, rungLevels }, { KDESearcher }] = await Promise.all([hyperband(), import('../schedulers/searchers/kde.js')]);
    const problem = searchProblem(args);
    const options = hyperbandOptions(args, 'stopping', allBrackets(args, rungLevels));
    const levels = rungLevels(options.gracePeriod ?? 1, options.reductionFactor ?? 3, args.maxResource);
    return new HyperbandScheduler(problem, new KDESearcher(problem, [...levels, args.maxResource]), { maxT: args.maxResource, ...options });
  },
};
const DEHB: MethodDefinition = {
  name: 'DEHB',
  description: 'asynchronous Hyperband (stopping, one bracket per rung level) with differential evolution (rand/1/bin, F = 0.5, CR = 0.5) per rung level',
  expensive: false,
  multiFidelity: true,
  create: async (args) => {
    const [{ HyperbandScheduler, rungLevels }, { DEHBSearcher }] = await Promise.all([hyperband(), import('../schedulers/searchers/dehb.js')]);
    const problem = searchProblem(args);
    const options = hyperbandOptions(args, 'stopping', allBrackets(args, rungLevels));
    const eta = options.reductionFactor ?? 3;
    const levels = rungLevels(options.gracePeriod ?? 1, eta, args.maxResource);
    return new HyperbandScheduler(problem, new DEHBSearcher(problem, [...levels, args.maxResource], eta), { maxT: args.maxResource, ...options });
  },
};
const TPE: MethodDefinition = {
  name: 'TPE',
  description: "tree-structured Parzen estimator (Optuna's defaults; constant liar for running trials), FIFO",
  expensive: false,
  multiFidelity: false,
  create: async (args) => {
    const [{ FIFOScheduler }, { TPESearcher }] = await Promise.all([fifo(), import('../schedulers/searchers/tpe.js')]);
    const problem = searchProblem(args);
    return new FIFOScheduler(problem, new TPESearcher(problem, { multivariate: args.options?.multivariate }));
  },
};
const ASHA_TPE: MethodDefinition = {
  name: 'ASHA-TPE',
  description: 'ASHA (stopping) with TPE as searcher (trials ranked by the resource they reached, then value)',
  expensive: false,
  multiFidelity: true,
  create: async (args) => {
    const [{ HyperbandScheduler }, { TPESearcher }] = await Promise.all([hyperband(), import('../schedulers/searchers/tpe.js')]);
    const problem = searchProblem(args);
    return new HyperbandScheduler(problem, new TPESearcher(problem, { multivariate: args.options?.multivariate }), { maxT: args.maxResource, ...hyperbandOptions(args, 'stopping') });
  },
};
const REA: MethodDefinition = {
  name: 'REA',
  description: 'regularized evolution (population 100, tournaments of 10, one hyperparameter mutated, the oldest dies), FIFO',
  expensive: false,
  multiFidelity: false,
  create: async (args) => {
    const [{ FIFOScheduler }, { REASearcher }] = await Promise.all([fifo(), import('../schedulers/searchers/rea.js')]);
    const problem = searchProblem(args);
    return new FIFOScheduler(problem, new REASearcher(problem));
  },
};
const BO: MethodDefinition = {
  name: 'BO',
  description: 'Bayesian optimisation: GP (Matern 5/2 ARD) + expected improvement, FIFO',
  expensive: true,
  multiFidelity: false,
  create: async (args) => (await import('./gp.js')).bayesOpt(args, gpOptions(args)),
};
const MOBSTER: MethodDefinition = {
  name: 'MOBSTER',
  description: 'ASHA (stopping) with a GP searcher over config × resource',
  expensive: true,
  multiFidelity: true,
  create: async (args) => (await import('./gp.js')).mobster(args, hyperbandOptions(args, 'stopping'), gpOptions(args)),
};
const MOBSTER_PROMOTION: MethodDefinition = {
  name: 'MOBSTER-PROMOTION',
  description: 'ASHA (promotion) with a GP searcher over config × resource',
  expensive: true,
  multiFidelity: true,
  create: async (args) => (await import('./gp.js')).mobster(args, hyperbandOptions(args, 'promotion'), gpOptions(args)),
};

const MO_RS: MethodDefinition = {
  name: 'MO-RS',
  description: 'random search for several objectives (FIFO); the front is that of what it evaluated',
  expensive: false,
  multiFidelity: false,
  multiObjective: true,
  create: RS.create,
};
const NSGA2: MethodDefinition = {
  name: 'NSGA2',
  description: 'NSGA-II, steady state (population 20, binary tournaments, SBX + polynomial mutation, uniform crossover for categories), FIFO',
  expensive: false,
  multiFidelity: false,
  multiObjective: true,
  create: async (args) => {
    const [{ FIFOScheduler }, { NSGA2Searcher }] = await Promise.all([fifo(), import('../schedulers/searchers/nsga2.js')]);
    const problem = searchProblem(args);
    return new FIFOScheduler(problem, new NSGA2Searcher(problem));
  },
};
const MO_ASHA: MethodDefinition = {
  name: 'MO-ASHA',
  description: 'multi-objective ASHA (stopping; rungs ranked by non-dominated sorting, crowding distance within a front), random configs',
  expensive: false,
  multiFidelity: true,
  multiObjective: true,
  create: async (args) => {
    const [{ MOASHAScheduler }, { RandomSearcher }] = await Promise.all([import('../schedulers/mo-asha.js'), import('../schedulers/searchers/random.js')]);
    const problem = searchProblem(args);
    const { gracePeriod, reductionFactor } = args.options ?? {};
    return new MOASHAScheduler(problem, new RandomSearcher(problem), { maxT: args.maxResource, gracePeriod, reductionFactor });
  },
};
const MO_BO: MethodDefinition = {
  name: 'MO-BO',
  description: 'Bayesian optimisation of several objectives by random scalarizations (ParEGO: augmented Chebyshev, weights on the simplex) on the GP + EI, FIFO',
  expensive: true,
  multiFidelity: false,
  multiObjective: true,
  create: async (args) => {
    const [{ FIFOScheduler }, { ParEGOSearcher }] = await Promise.all([fifo(), import('../schedulers/searchers/parego.js')]);
    const problem = searchProblem(args);
    return new FIFOScheduler(problem, new ParEGOSearcher(problem, gpOptions(args)));
  },
};
const EHVI: MethodDefinition = {
  name: 'EHVI',
  description: 'Bayesian optimisation of 2 or 3 objectives by expected hypervolume improvement (exact box decomposition) on one GP per objective, pending trials by kriging believer, FIFO',
  expensive: true,
  multiFidelity: false,
  multiObjective: true,
  maxObjectives: 3,
  create: async (args) => {
    const [{ FIFOScheduler }, { EHVISearcher }] = await Promise.all([fifo(), import('../schedulers/searchers/ehvi.js')]);
    const problem = searchProblem(args);
    const { numInitRandom } = args.options ?? {};
    return new FIFOScheduler(problem, new EHVISearcher(problem, numInitRandom !== undefined ? { numInitRandom } : {}, args.hypervolume));
  },
};

const tanh = { hp_activation_fn_1: 'tanh', hp_activation_fn_2: 'tanh' };
const relu = { hp_activation_fn_1: 'relu', hp_activation_fn_2: 'relu' };

/** The built-in methods. */
export const methodDefinitions: Record<string, MethodDefinition> = Object.fromEntries(
  [
    RS,
    GRID,
    ASHA,
    ASHA_PROMOTION,
    HYPERBAND,
    SYNC_HYPERBAND,
    BOHB,
    DEHB,
    TPE,
    ASHA_TPE,
    REA,
    BO,
    MOBSTER,
    MOBSTER_PROMOTION,
    MO_RS,
    NSGA2,
    MO_ASHA,
    MO_BO,
    EHVI,
    withFixedHyperparameters(ASHA, 'ASHA-TANH', tanh),
    withFixedHyperparameters(ASHA, 'ASHA-RELU', relu),
    withFixedHyperparameters(MOBSTER, 'MOBSTER-TANH', tanh),
    withFixedHyperparameters(MOBSTER, 'MOBSTER-RELU', relu),
  ].map((m) => [m.name, m]),
);

/** What the experiment file's validation needs to know of a method registry. */
export function experimentFileOptions(registry: Record<string, MethodDefinition> = methodDefinitions): { methods: string[]; multiFidelityMethods: string[]; multiObjectiveMethods: string[]; fixedParameters: Record<string, string[]> } {
  return {
    methods: Object.keys(registry),
    multiFidelityMethods: Object.values(registry).filter((m) => m.multiFidelity).map((m) => m.name),
    multiObjectiveMethods: Object.values(registry).filter((m) => m.multiObjective).map((m) => m.name),
    fixedParameters: Object.fromEntries(Object.values(registry).flatMap((m) => (m.fixed ? [[m.name, Object.keys(m.fixed)]] : []))),
  };
}

/** Why a method does not fit a problem (its hyperparameters, whether it has a resource), or undefined when it fits. */
export function methodMisfit(m: MethodDefinition, problem: { parameters: readonly string[]; resource: boolean }): string | undefined {
  const missing = Object.keys(m.fixed ?? {}).filter((p) => !problem.parameters.includes(p));
  if (missing.length) return `fixes ${missing.join(', ')}, which the space does not have`;
  if (m.multiFidelity && !problem.resource) return 'needs a resource (multi-fidelity)';
  return undefined;
}

/** Why a method cannot optimise these objectives (a single-objective method given several), or undefined. */
export function objectiveMisfit(m: MethodDefinition, objectives: readonly Objective[], registry: Record<string, MethodDefinition> = methodDefinitions): string | undefined {
  if (m.maxObjectives !== undefined && objectives.length > m.maxObjectives) {
    return `method ${m.name} handles at most ${m.maxObjectives} objectives, and there are ${objectives.length} (${objectives.map((o) => o.metric).join(', ')})`;
  }
  if (objectives.length < 2 || m.multiObjective) return undefined;
  const names = Object.values(registry).filter((x) => x.multiObjective).map((x) => x.name);
  return `method ${m.name} optimises one objective, and there are ${objectives.length} (${objectives.map((o) => o.metric).join(', ')}); methods for several objectives: ${names.join(', ')}`;
}

/** A registered method by name, in any case (`asha` is ASHA). */
export function getMethod(name: string, registry: Record<string, MethodDefinition> = methodDefinitions): MethodDefinition {
  const m = registry[name] ?? Object.values(registry).find((x) => x.name.toLowerCase() === name.toLowerCase());
  if (!m) throw unknownName('method', name, Object.keys(registry));
  return m;
}
