import { partitionPoint } from '../util/sorted.js';

/**
 * Several objectives: dominance, non-dominated sorting, crowding distance and exact hypervolume.
 * Everything here works on points to MINIMISE; `signed` turns a row's objective values into such a
 * point (a maximised objective is negated), so that callers never repeat the direction logic.
 */

/** One objective of an experiment: a metric and its direction. */
export interface Objective {
  metric: string;
  mode: 'min' | 'max';
}

/** The values of `objectives` in `metrics`, signed so that smaller is better; NaN where one is missing. */
export function signed(objectives: readonly Objective[], metrics: Readonly<Record<string, unknown>>): number[] {
  return objectives.map((o) => {
    const v = metrics[o.metric];
    return typeof v === 'number' ? (o.mode === 'min' ? v : -v) : NaN;
  });
}

/** True when a is no worse than b in every objective and better in one (both minimised). */
export function dominates(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  let better = false;
  for (let k = 0; k < a.length; k++) {
    if (a[k] > b[k]) return false;
    if (a[k] < b[k]) better = true;
  }
  return better;
}

/** Lexicographic order on minimised points (the order in which no point is dominated by a later one). */
const lexLess = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return a[k] - b[k];
  return 0;
};

/**
 * Front index of every point (0 = non-dominated), by efficient non-dominated sorting with binary
 * search (ENS-BS, Zhang et al. 2015): points in lexicographic order go to the first front none of
 * whose members dominates them. In 2-D the last point a front received has its smallest second
 * value, so one comparison per front decides and the sort is O(n log n); with more objectives a
 * front is scanned (O(m n²) at worst, much less in practice). Equal points share a front.
 */
export function nonDominatedRanks(points: readonly ArrayLike<number>[]): Int32Array {
  const order = Array.from({ length: points.length }, (_, i) => i).sort((i, j) => lexLess(points[i], points[j]) || i - j);
  return ranksInOrder(points, order);
}

/** `nonDominatedRanks` for points already in lexicographic order (`order` lists their indices so). */
export function ranksInOrder(points: readonly ArrayLike<number>[], order: ArrayLike<number>): Int32Array {
  const n = order.length;
  const ranks = new Int32Array(points.length);
  if (n === 0) return ranks;
  if (points[order[0]].length === 2) {
    // a front's last point has its smallest second value: it alone decides whether the front dominates
    const lastX = new Float64Array(n);
    const lastY = new Float64Array(n);
    let numFronts = 0;
    for (let r = 0; r < n; r++) {
      const i = order[r];
      const x = points[i][0];
      const y = points[i][1];
      const lo = partitionPoint(numFronts, (f) => lastY[f] <= y && (lastX[f] < x || lastY[f] < y));
      if (lo === numFronts) numFronts++;
      lastX[lo] = x;
      lastY[lo] = y;
      ranks[i] = lo;
    }
    return ranks;
  }
  const fronts: number[][] = [];
  for (let r = 0; r < n; r++) {
    const i = order[r];
    const p = points[i];
    // the fronts a point is dominated by form a prefix: binary search for the first that does not dominate it
    const lo = partitionPoint(fronts.length, (m) => {
      const f = fronts[m];
      let dominated = false;
      for (let k = f.length - 1; k >= 0 && !dominated; k--) dominated = dominates(points[f[k]], p);
      return dominated;
    });
    if (lo === fronts.length) fronts.push([]);
    fronts[lo].push(i);
    ranks[i] = lo;
  }
  return ranks;
}

/** Where a point goes in a list kept in lexicographic order (after equal ones). */
export function lexInsertionIndex(sorted: readonly ArrayLike<number>[], p: ArrayLike<number>): number {
  return partitionPoint(sorted.length, (i) => lexLess(sorted[i], p) <= 0);
}

/** Indices of the non-dominated points (front 0), in input order. */
export function paretoFrontIndices(points: readonly ArrayLike<number>[]): number[] {
  const ranks = nonDominatedRanks(points);
  const out: number[] = [];
  for (let i = 0; i < points.length; i++) if (ranks[i] === 0) out.push(i);
  return out;
}

