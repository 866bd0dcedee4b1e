import { type Config, encodeConfig, encodedDim, hyperparameters } from '../../config-space/index.js';
import { type Rng, randomNormal } from '../../util/rng.js';
import { type Constraint, isFeasible } from '../constraints.js';
import { expectedImprovement, probabilityBelow } from '../gp/acquisition.js';
import { GPPosterior, type Theta, fitHyperparameters } from '../gp/gp.js';
import { choleskyWithJitter } from '../gp/linalg.js';
import { maximiseAcquisition } from '../gp/maximise.js';
import type { SearchProblem, Searcher, SuggestionCounts } from '../types.js';
import { RandomSearcher } from './random.js';
import { randomOrModel } from './random-or-model.js';

export interface GPSearcherOptions {
  /** Random configs before the model takes over (default 5; MOBSTER's default is Syne Tune's 6, set by the method). */
  numInitRandom?: number;
  /**
   * MOBSTER: observations a rung level needs before expected improvement is scored at it; EI is scored
   * at the highest such level, at the lowest level while none has that many (Syne Tune's
   * resource_acq_bohb_threshold, the BOHB rule; default 3). Unused without a resource model.
   */
  minModelPoints?: number;
  /** Random candidates scored by expected improvement per suggestion (default 300). */
  numCandidates?: number;
  /** Fantasy samples of the pending evaluations (default 8). */
  numFantasies?: number;
  /** At most this many observations enter the posterior: the best half and a random rest (default 500). */
  maxFitPoints?: number;
  /** ... and at most this many the hyperparameter fit (default 128). */
  maxHyperFitPoints?: number;
  /** Refit the hyperparameters when the data grew by this fraction since the last fit (default 0.05: every point up to 20). */
  refitGrowth?: number;
  /** Rounds of local search from the best candidate, 8 neighbours each (default 5). */
  localSearchRounds?: number;
}

/** For MOBSTER: the model covers (config, resource); results are kept at these levels only. */
export interface ResourceModel {
  levels: number[];
  maxT: number;
}

/** The constraint metrics of one result (null: NaN, after a JSON round trip) and whether they are all satisfied. */
interface ConstraintOutcome {
  values: Readonly<Record<string, number | null>>;
  feasible: boolean;
}

interface TrialData {
  config: Config;
  x: Float64Array;
  /** metric (as a value to minimise) per resource level */
  values: Map<number, number>;
  /** with constraints: their outcome at the same levels as `values` */
  constraintOutcomes: Map<number, ConstraintOutcome>;
  /** position in `trials` (pending trials are fantasized in this order) */
  seq: number;
}

type Observation = { t: TrialData; r: number | undefined; y: number };

/** (v − mean) / sd, the targets a GP is fitted to (sd 1 when the values are all equal). */
export function standardise(values: Float64Array): { z: Float64Array; mean: number; sd: number } {
  const n = values.length;
  let mean = 0;
  for (const v of values) mean += v;
  mean /= n;
  let sd = 0;
  for (const v of values) sd += (v - mean) ** 2;
  sd = Math.sqrt(sd / n) || 1;
  return { z: values.map((v) => (v - mean) / sd), mean, sd };
}

/** How far a constraint is violated: positive when violated, <= 0 when satisfied, NaN when the metric is missing. */
function slack(c: Constraint, value: number | null | undefined): number {
  if (typeof value !== 'number') return NaN;
  return c.mode === 'min' ? value - c.threshold : c.threshold - value;
}

/** Slacks with the missing ones (infeasible) replaced by a value above every observed slack and above 0. */
function imputeMissing(slacks: Float64Array): Float64Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of slacks) {
    if (Number.isNaN(s)) continue;
    lo = Math.min(lo, s);
    hi = Math.max(hi, s);
  }
  const missing = hi === -Infinity ? 1 : Math.max(hi, 0) + (hi - lo || 1);
  return slacks.map((s) => (Number.isNaN(s) ? missing : s));
}

/** Reorders `idx` so that its first k entries have the k smallest keys (quickselect, O(n) on average). */
function selectSmallest(idx: Int32Array, k: number, key: Float64Array): void {
  let lo = 0;
  let hi = idx.length - 1;
  while (lo < hi) {
    const pivot = key[idx[(lo + hi) >> 1]];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (key[idx[i]] < pivot) i++;
      while (key[idx[j]] > pivot) j--;
      if (i <= j) {
        const t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        i++;
        j--;
      }
    }
    if (k - 1 <= j) hi = j;
    else if (k - 1 >= i) lo = i;
    else return;
  }
}

