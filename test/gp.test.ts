import { describe, expect, it } from 'vitest';
import { GPPosterior, defaultTheta, fitHyperparameters, negLogPosterior } from '../src/schedulers/gp/gp.js';
import { matern52 } from '../src/schedulers/gp/kernel.js';
import { choleskyWithJitter } from '../src/schedulers/gp/linalg.js';
import { createRng } from '../src/util/rng.js';

describe('GP regression', () => {
  it('posterior mean and variance equal the closed form on 3 points', () => {
    // 1-d inputs, ℓ = 0.5, σ² = 2, σ²_n = 0.1, c = 0.3
    const X = Float64Array.from([0.1, 0.5, 0.8]);
    const y = Float64Array.from([1, -0.5, 0.7]);
    const theta = Float64Array.from([Math.log(0.5), Math.log(2), Math.log(0.1), 0.3]);
    const k = (a: number, b: number) => matern52(Math.abs(a - b) / 0.5, 2);
    // K + σ²_n I and its inverse by cofactors (3×3, in closed form)
    const K = [0, 1, 2].map((i) => [0, 1, 2].map((j) => k(X[i], X[j]) + (i === j ? 0.1 : 0)));
    const det =
      K[0][0] * (K[1][1] * K[2][2] - K[1][2] * K[2][1]) - K[0][1] * (K[1][0] * K[2][2] - K[1][2] * K[2][0]) + K[0][2] * (K[1][0] * K[2][1] - K[1][1] * K[2][0]);
    const cof = (i: number, j: number) => {
      const r = [0, 1, 2].filter((x) => x !== j);
      const c = [0, 1, 2].filter((x) => x !== i);
      return ((i + j) % 2 ? -1 : 1) * (K[r[0]][c[0]] * K[r[1]][c[1]] - K[r[0]][c[1]] * K[r[1]][c[0]]);
    };
    const Kinv = [0, 1, 2].map((i) => [0, 1, 2].map((j) => cof(i, j) / det));
    const xs = 0.3;
    const ks = [0, 1, 2].map((i) => k(xs, X[i]));
    const resid = [0, 1, 2].map((i) => y[i] - 0.3);
    const mean = 0.3 + ks.reduce((s, ki, i) => s + ki * [0, 1, 2].reduce((t, j) => t + Kinv[i][j] * resid[j], 0), 0);
    const variance = 2 - ks.reduce((s, ki, i) => s + ki * [0, 1, 2].reduce((t, j) => t + Kinv[i][j] * ks[j], 0), 0);
    const post = new GPPosterior(X, y, theta).predict(Float64Array.from([xs]), 1);
    expect(post.means[0][0]).toBeCloseTo(mean, 12);
    expect(post.variance[0]).toBeCloseTo(variance, 12);
  });

  it('the gradient of the negative log posterior equals finite differences', () => {
    const rng = createRng(3);
    const n = 15;
    // d = 10 also covers the length-scale gradient's eight-coordinates-at-a-time loop
    for (const d of [3, 10]) {
      const X = Float64Array.from({ length: n * d }, () => rng.next());
      const y = Float64Array.from({ length: n }, (_, i) => Math.sin(5 * X[i * d]) + X[i * d + 1]);
      const theta = Float64Array.from([...Array.from({ length: d }, (_, k) => Math.log(0.3 + 0.2 * k)), Math.log(1.3), Math.log(0.05), 0.2]);
      const objective = negLogPosterior(X, y, d);
      const { grad } = objective(theta);
      for (let k = 0; k < theta.length; k++) {
        const h = 1e-6;
        const plus = Float64Array.from(theta);
        const minus = Float64Array.from(theta);
        plus[k] += h;
        minus[k] -= h;
        const fd = (objective(plus).value - objective(minus).value) / (2 * h);
        expect(grad[k]).toBeCloseTo(fd, 5);
      }
    }
  });

  it('fits a much longer length scale to an input the function ignores', () => {
    const rng = createRng(7);
    const n = 60;
    const X = Float64Array.from({ length: n * 2 }, () => rng.next());
    const y = Float64Array.from({ length: n }, (_, i) => Math.sin(6 * X[i * 2]) + 0.01 * (rng.next() - 0.5));
    const theta = fitHyperparameters(X, y, 2, { rng: createRng(1), restarts: 2 });
    const [l0, l1] = [Math.exp(theta[0]), Math.exp(theta[1])];
    expect(l1 / l0).toBeGreaterThan(10);
  });

  it('never fails on a singular kernel matrix: the jitter grows until it factorises', () => {
    const n = 5;
    const K = new Float64Array(n * n).fill(1); // rank one
    const { L, jitter } = choleskyWithJitter(K, n);
    expect(jitter).toBeGreaterThan(0);
    expect(L.every(Number.isFinite)).toBe(true);
    // duplicated inputs and zero noise: the posterior still works
    const X = Float64Array.from([0.2, 0.2, 0.2, 0.7]);
    const theta = defaultTheta(1);
    theta[2] = Math.log(1e-6);
    const post = new GPPosterior(X, Float64Array.from([1, 1, 1, 0]), theta).predict(Float64Array.from([0.2]), 1);
    expect(post.means[0][0]).toBeCloseTo(1, 3);
  });
});

describe('GP posterior with pending points', () => {
  it('the block-updated factor gives the same posterior as a fresh factorisation', () => {
    const rng = createRng(9);
    const n = 12;
    const p = 3;
    const d = 2;
    const X = Float64Array.from({ length: n * d }, () => rng.next());
    const y = Float64Array.from({ length: n }, (_, i) => Math.cos(4 * X[i * d]) - X[i * d + 1]);
    const theta = Float64Array.from([Math.log(0.4), Math.log(0.9), 0.2, Math.log(0.01), 0.1]);
    const base = new GPPosterior(X, y, theta);
    const P = Float64Array.from({ length: p * d }, () => rng.next());
    const ya = Float64Array.from([...y, 0.5, -0.2, 0.1]);
    const updated = base.withPending(P, p, base.jointPredict(P, p), ya);
    const fresh = new GPPosterior(Float64Array.from([...X, ...P]), ya, theta);
    const Q = Float64Array.from({ length: 5 * d }, () => rng.next());
    const a = updated.predict(Q, 5);
    const b = fresh.predict(Q, 5);
    for (let i = 0; i < 5; i++) {
      expect(a.means[0][i]).toBeCloseTo(b.means[0][i], 10);
      expect(a.variance[i]).toBeCloseTo(b.variance[i], 10);
    }
  });
});
