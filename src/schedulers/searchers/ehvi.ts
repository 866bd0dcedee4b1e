import { type Config, encodeConfig, encodedDim, hyperparameters } from '../../config-space/index.js';
import { DEFAULT_REFERENCE, type HypervolumeSetting, nonDominatedRanks, paretoFrontIndices, signed } from '../../results/pareto.js';
import { expectedHypervolumeImprovement, nonDominatedBoxes } from '../gp/ehvi.js';
import { GPPosterior, type Theta, fitHyperparameters } from '../gp/gp.js';
import { maximiseAcquisition } from '../gp/maximise.js';
import { isFeasible } from '../constraints.js';
import { objectivesOf, type SearchProblem, type Searcher, type SuggestionCounts } from '../types.js';
import { capObservations, standardise } from './gp-searcher.js';
import { randomOrModel } from './random-or-model.js';
import { RandomSearcher } from './random.js';

export interface EHVISearcherOptions {
  /** Random configs before the model takes over (default 5, as BO). */
  numInitRandom?: number;
  /** Random candidates scored per suggestion (default 300, as BO). */
  numCandidates?: number;
  /** Rounds of local search from the best candidate, 8 neighbours each (default 5, as BO). */
  localSearchRounds?: number;
  /** At most this many observations enter the posteriors: the best half by non-dominated front and a random rest (default 500). */
  maxFitPoints?: number;
  /** ... and at most this many the hyperparameter fits (default 128). */
  maxHyperFitPoints?: number;
  /** Refit the hyperparameters when the data grew by this fraction since the last fit (default 0.05). */
  refitGrowth?: number;
}

interface TrialData {
  config: Config;
  x: Float64Array;
  /** the signed objectives of its latest result (one value per trial, as BO) */
  point?: number[];
  /** whether that result satisfies the outcome constraints (an infeasible point is modelled but not on the front) */
  feasible?: boolean;
  running: boolean;
}

/**
 * Bayesian optimisation of 2 or 3 objectives by expected hypervolume improvement (Emmerich et al.
 * 2006; exact box decomposition, src/schedulers/gp/ehvi.ts). Objectives are mapped to [0, 1] by the
 * benchmark's hypervolume setting (best → 0, reference point at its `reference`), or, without one
 * (an experiment file), by the observed range with the reference at 1.1. One independent GP per
 * objective (Matern 5/2 ARD, our GP) is fitted to the standardised normalised values; the
 * acquisition is maximised over random candidates plus local search, as BO.
 * Pending trials: kriging believer — each running trial without a result is taken to have its
 * posterior mean in every objective; it enters every GP (shrinking the variance around it) and the
 * front (its neighbourhood promises less improvement), so parallel workers get different configs.
 * With outcome constraints, an infeasible result is modelled but is not on the front.
 */
export class EHVISearcher implements Searcher {
  private readonly random: RandomSearcher;
  private readonly trials = new Map<number, TrialData>();
  private thetas: Theta[] = [];
  private lastFitSize = 0;
  private readonly m: number;
  private readonly o: Required<EHVISearcherOptions>;
  private readonly counts: SuggestionCounts = { model: 0, random: 0 };

  constructor(
    private readonly problem: SearchProblem,
    options: EHVISearcherOptions = {},
    /** the benchmark's normalisation and reference point (absent: the observed range, reference 1.1) */
    private readonly setting?: HypervolumeSetting,
  ) {
    this.m = objectivesOf(problem).length;
    if (this.m > 3) throw new Error(`EHVI: exact for 1 to 3 objectives, got ${this.m}`);
    this.random = new RandomSearcher(problem);
    this.o = {
      numInitRandom: options.numInitRandom ?? 5,
      numCandidates: options.numCandidates ?? 300,
      localSearchRounds: options.localSearchRounds ?? 5,
      maxFitPoints: options.maxFitPoints ?? 500,
      maxHyperFitPoints: options.maxHyperFitPoints ?? 128,
      refitGrowth: options.refitGrowth ?? 0.05,
    };
  }

  suggest(trialId: number): Config | undefined {
    const observed = [...this.trials.values()].filter((t) => t.point);
    const modelReady = this.random.numSeen >= this.o.numInitRandom && observed.length >= 2 && hyperparameters(this.problem.configSpace).length > 0;
    const config = randomOrModel(this.random, this.problem, this.counts, modelReady, () => this.modelSuggest(observed));
    if (!config) return undefined;
    this.trials.set(trialId, { config, x: encodeConfig(this.problem.configSpace, config), running: true });
    return config;
  }

  /** Signed points in [0, 1] per objective (best → 0) and the reference point there. */
  private normalisation(points: number[][]): { lower: number[]; scale: number[]; reference: number[] } {
    if (this.setting) {
      const { lower, upper, reference } = this.setting;
      return { lower, scale: upper.map((u, k) => u - lower[k] || 1), reference };
    }
    const lower = Array.from({ length: this.m }, (_, k) => Math.min(...points.map((p) => p[k])));
    const upper = Array.from({ length: this.m }, (_, k) => Math.max(...points.map((p) => p[k])));
    return { lower, scale: upper.map((u, k) => u - lower[k] || 1), reference: new Array(this.m).fill(DEFAULT_REFERENCE) };
  }

