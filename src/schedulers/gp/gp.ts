import type { Rng } from '../../util/rng.js';
import { randomNormal } from '../../util/rng.js';
import { covarianceMatrix, crossCovariance, pairwiseSquaredDistances } from './kernel.js';
import { backSolve, choleskyWithJitter, forwardSolve, forwardSolveRows, inverseFromCholesky } from './linalg.js';

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

/**
 * The default start of the fit. Its length scales put two random points of [0,1]^d about one length
 * scale apart (E r² = d/(6ℓ²)), where a kernel matrix is informative: starting them all at the prior's
 * 0.5 makes K nearly diagonal in fcnet's 17 encoded dimensions, and the optimiser then spends most of its iterations
 * getting out of that corner.
 */
export function defaultTheta(d: number): Theta {
  const t = new Float64Array(d + 3);
  for (let k = 0; k < d; k++) t[k] = Math.max(PRIOR.logLengthScale[0], 0.5 * LOG(d / 6));
  t[d] = 0;
  t[d + 1] = LOG(1e-2);
  t[d + 2] = 0;
  return t;
}

function priorTerm(value: number, [mu, sd]: readonly [number, number]): [number, number] {
  const z = (value - mu) / sd;
  return [-0.5 * z * z, -z / sd];
}

const SQRT5 = Math.sqrt(5);

/**
 * Negative log posterior of θ (negative log marginal likelihood minus log prior) and its analytic
 * gradient, for inputs X (n×d, row-major) and normalised targets y, as a function of θ (what is the
 * same for every θ is prepared once, for the optimiser's many evaluations).
 */
