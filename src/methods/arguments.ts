import type { Config, ConfigSpace } from '../config-space/index.js';
import type { Constraint } from '../schedulers/constraints.js';
import type { Mode, SearchProblem } from '../schedulers/types.js';
import type { HypervolumeSetting, Objective } from '../results/pareto.js';
import type { Rng } from '../util/rng.js';

/** What a method gets to build its scheduler for one experiment (Syne Tune's MethodArguments). */
export interface MethodArguments {
  configSpace: ConfigSpace;
  /** The first objective (the only one of a single-objective problem). */
  metric: string;
  mode: Mode;
  /** Every objective, when there are several (multi-objective methods read them; absent: [metric, mode]). */
  objectives?: readonly Objective[];
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
  /** Configs tried first, in order (SigOpt's and Syne Tune's points_to_evaluate). */
  pointsToEvaluate?: readonly Config[];
  /** With several objectives: the benchmark's hypervolume normalisation and reference point (EHVI aims at it). */
  hypervolume?: HypervolumeSetting;
}

/** The options of the built-in methods that an experiment file may set; each method reads those it has. */
export interface MethodOptions {
  gracePeriod?: number;
  reductionFactor?: number;
  brackets?: number;
  /** Random configs before the GP takes over (BO, MOBSTER). */
  numInitRandom?: number;
  /** GRID: points per continuous domain (and at most per integer range). */
  gridPoints?: number;
  /** TPE, ASHA-TPE: one joint Parzen estimator instead of one per hyperparameter. */
  multivariate?: boolean;
  /** MOBSTER: observations a rung level needs before EI is scored at it (else at the lowest level). */
  minModelPoints?: number;
}

/** The search problem of a method's arguments, as searchers take it. */
export function searchProblem(args: MethodArguments): SearchProblem {
  return { configSpace: args.configSpace, metric: args.metric, mode: args.mode, objectives: args.objectives, rng: args.rng, restrictTo: args.restrictTo, constraints: args.constraints, pointsToEvaluate: args.pointsToEvaluate };
}
