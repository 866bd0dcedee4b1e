import type { Rng } from '../../util/rng.js';
import { randomNormal } from '../../util/rng.js';
import { crossCovariance, matern52, matern52LengthScaleFactor, scaledDistance } from './kernel.js';
import { backSolve, choleskyWithJitter, forwardSolve, inverseFromCholesky } from './linalg.js';

/**
 * GP hyperparameters θ, all unconstrained reals except for their bounds:
 * [log ℓ₁ … log ℓ_d, log σ² (signal), log σ²_n (noise), c (constant mean)], on normalised targets.
 */
export type Theta = Float64Array;

const LOG = Math.log;
export const BOUNDS = {
  logLengthScale: [LOG(0.01), LOG(100)],
  logSignal: [LOG(1e-3), LOG(100)],
  logNoise: [LOG(1e-6), LOG(1)],
  mean: [-5, 5],
} as const;

/** Log-normal priors that keep the fit sane on a handful of points (means and sds in log space). */
const PRIOR = { logLengthScale: [LOG(0.5), 1.5], logSignal: [0, 1.5], logNoise: [LOG(1e-2), 2], mean: [0, 1] } as const;

export function thetaBounds(d: number): { lo: Float64Array; hi: Float64Array } {
  const lo = new Float64Array(d + 3);
  const hi = new Float64Array(d + 3);
  for (let k = 0; k < d; k++) [lo[k], hi[k]] = BOUNDS.logLengthScale;
  [lo[d], hi[d]] = BOUNDS.logSignal;
  [lo[d + 1], hi[d + 1]] = BOUNDS.logNoise;
  [lo[d + 2], hi[d + 2]] = BOUNDS.mean;
  return { lo, hi };
}

export function defaultTheta(d: number): Theta {
  const t = new Float64Array(d + 3);
  for (let k = 0; k < d; k++) t[k] = PRIOR.logLengthScale[0];
  t[d] = 0;
  t[d + 1] = LOG(1e-2);
  t[d + 2] = 0;
  return t;
}

function priorTerm(value: number, [mu, sd]: readonly [number, number]): [number, number] {
  const z = (value - mu) / sd;
  return [-0.5 * z * z, -z / sd];
}

/**
 * Negative log posterior of θ (negative log marginal likelihood minus log prior) and its analytic
 * gradient, for inputs X (n×d, row-major) and normalised targets y.
 */
export function negLogPosterior(X: Float64Array, y: Float64Array, theta: Theta): { value: number; grad: Float64Array } {
  const n = y.length;
  const d = theta.length - 3;
  const inv = new Float64Array(d);
  for (let k = 0; k < d; k++) inv[k] = Math.exp(-theta[k]);
  const signal = Math.exp(theta[d]);
  const noise = Math.exp(theta[d + 1]);
  const c = theta[d + 2];
  const R = new Float64Array(n * n);
  const K = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const r = i === j ? 0 : scaledDistance(X, i, X, j, inv);
      const k = matern52(r, signal);
      R[i * n + j] = R[j * n + i] = r;
      K[i * n + j] = K[j * n + i] = k;
    }
  }
  const Kn = Float64Array.from(K);
  for (let i = 0; i < n; i++) Kn[i * n + i] += noise;
  const { L } = choleskyWithJitter(Kn, n);
  const alpha = new Float64Array(n);
  for (let i = 0; i < n; i++) alpha[i] = y[i] - c;
  const resid = Float64Array.from(alpha);
  backSolve(L, n, forwardSolve(L, n, alpha));
  let quad = 0;
  let logDet = 0;
  for (let i = 0; i < n; i++) {
    quad += resid[i] * alpha[i];
    logDet += Math.log(L[i * n + i]);
  }
  const lml = -0.5 * quad - logDet - 0.5 * n * Math.log(2 * Math.PI);
  // W = ααᵀ − K⁻¹; ∂lml/∂θ_j = ½ tr(W ∂K/∂θ_j)
  const Kinv = inverseFromCholesky(L, n);
  const grad = new Float64Array(d + 3);
  let gSignal = 0;
  let gNoise = 0;
  const gLen = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    gNoise += alpha[i] * alpha[i] - Kinv[i * n + i];
    for (let j = 0; j < n; j++) {
      const w = alpha[i] * alpha[j] - Kinv[i * n + j];
      gSignal += w * K[i * n + j];
      if (i === j) continue;
      const f = w * matern52LengthScaleFactor(R[i * n + j], signal);
      for (let k = 0; k < d; k++) {
        const z = (X[i * d + k] - X[j * d + k]) * inv[k];
        gLen[k] += f * z * z;
      }
    }
  }
  let logPrior = 0;
  for (let k = 0; k < d; k++) {
    const [p, dp] = priorTerm(theta[k], PRIOR.logLengthScale);
    logPrior += p;
    grad[k] = -(0.5 * gLen[k] + dp);
  }
  const terms: [number, number, readonly [number, number]][] = [
    [d, 0.5 * gSignal, PRIOR.logSignal],
    [d + 1, 0.5 * noise * gNoise, PRIOR.logNoise],
    [d + 2, alpha.reduce((a, b) => a + b, 0), PRIOR.mean],
  ];
  for (const [idx, g, prior] of terms) {
    const [p, dp] = priorTerm(theta[idx], prior);
    logPrior += p;
    grad[idx] = -(g + dp);
  }
  return { value: -(lml + logPrior), grad };
}

