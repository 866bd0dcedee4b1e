import { describe, expect, it } from 'vitest';
import { DATASETS, loadDataset, trivialBaseline } from '../src/blackbox/build/datasets.js';
import { fcnetTrainingFunction } from '../src/blackbox/build/fcnet-trainer.js';
import { LOSS_CAP, MLP, type MLPOptions } from '../src/blackbox/build/mlp.js';
import { trainCurve } from '../src/blackbox/build/worker.js';
import type { Config } from '../src/config-space/index.js';

const base: Config = {
  hp_activation_fn_1: 'relu',
  hp_activation_fn_2: 'tanh',
  hp_batch_size: 16,
  hp_dropout_1: 0,
  hp_dropout_2: 0.3,
  hp_init_lr: 0.005,
  hp_lr_schedule: 'cosine',
  hp_n_units_1: 64,
  hp_n_units_2: 32,
};
const M = 5;

describe('datasets', () => {
  it('prepare the shipped data sets: fixed split, standardised features, classes', () => {
    const cars = loadDataset('cars');
    expect(cars.task).toBe('regression');
    expect(cars.info.rows).toBe(392); // 406 cars, 14 with a missing value
    expect(cars.train.n + cars.valid.n).toBe(392);
    expect(cars.featureNames).toEqual(['Cylinders', 'Displacement', 'Horsepower', 'Weight_in_lbs', 'Acceleration', 'Year', 'Origin=Europe', 'Origin=Japan', 'Origin=USA']);
    // training-split statistics: each numeric feature has mean 0 and variance 1 there
    const d = cars.featureNames.length;
    for (let j = 0; j < 6; j++) {
      let mean = 0;
      let sq = 0;
      for (let i = 0; i < cars.train.n; i++) {
        mean += cars.train.x[i * d + j] / cars.train.n;
        sq += cars.train.x[i * d + j] ** 2 / cars.train.n;
      }
      expect(mean).toBeCloseTo(0, 10);
      expect(sq).toBeCloseTo(1, 10);
    }
    const penguins = loadDataset('penguins');
    expect(penguins.classNames).toEqual(['FEMALE', 'MALE']);
    expect(penguins.info.rows).toBe(333);
    const weather = loadDataset('weather');
    expect(weather.classNames).toEqual(['drizzle', 'fog', 'rain', 'snow', 'sun']);
    expect(weather.train.n + weather.valid.n).toBe(730);
    expect(Object.keys(DATASETS)).toEqual(['cars', 'penguins', 'weather', 'iris']);
    expect(() => loadDataset('mnist')).toThrow(/unknown dataset 'mnist'; valid datasets: cars, penguins, weather, iris/);
  });
});

describe('the fcnet network', () => {
  const iris = loadDataset('iris');
  const opts = (o: Partial<MLPOptions> = {}): MLPOptions => ({
    inputs: iris.featureNames.length,
    outputs: 3,
    task: 'classification',
    units: [32, 32],
    activations: ['relu', 'relu'],
    dropout: [0, 0],
    batchSize: 8,
    learningRate: 0.01,
    schedule: 'const',
    epochs: 30,
    seed: 1,
    ...o,
  });

  it('learns: iris validation accuracy beyond 90 % and loss far below the trivial predictor', () => {
    const net = new MLP(opts());
    const first = net.evaluate(iris.valid);
    for (let e = 0; e < 30; e++) net.trainEpoch(iris.train);
    const last = net.evaluate(iris.valid);
    expect(last.score).toBeGreaterThan(0.9);
    expect(last.loss).toBeLessThan(0.3 * trivialBaseline(iris).loss);
    expect(last.loss).toBeLessThan(0.5 * first.loss);
    expect(net.parameterCount).toBe(4 * 32 + 32 + 32 * 32 + 32 + 32 * 3 + 3);
  });

  it('learns a regression: cars R² beyond 0.8', () => {
    const cars = loadDataset('cars');
    const net = new MLP(opts({ inputs: cars.featureNames.length, outputs: 1, task: 'regression', learningRate: 0.005, schedule: 'cosine', epochs: 20 }));
    for (let e = 0; e < 20; e++) net.trainEpoch(cars.train);
    const v = net.evaluate(cars.valid);
    expect(v.score).toBeGreaterThan(0.8);
    expect(v.loss).toBeLessThan(0.25 * trivialBaseline(cars).loss);
  });

  it('is reproducible from its seed, and the seed, dropout and schedule matter', () => {
    const run = (o: Partial<MLPOptions>) => {
      const net = new MLP(opts(o));
      const out: number[] = [];
      for (let e = 0; e < 5; e++) out.push(net.trainEpoch(iris.train), net.evaluate(iris.valid).loss);
      return out;
    };
    expect(run({})).toEqual(run({}));
    expect(run({ seed: 2 })).not.toEqual(run({}));
    expect(run({ dropout: [0.3, 0.3] })).not.toEqual(run({}));
    expect(run({ schedule: 'cosine', epochs: 5 })).not.toEqual(run({}));
    expect(run({ activations: ['tanh', 'tanh'] })).not.toEqual(run({}));
  });

  it('keeps a diverging run finite', () => {
    const cars = loadDataset('cars');
    const net = new MLP(opts({ inputs: cars.featureNames.length, outputs: 1, task: 'regression', learningRate: 1e6 }));
    for (let e = 0; e < 3; e++) expect(net.trainEpoch(cars.train)).toBeLessThanOrEqual(LOSS_CAP);
    const v = net.evaluate(cars.valid);
    expect(Number.isFinite(v.loss) && Number.isFinite(v.score)).toBe(true);
  });
});

describe('the fcnet training function', () => {
  const fn = fcnetTrainingFunction('fcnet-penguins');

  it('yields every objective per epoch, with a cumulative CPU time that grows with the epochs', () => {
    const curve = trainCurve(fn, base, 7, 10);
    expect(fn.objectiveNames).toEqual(['valid_loss', 'valid_accuracy', 'train_loss', 'n_params']);
    expect(curve.length).toBe(10 * M);
    for (let e = 1; e < 10; e++) expect(curve[e * M + 4]).toBeGreaterThan(curve[(e - 1) * M + 4]);
    expect(curve[9 * M + 1]).toBeGreaterThan(0.75); // accuracy on the sex of penguins
    expect(trainCurve(fn, base, 7, 10).filter((_, i) => i % M !== 4)).toEqual(curve.filter((_, i) => i % M !== 4));
  });

  it('a bigger network takes longer per epoch', () => {
    const time = (units: number) => {
      const c = trainCurve(fn, { ...base, hp_n_units_1: units, hp_n_units_2: units }, 1, 3);
      return c[2 * M + 4];
    };
    time(16); // warm up the JIT
    expect(time(256)).toBeGreaterThan(4 * time(16));
  });
});
