import { closeSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { type Config, type ConfigSpace, loguniform, lograndint, randint, uniform, validateConfig } from '../../config-space/index.js';
import { UserError } from '../../util/errors.js';
import { writeTable } from '../format.js';
import type { TableData } from '../tabular.js';
import { resolveInside } from '../../util/path-part.js';

/**
 * LCBench (Zimmer et al. 2021) from its public JSON (`data_2k.json` or the lightweight
 * `data_2k_lw.json`): `{<dataset>: {<config id>: {"config": {...}, "log": {<tag>: [value per epoch]},
 * "results": {...}}}}`. One table per dataset, with Syne Tune's space of the 7 searched
 * hyperparameters (the constant ones are dropped), fidelity `epoch` = 1..(log length), and the
 * log tags below as objectives (`time` is LCBench's cumulative training time).
 */
export const LCBENCH_SPACE = (): ConfigSpace => ({
  num_layers: randint(1, 5),
  max_units: lograndint(64, 1024),
  batch_size: lograndint(16, 512),
  learning_rate: loguniform(1e-4, 1e-1),
  weight_decay: uniform(1e-5, 1e-1),
  momentum: uniform(0.1, 0.99),
  max_dropout: uniform(0.0, 1.0),
});

/** Our objective name ← LCBench log tag; the first two are required, the others kept when every config has them. */
export const LCBENCH_TAGS: [string, string][] = [
  ['val_accuracy', 'Train/val_accuracy'],
  ['time', 'time'],
  ['val_balanced_accuracy', 'Train/val_balanced_accuracy'],
  ['val_cross_entropy', 'Train/val_cross_entropy'],
  ['test_accuracy', 'Train/test_result'],
  ['test_balanced_accuracy', 'Train/test_balanced_accuracy'],
  ['test_cross_entropy', 'Train/test_cross_entropy'],
  ['train_loss', 'Train/loss'],
];

interface LCBenchRun {
  config: Record<string, unknown>;
  log: Record<string, number[]>;
}

/**
 * Streams `{dataset: {id: run}}` out of a JSON file too big for one string (the full LCBench file
 * is several GB): a byte scanner finds each run object at depth 3 and parses it alone.
 */
export function* scanNestedJson(path: string, chunkBytes = 1 << 22): Generator<{ outer: string; inner: string; value: unknown }> {
  const fd = openSync(path, 'r');
  const chunk = Buffer.alloc(chunkBytes);
  let depth = 0;
  let inString = false;
  let escaped = false;
  // bytes of a key being read (strings at depth ≤ 2 are the dataset names and config ids)
  let key: number[] | undefined;
  let lastKey = '';
  let outer = '';
  let inner = '';
  // the run object being collected, from its `{` at depth 3 to the matching `}`
  let parts: Buffer[] | undefined;
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const buf = chunk.subarray(0, n);
      let partStart = 0;
      for (let i = 0; i < n; i++) {
        const c = buf[i];
        if (inString) {
          if (escaped) escaped = false;
          else if (c === 0x5c) escaped = true;
          else if (c === 0x22) {
            inString = false;
            if (key) {
              lastKey = JSON.parse(`"${Buffer.from(key).toString('utf8')}"`);
              key = undefined;
            }
            continue;
          }
          if (key) key.push(c);
          continue;
        }
        if (c === 0x22) {
          inString = true;
          if (depth <= 2) key = [];
        } else if (c === 0x7b || c === 0x5b) {
          depth++;
          if (depth === 2) outer = lastKey;
          if (depth === 3) {
            inner = lastKey;
            parts = [];
            partStart = i;
          }
        } else if (c === 0x7d || c === 0x5d) {
          if (depth === 3 && parts) {
            parts.push(buf.subarray(partStart, i + 1));
            const text = Buffer.concat(parts).toString('utf8');
            parts = undefined;
            yield { outer, inner, value: JSON.parse(text) };
          }
          depth--;
        }
      }
      // a run object that spans the chunk boundary: keep a copy of its start (the buffer is reused)
      if (parts) parts.push(Buffer.from(buf.subarray(partStart)));
    }
  } finally {
    closeSync(fd);
  }
}