/** Capped data: the best half by value and a random sample of the rest, in their original order. */
export function capObservations<T extends { y: number }>(data: T[], cap: number, rng: Rng): T[] {
  if (data.length <= cap) return data;
  const idx = new Int32Array(data.length);
  const keys = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) {
    idx[i] = i;
    keys[i] = data[i].y;
  }
  const half = Math.ceil(cap / 2);
  selectSmallest(idx, half, keys);
  for (let i = half; i < cap; i++) {
    const j = i + Math.floor(rng.next() * (idx.length - i));
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  return [...idx.subarray(0, cap).sort()].map((i) => data[i]);
}

/**
 * MOBSTER's capped data: every observation of the highest levels first (few, and the ones that
 * decide promotions), then the lower levels while room is left; the level that overflows is capped
 * by capObservations. ASHA stops most trials at the lowest rung, so one cap over all levels would
 * keep mostly lowest-rung results (measured: MOBSTER's final best improved on 5 of 7 benchmarks).
 */
export function capObservationsByLevel<T extends { r: number | undefined; y: number }>(data: T[], cap: number, levels: readonly number[], rng: Rng): T[] {
  if (data.length <= cap) return data;
  const keep = new Set<T>();
  for (const level of [...new Set(levels)].sort((a, b) => b - a)) {
    const room = cap - keep.size;
    if (room <= 0) break;
    for (const o of capObservations(data.filter((o) => o.r === level), room, rng)) keep.add(o);
  }
  return data.filter((o) => keep.has(o));
}

/**
 * Gaussian-process searcher with expected improvement. Without a resource model it is BO's searcher
 * (one value per trial: its latest result); with one it is MOBSTER's (a joint GP over config and
 * resource, fitted to results at rung levels, EI at the chosen level). Running trials without a value
 * at the level they will report next are fantasized, so parallel workers get different configs.
 * With outcome constraints, one more GP per constraint models its slack on the same inputs, and the
 * acquisition is EI over the best feasible value times the probability that every constraint holds
 * (constrained EI, Gardner et al. 2014); before any result is feasible, that probability alone.
 */
export class GPSearcher implements Searcher {
  private readonly random: RandomSearcher;
  private readonly trials = new Map<number, TrialData>();
  // kept up to date rather than recounted per suggestion: a MOBSTER experiment has thousands of trials
  /** the running trials (the only record of which are running) */
  private readonly running = new Set<TrialData>();
  /** MOBSTER: the number of observations per level */
  private readonly levelCounts = new Map<number, number>();
  /** MOBSTER: every (trial, level) observation in arrival order (kept incrementally: there are thousands) */
  private readonly levelObservations: (Observation & { id: number; r: number })[] = [];
  /** MOBSTER: the rung levels and the maximal resource, where observations enter the model */
  private readonly levelsWithEnd: number[];
  private theta: Theta | undefined;
  /** the hyperparameters of each constraint's GP, fitted together with `theta` */
  private constraintThetas: Theta[] = [];
  private readonly constraints: readonly Constraint[];
  private lastFitSize = 0;
  private readonly dx: number;
  private readonly sign: number;
  private readonly o: Required<Omit<GPSearcherOptions, 'minModelPoints'>>;
  private readonly minModelPoints: number;
  private readonly counts: SuggestionCounts = { model: 0, random: 0 };

  constructor(
    private readonly problem: SearchProblem,
    options: GPSearcherOptions = {},
    private readonly resource?: ResourceModel,
  ) {
    this.random = new RandomSearcher(problem);
    this.levelsWithEnd = resource ? [...resource.levels, resource.maxT] : [];
    this.dx = encodedDim(problem.configSpace);
    this.sign = problem.mode === 'min' ? 1 : -1;
    this.constraints = problem.constraints ?? [];
    this.o = {
      numInitRandom: options.numInitRandom ?? 5,
      numCandidates: options.numCandidates ?? 300,
      numFantasies: options.numFantasies ?? 8,
      maxFitPoints: options.maxFitPoints ?? 500,
      maxHyperFitPoints: options.maxHyperFitPoints ?? 128,
      refitGrowth: options.refitGrowth ?? 0.05,
      localSearchRounds: options.localSearchRounds ?? 5,
    };
    this.minModelPoints = options.minModelPoints ?? 3;
    if (!(Number.isInteger(this.minModelPoints) && this.minModelPoints >= 1)) throw new RangeError(`minModelPoints must be a positive integer, got ${this.minModelPoints}`);
  }

  private get inputDim(): number {
    return this.dx + (this.resource ? 1 : 0);
  }