/**
 * NSGA-II's crowding distance of the points of one front (Deb et al. 2002): per objective, the
 * points sorted, the extremes get Infinity and the others the normalised gap between their
 * neighbours, summed over objectives. Larger is less crowded.
 */
export function crowdingDistance(points: readonly ArrayLike<number>[]): Float64Array {
  const n = points.length;
  const d = new Float64Array(n);
  if (n === 0) return d;
  const m = points[0].length;
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let k = 0; k < m; k++) {
    idx.sort((i, j) => points[i][k] - points[j][k] || i - j);
    const lo = points[idx[0]][k];
    const hi = points[idx[n - 1]][k];
    d[idx[0]] = Infinity;
    d[idx[n - 1]] = Infinity;
    if (hi === lo) continue;
    for (let r = 1; r < n - 1; r++) d[idx[r]] += (points[idx[r + 1]][k] - points[idx[r - 1]][k]) / (hi - lo);
  }
  return d;
}

/**
 * A total order of the points, best first: by front, then by crowding distance (larger first), then
 * by index. NSGA-II's survival and MO-ASHA's rung ranking both use it.
 */
export function rankByFrontAndCrowding(points: readonly ArrayLike<number>[]): number[] {
  const ranks = nonDominatedRanks(points);
  const crowd = new Float64Array(points.length);
  const byFront: number[][] = [];
  ranks.forEach((r, i) => (byFront[r] ??= []).push(i));
  for (const f of byFront) {
    if (!f) continue;
    const c = crowdingDistance(f.map((i) => points[i]));
    f.forEach((i, j) => (crowd[i] = c[j]));
  }
  return Array.from({ length: points.length }, (_, i) => i).sort((i, j) => ranks[i] - ranks[j] || (crowd[j] === crowd[i] ? 0 : crowd[j] > crowd[i] ? 1 : -1) || i - j);
}

/** Points that strictly dominate the reference point in every objective; the others add no volume. */
function inside(points: readonly ArrayLike<number>[], ref: ArrayLike<number>): ArrayLike<number>[] {
  const out: ArrayLike<number>[] = [];
  const m = ref.length;
  for (const p of points) {
    let k = 0;
    while (k < m && p[k] < ref[k]) k++;
    if (k === m) out.push(p);
  }
  return out;
}

/**
 * Exact hypervolume (the volume dominated by the points and bounded by `ref`, all minimised) for 1,
 * 2 and 3 objectives. 2-D: a sweep in the first objective, O(n log n). 3-D: HV3D (Fonseca et al.
 * 2006, Beume et al. 2009) — points swept by the third objective while the 2-D staircase of those
 * seen is kept sorted, each insertion updating the staircase's area by the part it changes; O(n log n)
 * comparisons plus the array splices. More objectives: an error (no exact method is offered).
 */
export function hypervolume(points: readonly ArrayLike<number>[], ref: ArrayLike<number>): number {
  const m = ref.length;
  if (m === 2) return hv2d(points, ref[0], ref[1]);
  const pts = inside(points, ref);
  if (pts.length === 0) return 0;
  if (m === 1) return ref[0] - Math.min(...pts.map((p) => p[0]));
  if (m === 3) return hv3d(pts, ref);
  throw new Error(`hypervolume: exact for 1 to 3 objectives, got ${m}`);
}

/**
 * Indices 0..n−1 ordered by (a, b) ascending, by a bottom-up merge sort with the comparison inline
 * (a comparator function called per comparison costs more than the rest of the 2-D sweep).
 */
function sortedIndices(a: Float64Array, b: Float64Array, n: number): Uint32Array {
  let src = new Uint32Array(n);
  let dst = new Uint32Array(n);
  for (let i = 0; i < n; i++) src[i] = i;
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let o = lo;
      while (i < mid && j < hi) {
        const p = src[i];
        const q = src[j];
        // q goes first only when strictly smaller: the sort is stable
        if (a[q] < a[p] || (a[q] === a[p] && b[q] < b[p])) {
          dst[o++] = q;
          j++;
        } else {
          dst[o++] = p;
          i++;
        }
      }
      while (i < mid) dst[o++] = src[i++];
      while (j < hi) dst[o++] = src[j++];
    }
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}

