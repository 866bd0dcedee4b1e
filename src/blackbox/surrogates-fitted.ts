import { encodeConfig, encodedDim } from '../config-space/index.js';
import { createRng, hashSeed } from '../util/rng.js';
import type { Surrogate, SurrogateTable } from './surrogate.js';

/**
 * Surrogates beyond the nearest neighbour, for configs a table does not hold. Both predict a whole
 * curve ([fidelity × objective]) as an average of tabulated curves, so the answer keeps the table's
 * shape: the elapsed time stays cumulative and every value stays within the table's range.
 */

function encodeTable(table: SurrogateTable): { x: Float64Array; d: number; n: number } {
  const d = encodedDim(table.configSpace);
  const n = table.configurations.length;
  const x = new Float64Array(n * d);
  table.configurations.forEach((c, i) => encodeConfig(table.configSpace, c, x, i * d));
  return { x, d, n };
}

/** Mean of the curves of `rows` (with multiplicities) at `seed`. */
function meanCurve(table: SurrogateTable, rows: ArrayLike<number>, seed: number, count = rows.length): Float64Array {
  let out: Float64Array | undefined;
  for (let i = 0; i < count; i++) {
    const c = table.rowCurve(rows[i], seed);
    if (!out) out = new Float64Array(c.length);
    for (let j = 0; j < c.length; j++) out[j] += c[j];
  }
  for (let j = 0; j < out!.length; j++) out![j] /= count;
  return out!;
}

/** The average curve of the k nearest tabulated configs on the [0,1] encoding (ties → lower rows). */
export function knnSurrogate(table: SurrogateTable, k = 5): Surrogate {
  const { x, d, n } = encodeTable(table);
  const kk = Math.min(k, n);
  const dist = new Float64Array(n);
  const idx = new Int32Array(n);
  return {
    curve(config, seed) {
      const q = encodeConfig(table.configSpace, config);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) {
          const diff = x[i * d + j] - q[j];
          s += diff * diff;
        }
        dist[i] = s;
        idx[i] = i;
      }
      // partial selection sort: k is small
      for (let a = 0; a < kk; a++) {
        let best = a;
        for (let b = a + 1; b < n; b++) {
          const db = dist[idx[b]];
          const dBest = dist[idx[best]];
          if (db < dBest || (db === dBest && idx[b] < idx[best])) best = b;
        }
        const t = idx[a];
        idx[a] = idx[best];
        idx[best] = t;
      }
      return meanCurve(table, idx, seed, kk);
    },
  };
}

export interface ForestOptions {
  trees: number;
  minLeaf: number;
  maxDepth: number;
  /** Features tried per split, as a fraction of the encoded dimension. */
  featureFraction: number;
  seed: number;
}

const DEFAULT_FOREST: ForestOptions = { trees: 32, minLeaf: 3, maxDepth: 24, featureFraction: 0.5, seed: 0 };

type Node = { leaf: Int32Array } | { feature: number; threshold: number; left: Node; right: Node };

/**
 * A random forest of multi-output regression trees on the config encoding, fitted to the table's
 * curves (one forest per seed, fitted on first use). Splits minimise the squared error of a summary
 * of each curve — every objective at the first, middle and last fidelity, standardised — rather
 * than of all F×M values, which makes fitting ~10× cheaper and weighs each objective equally;
 * a leaf predicts the mean of its rows' full curves, and the forest the mean over its trees.
 */
