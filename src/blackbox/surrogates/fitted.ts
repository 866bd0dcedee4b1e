import { encodeConfig, encodedDim } from '../../config-space/index.js';
import { createRng, hashSeed } from '../../util/rng.js';
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

const DEFAULT_FOREST: ForestOptions = { trees: 24, minLeaf: 2, maxDepth: 24, featureFraction: 0.5, seed: 0 };

type Node = { leaf: Int32Array } | { feature: number; threshold: number; left: Node; right: Node };

/**
 * Random forests of regression trees on the config encoding, fitted to the table's curves: one
 * forest per objective (so that splits which explain the runtime do not blur the loss) and per
 * seed, fitted on first use. A tree's splits minimise the squared error of the ranks of its
 * objective at the first, middle and last fidelity (ranks: a few diverged runs with huge losses
 * would otherwise decide every split); a leaf predicts its rows' mean curve of that objective, and
 * the forest the mean over its trees.
 */
export function randomForestSurrogate(table: SurrogateTable & { objectiveNames?: readonly string[] }, options: Partial<ForestOptions> = {}): Surrogate {
  const opts = { ...DEFAULT_FOREST, ...options };
  const { x, d, n } = encodeTable(table);
  const forests = new Map<number, { trees: Node[][]; curves: Float64Array[] }>();
  // each encoded dimension's distinct values, and every row's index among them
  const levels = Array.from({ length: d }, (_, f) => [...new Set(Array.from({ length: n }, (_, i) => x[i * d + f]))].sort((a, b) => a - b));
  const bin = new Int32Array(n * d);
  for (let i = 0; i < n; i++) for (let f = 0; f < d; f++) bin[i * d + f] = levels[f].indexOf(x[i * d + f]);
  const maxLevels = Math.max(...levels.map((l) => l.length));
  let M = 1;
  let F = 1;

  const fitObjective = (curves: Float64Array[], m: number, seed: number): Node[] => {
    const fids = [...new Set([0, Math.floor((F - 1) / 2), F - 1])];
    const cols = fids.map((f) => f * M + m);
    const q = cols.length;
    const z = new Float64Array(n * q);
    cols.forEach((col, c) => {
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => curves[a][col] - curves[b][col]);
      order.forEach((row, rank) => (z[row * q + c] = rank / n));
    });
    const rng = createRng(hashSeed('tunelab-random-forest', opts.seed, seed, m));
    const mtry = Math.max(1, Math.round(d * opts.featureFraction));
    const features = Int32Array.from({ length: d }, (_, i) => i);
    const sumL = new Float64Array(q);
    const sumT = new Float64Array(q);
    const count = new Float64Array(maxLevels);
    const sums = new Float64Array(maxLevels * q);

    const grow = (rows: Int32Array, depth: number): Node => {
      const size = rows.length;
      if (size < 2 * opts.minLeaf || depth >= opts.maxDepth) return { leaf: rows };
      sumT.fill(0);
      for (const r of rows) for (let c = 0; c < q; c++) sumT[c] += z[r * q + c];
      let base = 0;
      for (let c = 0; c < q; c++) base += (sumT[c] * sumT[c]) / size;
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
        // the encoding takes few distinct values per dimension: accumulate per value, no sorting
        const nb = levels[f].length;
        if (nb < 2) continue;
        count.fill(0, 0, nb);
        sums.fill(0, 0, nb * q);
        for (const r of rows) {
          const b = bin[r * d + f];
          count[b]++;
          for (let c = 0; c < q; c++) sums[b * q + c] += z[r * q + c];
        }
        sumL.fill(0);
        let nl = 0;
        for (let b = 0; b < nb - 1; b++) {
          nl += count[b];
          for (let c = 0; c < q; c++) sumL[c] += sums[b * q + c];
          if (count[b] === 0 || nl < opts.minLeaf || size - nl < opts.minLeaf) continue;
          let score = 0;
          for (let c = 0; c < q; c++) {
            const l = sumL[c];
            const rr = sumT[c] - l;
            score += (l * l) / nl + (rr * rr) / (size - nl);
          }
          if (score - base > bestGain) {
            // split between this value and the next one present at this node
            let next = b + 1;
            while (next < nb && count[next] === 0) next++;
            if (next === nb) break;
            bestGain = score - base;
            bestFeature = f;
            bestThreshold = (levels[f][b] + levels[f][next]) / 2;
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

  const fit = (seed: number) => {
    const curves = Array.from({ length: n }, (_, i) => table.rowCurve(i, seed));
    // the curve is [F × M] row-major; without objective names, treat it as one objective
    M = table.objectiveNames?.length ?? 1;
    F = curves[0].length / M;
    return { trees: Array.from({ length: M }, (_, m) => fitObjective(curves, m, seed)), curves };
  };

  return {
    curve(config, seed) {
      const s = seed % table.numSeeds;
      let forest = forests.get(s);
      if (!forest) {
        forest = fit(s);
        forests.set(s, forest);
      }
      const { curves } = forest;
      const q = encodeConfig(table.configSpace, config);
      const out = new Float64Array(F * M);
      forest.trees.forEach((trees, m) => {
        for (const tree of trees) {
          let node = tree;
          while (!('leaf' in node)) node = q[node.feature] <= node.threshold ? node.left : node.right;
          const w = 1 / (trees.length * node.leaf.length);
          for (const r of node.leaf) {
            const c = curves[r];
            for (let f = 0; f < F; f++) out[f * M + m] += w * c[f * M + m];
          }
        }
      });
      return out;
    },
  };
}
