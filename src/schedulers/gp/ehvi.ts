import { normalCdf, normalPdf } from './acquisition.js';

/**
 * Expected hypervolume improvement (EHVI) of a Gaussian prediction with independent objectives, all
 * minimised, over a front and a reference point: exact in 2 and 3 objectives (in 1, expected improvement).
 *
 * The region the front does not dominate (inside the reference) is cut into disjoint boxes
 * [l, u) (l may be −∞). A new point Y improves the hypervolume by the measure of the boxes' points
 * it dominates, so EHVI = Σ_boxes Π_k ∫_{l_k}^{u_k} P(Y_k ≤ z) dz = Σ_boxes Π_k (G_k(u_k) − G_k(l_k)),
 * with G(c) = ∫_{−∞}^{c} Φ((z − μ)/σ) dz = (c − μ) Φ((c − μ)/σ) + σ φ((c − μ)/σ) and G(−∞) = 0: the
 * box-decomposition form of Emmerich et al. 2006/2016 and Yang et al. 2019. 2-D: one box per step
 * of the front's staircase, (x_{i−1}, x_i) × (−∞, y_{i−1}), k + 1 boxes. 3-D: the front sorted by
 * the third objective cuts z into slabs; in each slab the points below it form a 2-D staircase whose
 * boxes, times the slab, are that slab's part: O(k²) boxes for k points (Yang et al. reach O(k log k);
 * HPO fronts hold tens of points).
 */
export interface Boxes {
  m: number;
  /** per box, m lower then m upper bounds (−∞ allowed below) */
  bounds: Float64Array;
  count: number;
}

/** The 2-D staircase of points (x ascending, y strictly descending), those not inside (rx, ry) left out. */
function staircase(points: readonly ArrayLike<number>[], rx: number, ry: number): [number, number][] {
  const pts = points.filter((p) => p[0] < rx && p[1] < ry).map((p) => [p[0], p[1]] as [number, number]);
  pts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: [number, number][] = [];
  for (const p of pts) if (out.length === 0 || p[1] < out[out.length - 1][1]) out.push(p);
  return out;
}

/** The boxes of the 2-D region below (rx, ry) a staircase does not dominate, each given a z range. */
function pushStrips(stairs: [number, number][], rx: number, ry: number, z: [number, number] | undefined, out: number[]): void {
  let left = -Infinity;
  let height = ry;
  for (let i = 0; i <= stairs.length; i++) {
    const right = i < stairs.length ? stairs[i][0] : rx;
    if (right > left) {
      if (z) out.push(left, -Infinity, z[0], right, height, z[1]);
      else out.push(left, -Infinity, right, height);
    }
    if (i < stairs.length) {
      left = stairs[i][0];
      height = stairs[i][1];
    }
  }
}

/** The non-dominated region of a front (minimised, m = 2 or 3) below `ref`, as disjoint boxes. */
export function nonDominatedBoxes(front: readonly ArrayLike<number>[], ref: ArrayLike<number>): Boxes {
  const m = ref.length;
  const out: number[] = [];
  if (m === 1) {
    // one objective: EHVI is expected improvement below the best (or the reference)
    const best = Math.min(ref[0], ...front.map((p) => p[0]));
    out.push(-Infinity, best);
  } else if (m === 2) pushStrips(staircase(front, ref[0], ref[1]), ref[0], ref[1], undefined, out);
  else if (m === 3) {
    const pts = front.filter((p) => p[0] < ref[0] && p[1] < ref[1] && p[2] < ref[2]).sort((a, b) => a[2] - b[2]);
    let below = -Infinity;
    for (let j = 0; j <= pts.length; j++) {
      const top = j < pts.length ? pts[j][2] : ref[2];
      if (top > below) pushStrips(staircase(pts.slice(0, j), ref[0], ref[1]), ref[0], ref[1], [below, top], out);
      below = top;
    }
  } else throw new Error(`EHVI: exact for 1 to 3 objectives, got ${m}`);
  return { m, bounds: Float64Array.from(out), count: out.length / (2 * m) };
}

/** ∫_{−∞}^{c} Φ((z − μ)/σ) dz. */
function G(c: number, mu: number, sigma: number): number {
  if (c === -Infinity) return 0;
  const z = (c - mu) / sigma;
  return (c - mu) * normalCdf(z) + sigma * normalPdf(z);
}

/** EHVI of Y ~ N(mean, diag(sd²)) over the boxes of a front's non-dominated region. */
export function expectedHypervolumeImprovement(boxes: Boxes, mean: ArrayLike<number>, sd: ArrayLike<number>): number {
  const { m, bounds, count } = boxes;
  let total = 0;
  for (let b = 0; b < count; b++) {
    const o = 2 * m * b;
    let prod = 1;
    for (let k = 0; k < m && prod > 0; k++) {
      const s = Math.max(sd[k], 1e-9);
      prod *= G(bounds[o + m + k], mean[k], s) - G(bounds[o + k], mean[k], s);
    }
    total += prod;
  }
  return total;
}
