import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTable } from '../src/blackbox/format.js';
import { shippedTablesDir } from '../src/blackbox/repository.js';
import { surrogateFactories } from '../src/blackbox/surrogates/surrogate.js';
import { knnSurrogate, randomForestSurrogate } from '../src/blackbox/surrogates/fitted.js';
import { type TableData, TabularBlackbox } from '../src/blackbox/tabular.js';
import { configKey, encodeConfig, encodedDim } from '../src/config-space/index.js';

const cars = readTable(join(shippedTablesDir, 'fcnet', 'cars'));
const F = cars.fidelityValues.length;
const M = cars.objectiveNames.length;
const S = cars.numSeeds;

/** The table restricted to some rows (to hold configs out and ask the surrogates about them). */
function subTable(t: TableData, rows: number[]): TableData {
  const size = S * F * M;
  const objectives = new Float32Array(rows.length * size);
  rows.forEach((r, i) => objectives.set(t.objectives.subarray(r * size, (r + 1) * size), i * size));
  return { ...t, configurations: rows.map((r) => t.configurations[r]), objectives };
}

const all = Array.from({ length: cars.configurations.length }, (_, i) => i);
const train = all.filter((i) => i % 5 !== 0);
const heldOut = all.filter((i) => i % 5 === 0);
const full = new TabularBlackbox(cars);
const trainTable = subTable(cars, train);

/** Mean absolute error of the final valid_loss over the held-out configs, seed 0. */
function heldOutError(predict: (row: number) => Float64Array): number {
  let err = 0;
  for (const r of heldOut) err += Math.abs(predict(r)[(F - 1) * M] - full.rowCurve(r, 0)[(F - 1) * M]);
  return err / heldOut.length;
}

describe('surrogates', () => {
  it('are chosen by name, as a benchmark definition does', () => {
    expect(Object.keys(surrogateFactories)).toEqual(['nearest', 'knn', 'random-forest']);
    const bb = new TabularBlackbox(trainTable, 'knn');
    const q = cars.configurations[heldOut[0]];
    expect([...bb.curve(q, 1)]).toEqual([...knnSurrogate(new TabularBlackbox(trainTable), 5).curve(q, 1)]);
    // tabulated configs still come from the table itself
    expect([...bb.curve(trainTable.configurations[3], 2)]).toEqual([...full.rowCurve(train[3], 2)]);
  });

  it('k-NN averages the curves of the k nearest configs on the encoding', () => {
    const table = new TabularBlackbox(trainTable);
    const knn = knnSurrogate(table, 4);
    const space = cars.configSpace;
    const d = encodedDim(space);
    const q = cars.configurations[heldOut[7]];
    const qe = encodeConfig(space, q);
    const dist = trainTable.configurations.map((c, i) => {
      const e = encodeConfig(space, c);
      let s = 0;
      for (let j = 0; j < d; j++) s += (e[j] - qe[j]) ** 2;
      return { i, s };
    });
    dist.sort((a, b) => a.s - b.s || a.i - b.i);
    const expected = new Float64Array(F * M);
    for (const { i } of dist.slice(0, 4)) table.rowCurve(i, 2).forEach((v, j) => (expected[j] += v / 4));
    const got = knn.curve(q, 2);
    got.forEach((v, j) => expect(v).toBeCloseTo(expected[j], 12));
  });

  it('the random forest predicts held-out configs better than the mean and than one neighbour', () => {
    const table = new TabularBlackbox(trainTable);
    const forest = randomForestSurrogate(table);
    const nearest = surrogateFactories.nearest(table);
    let mean = 0;
    for (const r of train) mean += full.rowCurve(r, 0)[(F - 1) * M] / train.length;
    const errMean = heldOutError(() => Float64Array.from({ length: F * M }, () => mean));
    const errForest = heldOutError((r) => forest.curve(cars.configurations[r], 0));
    const errNearest = heldOutError((r) => nearest.curve(cars.configurations[r], 0));
    expect(errForest).toBeLessThan(0.7 * errMean);
    expect(errForest).toBeLessThan(errNearest);
    // its curves keep the table's shape: cumulative elapsed time
    const c = forest.curve(cars.configurations[heldOut[3]], 1);
    for (let f = 1; f < F; f++) expect(c[f * M + M - 1]).toBeGreaterThan(c[(f - 1) * M + M - 1]);
    // and it is a deterministic function of the table and the query
    expect([...randomForestSurrogate(table).curve(cars.configurations[heldOut[3]], 1)]).toEqual([...c]);
    expect(new Set(heldOut.map((r) => configKey(cars.configSpace, cars.configurations[r]))).size).toBe(heldOut.length);
  });
});