  /** Resource as a model input in [0, 1] (log scale: learning curves move fastest early). */
  private resourceInput(r: number): number {
    return this.resource ? Math.log(r) / Math.log(Math.max(2, this.resource.maxT)) : 0;
  }

  private input(x: Float64Array, r: number | undefined, out: Float64Array, offset: number): void {
    out.set(x, offset);
    if (this.resource) out[offset + this.dx] = this.resourceInput(r!);
  }

  /**
   * The model is consulted once `numInitRandom` configs were suggested and there is data to fit:
   * Syne Tune's rule (ModelBasedSearcher._should_pick_random_config) for MOBSTER, one observation
   * at any level; BO keeps its two (a GP on one point has nothing to say about a second).
   */
  suggest(trialId: number): Config | undefined {
    const observed = this.observations();
    const modelReady =
      this.random.numSeen >= this.o.numInitRandom &&
      observed.length >= (this.resource ? 1 : 2) &&
      hyperparameters(this.problem.configSpace).length > 0;
    const config = randomOrModel(this.random, this.problem, this.counts, modelReady, () => this.modelSuggest(observed));
    if (!config) return undefined;
    this.addTrial(trialId, { config, x: encodeConfig(this.problem.configSpace, config), values: new Map(), constraintOutcomes: new Map() }, true);
    return config;
  }

  private addTrial(id: number, data: Omit<TrialData, 'seq'>, running: boolean): void {
    const old = this.trials.get(id);
    if (old) this.running.delete(old);
    const t = { ...data, seq: old ? old.seq : this.trials.size };
    this.trials.set(id, t);
    if (running) this.running.add(t);
  }

  /** All (trial, resource, value) data the model learns from. */
  private observations(): Observation[] {
    if (this.resource) return this.levelObservations;
    const out: Observation[] = [];
    for (const t of this.trials.values()) if (t.values.size > 0) out.push({ t, r: undefined, y: [...t.values.values()][0] });
    return out;
  }

  /**
   * MOBSTER: the resource level EI is scored at (Syne Tune's ResourceForAcquisitionBOHB): the highest
   * level with at least `minModelPoints` observations, else the lowest. The GP is joint over
   * (config, resource), so EI at a level with few observations still draws on all the others.
   */
  private acquisitionLevel(): number | undefined {
    if (!this.resource) return undefined;
    const levels = this.levelsWithEnd;
    for (let k = levels.length - 1; k >= 1; k--) if ((this.levelCounts.get(levels[k]) ?? 0) >= this.minModelPoints) return levels[k];
    return levels[0];
  }

  /** How many configs came from the model and how many were drawn at random, for metadata.json. */
  suggestionCounts(): SuggestionCounts {
    return { ...this.counts };
  }

  /** The constraint outcome of an observation: BO keeps a trial's latest, MOBSTER one per level. */
  private outcomeOf(o: Observation): ConstraintOutcome | undefined {
    return this.resource ? o.t.constraintOutcomes.get(o.r!) : o.t.constraintOutcomes.values().next().value;
  }

  /** The best standardised value y at level r (BO: r undefined), else at any level. */
  private incumbent(data: Observation[], y: Float64Array, r: number | undefined): number {
    let best = Infinity;
    data.forEach((o, i) => {
      if (o.r === r && y[i] < best) best = y[i];
    });
    return best === Infinity ? Math.min(...y) : best;
  }

  /**
   * The best feasible value, standardised, at level r (BO: r undefined), else at any level; undefined
   * when nothing is feasible yet. Taken over all observations: the cap keeps the objective's best half,
   * which may all be infeasible.
   */
  private feasibleIncumbent(observed: Observation[], r: number | undefined, mu: number, sd: number): number | undefined {
    let atLevel = Infinity;
    let anyLevel = Infinity;
    for (const o of observed) {
      if (!this.outcomeOf(o)?.feasible) continue;
      anyLevel = Math.min(anyLevel, o.y);
      if (o.r === r) atLevel = Math.min(atLevel, o.y);
    }
    const best = atLevel < Infinity ? atLevel : anyLevel;
    return best < Infinity ? (best - mu) / sd : undefined;
  }