/** Projected L-BFGS on a box: minimises f from x0, at most `maxIter` iterations. */
export function minimizeBox(
  f: (x: Float64Array) => { value: number; grad: Float64Array },
  x0: Float64Array,
  lo: Float64Array,
  hi: Float64Array,
  maxIter = 30,
): { x: Float64Array; value: number } {
  const n = x0.length;
  const clip = (x: Float64Array) => x.map((v, i) => Math.min(hi[i], Math.max(lo[i], v)));
  let x = clip(x0);
  let cur = f(x);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  for (let iter = 0; iter < maxIter; iter++) {
    const g = cur.grad;
    // coordinates held at a bound by the gradient stay there
    const free = g.map((gi, i) => ((x[i] <= lo[i] && gi > 0) || (x[i] >= hi[i] && gi < 0) ? 0 : 1));
    const q = g.map((gi, i) => gi * free[i]);
    const alphas: number[] = [];
    for (let k = S.length - 1; k >= 0; k--) {
      const rho = 1 / dot(Y[k], S[k]);
      const a = rho * dot(S[k], q);
      alphas.push(a);
      for (let i = 0; i < n; i++) q[i] -= a * Y[k][i];
    }
    const gamma = S.length ? dot(S[S.length - 1], Y[Y.length - 1]) / dot(Y[Y.length - 1], Y[Y.length - 1]) : 1 / Math.max(1, Math.sqrt(dot(g, g)));
    for (let i = 0; i < n; i++) q[i] *= gamma;
    for (let k = 0; k < S.length; k++) {
      const rho = 1 / dot(Y[k], S[k]);
      const b = rho * dot(Y[k], q);
      const a = alphas[S.length - 1 - k];
      for (let i = 0; i < n; i++) q[i] += S[k][i] * (a - b);
    }
    const dir = q.map((v, i) => -v * free[i]);
    let slope = dot(dir, g);
    if (!(slope < 0)) {
      // not a descent direction: fall back to steepest descent
      for (let i = 0; i < n; i++) dir[i] = -g[i] * free[i];
      slope = dot(dir, g);
      S.length = 0;
      Y.length = 0;
      if (!(slope < 0)) break;
    }
    let step = 1;
    let next: { value: number; grad: Float64Array } | undefined;
    let xn = x;
    for (let ls = 0; ls < 20; ls++) {
      xn = clip(x.map((v, i) => v + step * dir[i]));
      try {
        next = f(xn);
      } catch {
        next = undefined;
      }
      if (next && Number.isFinite(next.value) && next.value <= cur.value + 1e-4 * step * slope) break;
      next = undefined;
      step *= 0.5;
    }
    if (!next) break;
    const s = xn.map((v, i) => v - x[i]);
    const yv = next.grad.map((v, i) => v - g[i]);
    if (dot(s, yv) > 1e-12) {
      S.push(s);
      Y.push(yv);
      if (S.length > 6) {
        S.shift();
        Y.shift();
      }
    }
    const improvement = cur.value - next.value;
    x = xn;
    cur = next;
    if (improvement < 1e-7 * Math.max(1, Math.abs(cur.value))) break;
  }
  return { x, value: cur.value };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export interface FitOptions {
  /** Previous θ to start from (warm start). */
  warmStart?: Theta;
  /** Random restarts besides the warm (or default) start. */
  restarts?: number;
  maxIter?: number;
  rng: Rng;
}

/** Maximum a posteriori θ for the data: the best of a warm/default start and random restarts. */
export function fitHyperparameters(X: Float64Array, y: Float64Array, d: number, options: FitOptions): Theta {
  const { lo, hi } = thetaBounds(d);
  const starts: Theta[] = [options.warmStart ? Float64Array.from(options.warmStart) : defaultTheta(d)];
  for (let r = 0; r < (options.restarts ?? 1); r++) {
    const t = defaultTheta(d);
    for (let k = 0; k < d + 3; k++) t[k] = Math.min(hi[k], Math.max(lo[k], t[k] + 0.8 * randomNormal(options.rng)));
    starts.push(t);
  }
  let best: { x: Float64Array; value: number } | undefined;
  for (const s of starts) {
    const r = minimizeBox((t) => negLogPosterior(X, y, t), s, lo, hi, options.maxIter ?? 30);
    if (!best || r.value < best.value) best = r;
  }
  return best!.x;
}

/** A GP posterior for fixed θ on (X, y) — targets as given (normalise them before). */
export class GPPosterior {
  readonly n: number;
  readonly d: number;
  private readonly L: Float64Array;
  private readonly alpha: Float64Array;
  private readonly inv: Float64Array;
  private readonly signal: number;
  private readonly mean: number;

  /** `factor`: the Cholesky factor of K + σ²_n I when already known (see `withPending`). */
  constructor(
    readonly X: Float64Array,
    y: Float64Array,
    readonly theta: Theta,
    factor?: Float64Array,
  ) {
    this.n = y.length;
    this.d = theta.length - 3;
    const { n, d } = this;
    this.inv = new Float64Array(d);
    for (let k = 0; k < d; k++) this.inv[k] = Math.exp(-theta[k]);
    this.signal = Math.exp(theta[d]);
    this.mean = theta[d + 2];
    if (factor) this.L = factor;
    else {
      const K = crossCovariance(X, n, X, n, this.inv, this.signal);
      const noise = Math.exp(theta[d + 1]);
      for (let i = 0; i < n; i++) K[i * n + i] += noise;
      this.L = choleskyWithJitter(K, n).L;
    }
    this.alpha = this.solveFor(y);
  }

  /**
   * The posterior with p more inputs P whose targets are fantasies (`ya` holds y then them). The new
   * factor comes from the old one by a block update, O(n²p) instead of a fresh O(n³) factorisation:
   * L' = [[L, 0], [Vᵀ, chol(Σ_P + σ²_n I)]] with V = L⁻¹ K(X, P) and Σ_P the posterior covariance at P.
   */
  withPending(P: Float64Array, p: number, joint: { V: Float64Array[]; cov: Float64Array }, ya: Float64Array): GPPosterior {
    const { n } = this;
    const m = n + p;
    const noise = Math.exp(this.theta[this.d + 1]);
    const S = Float64Array.from(joint.cov);
    for (let i = 0; i < p; i++) S[i * p + i] += noise;
    const L22 = choleskyWithJitter(S, p).L;
    const L = new Float64Array(m * m);
    for (let i = 0; i < n; i++) L.set(this.L.subarray(i * n, i * n + i + 1), i * m);
    for (let i = 0; i < p; i++) {
      for (let k = 0; k < n; k++) L[(n + i) * m + k] = joint.V[i][k];
      for (let k = 0; k <= i; k++) L[(n + i) * m + n + k] = L22[i * p + k];
    }
    const Xa = new Float64Array(m * this.d);
    Xa.set(this.X);
    Xa.set(P, n * this.d);
    return new GPPosterior(Xa, ya, this.theta, L);
  }

  /** K⁻¹ (y − c) for other targets on the same inputs (fantasies reuse the factorisation). */
  solveFor(y: Float64Array): Float64Array {
    const a = y.map((v) => v - this.mean);
    return backSolve(this.L, this.n, forwardSolve(this.L, this.n, a));
  }

  /** Posterior mean and variance of f at the m rows of Xs; extra α vectors give extra means. */
  predict(Xs: Float64Array, m: number, alphas: Float64Array[] = [this.alpha]): { means: Float64Array[]; variance: Float64Array } {
    const { n } = this;
    const ks = crossCovariance(Xs, m, this.X, n, this.inv, this.signal);
    const means = alphas.map(() => new Float64Array(m));
    const variance = new Float64Array(m);
    const v = new Float64Array(n);
    for (let i = 0; i < m; i++) {
      for (let a = 0; a < alphas.length; a++) {
        let s = this.mean;
        const al = alphas[a];
        for (let j = 0; j < n; j++) s += ks[i * n + j] * al[j];
        means[a][i] = s;
      }
      for (let j = 0; j < n; j++) v[j] = ks[i * n + j];
      forwardSolve(this.L, n, v);
      let q = 0;
      for (let j = 0; j < n; j++) q += v[j] * v[j];
      variance[i] = Math.max(1e-12, this.signal - q);
    }
    return { means, variance };
  }

  /** Posterior mean vector and covariance at m points (for joint fantasy samples), and V = L⁻¹ K(X, Xs). */
  jointPredict(Xs: Float64Array, m: number): { mean: Float64Array; cov: Float64Array; V: Float64Array[] } {
    const { n } = this;
    const ks = crossCovariance(Xs, m, this.X, n, this.inv, this.signal);
    const kss = crossCovariance(Xs, m, Xs, m, this.inv, this.signal);
    const V: Float64Array[] = [];
    const mean = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      const v = ks.slice(i * n, (i + 1) * n);
      let s = this.mean;
      for (let j = 0; j < n; j++) s += v[j] * this.alpha[j];
      mean[i] = s;
      V.push(forwardSolve(this.L, n, v));
    }
    const cov = new Float64Array(m * m);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j <= i; j++) {
        let q = 0;
        for (let k = 0; k < n; k++) q += V[i][k] * V[j][k];
        cov[i * m + j] = cov[j * m + i] = kss[i * m + j] - q;
      }
    }
    return { mean, cov, V };
  }
}
