import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { type Config, type ConfigSpace, choice } from '../../config-space/index.js';
import { UserError } from '../../util/errors.js';
import { writeTable } from '../format.js';
import type { TableData } from '../tabular.js';
import { describe, pyGet, readPickle } from '../pickle.js';
import { resolveInside } from '../../util/path-part.js';

/**
 * NAS-Bench-201 (Dong & Yang 2020) from the pickle Syne Tune converts, `NATS-tss-v1_0-3ffb9.pickle.pbz2`
 * (bzip2; a plain `.pickle` works too): `{"total_archs": n, "arch2infos": {i: {"200": {"arch_str":
 * "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|", "all_results": {(dataset, seed): {"eval_acc1es":
 * {"ori-test@<epoch>": %}, "train_acc1es": {epoch: %}, "train_times": {epoch: s}, "eval_times":
 * {"ori-test@<epoch>": s}, "latency": [s], "flop": f, "params": p}}}}}}`. Converted as Syne Tune does:
 * the six edge operations are `hp_x0`..`hp_x5`, objectives `metric_valid_error` (1 − ori-test
 * accuracy), `metric_train_error`, `metric_runtime` (train + eval time of the epoch),
 * `metric_elapsed_time` (its cumulative sum), `metric_latency`, `metric_flops`, `metric_params`; seeds
 * 777, 888, 999, a seed an architecture lacks imputed by the mean of its other seeds.
 */
export const NB201_DATASETS = ['cifar10', 'cifar100', 'ImageNet16-120'];
export const NB201_SEEDS = [777, 888, 999];
export const NB201_OPS = ['avg_pool_3x3', 'nor_conv_3x3', 'skip_connect', 'nor_conv_1x1', 'none'];
export const NB201_OBJECTIVES = ['metric_valid_error', 'metric_train_error', 'metric_runtime', 'metric_elapsed_time', 'metric_latency', 'metric_flops', 'metric_params'];
const EPOCHS = 200;

export const nb201ConfigSpace = (): ConfigSpace => Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`hp_x${i}`, choice(NB201_OPS)]));

/** '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|...|' → the six operations in order. */
export function parseArchString(arch: string): string[] {
  const ops: string[] = [];
  for (const node of arch.split('+')) {
    for (const input of node.split('|').filter((s) => s !== '')) {
      const parts = input.split('~');
      if (parts.length !== 2) throw new UserError(`NAS-Bench-201 arch string ${arch}: bad input '${input}'`);
      ops.push(parts[0]);
    }
  }
  if (ops.length !== 6 || ops.some((o) => !NB201_OPS.includes(o))) {
    throw new UserError(`NAS-Bench-201 arch string ${arch}: expected 6 operations of ${NB201_OPS.join(', ')}, got ${ops.join(', ')}`);
  }
  return ops;
}

const require = createRequire(import.meta.url);

export function readNb201Pickle(path: string): unknown {
  let raw: Uint8Array = readFileSync(path);
  if (raw[0] === 0x42 && raw[1] === 0x5a && raw[2] === 0x68) {
    // "BZh": bzip2, as the public .pickle.pbz2 is
    const bzip = require('seek-bzip') as typeof import('seek-bzip');
    raw = bzip.decode(raw);
  }
  try {
    return readPickle(raw, 'objects');
  } catch (e) {
    throw new UserError(`${path}: cannot read the pickle: ${(e as Error).message}`);
  }
}

function field(where: string, obj: unknown, key: unknown): unknown {
  const v = pyGet(obj, key);
  if (v === undefined) throw new UserError(`${where}: lacks ${JSON.stringify(key)}`);
  return v;
}

const num = (where: string, v: unknown): number => {
  if (typeof v !== 'number') throw new UserError(`${where}: expected a number, got ${describe(v)}`);
  return v;
};

