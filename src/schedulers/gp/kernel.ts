/**
 * Matern 5/2 kernel with ARD length scales:
 *   k(x, y) = σ² (1 + √5 r + 5r²/3) exp(−√5 r),   r² = Σᵢ ((xᵢ − yᵢ)/ℓᵢ)²
 */
const SQRT5 = Math.sqrt(5);

export function matern52(r: number, signalVariance: number): number {
  const s = SQRT5 * r;
  return signalVariance * (1 + s + (s * s) / 3) * Math.exp(-s);
}

/** Scaled distance r between rows i of X (n×d) and j of Y (m×d). */
export function scaledDistance(X: Float64Array, i: number, Y: Float64Array, j: number, invLengthScales: Float64Array): number {
  const d = invLengthScales.length;
  let r2 = 0;
  for (let k = 0; k < d; k++) {
    const z = (X[i * d + k] - Y[j * d + k]) * invLengthScales[k];
    r2 += z * z;
  }
  return Math.sqrt(r2);
}

/** The n×m cross-covariance matrix. */
export function crossCovariance(X: Float64Array, n: number, Y: Float64Array, m: number, invLengthScales: Float64Array, signalVariance: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[i * m + j] = matern52(scaledDistance(X, i, Y, j, invLengthScales), signalVariance);
  return out;
}

/** ∂k/∂log ℓ_k = σ² (5/3)(1 + √5 r) e^{−√5 r} (xₖ − yₖ)²/ℓₖ² — the factor before the squared difference. */
export function matern52LengthScaleFactor(r: number, signalVariance: number): number {
  return signalVariance * (5 / 3) * (1 + SQRT5 * r) * Math.exp(-SQRT5 * r);
}