  private modelSuggest(observedAll: Observation[]): Config | undefined {
    const D = this.inputDim;
    const { rng } = this.problem;
    const data = this.resource
      ? capObservationsByLevel(observedAll, this.o.maxFitPoints, this.levelsWithEnd, rng)
      : capObservations(observedAll, this.o.maxFitPoints, rng);
    const n = data.length;
    // o.y is already signed for minimisation
    const { z: y, mean: mu, sd } = standardise(Float64Array.from(data, (o) => o.y));
    const X = new Float64Array(n * D);
    data.forEach((o, i) => this.input(o.t.x, o.r, X, i * D));
    // each constraint's standardised slack, and where its threshold (slack 0) lies on that scale
    const slacks = this.constraints.map((c) => {
      const { z, mean, sd: scale } = standardise(imputeMissing(Float64Array.from(data, (o) => slack(c, this.outcomeOf(o)?.values[c.metric]))));
      return { z, bound: -mean / scale };
    });
    if (!this.theta || observedAll.length >= this.lastFitSize * (1 + this.o.refitGrowth) + 1) {
      const fitData = capObservations(data.map((o, i) => ({ i, y: o.y })), this.o.maxHyperFitPoints, rng);
      const Xf = new Float64Array(fitData.length * D);
      fitData.forEach((f, k) => Xf.set(X.subarray(f.i * D, (f.i + 1) * D), k * D));
      // a cold fit tries random restarts besides the default start; later fits start from the previous optimum
      const fit = (targets: Float64Array, warmStart: Theta | undefined) =>
        fitHyperparameters(Xf, Float64Array.from(fitData, (f) => targets[f.i]), D, { warmStart, restarts: warmStart ? 0 : 1, rng });
      this.theta = fit(y, this.theta);
      // the constraint GPs are fitted on the same points, each from its own previous optimum
      this.constraintThetas = slacks.map((s, k) => fit(s.z, this.constraintThetas[k]));
      this.lastFitSize = observedAll.length;
    }
    const rAcq = this.acquisitionLevel();
    const best = this.constraints.length > 0 ? this.feasibleIncumbent(observedAll, rAcq, mu, sd) : this.incumbent(data, y, rAcq);
    // pending trials are fantasized for the objective only (below); the constraint GPs predict from the
    // data alone, their posterior mean standing in for the pending trials' unknown constraint values
    const constraintPosteriors = slacks.map((s, k) => ({ posterior: new GPPosterior(X, s.z, this.constraintThetas[k]), bound: s.bound }));
    let posterior = new GPPosterior(X, y, this.theta);
    let alphas: Float64Array[] | undefined;
    // pending evaluations: fantasize their outcomes from the current posterior (jointly), refit nothing
    const pending = [...this.running].filter((t) => !this.hasValueAtNextLevel(t)).sort((a, b) => a.seq - b.seq);
    if (pending.length > 0) {
      const p = pending.length;
      const P = new Float64Array(p * D);
      pending.forEach((t, i) => this.input(t.x, this.nextLevel(t), P, i * D));
      const joint = posterior.jointPredict(P, p);
      const { mean, cov } = joint;
      const { L } = choleskyWithJitter(cov, p);
      const samples: Float64Array[] = [];
      for (let f = 0; f < this.o.numFantasies; f++) {
        const z = Float64Array.from({ length: p }, () => randomNormal(this.problem.rng));
        const ya = new Float64Array(n + p);
        ya.set(y);
        for (let i = 0; i < p; i++) {
          let s = mean[i];
          for (let k = 0; k <= i; k++) s += L[i * p + k] * z[k];
          ya[n + i] = s;
        }
        samples.push(ya);
      }
      posterior = posterior.withPending(P, p, joint, samples[0]);
      alphas = samples.map((s) => posterior.solveFor(s));
    }
    const score = (configs: Config[]): Float64Array => {
      const m = configs.length;
      const C = new Float64Array(m * D);
      configs.forEach((c, i) => this.input(encodeConfig(this.problem.configSpace, c), rAcq, C, i * D));
      const ei = new Float64Array(m);
      if (best === undefined) ei.fill(1);
      else {
        const { means, variance } = posterior.predict(C, m, alphas);
        for (let i = 0; i < m; i++) {
          let s = 0;
          for (const mean of means) s += expectedImprovement(mean[i], variance[i], best);
          ei[i] = s / means.length;
        }
      }
      for (const c of constraintPosteriors) {
        const { means, variance } = c.posterior.predict(C, m);
        for (let i = 0; i < m; i++) ei[i] *= probabilityBelow(means[0][i], variance[i], c.bound);
      }
      return ei;
    };
    return maximiseAcquisition(this.problem, this.random, score, this.o);
  }

  private nextLevel(t: TrialData): number | undefined {
    if (!this.resource) return undefined;
    const reached = Math.max(0, ...t.values.keys());
    return this.levelsWithEnd.find((l) => l > reached) ?? this.resource.maxT;
  }