/** One table per dataset from the unpickled NAS-Bench-201 data. */
export function nb201Tables(data: unknown, source: string): Map<string, TableData> {
  if (!(data instanceof Map)) throw new UserError(`${source}: expected a dict at the top, got ${describe(data)}`);
  const n = num(`${source} total_archs`, field(source, data, 'total_archs'));
  const arch2infos = field(source, data, 'arch2infos');
  const S = NB201_SEEDS.length;
  const F = EPOCHS;
  const M = NB201_OBJECTIVES.length;
  const configs: Config[] = [];
  const infos: unknown[] = [];
  for (let a = 0; a < n; a++) {
    const info = field(`${source} arch2infos[${a}]`, field(`${source} arch2infos`, arch2infos, a), '200');
    const ops = parseArchString(String(field(`${source} arch2infos[${a}]["200"]`, info, 'arch_str')));
    configs.push(Object.fromEntries(ops.map((op, i) => [`hp_x${i}`, op])));
    infos.push(info);
  }
  const tables = new Map<string, TableData>();
  for (const dataset of NB201_DATASETS) {
    const objectives = new Float32Array(n * S * F * M);
    for (let a = 0; a < n; a++) {
      const where = `${source} arch2infos[${a}]["200"]`;
      const results = field(where, infos[a], 'all_results');
      const present: number[] = [];
      for (let s = 0; s < S; s++) {
        const entry = pyGet(results, [dataset, NB201_SEEDS[s]]);
        if (entry === undefined) continue;
        present.push(s);
        const w = `${where}.all_results[('${dataset}', ${NB201_SEEDS[s]})]`;
        const evalAcc = field(w, entry, 'eval_acc1es');
        const trainAcc = field(w, entry, 'train_acc1es');
        const trainTimes = field(w, entry, 'train_times');
        const evalTimes = field(w, entry, 'eval_times');
        let elapsed = 0;
        for (let e = 0; e < F; e++) {
          const o = ((a * S + s) * F + e) * M;
          const runtime = num(`${w} train_times[${e}]`, field(w, trainTimes, e)) + num(`${w} eval_times`, field(w, evalTimes, `ori-test@${e}`));
          elapsed += runtime;
          objectives[o] = 1 - num(`${w} eval_acc1es`, field(w, evalAcc, `ori-test@${e}`)) / 100;
          objectives[o + 1] = 1 - num(`${w} train_acc1es`, field(w, trainAcc, e)) / 100;
          objectives[o + 2] = runtime;
          objectives[o + 3] = elapsed;
        }
      }
      if (present.length === 0) throw new UserError(`${where}: no results for ${dataset} with any of the seeds ${NB201_SEEDS.join(', ')}`);
      // a seed the architecture lacks: the mean of its seeds that ran (as Syne Tune imputes)
      for (let s = 0; s < S; s++) {
        if (present.includes(s)) continue;
        for (let e = 0; e < F; e++) {
          for (let m = 0; m < 4; m++) {
            let sum = 0;
            for (const p of present) sum += objectives[((a * S + p) * F + e) * M + m];
            objectives[((a * S + s) * F + e) * M + m] = sum / present.length;
          }
        }
      }
      // latency, flops and params: per architecture, from the first seed, constant over seeds and epochs
      const first = pyGet(results, [dataset, NB201_SEEDS[present[0]]]);
      const w = `${where}.all_results[('${dataset}', ${NB201_SEEDS[present[0]]})]`;
      const latency = field(w, first, 'latency');
      const lat = num(`${w} latency[0]`, Array.isArray(latency) ? latency[0] : latency);
      const flops = num(`${w} flop`, field(w, first, 'flop'));
      const params = num(`${w} params`, field(w, first, 'params'));
      for (let s = 0; s < S; s++) {
        for (let e = 0; e < F; e++) {
          const o = ((a * S + s) * F + e) * M;
          objectives[o + 4] = lat;
          objectives[o + 5] = flops;
          objectives[o + 6] = params;
        }
      }
    }
    tables.set(dataset, {
      configSpace: nb201ConfigSpace(),
      configurations: configs,
      fidelityName: 'epoch',
      fidelityValues: Array.from({ length: F }, (_, e) => e + 1),
      objectiveNames: NB201_OBJECTIVES,
      elapsedTimeAttr: 'metric_elapsed_time',
      numSeeds: S,
      objectives,
      metadata: {
        source: `NAS-Bench-201, ${basename(source)} (imported by tunelab blackbox import nasbench201)`,
        dataset,
        licence: 'MIT (D-X-Y/NATS-Bench)',
        citation: 'Dong & Yang 2020, NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture Search',
      },
    });
  }
  return tables;
}

export function importNasbench201(files: string[], dataRoot: string, log: (line: string) => void): string[] {
  const out: string[] = [];
  for (const file of files) {
    for (const [dataset, table] of nb201Tables(readNb201Pickle(file), file)) {
      const dir = resolveInside(dataRoot, ['nasbench201', dataset], `${file}: the data set name`);
      writeTable(dir, table);
      log(`imported ${file} ${dataset}: ${table.configurations.length} architectures × ${table.numSeeds} seeds × ${table.fidelityValues.length} epochs → ${dir}`);
      out.push(dir);
    }
  }
  return out;
}
