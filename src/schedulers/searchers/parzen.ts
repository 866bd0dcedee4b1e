import { normalCdf } from '../gp/acquisition.js';
import { type Rng, randomNormal } from '../../util/rng.js';

/**
 * One dimension of a Parzen estimator, in TPE's internal representation: a numeric axis
 * [low, high] (log already applied; `step` 1 for integers and indices, 0 for continuous values) or
 * a categorical index in [0, size).
 */
export type ParzenDim = { kind: 'numeric'; low: number; high: number; step: number } | { kind: 'categorical'; size: number };

export interface ParzenSettings {
  /** Weight of the prior kernel (Optuna: 1). */
  priorWeight: number;
  /** Floor each bandwidth at range / min(100, 1 + n + 1) (Optuna's consider_magic_clip). */
  magicClip: boolean;
  /** Scott-like bandwidth 0.2 · n^(-1/(d+4)) · range on every dimension (Optuna's multivariate TPE) instead of neighbour distances. */
  multivariate: boolean;
}

/** Optuna's default γ: the number of observations in the "good" group. */
export const tpeGamma = (n: number) => Math.min(Math.ceil(0.1 * n), 25);

/** Optuna's default weights of n observations in trial order: flat for the newest 25, a ramp from 1/n up for older ones. */
export function tpeWeights(n: number): Float64Array {
  const w = new Float64Array(n).fill(1);
  const ramp = n - 25;
  if (ramp <= 0) return w;
  for (let i = 0; i < ramp; i++) w[i] = ramp === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (ramp - 1);
  return w;
}

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** log(Φ(b) − Φ(a)) for a < b, using the upper tail when both are positive (no cancellation there). */
export function logNormalMass(a: number, b: number): number {
  const mass = a > 0 ? normalCdf(-a) - normalCdf(-b) : normalCdf(b) - normalCdf(a);
  return mass > 0 ? Math.log(mass) : -Infinity;
}

interface NumericKernels {
  kind: 'numeric';
  dim: Extract<ParzenDim, { kind: 'numeric' }>;
  mus: Float64Array;
  sigmas: Float64Array;
  /** log of each kernel's mass inside the (step-widened) bounds (empty when `mass` is tabulated) */
  logZ: Float64Array;
  /**
   * a discrete axis of at most MAX_TABULATED values: the distinct kernels' probabilities of each value
   * (row r's value v at r · values + v; kernels on a discrete axis share few centres and bandwidths),
   * and each kernel's row
   */
  mass?: { rows: Float64Array; rowOf: Int32Array; values: number };
}

/** Discrete axes up to this many values get their kernels' masses tabulated once per estimator (candidates only look them up). */
const MAX_TABULATED = 256;

interface CategoricalKernels {
  kind: 'categorical';
  size: number;
  /** kernel k's probability of category c at k · size + c */
  probs: Float64Array;
}

type Kernels = NumericKernels | CategoricalKernels;

/**
 * Optuna's Parzen estimator: a mixture of one kernel per observation plus a prior kernel, each a
 * product over dimensions of a truncated normal (discretised for integer steps) or a categorical
 * distribution. `obs[d][i]` is observation i's value on dimension d, `obsWeights[i]` its weight
 * before the prior's is appended and all are normalised.
 */
export class ParzenEstimator {
  readonly weights: Float64Array;
  readonly kernels: Kernels[];
  /** number of kernels (observations, then the prior) */
  readonly size: number;

  constructor(
    readonly dims: readonly ParzenDim[],
    obs: readonly Float64Array[],
    obsWeights: Float64Array,
    settings: ParzenSettings,
    /** per dimension, optionally: the observations' indices sorted by value (saves a sort per estimator) */
    sortedOrders?: readonly (Int32Array | undefined)[],
  ) {
    const n = obsWeights.length;
    this.size = n + 1;
    this.weights = new Float64Array(n + 1);
    this.weights.set(obsWeights);
    this.weights[n] = n === 0 ? 1 : settings.priorWeight;
    let total = 0;
    for (const w of this.weights) total += w;
    for (let k = 0; k <= n; k++) this.weights[k] /= total;
    this.kernels = dims.map((dim, d) => (dim.kind === 'numeric' ? numericKernels(dim, obs[d], dims.length, settings, sortedOrders?.[d]) : categoricalKernels(dim.size, obs[d], settings.priorWeight)));
  }

