import { basename } from 'node:path';
import { type Config, validateConfig } from '../../config-space/index.js';
import { UserError } from '../../util/errors.js';
import { writeTable } from '../format.js';
import { fcnetConfigSpace } from '../synthetic.js';
import type { TableData } from '../tabular.js';
import { resolveInside } from '../../util/path-part.js';

/**
 * fcnet (Klein & Hutter 2019) from its public `fcnet_<dataset>_data.hdf5` files: one group per
 * config, named by the config as a JSON dict (`{"activation_fn_1": "relu", ..., "n_units_2": 512}`),
 * holding `valid_loss`, `train_loss`, `valid_mse`, `train_mse` [seeds × epochs] and `final_test_error`,
 * `n_params`, `runtime` [seeds]. Converted as Syne Tune does: hyperparameters get the `hp_` prefix,
 * objectives `metric_valid_loss`, `metric_train_loss`, `metric_final_test_error`, `metric_n_params`
 * (constant over epochs) and `metric_elapsed_time` (the total runtime spread evenly over the epochs,
 * as the file holds no per-epoch times).
 */
export const FCNET_DATASETS = ['protein_structure', 'naval_propulsion', 'parkinsons_telemonitoring', 'slice_localization'] as const;
export const FCNET_OBJECTIVES = ['metric_valid_loss', 'metric_train_loss', 'metric_final_test_error', 'metric_n_params', 'metric_elapsed_time'];
/** The fidelity of the imported tables (the and the fcnet paper's name). */
export const FCNET_FIDELITY = 'epochs';

interface H5Dataset {
  shape: number[] | null;
  value: unknown;
}
interface H5Group {
  keys(): string[];
  get(path: string): H5Group | H5Dataset | null;
}

const FILE_PATTERN = /^fcnet_(.+)_data\.hdf5$/;

/** The dataset a file name stands for: fcnet_protein_structure_data.hdf5 → protein_structure. */
export function fcnetDatasetOf(path: string): string {
  const m = FILE_PATTERN.exec(basename(path));
  if (!m) throw new UserError(`${path}: expected an fcnet file named fcnet_<dataset>_data.hdf5 (datasets: ${FCNET_DATASETS.join(', ')})`);
  return m[1];
}

/** Parses a group name: JSON, or the Python dict literal some copies hold ('relu', True). */
function parseConfigKey(key: string): Record<string, unknown> {
  try {
    return JSON.parse(key);
  } catch {
    const json = key.replace(/'/g, '"').replace(/\bTrue\b/g, 'true').replace(/\bFalse\b/g, 'false').replace(/\bNone\b/g, 'null');
    try {
      return JSON.parse(json);
    } catch {
      throw new UserError(`fcnet group name is not a config dict: ${key.slice(0, 200)}`);
    }
  }
}

function numbers(file: string, group: string, name: string, ds: H5Group | H5Dataset | null, shape: number[]): Float64Array {
  if (!ds || !('shape' in ds) || !ds.shape) throw new UserError(`${file}: group ${group} lacks the dataset '${name}'`);
  if (ds.shape.length !== shape.length || ds.shape.some((s, i) => s !== shape[i])) {
    throw new UserError(`${file}: ${group}/${name} has shape [${ds.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  return Float64Array.from(ds.value as ArrayLike<number>);
}

/** Reads one fcnet HDF5 file into a table (not yet written). */
export async function readFcnetHdf5(path: string): Promise<TableData> {
  const dataset = fcnetDatasetOf(path);
  const h5wasm = await import('h5wasm/node');
  await h5wasm.ready;
  let file: InstanceType<typeof h5wasm.File>;
  try {
    file = new h5wasm.File(path, 'r');
  } catch (e) {
    throw new UserError(`cannot open ${path} as HDF5: ${(e as Error).message}`);
  }
  try {
    const root = file as unknown as H5Group;
    const keys = root.keys();
    if (keys.length === 0) throw new UserError(`${path} holds no configs`);
    const space = fcnetConfigSpace();
    const first = root.get(keys[0]) as H5Group;
    const shape = (first.get('valid_loss') as H5Dataset | null)?.shape;
    if (!shape || shape.length !== 2) throw new UserError(`${path}: ${keys[0]}/valid_loss missing or not [seeds × epochs]`);
    const [S, F] = shape;
    const M = FCNET_OBJECTIVES.length;
    const objectives = new Float32Array(keys.length * S * F * M);
    const configurations: Config[] = [];
    keys.forEach((key, i) => {
      const raw = parseConfigKey(key);
      const config: Config = {};
      for (const [k, v] of Object.entries(raw)) config[`hp_${k}`] = v as Config[string];
      try {
        validateConfig(space, config);
      } catch (e) {
        throw new UserError(`${path}: config ${key}: ${(e as Error).message}`);
      }
      configurations.push(config);
      const g = root.get(key) as H5Group;
      const valid = numbers(path, key, 'valid_loss', g.get('valid_loss'), [S, F]);
      const train = numbers(path, key, 'train_loss', g.get('train_loss'), [S, F]);
      const test = numbers(path, key, 'final_test_error', g.get('final_test_error'), [S]);
      const params = numbers(path, key, 'n_params', g.get('n_params'), [S]);
      const runtime = numbers(path, key, 'runtime', g.get('runtime'), [S]);
      for (let s = 0; s < S; s++) {
        for (let f = 0; f < F; f++) {
          const o = (((i * S + s) * F + f) * M);
          objectives[o] = valid[s * F + f];
          objectives[o + 1] = train[s * F + f];
          objectives[o + 2] = test[s];
          objectives[o + 3] = params[s];
          objectives[o + 4] = (runtime[s] * (f + 1)) / F;
        }
      }
    });
    return {
      configSpace: space,
      configurations,
      fidelityName: FCNET_FIDELITY,
      fidelityValues: Array.from({ length: F }, (_, f) => f + 1),
      objectiveNames: FCNET_OBJECTIVES,
      elapsedTimeAttr: 'metric_elapsed_time',
      numSeeds: S,
      objectives,
      metadata: {
        source: `fcnet tabular benchmarks, ${basename(path)} (imported by tunelab blackbox import fcnet)`,
        dataset,
        licence: 'see the fcnet tabular benchmarks distribution (automl/nas_benchmarks)',
        citation: 'Klein & Hutter 2019, Tabular Benchmarks for Joint Architecture and Hyperparameter Optimization (arXiv:1905.04970)',
        elapsed_time: 'runtime of the whole run × epoch / epochs (the file has no per-epoch times; as Syne Tune)',
      },
    };
  } finally {
    file.close();
  }
}

/** `tunelab blackbox import fcnet <path>`: a file, or a folder holding fcnet_*_data.hdf5 files. */
export async function importFcnet(files: string[], dataRoot: string, log: (line: string) => void): Promise<string[]> {
  const out: string[] = [];
  for (const file of files) {
    const table = await readFcnetHdf5(file);
    const dir = resolveInside(dataRoot, ['fcnet', fcnetDatasetOf(file)], `${file}: the data set name`);
    writeTable(dir, table);
    log(`imported ${file}: ${table.configurations.length} configs × ${table.numSeeds} seeds × ${table.fidelityValues.length} epochs → ${dir}`);
    out.push(dir);
  }
  return out;
}