export function negLogPosterior(X: Float64Array, y: Float64Array, d: number): (theta: Theta) => { value: number; grad: Float64Array } {
  const n = y.length;
  // the inputs by coordinate (d×n), centred: the length-scale gradient below is a sum of squares
  // expanded around them, and centring keeps its terms small
  const C = new Float64Array(d * n);
  for (let k = 0; k < d; k++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += X[i * d + k];
    mean /= n;
    for (let i = 0; i < n; i++) C[k * n + i] = X[i * d + k] - mean;
  }
  const K = new Float64Array(n * n);
  const F = new Float64Array(n * n);
  return (theta) => {
    const inv = new Float64Array(d);
    for (let k = 0; k < d; k++) inv[k] = Math.exp(-theta[k]);
    const signal = Math.exp(theta[d]);
    const noise = Math.exp(theta[d + 1]);
    const c = theta[d + 2];
    // K + σ²_n I (lower triangle), and F, the factor of ∂k/∂log ℓₖ before its scaled squared difference:
    // σ²(5/3)(1 + √5r)e^{−√5r} (the Matern 5/2 of kernel.ts, sharing one exp with it). Squared distances
    // first, exponentials in a second pass: faster in V8, as in kernel.ts.
    pairwiseSquaredDistances(X, n, inv, K);
    for (let i = 0; i < n; i++) {
      for (let j = i * n; j < i * n + i; j++) {
        const s = SQRT5 * Math.sqrt(K[j]);
        const e = signal * Math.exp(-s);
        K[j] = (1 + s + (s * s) / 3) * e;
        F[j] = (5 / 3) * (1 + s) * e;
      }
      K[i * n + i] = signal + noise;
    }
    const { L } = choleskyWithJitter(K, n);
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
    // W = ααᵀ − K⁻¹; ∂lml/∂θ_j = ½ tr(W ∂K/∂θ_j). F becomes G = W∘F (symmetric, zero diagonal).
    const Kinv = inverseFromCholesky(L, n);
    let gSignal = 0;
    let gNoise = 0;
    for (let i = 0; i < n; i++) {
      const w = alpha[i] * alpha[i] - Kinv[i * n + i];
      gNoise += w;
      gSignal += w * signal;
      for (let j = 0; j < i; j++) {
        const wij = alpha[i] * alpha[j] - Kinv[i * n + j];
        gSignal += 2 * wij * K[i * n + j];
        F[i * n + j] *= wij;
      }
      F[i * n + i] = 0;
    }
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) F[j * n + i] = F[i * n + j];
    // Σ_{i≠j} G_ij (x_ik − x_jk)² = 2 Σ_i x_ik (x_ik Σ_j G_ij − Σ_j G_ij x_jk): n²d multiply-adds over
    // contiguous rows (eight coordinates at a time share the loads of G) instead of a pass over all pairs
    const gLen = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      const ri = i * n;
      let rowSum = 0;
      for (let j = 0; j < n; j++) rowSum += F[ri + j];
      let k = 0;
      for (; k + 7 < d; k += 8) {
        const c0 = k * n;
        const c1 = c0 + n;
        const c2 = c1 + n;
        const c3 = c2 + n;
        const c4 = c3 + n;
        const c5 = c4 + n;
        const c6 = c5 + n;
        const c7 = c6 + n;
        let t0 = 0;
        let t1 = 0;
        let t2 = 0;
        let t3 = 0;
        let t4 = 0;
        let t5 = 0;
        let t6 = 0;
        let t7 = 0;
        for (let j = 0; j < n; j++) {
          const g = F[ri + j];
          t0 += g * C[c0 + j];
          t1 += g * C[c1 + j];
          t2 += g * C[c2 + j];
          t3 += g * C[c3 + j];
          t4 += g * C[c4 + j];
          t5 += g * C[c5 + j];
          t6 += g * C[c6 + j];
          t7 += g * C[c7 + j];
        }
        gLen[k] += C[c0 + i] * (C[c0 + i] * rowSum - t0);
        gLen[k + 1] += C[c1 + i] * (C[c1 + i] * rowSum - t1);
        gLen[k + 2] += C[c2 + i] * (C[c2 + i] * rowSum - t2);
        gLen[k + 3] += C[c3 + i] * (C[c3 + i] * rowSum - t3);
        gLen[k + 4] += C[c4 + i] * (C[c4 + i] * rowSum - t4);
        gLen[k + 5] += C[c5 + i] * (C[c5 + i] * rowSum - t5);
        gLen[k + 6] += C[c6 + i] * (C[c6 + i] * rowSum - t6);
        gLen[k + 7] += C[c7 + i] * (C[c7 + i] * rowSum - t7);
      }
      for (; k < d; k++) {
        const c0 = k * n;
        let t0 = 0;
        for (let j = 0; j < n; j++) t0 += F[ri + j] * C[c0 + j];
        gLen[k] += C[c0 + i] * (C[c0 + i] * rowSum - t0);
      }
    }
    const grad = new Float64Array(d + 3);
    let logPrior = 0;
    for (let k = 0; k < d; k++) {
      const [lp, dp] = priorTerm(theta[k], PRIOR.logLengthScale);
      logPrior += lp;
      // ½ · Σ_{i≠j} G_ij (x_ik − x_jk)²/ℓₖ², the sum being 2·gLen[k]
      grad[k] = -(gLen[k] * inv[k] * inv[k] + dp);
    }
    const terms: [number, number, readonly [number, number]][] = [
      [d, 0.5 * gSignal, PRIOR.logSignal],
      [d + 1, 0.5 * noise * gNoise, PRIOR.logNoise],
      [d + 2, alpha.reduce((a, b) => a + b, 0), PRIOR.mean],
    ];
    for (const [idx, g, prior] of terms) {
      const [lp, dp] = priorTerm(theta[idx], prior);
      logPrior += lp;
      grad[idx] = -(g + dp);
    }
    return { value: -(lml + logPrior), grad };
  };
}

type Objective = (x: Float64Array) => { value: number; grad: Float64Array };

/** Correction pairs kept: θ has d + 3 ≈ 20 entries here, so this is close to full BFGS, which needs fewer evaluations than 6 pairs. */
const MEMORY = 20;

/**
 * Projected L-BFGS on a box, resumable: `run(k)` does up to k more iterations (so that restarts can be
 * raced). It stops early when an iteration improves f by less than `tolerance` relative to |f|: the
 * default 1e-4 is a few thousandths of a nat for a GP's log posterior, far below what changes its
 * predictions, and saves about a third of the evaluations of running to 1e-7.
 */
export class BoxLBFGS {
  x: Float64Array;
  value: number;
  converged = false;
  private grad: Float64Array;
  private readonly S: Float64Array[] = [];
  private readonly Y: Float64Array[] = [];