  /** log density (probability mass for discrete dimensions) of m points, given per dimension. */
  logPdf(points: readonly Float64Array[], m: number): Float64Array {
    if (this.kernels.length === 1) {
      // one finite axis: the mixture's mass per value once (K · V terms), then a look-up per point
      const table = this.valueTable(this.kernels[0]);
      if (table) {
        const x = points[0];
        const kern = this.kernels[0];
        return Float64Array.from({ length: m }, (_, j) => table[kern.kind === 'categorical' ? x[j] : Math.round((x[j] - kern.dim.low) / kern.dim.step)]);
      }
    }
    const K = this.size;
    // acc[k * m + j]: log w_k + Σ_d log kernel_k,d(x_j)
    const acc = new Float64Array(K * m);
    for (let k = 0; k < K; k++) acc.fill(Math.log(this.weights[k]), k * m, (k + 1) * m);
    this.kernels.forEach((kern, d) => {
      const x = points[d];
      if (kern.kind === 'categorical') {
        for (let k = 0; k < K; k++) for (let j = 0; j < m; j++) acc[k * m + j] += Math.log(kern.probs[k * kern.size + x[j]]);
        return;
      }
      const { mus, sigmas, logZ, dim, mass } = kern;
      const half = dim.step / 2;
      if (mass) {
        const { rowOf, values: V } = mass;
        const logRows = mass.rows.map(Math.log);
        for (let j = 0; j < m; j++) {
          const v = Math.round((x[j] - dim.low) / dim.step);
          for (let k = 0; k < K; k++) acc[k * m + j] += logRows[rowOf[k] * V + v];
        }
        return;
      }
      for (let k = 0; k < K; k++) {
        const mu = mus[k];
        const s = sigmas[k];
        if (half === 0) {
          const c = -Math.log(s) - LOG_SQRT_2PI - logZ[k];
          for (let j = 0; j < m; j++) {
            const z = (x[j] - mu) / s;
            acc[k * m + j] += c - 0.5 * z * z;
          }
        } else {
          for (let j = 0; j < m; j++) acc[k * m + j] += logNormalMass((x[j] - half - mu) / s, (x[j] + half - mu) / s) - logZ[k];
        }
      }
    });
    const out = new Float64Array(m);
    for (let j = 0; j < m; j++) {
      let max = -Infinity;
      for (let k = 0; k < K; k++) if (acc[k * m + j] > max) max = acc[k * m + j];
      if (max === -Infinity) {
        out[j] = -Infinity;
        continue;
      }
      let s = 0;
      for (let k = 0; k < K; k++) s += Math.exp(acc[k * m + j] - max);
      out[j] = max + Math.log(s);
    }
    return out;
  }

  /** log mass of every value of a categorical or tabulated discrete axis, or undefined for another axis. */
  private valueTable(kern: Kernels): Float64Array | undefined {
    const K = this.size;
    const w = this.weights;
    if (kern.kind === 'categorical') {
      const V = kern.size;
      const p = new Float64Array(V);
      for (let k = 0; k < K; k++) for (let v = 0; v < V; v++) p[v] += w[k] * kern.probs[k * V + v];
      return p.map(Math.log);
    }
    if (!kern.mass) return undefined;
    const { rows, rowOf, values: V } = kern.mass;
    const p = new Float64Array(V);
    for (let k = 0; k < K; k++) for (let v = 0, o = rowOf[k] * V; v < V; v++) p[v] += w[k] * rows[o + v];
    return p.map(Math.log);
  }

  /** m points drawn from the mixture (one kernel per point, all its dimensions from that kernel). */
  sample(rng: Rng, m: number): Float64Array[] {
    const out = this.dims.map(() => new Float64Array(m));
    for (let j = 0; j < m; j++) {
      let u = rng.next();
      let k = 0;
      while (k < this.size - 1 && u >= this.weights[k]) u -= this.weights[k++];
      this.kernels.forEach((kern, d) => {
        out[d][j] = kern.kind === 'categorical' ? sampleCategorical(rng, kern.probs, k * kern.size, kern.size) : sampleNumeric(rng, kern, k);
      });
    }
    return out;
  }
}

function sampleCategorical(rng: Rng, probs: Float64Array, offset: number, size: number): number {
  let u = rng.next();
  for (let c = 0; c < size - 1; c++) {
    u -= probs[offset + c];
    if (u < 0) return c;
  }
  return size - 1;
}

/** A truncated normal draw (rejection: every kernel's centre lies in the bounds, so half its mass does), rounded to the step grid. */
function sampleNumeric(rng: Rng, kern: NumericKernels, k: number): number {
  const { low, high, step } = kern.dim;
  const lo = low - step / 2;
  const hi = high + step / 2;
  let x = kern.mus[k];
  for (let attempt = 0; attempt < 1000; attempt++) {
    const v = kern.mus[k] + kern.sigmas[k] * randomNormal(rng);
    if (v >= lo && v <= hi) {
      x = v;
      break;
    }
  }
  if (step === 0) return x;
  return Math.min(high, Math.max(low, low + Math.round((x - low) / step) * step));
}