/**
 * The 2-D sweep on flat typed arrays (the points inside the reference copied once, an index array
 * sorted by x then y): no per-point allocation, which is what dominates at 10,000 points.
 */
function hv2d(points: readonly ArrayLike<number>[], rx: number, ry: number): number {
  const n = points.length;
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const p = points[i];
    if (p[0] < rx && p[1] < ry) {
      xs[k] = p[0];
      ys[k] = p[1];
      k++;
    }
  }
  const order = sortedIndices(xs, ys, k);
  let volume = 0;
  let bestY = ry;
  for (let r = 0; r < k; r++) {
    const i = order[r];
    const y = ys[i];
    if (y >= bestY) continue;
    volume += (rx - xs[i]) * (bestY - y);
    bestY = y;
  }
  return volume;
}

function hv3d(pts: readonly ArrayLike<number>[], ref: ArrayLike<number>): number {
  const [rx, ry, rz] = [ref[0], ref[1], ref[2]];
  const sorted = [...pts].sort((a, b) => a[2] - b[2]);
  // the staircase: x ascending, y strictly descending; its area is Σ (next x − x) · (ry − y)
  const xs: number[] = [];
  const ys: number[] = [];
  let area = 0;
  const term = (i: number) => ((i + 1 < xs.length ? xs[i + 1] : rx) - xs[i]) * (ry - ys[i]);
  let volume = 0;
  for (let s = 0; s < sorted.length; s++) {
    const [x, y] = [sorted[s][0], sorted[s][1]];
    // first index with xs[i] > x
    const lo = partitionPoint(xs.length, (i) => xs[i] <= x);
    const pred = lo - 1;
    if (!(pred >= 0 && ys[pred] <= y)) {
      // it replaces the points it dominates: an equal x before it, and the following ones with y ≥ its y
      const start = pred >= 0 && xs[pred] === x ? pred : lo;
      let end = lo;
      while (end < xs.length && ys[end] >= y) end++;
      let lost = 0;
      if (start > 0) lost += term(start - 1);
      for (let i = start; i < end; i++) lost += term(i);
      xs.splice(start, end - start, x);
      ys.splice(start, end - start, y);
      let gained = term(start);
      if (start > 0) gained += term(start - 1);
      area += gained - lost;
    }
    const nextZ = s + 1 < sorted.length ? sorted[s + 1][2] : rz;
    volume += area * (nextZ - sorted[s][2]);
  }
  return volume;
}

/**
 * Per benchmark or experiment: objectives mapped to [0, 1] by fixed bounds (best → 0, worst → 1)
 * and a reference point in that space (default 1.1 per objective, so that the extremes of the
 * bounds still add volume). Hypervolumes of runs are comparable only under one such setting.
 */
export interface HypervolumeSetting {
  /** signed (minimised) bounds per objective: the value mapped to 0, and the value mapped to 1 */
  lower: number[];
  upper: number[];
  reference: number[];
}

export const DEFAULT_REFERENCE = 1.1;

/** The setting for signed points whose bounds are [lower, upper] per objective. */
export function hypervolumeSetting(lower: number[], upper: number[], reference = DEFAULT_REFERENCE): HypervolumeSetting {
  return { lower, upper, reference: lower.map(() => reference) };
}

/** A signed point in the normalised space of a setting. */
export function normalise(p: ArrayLike<number>, s: HypervolumeSetting): number[] {
  return Array.from(p, (v, k) => (s.upper[k] === s.lower[k] ? 0 : (v - s.lower[k]) / (s.upper[k] - s.lower[k])));
}

/** Hypervolume of signed points under a setting. */
export function normalisedHypervolume(points: readonly ArrayLike<number>[], s: HypervolumeSetting): number {
  return hypervolume(points.map((p) => normalise(p, s)), s.reference);
}
