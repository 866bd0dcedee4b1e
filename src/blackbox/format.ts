import { mkdirp } from '../util/fs.js';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { type Config, configSpaceFromJSON, configSpaceToJSON } from '../config-space/index.js';
import type { Value } from '../config-space/index.js';
import { UserError } from '../util/errors.js';
import type { TableData } from './tabular.js';

/**
 * On-disk form of a tabulated blackbox (one folder):
 *   meta.json           format/version, config space, fidelities, objective names, sizes, metadata
 *   configs.json.gz     the hyperparameter table, column-wise: {name: [value per config]}
 *   objectives.f32.gz   float32 little-endian, [configs × seeds × fidelities × objectives]
 */
export const BLACKBOX_FORMAT = 'tunelab-blackbox';
export const BLACKBOX_FORMAT_VERSION = 1;

interface MetaJSON {
  format: string;
  version: number;
  config_space: unknown;
  fidelity_name: string;
  fidelity_values: number[];
  objective_names: string[];
  elapsed_time_attr: string;
  num_configs: number;
  num_seeds: number;
  metadata: Record<string, unknown>;
}

function writeAtomic(path: string, data: Buffer | string) {
  writeFileSync(`${path}.tmp`, data);
  renameSync(`${path}.tmp`, path);
}

export function writeTable(dir: string, table: TableData): void {
  mkdirp(dir);
  const names = Object.keys(table.configSpace);
  const columns: Record<string, Value[]> = {};
  for (const name of names) columns[name] = table.configurations.map((c) => c[name]);
  const bytes = Buffer.from(table.objectives.buffer, table.objectives.byteOffset, table.objectives.byteLength);
  // float32 arrays are little-endian on every platform Node supports; the format fixes that order
  writeAtomic(join(dir, 'objectives.f32.gz'), gzipSync(bytes, { level: 9 }));
  writeAtomic(join(dir, 'configs.json.gz'), gzipSync(JSON.stringify(columns), { level: 9 }));
  const meta: MetaJSON = {
    format: BLACKBOX_FORMAT,
    version: BLACKBOX_FORMAT_VERSION,
    config_space: configSpaceToJSON(table.configSpace),
    fidelity_name: table.fidelityName,
    fidelity_values: table.fidelityValues,
    objective_names: table.objectiveNames,
    elapsed_time_attr: table.elapsedTimeAttr,
    num_configs: table.configurations.length,
    num_seeds: table.numSeeds,
    metadata: table.metadata,
  };
  // meta.json last: its presence marks a complete table
  writeAtomic(join(dir, 'meta.json'), JSON.stringify(meta, null, 1));
}

export function readTable(dir: string): TableData {
  let meta: MetaJSON;
  try {
    meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
  } catch (e) {
    throw new UserError(`cannot read blackbox table in ${dir}: ${(e as Error).message}`);
  }
  if (meta.format !== BLACKBOX_FORMAT || meta.version !== BLACKBOX_FORMAT_VERSION) {
    throw new UserError(`${dir}/meta.json is not a ${BLACKBOX_FORMAT} v${BLACKBOX_FORMAT_VERSION} table (format ${meta.format} v${meta.version})`);
  }
  const configSpace = configSpaceFromJSON(meta.config_space);
  const columns = JSON.parse(gunzipSync(readFileSync(join(dir, 'configs.json.gz'))).toString('utf8')) as Record<string, Value[]>;
  const configurations: Config[] = Array.from({ length: meta.num_configs }, () => ({}));
  for (const name of Object.keys(configSpace)) {
    const col = columns[name];
    if (!col || col.length !== meta.num_configs) throw new UserError(`${dir}/configs.json.gz: column '${name}' missing or of wrong length`);
    for (let i = 0; i < col.length; i++) configurations[i][name] = col[i];
  }
  const raw = gunzipSync(readFileSync(join(dir, 'objectives.f32.gz')));
  const objectives = new Float32Array(raw.byteLength / 4);
  new Uint8Array(objectives.buffer).set(raw);
  return {
    configSpace,
    configurations,
    fidelityName: meta.fidelity_name,
    fidelityValues: meta.fidelity_values,
    objectiveNames: meta.objective_names,
    elapsedTimeAttr: meta.elapsed_time_attr,
    numSeeds: meta.num_seeds,
    objectives,
    metadata: meta.metadata,
  };
}