  private modelSuggest(observedAll: TrialData[]): Config | undefined {
    const { rng } = this.problem;
    const D = encodedDim(this.problem.configSpace);
    const m = this.m;
    // the posteriors see the best half by non-dominated front and a random rest, as BO's cap by value
    const ranks = nonDominatedRanks(observedAll.map((t) => t.point!));
    const kept = capObservations(observedAll.map((t, i) => ({ t, y: ranks[i] })), this.o.maxFitPoints, rng);
    const data = kept.map((d) => d.t);
    const n = data.length;
    const { lower, scale, reference } = this.normalisation(data.map((t) => t.point!));
    const X = new Float64Array(n * D);
    data.forEach((t, i) => X.set(t.x, i * D));
    const targets = Array.from({ length: m }, (_, k) => standardise(Float64Array.from(data, (t) => (t.point![k] - lower[k]) / scale[k])));
    if (this.thetas.length === 0 || observedAll.length >= this.lastFitSize * (1 + this.o.refitGrowth) + 1) {
      const fitData = capObservations(kept.map((d, i) => ({ i, y: d.y })), this.o.maxHyperFitPoints, rng);
      const Xf = new Float64Array(fitData.length * D);
      fitData.forEach((f, r) => Xf.set(X.subarray(f.i * D, (f.i + 1) * D), r * D));
      this.thetas = targets.map((tg, k) => {
        const warmStart = this.thetas[k];
        return fitHyperparameters(Xf, Float64Array.from(fitData, (f) => tg.z[f.i]), D, { warmStart, restarts: warmStart ? 0 : 1, rng });
      });
      this.lastFitSize = observedAll.length;
    }
    let posteriors = targets.map((tg, k) => new GPPosterior(X, tg.z, this.thetas[k]));
    // the front in normalised units (the boxes grow with its square in 3-D: its members only), then the believed pending points
    const feasible = observedAll.filter((t) => t.feasible);
    const front = paretoFrontIndices(feasible.map((t) => t.point!)).map((i) => feasible[i].point!.map((v, k) => (v - lower[k]) / scale[k]));
    const pending = [...this.trials.values()].filter((t) => t.running && !t.point);
    if (pending.length > 0) {
      const p = pending.length;
      const P = new Float64Array(p * D);
      pending.forEach((t, i) => P.set(t.x, i * D));
      const believed = pending.map(() => new Array<number>(m));
      posteriors = posteriors.map((post, k) => {
        const joint = post.jointPredict(P, p);
        const ya = new Float64Array(n + p);
        ya.set(targets[k].z);
        ya.set(joint.mean, n);
        joint.mean.forEach((z, i) => (believed[i][k] = targets[k].mean + targets[k].sd * z));
        return post.withPending(P, p, joint, ya);
      });
      front.push(...believed);
    }
    const boxes = nonDominatedBoxes(front, reference);
    const score = (configs: Config[]): Float64Array => {
      const c = configs.length;
      const C = new Float64Array(c * D);
      configs.forEach((cfg, i) => C.set(encodeConfig(this.problem.configSpace, cfg), i * D));
      const preds = posteriors.map((post) => post.predict(C, c));
      const out = new Float64Array(c);
      const mean = new Float64Array(m);
      const sd = new Float64Array(m);
      for (let i = 0; i < c; i++) {
        for (let k = 0; k < m; k++) {
          mean[k] = targets[k].mean + targets[k].sd * preds[k].means[0][i];
          sd[k] = targets[k].sd * Math.sqrt(preds[k].variance[i]);
        }
        out[i] = expectedHypervolumeImprovement(boxes, mean, sd);
      }
      return out;
    };
    return maximiseAcquisition(this.problem, this.random, score, this.o);
  }

  onTrialResult(trialId: number, _resource: number, _value: number, metrics: Readonly<Record<string, number>>): void {
    const t = this.trials.get(trialId);
    if (!t) return;
    const point = signed(objectivesOf(this.problem), metrics);
    // a result lacking an objective cannot be modelled: the GPs do not learn from it
    if (point.some(Number.isNaN)) return;
    t.point = point;
    t.feasible = isFeasible(metrics, this.problem.constraints ?? []);
  }

  onTrialIdle(trialId: number): void {
    const t = this.trials.get(trialId);
    if (t) t.running = false;
  }

  onTrialResumed(trialId: number): void {
    const t = this.trials.get(trialId);
    if (t) t.running = true;
  }

  suggestionCounts(): SuggestionCounts {
    return { ...this.counts };
  }

  metadata() {
    return {
      searcher: 'ehvi-gp',
      kernel: 'matern52-ard',
      acquisition: 'expected-hypervolume-improvement',
      ehvi: 'exact (box decomposition)',
      pending: 'kriging believer',
      normalisation: this.setting ? 'benchmark hypervolume setting' : 'observed range, reference 1.1',
      objectives: objectivesOf(this.problem),
      ...this.o,
    };
  }

  state() {
    return {
      random: this.random.state(),
      thetas: this.thetas.map((t) => [...t]),
      lastFitSize: this.lastFitSize,
      suggestions: { ...this.counts },
      trials: [...this.trials].map(([id, t]) => [id, { config: t.config, point: t.point ?? null, feasible: t.feasible ?? null, running: t.running }]),
    };
  }

  restore(state: unknown): void {
    const s = state as { random: unknown; thetas: number[][]; lastFitSize: number; suggestions: SuggestionCounts; trials: [number, { config: Config; point: number[] | null; feasible: boolean | null; running: boolean }][] };
    this.random.restore(s.random);
    this.thetas = s.thetas.map((t) => Float64Array.from(t));
    this.lastFitSize = s.lastFitSize;
    Object.assign(this.counts, s.suggestions);
    this.trials.clear();
    for (const [id, t] of s.trials) this.trials.set(id, { config: t.config, x: encodeConfig(this.problem.configSpace, t.config), point: t.point ?? undefined, feasible: t.feasible ?? undefined, running: t.running });
  }
}
