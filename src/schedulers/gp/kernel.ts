/**
 * Matern 5/2 kernel with ARD length scales:
 *   k(x, y) = σ² (1 + √5 r + 5r²/3) exp(−√5 r),   r² = Σᵢ ((xᵢ − yᵢ)/ℓᵢ)²
 */
const SQRT5 = Math.sqrt(5);

export function matern52(r: number, signalVariance: number): number {
  const s = SQRT5 * r;
  return signalVariance * (1 + s + (s * s) / 3) * Math.exp(-s);
}

/** The rows of X (n×d) with each coordinate divided by its length scale, so that r is a plain distance. */
function scaled(X: Float64Array, n: number, invLengthScales: Float64Array): Float64Array {
  const d = invLengthScales.length;
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) out[i * d + k] = X[i * d + k] * invLengthScales[k];
  return out;
}

/**
 * out[o + j] = squared distance between row i of A and row j of B, for j < m: four rows of B at a time
 * share the loads of row i (about 1.5× faster in V8).
 */
function squaredDistances(A: Float64Array, i: number, B: Float64Array, m: number, d: number, out: Float64Array, o: number): void {
  const ri = i * d;
  let j = 0;
  for (; j + 3 < m; j += 4) {
    const b0 = j * d;
    const b1 = b0 + d;
    const b2 = b1 + d;
    const b3 = b2 + d;
    let r0 = 0;
    let r1 = 0;
    let r2 = 0;
    let r3 = 0;
    for (let k = 0; k < d; k++) {
      const a = A[ri + k];
      const z0 = a - B[b0 + k];
      const z1 = a - B[b1 + k];
      const z2 = a - B[b2 + k];
      const z3 = a - B[b3 + k];
      r0 += z0 * z0;
      r1 += z1 * z1;
      r2 += z2 * z2;
      r3 += z3 * z3;
    }
    out[o + j] = r0;
    out[o + j + 1] = r1;
    out[o + j + 2] = r2;
    out[o + j + 3] = r3;
  }
  for (; j < m; j++) {
    let r2 = 0;
    for (let k = 0; k < d; k++) {
      const z = A[ri + k] - B[j * d + k];
      r2 += z * z;
    }
    out[o + j] = r2;
  }
}

// The kernels below take all squared distances first and the exponentials in a second pass: about a
// third faster in V8 than one loop doing both.

/** The n×m cross-covariance matrix between the rows of X (n×d) and Y (m×d). */
export function crossCovariance(X: Float64Array, n: number, Y: Float64Array, m: number, invLengthScales: Float64Array, signalVariance: number): Float64Array {
  const d = invLengthScales.length;
  const A = scaled(X, n, invLengthScales);
  const B = scaled(Y, m, invLengthScales);
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) squaredDistances(A, i, B, m, d, out, i * m);
  for (let p = 0; p < n * m; p++) out[p] = matern52(Math.sqrt(out[p]), signalVariance);
  return out;
}

/** Squared scaled distances between the rows of X (n×d) into the strict lower triangle of `out` (n×n). */
export function pairwiseSquaredDistances(X: Float64Array, n: number, invLengthScales: Float64Array, out: Float64Array): Float64Array {
  const d = invLengthScales.length;
  const A = scaled(X, n, invLengthScales);
  for (let i = 0; i < n; i++) squaredDistances(A, i, A, i, d, out, i * n);
  return out;
}

/** The n×n covariance matrix of the rows of X (each pair computed once). */
export function covarianceMatrix(X: Float64Array, n: number, invLengthScales: Float64Array, signalVariance: number): Float64Array {
  const out = pairwiseSquaredDistances(X, n, invLengthScales, new Float64Array(n * n));
  for (let i = 0; i < n; i++) {
    out[i * n + i] = signalVariance;
    for (let j = 0; j < i; j++) out[i * n + j] = out[j * n + i] = matern52(Math.sqrt(out[i * n + j]), signalVariance);
  }
  return out;
}
