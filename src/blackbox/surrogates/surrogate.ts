import { type Config, type ConfigSpace, encodeConfig, encodedDim } from '../../config-space/index.js';
import { knnSurrogate, randomForestSurrogate } from './fitted.js';

/** Answers configs that a table does not hold, from the rows it does hold. */
export interface Surrogate {
  /** Row-major [fidelity × objective] curve for `config` at `seed` (seed index into the table). */
  curve(config: Config, seed: number): Float64Array;
}

export interface SurrogateTable {
  readonly configSpace: ConfigSpace;
  readonly configurations: readonly Config[];
  readonly numSeeds: number;
  /** Curve of the tabulated config number `row`, as the table stores it. */
  rowCurve(row: number, seed: number): Float64Array;
}

/** Nearest tabulated config on the [0,1]^d encoding (squared Euclidean distance; ties → lowest row). */
export function nearestNeighbourSurrogate(table: SurrogateTable): Surrogate {
  const d = encodedDim(table.configSpace);
  const n = table.configurations.length;
  const encoded = new Float64Array(n * d);
  table.configurations.forEach((c, i) => encodeConfig(table.configSpace, c, encoded, i * d));
  return {
    curve(config, seed) {
      const q = encodeConfig(table.configSpace, config);
      let best = 0;
      let bestDist = Infinity;
      for (let i = 0; i < n; i++) {
        let dist = 0;
        for (let j = 0; j < d; j++) {
          const diff = encoded[i * d + j] - q[j];
          dist += diff * diff;
        }
        if (dist < bestDist) {
          bestDist = dist;
          best = i;
        }
      }
      return table.rowCurve(best, seed);
    },
  };
}

/** Chosen by `surrogate` in a benchmark definition: nearest neighbour, k-NN average (k=5), random forest. */
export type SurrogateName = 'nearest' | 'knn' | 'random-forest';
export const surrogateFactories: Record<SurrogateName, (table: SurrogateTable) => Surrogate> = {
  nearest: nearestNeighbourSurrogate,
  knn: (table) => knnSurrogate(table),
  'random-forest': (table) => randomForestSurrogate(table),
};