/** `sorted`, when given: the observations' indices in increasing order of value (kept incrementally by the caller). */
function numericKernels(dim: Extract<ParzenDim, { kind: 'numeric' }>, mus0: Float64Array, numDims: number, s: ParzenSettings, sorted?: Int32Array): NumericKernels {
  const { low, high, step } = dim;
  const n = mus0.length;
  const range = high - low + step;
  const priorMu = 0.5 * (low + high);
  const sigmas = new Float64Array(n + 1);
  if (s.multivariate) {
    sigmas.fill(0.2 * Math.pow(Math.max(n, 1), -1 / (numDims + 4)) * range, 0, n);
  } else if (n > 0) {
    // neighbour distances among the sorted centres (the prior's among them), the bounds as outer neighbours
    const obsOrder = sorted ?? Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => mus0[a] - mus0[b] || a - b);
    // the prior's place: after every centre below it
    let lo = 0;
    for (let hi = n; lo < hi; ) {
      const mid = (lo + hi) >> 1;
      if (mus0[obsOrder[mid]] < priorMu) lo = mid + 1;
      else hi = mid;
    }
    const kernelAt = (i: number) => (i < lo ? obsOrder[i] : i === lo ? n : obsOrder[i - 1]);
    const at = (i: number) => (i < 0 ? low - step / 2 : i > n ? high + step / 2 : i === lo ? priorMu : mus0[kernelAt(i)]);
    for (let i = 0; i <= n; i++) {
      if (i === lo) continue;
      // Optuna's consider_endpoints = false: the outermost centres take their inner gap only
      sigmas[kernelAt(i)] = i === 0 ? at(1) - at(0) : i === n ? at(n) - at(n - 1) : Math.max(at(i) - at(i - 1), at(i + 1) - at(i));
    }
  }
  const minSigma = s.magicClip ? range / Math.min(100, 1 + n + 1) : 1e-12;
  for (let i = 0; i < n; i++) sigmas[i] = Math.min(range, Math.max(minSigma, sigmas[i]));
  sigmas[n] = range;
  const mus = new Float64Array(n + 1);
  mus.set(mus0);
  mus[n] = priorMu;
  const V = step > 0 ? Math.round((high - low) / step) + 1 : Infinity;
  if (V > MAX_TABULATED) {
    const logZ = mus.map((mu, k) => logNormalMass((low - step / 2 - mu) / sigmas[k], (high + step / 2 - mu) / sigmas[k]));
    return { kind: 'numeric', dim, mus, sigmas, logZ };
  }
  // each value's mass from the distribution function at the V + 1 cell edges, normalised by the
  // kernel's total; computed once per distinct (centre, bandwidth)
  const rowOf = new Int32Array(n + 1);
  const rowIndex = new Map<number, Map<number, number>>();
  const rows: number[] = [];
  const cdf = new Float64Array(V + 1);
  for (let k = 0; k <= n; k++) {
    let bySigma = rowIndex.get(mus[k]);
    if (!bySigma) rowIndex.set(mus[k], (bySigma = new Map()));
    const known = bySigma.get(sigmas[k]);
    if (known !== undefined) {
      rowOf[k] = known;
      continue;
    }
    for (let e = 0; e <= V; e++) cdf[e] = normalCdf((low - step / 2 + e * step - mus[k]) / sigmas[k]);
    const total = cdf[V] - cdf[0];
    const r = rows.length / V;
    for (let v = 0; v < V; v++) rows.push(Math.max(0, cdf[v + 1] - cdf[v]) / total);
    bySigma.set(sigmas[k], r);
    rowOf[k] = r;
  }
  return { kind: 'numeric', dim, mus, sigmas, logZ: new Float64Array(0), mass: { rows: Float64Array.from(rows), rowOf, values: V } };
}

/** Optuna's categorical kernels: prior weight / (n + 1) on every category, plus 1 on the observed one; rows normalised. */
function categoricalKernels(size: number, obs: Float64Array, priorWeight: number): CategoricalKernels {
  const n = obs.length;
  const p = priorWeight / (n + 1);
  const probs = new Float64Array((n + 1) * size).fill(p / (size * p + 1));
  for (let k = 0; k < n; k++) probs[k * size + obs[k]] = (p + 1) / (size * p + 1);
  probs.fill(1 / size, n * size);
  return { kind: 'categorical', size, probs };
}
