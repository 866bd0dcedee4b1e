import { type Config, encodeConfig, encodedDim, hyperparameters, sampleConfig } from '../../config-space/index.js';
import { type Rng, randomNormal } from '../../util/rng.js';
import { expectedImprovement } from '../gp/acquisition.js';
import { GPPosterior, type Theta, fitHyperparameters } from '../gp/gp.js';
import { choleskyWithJitter } from '../gp/linalg.js';
import type { SearchProblem, Searcher } from '../types.js';
import { RandomSearcher } from './random.js';

export interface GPSearcherOptions {
  /** Random configs before the model takes over (default 5). */
  numInitRandom?: number;
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

interface TrialData {
  config: Config;
  x: Float64Array;
  /** metric (as a value to minimise) per resource level */
  values: Map<number, number>;
  /** position in `trials` (pending trials are fantasized in this order) */
  seq: number;
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
  private readonly levelObservations: { t: TrialData; id: number; r: number; y: number }[] = [];
  /** MOBSTER: the rung levels and the maximal resource, where observations enter the model */
  private readonly levelsWithEnd: number[];
  private theta: Theta | undefined;
  private lastFitSize = 0;
  private readonly dx: number;
  private readonly sign: number;
  private readonly o: Required<GPSearcherOptions>;

  constructor(
    private readonly problem: SearchProblem,
    options: GPSearcherOptions = {},
    private readonly resource?: ResourceModel,
  ) {
    this.random = new RandomSearcher(problem);
    this.levelsWithEnd = resource ? [...resource.levels, resource.maxT] : [];
    this.dx = encodedDim(problem.configSpace);
    this.sign = problem.mode === 'min' ? 1 : -1;
    this.o = {
      numInitRandom: options.numInitRandom ?? 5,
      numCandidates: options.numCandidates ?? 300,
      numFantasies: options.numFantasies ?? 8,
      maxFitPoints: options.maxFitPoints ?? 500,
      maxHyperFitPoints: options.maxHyperFitPoints ?? 128,
      refitGrowth: options.refitGrowth ?? 0.05,
      localSearchRounds: options.localSearchRounds ?? 5,
    };
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

  suggest(trialId: number): Config | undefined {
    const observed = this.observations();
    let config: Config | undefined;
    const modelReady = this.random.numSeen >= this.o.numInitRandom && observed.length >= 2 && hyperparameters(this.problem.configSpace).length > 0;
    if (!modelReady || (this.problem.pointsToEvaluate?.length ?? 0) > this.random.numSeen) config = this.random.suggest();
    else if (this.random.hasUnseen) {
      config = this.modelSuggest(observed);
      if (config) this.random.markSeen(config);
    }
    if (!config) return undefined;
    this.addTrial(trialId, { config, x: encodeConfig(this.problem.configSpace, config), values: new Map() }, true);
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
  private observations(): { t: TrialData; r: number | undefined; y: number }[] {
    if (this.resource) return this.levelObservations;
    const out: { t: TrialData; r: number | undefined; y: number }[] = [];
    for (const t of this.trials.values()) if (t.values.size > 0) out.push({ t, r: undefined, y: [...t.values.values()][0] });
    return out;
  }

  /** The resource level EI looks at: the highest with more than d observations, else the lowest. */
  private acquisitionLevel(): number | undefined {
    if (!this.resource) return undefined;
    const levels = this.levelsWithEnd;
    for (let k = levels.length - 1; k >= 0; k--) if ((this.levelCounts.get(levels[k]) ?? 0) > this.dx) return levels[k];
    return levels[0];
  }

  private modelSuggest(observedAll: { t: TrialData; r: number | undefined; y: number }[]): Config | undefined {
    const D = this.inputDim;
    const { rng } = this.problem;
    const data = this.resource
      ? capObservationsByLevel(observedAll, this.o.maxFitPoints, this.levelsWithEnd, rng)
      : capObservations(observedAll, this.o.maxFitPoints, rng);
    const n = data.length;
    let mu = 0;
    for (const o of data) mu += o.y;
    mu /= n;
    let sd = 0;
    for (const o of data) sd += (o.y - mu) ** 2;
    sd = Math.sqrt(sd / n) || 1;
    const X = new Float64Array(n * D);
    const y = new Float64Array(n);
    data.forEach((o, i) => {
      this.input(o.t.x, o.r, X, i * D);
      y[i] = (o.y - mu) / sd; // o.y is already signed for minimisation
    });
    if (!this.theta || observedAll.length >= this.lastFitSize * (1 + this.o.refitGrowth) + 1) {
      const fitData = capObservations(data.map((o, i) => ({ i, y: o.y })), this.o.maxHyperFitPoints, rng);
      const Xf = new Float64Array(fitData.length * D);
      const yf = new Float64Array(fitData.length);
      fitData.forEach((f, k) => {
        Xf.set(X.subarray(f.i * D, (f.i + 1) * D), k * D);
        yf[k] = y[f.i];
      });
      // a cold fit tries random restarts besides the default start; later fits start from the previous optimum
      this.theta = fitHyperparameters(Xf, yf, D, { warmStart: this.theta, restarts: this.theta ? 0 : 1, rng: this.problem.rng });
      this.lastFitSize = observedAll.length;
    }
    const rAcq = this.acquisitionLevel();
    let best = Infinity;
    data.forEach((o, i) => {
      if (o.r === rAcq && y[i] < best) best = y[i];
    });
    if (best === Infinity) best = Math.min(...y);
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
      const { means, variance } = posterior.predict(C, m, alphas);
      const ei = new Float64Array(m);
      for (let i = 0; i < m; i++) {
        let s = 0;
        for (const mean of means) s += expectedImprovement(mean[i], variance[i], best);
        ei[i] = s / means.length;
      }
      return ei;
    };
    const candidates = this.candidates();
    if (candidates.length === 0) return undefined;
    const ei = score(candidates);
    let bi = 0;
    for (let i = 1; i < ei.length; i++) if (ei[i] > ei[bi]) bi = i;
    let bestConfig = candidates[bi];
    let bestEi = ei[bi];
    if (!this.problem.restrictTo) {
      for (let round = 0; round < this.o.localSearchRounds; round++) {
        const neighbours = Array.from({ length: 8 }, () => this.neighbour(bestConfig)).filter((c) => !this.random.hasSeen(c));
        if (neighbours.length === 0) break;
        const nei = score(neighbours);
        let k = 0;
        for (let i = 1; i < nei.length; i++) if (nei[i] > nei[k]) k = i;
        if (!(nei[k] > bestEi)) break;
        bestConfig = neighbours[k];
        bestEi = nei[k];
      }
    }
    return bestConfig;
  }

  /** Unseen candidate configs: random draws from the space, or from the table when restricted. */
  private candidates(): Config[] {
    const { restrictTo, configSpace, rng } = this.problem;
    const out: Config[] = [];
    if (restrictTo) {
      const unseen = restrictTo.filter((c) => !this.random.hasSeen(c));
      if (unseen.length <= 2 * this.o.numCandidates) return unseen.map((c) => ({ ...c }));
      for (let i = 0; i < this.o.numCandidates; i++) out.push({ ...unseen[Math.floor(rng.next() * unseen.length)] });
      return out;
    }
    for (let attempt = 0; out.length < this.o.numCandidates && attempt < 4 * this.o.numCandidates; attempt++) {
      const c = sampleConfig(configSpace, rng);
      if (!this.random.hasSeen(c)) out.push(c);
    }
    return out;
  }

  /** The config with one hyperparameter moved: a nearby value, or another value of a finite domain. */
  private neighbour(config: Config): Config {
    const { configSpace, rng } = this.problem;
    const hps = hyperparameters(configSpace);
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
    return out;
  }

  private nextLevel(t: TrialData): number | undefined {
    if (!this.resource) return undefined;
    const reached = Math.max(0, ...t.values.keys());
    return this.levelsWithEnd.find((l) => l > reached) ?? this.resource.maxT;
  }

  private hasValueAtNextLevel(t: TrialData): boolean {
    return this.resource ? false : t.values.size > 0;
  }

  onTrialResult(trialId: number, resource: number, value: number): void {
    const t = this.trials.get(trialId);
    if (!t) return;
    if (this.resource) {
      // only rung levels (and the end) enter the model: that is where the scheduler compares trials
      if (!this.levelsWithEnd.includes(resource)) return;
      if (t.values.has(resource)) return;
      t.values.set(resource, this.sign * value);
      this.levelObservations.push({ t, id: trialId, r: resource, y: this.sign * value });
      this.levelCounts.set(resource, (this.levelCounts.get(resource) ?? 0) + 1);
    } else {
      t.values.clear();
      t.values.set(resource, this.sign * value);
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
    return { searcher: this.resource ? 'mobster-gp' : 'bayesopt-gp', kernel: 'matern52-ard', acquisition: 'expected-improvement', ...this.o };
  }

  state() {
    return {
      random: this.random.state(),
      theta: this.theta ? [...this.theta] : null,
      lastFitSize: this.lastFitSize,
      trials: [...this.trials].map(([id, t]) => [id, { config: t.config, values: [...t.values], running: this.running.has(t) }]),
      levelObservations: this.levelObservations.map((o) => [o.id, o.r]),
    };
  }

  restore(state: unknown): void {
    const s = state as {
      random: unknown;
      theta: number[] | null;
      lastFitSize: number;
      trials: [number, { config: Config; values: [number, number][]; running: boolean }][];
      levelObservations: [number, number][];
    };
    this.random.restore(s.random);
    this.theta = s.theta ? Float64Array.from(s.theta) : undefined;
    this.lastFitSize = s.lastFitSize;
    this.trials.clear();
    this.running.clear();
    for (const [id, t] of s.trials) {
      this.addTrial(id, { config: t.config, x: encodeConfig(this.problem.configSpace, t.config), values: new Map(t.values) }, t.running);
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