  private hasValueAtNextLevel(t: TrialData): boolean {
    return this.resource ? false : t.values.size > 0;
  }

  private constraintOutcome(values: Readonly<Record<string, number | null>>): ConstraintOutcome {
    return { values, feasible: isFeasible(values, this.constraints) };
  }

  private keepConstraints(t: TrialData, resource: number, metrics: Readonly<Record<string, number>> | undefined): void {
    if (this.constraints.length === 0) return;
    t.constraintOutcomes.set(resource, this.constraintOutcome(Object.fromEntries(this.constraints.map((c) => [c.metric, metrics?.[c.metric] ?? null]))));
  }

  /** `metrics` may be left out by callers without constraints (a missing constraint metric is infeasible). */
  onTrialResult(trialId: number, resource: number, value: number, metrics?: Readonly<Record<string, number>>): void {
    const t = this.trials.get(trialId);
    if (!t) return;
    if (this.resource) {
      // only rung levels (and the end) enter the model: that is where the scheduler compares trials
      if (!this.levelsWithEnd.includes(resource)) return;
      if (t.values.has(resource)) return;
      t.values.set(resource, this.sign * value);
      this.keepConstraints(t, resource, metrics);
      this.levelObservations.push({ t, id: trialId, r: resource, y: this.sign * value });
      this.levelCounts.set(resource, (this.levelCounts.get(resource) ?? 0) + 1);
    } else {
      t.values.clear();
      t.values.set(resource, this.sign * value);
      t.constraintOutcomes.clear();
      this.keepConstraints(t, resource, metrics);
    }
  }

  onTrialIdle(trialId: number): void {
    const t = this.trials.get(trialId);
    if (t) this.running.delete(t);
  }

  onTrialResumed(trialId: number): void {
    const t = this.trials.get(trialId);
    if (t) this.running.add(t);
  }

  metadata() {
    const searcher = this.resource ? 'mobster-gp' : 'bayesopt-gp';
    const options = this.resource ? { ...this.o, minModelPoints: this.minModelPoints } : this.o;
    if (this.constraints.length === 0) return { searcher, kernel: 'matern52-ard', acquisition: 'expected-improvement', ...options };
    const constraints = this.constraints.map(({ metric, mode, threshold }) => ({ metric, mode, threshold }));
    return { searcher, kernel: 'matern52-ard', acquisition: 'constrained-expected-improvement', constraints, ...options };
  }

  state() {
    const withConstraints = this.constraints.length > 0;
    return {
      random: this.random.state(),
      theta: this.theta ? [...this.theta] : null,
      ...(withConstraints && { constraintThetas: this.constraintThetas.map((t) => [...t]) }),
      lastFitSize: this.lastFitSize,
      suggestions: { ...this.counts },
      trials: [...this.trials].map(([id, t]) => [
        id,
        {
          config: t.config,
          values: [...t.values],
          running: this.running.has(t),
          ...(withConstraints && { constraintValues: [...t.constraintOutcomes].map(([r, o]) => [r, o.values]) }),
        },
      ]),
      levelObservations: this.levelObservations.map((o) => [o.id, o.r]),
    };
  }

  restore(state: unknown): void {
    const s = state as {
      random: unknown;
      theta: number[] | null;
      constraintThetas?: number[][];
      lastFitSize: number;
      suggestions: SuggestionCounts;
      trials: [number, { config: Config; values: [number, number][]; running: boolean; constraintValues?: [number, Record<string, number | null>][] }][];
      levelObservations: [number, number][];
    };
    this.random.restore(s.random);
    this.theta = s.theta ? Float64Array.from(s.theta) : undefined;
    this.constraintThetas = (s.constraintThetas ?? []).map((t) => Float64Array.from(t));
    this.lastFitSize = s.lastFitSize;
    Object.assign(this.counts, s.suggestions);
    this.trials.clear();
    this.running.clear();
    for (const [id, t] of s.trials) {
      const constraintOutcomes = new Map((t.constraintValues ?? []).map(([r, values]) => [r, this.constraintOutcome(values)]));
      this.addTrial(id, { config: t.config, x: encodeConfig(this.problem.configSpace, t.config), values: new Map(t.values), constraintOutcomes }, t.running);
    }
    this.levelObservations.length = 0;
    this.levelCounts.clear();
    for (const [id, r] of s.levelObservations) {
      const t = this.trials.get(id)!;
      this.levelObservations.push({ t, id, r, y: t.values.get(r)! });
      this.levelCounts.set(r, (this.levelCounts.get(r) ?? 0) + 1);
    }
  }
}
