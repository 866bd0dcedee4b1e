/**
 * Dense linear algebra on row-major Float64Arrays for the GP. Hand-written rather than ml-matrix:
 * the GP factorises a kernel matrix hundreds of times per experiment, and flat typed arrays measured
 * (with the blocked loops below) 5× faster than ml-matrix's CholeskyDecomposition at n = 500–1000 on this machine.
 */

export class NotPositiveDefiniteError extends Error {}

/**
 * In-place lower Cholesky factor of a symmetric n×n matrix (only its lower triangle is read; the upper
 * one is zeroed). Column by column, four rows at a time: they share the loads of row j, which makes this
 * about twice as fast as one row at a time in V8 (no SIMD: the loads are the cost).
 */
function choleskyInPlace(a: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let s = a[rj + j];
    for (let k = 0; k < j; k++) s -= a[rj + k] * a[rj + k];
    if (!(s > 0)) throw new NotPositiveDefiniteError(`pivot ${j} is ${s}`);
    const d = Math.sqrt(s);
    a[rj + j] = d;
    const id = 1 / d;
    let i = j + 1;
    for (; i + 3 < n; i += 4) {
      const r0 = i * n;
      const r1 = r0 + n;
      const r2 = r1 + n;
      const r3 = r2 + n;
      let v0 = a[r0 + j];
      let v1 = a[r1 + j];
      let v2 = a[r2 + j];
      let v3 = a[r3 + j];
      for (let k = 0; k < j; k++) {
        const x = a[rj + k];
        v0 -= a[r0 + k] * x;
        v1 -= a[r1 + k] * x;
        v2 -= a[r2 + k] * x;
        v3 -= a[r3 + k] * x;
      }
      a[r0 + j] = v0 * id;
      a[r1 + j] = v1 * id;
      a[r2 + j] = v2 * id;
      a[r3 + j] = v3 * id;
    }
    for (; i < n; i++) {
      const ri = i * n;
      let v = a[ri + j];
      for (let k = 0; k < j; k++) v -= a[ri + k] * a[rj + k];
      a[ri + j] = v * id;
    }
  }
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) a[i * n + j] = 0;
}

/**
 * Cholesky factor of K + jitter·I, escalating the jitter (×10 from 1e-9 of the mean diagonal) until the
 * factorisation succeeds, so that a near-singular kernel matrix never ends a run.
 */
export function choleskyWithJitter(k: Float64Array, n: number): { L: Float64Array; jitter: number } {
  let meanDiag = 0;
  for (let i = 0; i < n; i++) meanDiag += k[i * n + i];
  meanDiag = n > 0 ? meanDiag / n : 1;
  let jitter = 0;
  for (let attempt = 0; attempt < 12; attempt++) {
    const a = Float64Array.from(k);
    if (jitter > 0) for (let i = 0; i < n; i++) a[i * n + i] += jitter;
    try {
      choleskyInPlace(a, n);
      return { L: a, jitter };
    } catch (e) {
      if (!(e instanceof NotPositiveDefiniteError)) throw e;
      jitter = jitter === 0 ? 1e-9 * meanDiag : jitter * 10;
    }
  }
  throw new NotPositiveDefiniteError(`kernel matrix not positive definite even with jitter ${jitter}`);
}

/** Solves L x = b (L lower triangular), in place on b. */
export function forwardSolve(L: Float64Array, n: number, b: Float64Array): Float64Array {
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[ri + k] * b[k];
    b[i] = s / L[ri + i];
  }
  return b;
}

/** Solves Lᵀ x = b, in place on b. */
export function backSolve(L: Float64Array, n: number, b: Float64Array): Float64Array {
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * b[k];
    b[i] = s / L[i * n + i];
  }
  return b;
}

/**
 * Solves L v = b in place for each of the m rows b of B (m×n, row-major). Eight right-hand sides at a
 * time share the loads of L (2.5× faster than one at a time at n = 500). With `unitRows`, row c is the unit
 * vector e_c (so B = I gives the rows of L⁻ᵀ) and its solution's leading zeros are skipped.
 */
export function forwardSolveRows(L: Float64Array, n: number, B: Float64Array, m: number, unitRows = false): Float64Array {
  let c = 0;
  for (; c + 7 < m; c += 8) {
    const b0 = c * n;
    const b1 = b0 + n;
    const b2 = b1 + n;
    const b3 = b2 + n;
    const b4 = b3 + n;
    const b5 = b4 + n;
    const b6 = b5 + n;
    const b7 = b6 + n;
    const k0 = unitRows ? c : 0;
    for (let i = k0; i < n; i++) {
      const ri = i * n;
      let s0 = B[b0 + i];
      let s1 = B[b1 + i];
      let s2 = B[b2 + i];
      let s3 = B[b3 + i];
      let s4 = B[b4 + i];
      let s5 = B[b5 + i];
      let s6 = B[b6 + i];
      let s7 = B[b7 + i];
      for (let k = k0; k < i; k++) {
        const l = L[ri + k];
        s0 -= l * B[b0 + k];
        s1 -= l * B[b1 + k];
        s2 -= l * B[b2 + k];
        s3 -= l * B[b3 + k];
        s4 -= l * B[b4 + k];
        s5 -= l * B[b5 + k];
        s6 -= l * B[b6 + k];
        s7 -= l * B[b7 + k];
      }
      const d = 1 / L[ri + i];
      B[b0 + i] = s0 * d;
      B[b1 + i] = s1 * d;
      B[b2 + i] = s2 * d;
      B[b3 + i] = s3 * d;
      B[b4 + i] = s4 * d;
      B[b5 + i] = s5 * d;
      B[b6 + i] = s6 * d;
      B[b7 + i] = s7 * d;
    }
  }
  for (; c < m; c++) forwardSolve(L, n, B.subarray(c * n, (c + 1) * n));
  return B;
}

/** K⁻¹ from its Cholesky factor (symmetric, full), in n³/3 multiply-adds. */
export function inverseFromCholesky(L: Float64Array, n: number): Float64Array {
  // U = L⁻ᵀ by rows; then K⁻¹ = L⁻ᵀL⁻¹, entry (i, j ≤ i) = Σ_{k ≥ i} U[i,k] U[j,k], four j at a time
  const U = new Float64Array(n * n);
  for (let j = 0; j < n; j++) U[j * n + j] = 1;
  forwardSolveRows(L, n, U, n, true);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    let j = 0;
    for (; j + 3 <= i; j += 4) {
      const r0 = j * n;
      const r1 = r0 + n;
      const r2 = r1 + n;
      const r3 = r2 + n;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = i; k < n; k++) {
        const u = U[ri + k];
        s0 += u * U[r0 + k];
        s1 += u * U[r1 + k];
        s2 += u * U[r2 + k];
        s3 += u * U[r3 + k];
      }
      out[ri + j] = s0;
      out[ri + j + 1] = s1;
      out[ri + j + 2] = s2;
      out[ri + j + 3] = s3;
    }
    for (; j <= i; j++) {
      const rj = j * n;
      let s = 0;
      for (let k = i; k < n; k++) s += U[ri + k] * U[rj + k];
      out[ri + j] = s;
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) out[j * n + i] = out[i * n + j];
  return out;
}