export function randomForestSurrogate(table: SurrogateTable, options: Partial<ForestOptions> = {}): Surrogate {
  const opts = { ...DEFAULT_FOREST, ...options };
  const { x, d, n } = encodeTable(table);
  const forests = new Map<number, Node[]>();

  const fit = (seed: number): Node[] => {
    const first = table.rowCurve(0, seed);
    const FM = first.length;
    // summary targets: columns of the curve at three fidelities (the curve is [F × M] row-major)
    const curves = Array.from({ length: n }, (_, i) => (i === 0 ? first : table.rowCurve(i, seed)));
    const cols = pickSummaryColumns(table, FM, curves);
    const q = cols.length;
    const z = new Float64Array(n * q);
    cols.forEach((col, c) => {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += curves[i][col] / n;
      let v = 0;
      for (let i = 0; i < n; i++) v += (curves[i][col] - mean) ** 2 / n;
      const sd = Math.sqrt(v) || 1;
      for (let i = 0; i < n; i++) z[i * q + c] = (curves[i][col] - mean) / sd;
    });
    const rng = createRng(hashSeed('tunelab-random-forest', opts.seed, seed));
    const mtry = Math.max(1, Math.round(d * opts.featureFraction));
    const features = Int32Array.from({ length: d }, (_, i) => i);
    const sumL = new Float64Array(q);
    const sumT = new Float64Array(q);

    const grow = (rows: Int32Array, depth: number): Node => {
      const m = rows.length;
      if (m < 2 * opts.minLeaf || depth >= opts.maxDepth) return { leaf: rows };
      sumT.fill(0);
      for (const r of rows) for (let c = 0; c < q; c++) sumT[c] += z[r * q + c];
      let base = 0;
      for (let c = 0; c < q; c++) base += (sumT[c] * sumT[c]) / m;
      let bestGain = 1e-12;
      let bestFeature = -1;
      let bestThreshold = 0;
      // a random subset of features (partial Fisher-Yates)
      for (let a = 0; a < mtry; a++) {
        const b = a + Math.floor(rng.next() * (d - a));
        const t = features[a];
        features[a] = features[b];
        features[b] = t;
        const f = features[a];
        const sorted = Array.from(rows).sort((i, j) => x[i * d + f] - x[j * d + f]);
        sumL.fill(0);
        for (let s = 0; s < m - 1; s++) {
          const r = sorted[s];
          for (let c = 0; c < q; c++) sumL[c] += z[r * q + c];
          const v = x[r * d + f];
          const next = x[sorted[s + 1] * d + f];
          const nl = s + 1;
          if (v === next || nl < opts.minLeaf || m - nl < opts.minLeaf) continue;
          let score = 0;
          for (let c = 0; c < q; c++) {
            const l = sumL[c];
            const rr = sumT[c] - l;
            score += (l * l) / nl + (rr * rr) / (m - nl);
          }
          if (score - base > bestGain) {
            bestGain = score - base;
            bestFeature = f;
            bestThreshold = (v + next) / 2;
          }
        }
      }
      if (bestFeature < 0) return { leaf: rows };
      const left = rows.filter((r) => x[r * d + bestFeature] <= bestThreshold);
      const right = rows.filter((r) => x[r * d + bestFeature] > bestThreshold);
      return { feature: bestFeature, threshold: bestThreshold, left: grow(left, depth + 1), right: grow(right, depth + 1) };
    };

    const trees: Node[] = [];
    for (let t = 0; t < opts.trees; t++) {
      const boot = new Int32Array(n);
      for (let i = 0; i < n; i++) boot[i] = Math.floor(rng.next() * n);
      trees.push(grow(boot, 0));
    }
    return trees;
  };

  return {
    curve(config, seed) {
      const s = seed % table.numSeeds;
      let trees = forests.get(s);
      if (!trees) {
        trees = fit(s);
        forests.set(s, trees);
      }
      const q = encodeConfig(table.configSpace, config);
      let out: Float64Array | undefined;
      for (const tree of trees) {
        let node = tree;
        while (!('leaf' in node)) node = q[node.feature] <= node.threshold ? node.left : node.right;
        const leafMean = meanCurve(table, node.leaf, s);
        if (!out) out = new Float64Array(leafMean.length);
        for (let j = 0; j < out.length; j++) out[j] += leafMean[j] / trees.length;
      }
      return out!;
    },
  };
}

/** Indices into a flattened [F × M] curve: every objective at the first, middle and last fidelity. */
function pickSummaryColumns(table: SurrogateTable & { objectiveNames?: readonly string[] }, FM: number, curves: Float64Array[]): number[] {
  // the number of objectives: from the table when it says, else assume a single fidelity row per objective
  const M = table.objectiveNames?.length ?? FM;
  const F = FM / M;
  const fids = [...new Set([0, Math.floor((F - 1) / 2), F - 1])];
  const cols: number[] = [];
  for (const f of fids) {
    for (let m = 0; m < M; m++) {
      const col = f * M + m;
      // constant columns carry no split information
      if (curves.some((c) => c[col] !== curves[0][col])) cols.push(col);
    }
  }
  return cols.length > 0 ? cols : [0];
}