  constructor(
    private readonly f: Objective,
    x0: Float64Array,
    private readonly lo: Float64Array,
    private readonly hi: Float64Array,
    private readonly tolerance = 1e-4,
  ) {
    this.x = this.clip(x0);
    const cur = f(this.x);
    this.value = cur.value;
    this.grad = cur.grad;
  }

  private clip(x: Float64Array): Float64Array {
    return x.map((v, i) => Math.min(this.hi[i], Math.max(this.lo[i], v)));
  }

  run(maxIter: number): this {
    const { lo, hi, S, Y } = this;
    const n = this.x.length;
    for (let iter = 0; iter < maxIter && !this.converged; iter++) {
      const { x, grad: g } = this;
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
        xn = this.clip(x.map((v, i) => v + step * dir[i]));
        try {
          next = this.f(xn);
        } catch {
          next = undefined;
        }
        if (next && Number.isFinite(next.value) && next.value <= this.value + 1e-4 * step * slope) break;
        next = undefined;
        step *= 0.5;
      }
      if (!next) {
        this.converged = true;
        break;
      }
      const s = xn.map((v, i) => v - x[i]);
      const yv = next.grad.map((v, i) => v - g[i]);
      if (dot(s, yv) > 1e-12) {
        S.push(s);
        Y.push(yv);
        if (S.length > MEMORY) {
          S.shift();
          Y.shift();
        }
      }
      const improvement = this.value - next.value;
      this.x = xn;
      this.value = next.value;
      this.grad = next.grad;
      if (improvement < this.tolerance * Math.max(1, Math.abs(next.value))) this.converged = true;
    }
    return this;
  }
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

/** Iterations every start gets before only the best one goes on (when there are restarts). */
const RACE_ITERATIONS = 3;

/**
 * Maximum a posteriori θ for the data, from a warm/default start and random restarts. The starts race:
 * each gets a few iterations, then only the one with the best posterior so far is run to convergence,
 * so a restart costs a few evaluations instead of a whole run (on the fcnet data every start reaches the
 * same optimum, and the default start leads from the first iterations on).
 */
export function fitHyperparameters(X: Float64Array, y: Float64Array, d: number, options: FitOptions): Theta {
  const { lo, hi } = thetaBounds(d);
  const starts: Theta[] = [options.warmStart ? Float64Array.from(options.warmStart) : defaultTheta(d)];
  for (let r = 0; r < (options.restarts ?? 1); r++) {
    const t = defaultTheta(d);
    for (let k = 0; k < d + 3; k++) t[k] = Math.min(hi[k], Math.max(lo[k], t[k] + 0.8 * randomNormal(options.rng)));
    starts.push(t);
  }
  const objective = negLogPosterior(X, y, d);
  const runs = starts.map((s) => new BoxLBFGS(objective, s, lo, hi));
  let budget = options.maxIter ?? 30;
  if (runs.length > 1) {
    for (const r of runs) r.run(RACE_ITERATIONS);
    budget -= RACE_ITERATIONS;
  }
  const best = runs.reduce((a, b) => (b.value < a.value ? b : a));
  return best.run(budget).x;
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
      const K = covarianceMatrix(X, n, this.inv, this.signal);
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
    for (let i = 0; i < m; i++) {
      const ri = i * n;
      for (let a = 0; a < alphas.length; a++) {
        const al = alphas[a];
        let s = this.mean;
        for (let j = 0; j < n; j++) s += ks[ri + j] * al[j];
        means[a][i] = s;
      }
    }
    // σ² − k*ᵀK⁻¹k* = σ² − |L⁻¹k*|²: every candidate's triangular solve in one batch (ks is overwritten)
    forwardSolveRows(this.L, n, ks, m);
    const variance = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      let q = 0;
      for (let j = i * n; j < (i + 1) * n; j++) q += ks[j] * ks[j];
      variance[i] = Math.max(1e-12, this.signal - q);
    }
    return { means, variance };
  }

  /** Posterior mean vector and covariance at m points (for joint fantasy samples), and V = L⁻¹ K(X, Xs). */
  jointPredict(Xs: Float64Array, m: number): { mean: Float64Array; cov: Float64Array; V: Float64Array[] } {
    const { n } = this;
    const ks = crossCovariance(Xs, m, this.X, n, this.inv, this.signal);
    const kss = covarianceMatrix(Xs, m, this.inv, this.signal);
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