/** Reads every dataset of an LCBench JSON file into tables (not yet written). */
export function readLCBench(path: string): Map<string, TableData> {
  const runs = new Map<string, { id: string; run: LCBenchRun }[]>();
  let any = false;
  try {
    for (const { outer, inner, value } of scanNestedJson(path)) {
      any = true;
      let list = runs.get(outer);
      if (!list) runs.set(outer, (list = []));
      list.push({ id: inner, run: value as LCBenchRun });
    }
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${path} is not LCBench JSON ({dataset: {config id: {config, log, results}}}): ${(e as Error).message}`);
  }
  if (!any) throw new UserError(`${path} holds no LCBench runs (expected {dataset: {config id: {config, log, results}}})`);
  const tables = new Map<string, TableData>();
  for (const [dataset, list] of runs) tables.set(dataset, toTable(path, dataset, list));
  return tables;
}

function toTable(path: string, dataset: string, list: { id: string; run: LCBenchRun }[]): TableData {
  const space = LCBENCH_SPACE();
  // config ids are numbers as strings: keep their numeric order
  list.sort((a, b) => Number(a.id) - Number(b.id) || (a.id < b.id ? -1 : 1));
  const where = (id: string) => `${basename(path)}: ${dataset}/${id}`;
  for (const { id, run } of list) {
    if (!run || typeof run.config !== 'object' || typeof run.log !== 'object') throw new UserError(`${where(id)} lacks 'config' or 'log'`);
  }
  const tags = LCBENCH_TAGS.filter(([, tag], i) => i < 2 || list.every(({ run }) => Array.isArray(run.log[tag])));
  for (const [, tag] of tags.slice(0, 2)) {
    const bad = list.find(({ run }) => !Array.isArray(run.log[tag]));
    if (bad) throw new UserError(`${where(bad.id)}: log lacks '${tag}' (has ${Object.keys(bad.run.log).join(', ')})`);
  }
  const F = list[0].run.log[tags[0][1]].length;
  const M = tags.length;
  const objectives = new Float32Array(list.length * F * M);
  const configurations: Config[] = list.map(({ id, run }, i) => {
    const config: Config = {};
    for (const name of Object.keys(space)) {
      if (!(name in run.config)) throw new UserError(`${where(id)}: config lacks '${name}'`);
      config[name] = run.config[name] as Config[string];
    }
    try {
      validateConfig(space, config);
    } catch (e) {
      throw new UserError(`${where(id)}: ${(e as Error).message}`);
    }
    tags.forEach(([, tag], m) => {
      const values = run.log[tag];
      if (values.length !== F) throw new UserError(`${where(id)}: log '${tag}' has ${values.length} epochs, expected ${F}`);
      for (let f = 0; f < F; f++) objectives[(i * F + f) * M + m] = values[f];
    });
    return config;
  });
  return {
    configSpace: space,
    configurations,
    fidelityName: 'epoch',
    fidelityValues: Array.from({ length: F }, (_, f) => f + 1),
    objectiveNames: tags.map(([name]) => name),
    elapsedTimeAttr: 'time',
    numSeeds: 1,
    objectives,
    metadata: {
      source: `LCBench, ${basename(path)} (imported by tunelab blackbox import lcbench)`,
      dataset,
      log_tags: Object.fromEntries(tags),
      licence: 'Apache-2.0 (automl/LCBench)',
      citation: 'Zimmer, Lindauer & Hutter 2021, Auto-PyTorch Tabular (LCBench)',
    },
  };
}

export function importLCBench(files: string[], dataRoot: string, log: (line: string) => void): string[] {
  const out: string[] = [];
  for (const file of files) {
    for (const [dataset, table] of readLCBench(file)) {
      const dir = resolveInside(dataRoot, ['lcbench', dataset], `${file}: the data set name`);
      writeTable(dir, table);
      log(`imported ${file} ${dataset}: ${table.configurations.length} configs × ${table.fidelityValues.length} epochs → ${dir}`);
      out.push(dir);
    }
  }
  return out;
}
