import type { Config } from '../../config-space/index.js';
import { signed } from '../../results/pareto.js';
import { objectivesOf, type ResultScalar, type SearchProblem, type Searcher } from '../types.js';
import type { Rng } from '../../util/rng.js';
import { GPSearcher, type GPSearcherOptions } from './gp-searcher.js';

/** ParEGO's weight of the sum next to the max (Knowles 2006). */
const RHO = 0.05;

interface Observed {
  resource: number;
  point: number[];
  metrics: Readonly<Record<string, number>>;
}

/** Weights uniform on the simplex: normalised exponential draws. */
export function simplexWeights(rng: Rng, m: number): number[] {
  const e = Array.from({ length: m }, () => -Math.log(1 - rng.next()));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/**
 * ParEGO's scalar of each point (signed objectives, smaller is better) under weights w: every
 * objective mapped to [0, 1] by the points' range (best → 0), then max_k w_k f_k + ρ Σ_k w_k f_k.
 */
export function parEGOScalars(points: readonly (readonly number[])[], w: readonly number[]): number[] {
  const m = w.length;
  const lo = new Array<number>(m).fill(Infinity);
  const hi = new Array<number>(m).fill(-Infinity);
  for (const p of points) {
    for (let k = 0; k < m; k++) {
      lo[k] = Math.min(lo[k], p[k]);
      hi[k] = Math.max(hi[k], p[k]);
    }
  }
  return points.map((p) => {
    let max = -Infinity;
    let sum = 0;
    for (let k = 0; k < m; k++) {
      const f = hi[k] > lo[k] ? (p[k] - lo[k]) / (hi[k] - lo[k]) : 0;
      max = Math.max(max, w[k] * f);
      sum += w[k] * f;
    }
    return max + RHO * sum;
  });
}

/**
 * Bayesian optimisation of several objectives by random scalarizations (ParEGO, Knowles 2006): each
 * suggestion draws weights λ uniformly on the simplex, maps every observed objective to [0, 1] by
 * the observed range (best → 0), scalarizes with the augmented Chebyshev function
 * max_k λ_k f_k + ρ Σ_k λ_k f_k (ρ = 0.05), and asks our GP searcher (Matern 5/2, expected
 * improvement, pending trials fantasized) for the config that minimises that scalar. The GP's
 * targets are rewritten for each draw (O(n) per suggestion; its hyperparameters are refitted as
 * the data grows, as for one objective).
 */
export class ParEGOSearcher implements Searcher {
  private readonly gp: GPSearcher;
  private readonly observed = new Map<number, Observed>();
  /** per trial: the weights it was proposed under (none: proposed before any observation) */
  private readonly weightsOf = new Map<number, number[]>();
  /**
   * The results column `parego_scalar`: a trial's latest result scalarized under the weights it was
   * proposed under, the objectives normalised by the ranges observed so far (this result among them);
   * empty for a trial proposed before any observation (no weights were drawn for it).
   */
  readonly scalar: ResultScalar = { column: 'parego_scalar', of: (trialId) => this.scalarOf(trialId) };

  constructor(
    private readonly problem: SearchProblem,
    options: GPSearcherOptions = {},
  ) {
    // the GP minimises the scalar; constraints it models from the metrics, as for one objective
    this.gp = new GPSearcher({ ...problem, mode: 'min', objectives: undefined }, options);
  }

  /** The scalar of every observed trial under weights w, fed to the GP. */
  private scalarize(w: number[]): void {
    const observed = [...this.observed];
    const scalars = parEGOScalars(
      observed.map(([, o]) => o.point),
      w,
    );
    observed.forEach(([id, o], i) => this.gp.onTrialResult(id, o.resource, scalars[i], o.metrics));
  }

  suggest(trialId: number): Config | undefined {
    if (this.observed.size > 0) {
      const w = simplexWeights(this.problem.rng, objectivesOf(this.problem).length);
      this.weightsOf.set(trialId, w);
      this.scalarize(w);
    }
    return this.gp.suggest(trialId);
  }

  private scalarOf(trialId: number): number | undefined {
    const w = this.weightsOf.get(trialId);
    const own = this.observed.get(trialId);
    if (!w || !own) return undefined;
    // by the ranges of every observed point, this one last: O(observed), as a suggestion's scalarization
    const others = [...this.observed].filter(([id]) => id !== trialId).map(([, o]) => o.point);
    return parEGOScalars([...others, own.point], w).at(-1);
  }

  onTrialResult(trialId: number, resource: number, _value: number, metrics: Readonly<Record<string, number>>): void {
    const point = signed(objectivesOf(this.problem), metrics);
    // a result lacking an objective cannot be scalarized: the GP does not learn from it
    if (point.some(Number.isNaN)) return;
    this.observed.set(trialId, { resource, point, metrics: { ...metrics } });
  }

  /** A failed trial keeps what it reported (real observations), as in BO. */
  onTrialIdle(trialId: number): void {
    this.gp.onTrialIdle(trialId);
  }

  onTrialResumed(trialId: number): void {
    this.gp.onTrialResumed(trialId);
  }

  suggestionCounts() {
    return this.gp.suggestionCounts();
  }

  metadata() {
    return { ...this.gp.metadata(), searcher: 'parego-gp', scalarization: 'augmented chebyshev', rho: RHO, objectives: objectivesOf(this.problem) };
  }

  state() {
    return { gp: this.gp.state(), observed: [...this.observed], weights: [...this.weightsOf] };
  }

  restore(state: unknown): void {
    const s = state as { gp: unknown; observed: [number, Observed][]; weights?: [number, number[]][] };
    this.gp.restore(s.gp);
    this.observed.clear();
    for (const [id, o] of s.observed) this.observed.set(id, o);
    this.weightsOf.clear();
    // a checkpoint written before the weights were kept: its trials' scalars stay empty
    for (const [id, w] of s.weights ?? []) this.weightsOf.set(id, w);
  }
}
