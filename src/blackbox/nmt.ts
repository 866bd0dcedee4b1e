import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ConfigSpace, ordinal } from '../config-space/index.js';
import { UserError } from '../util/errors.js';
import { TabularBlackbox } from './tabular.js';

export const NMT_DIR = 'nmt_hpo';
export const NMT_PAIRS = ['zh-en', 'ru-en', 'ja-en', 'en-ja', 'sw-en', 'so-en'];
/** Columns of <pair>.hyps and <pair>.evals (whitespace tables, row-aligned), as the source documents them. */
const HYPS = ['bpe_symbols', 'num_layers', 'num_embed', 'transformer_feed_forward_num_hidden', 'transformer_attention_heads', 'initial_learning_rate'];
const EVALS = ['dev_bleu', 'dev_gpu_time', 'dev_ppl', 'num_updates', 'gpu_memory', 'num_param'];
export const nmtInfo = {
  source: 'NMT HPO tables (Este1le/hpo_nmt @ 7bd0a40): Transformer configs trained to convergence per language pair',
  licence: 'MIT',
  citation: 'Zhang & Duh 2020, Reproducible and Efficient Benchmarks for Hyperparameter Optimization of Neural Machine Translation Systems (TACL)',
};

const table = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number));

/**
 * One language pair's table as a single-fidelity blackbox: metric dev BLEU, with dev perplexity, GPU
 * memory and parameter count recorded, and the GPU training time (the table's dev_gpu_time) as the
 * elapsed time. Configs of the grid the table lacks get the nearest tabulated one.
 */
export function loadNmt(dataRoot: string, pair: string): TabularBlackbox {
  if (!NMT_PAIRS.includes(pair)) throw new UserError(`unknown NMT language pair '${pair}'; valid pairs: ${NMT_PAIRS.join(', ')}`);
  const dir = join(dataRoot, NMT_DIR);
  const hypsPath = join(dir, `${pair}.hyps`);
  const evalsPath = join(dir, `${pair}.evals`);
  if (!existsSync(hypsPath) || !existsSync(evalsPath)) {
    throw new UserError(`the NMT table for ${pair} is not in ${dir}: run 'tunelab blackbox download nmt-hpo' (or set $TUNELAB_DATA to a folder holding ${NMT_DIR}/)`);
  }
  const hyps = table(hypsPath);
  const evals = table(evalsPath);
  if (hyps.length !== evals.length || hyps.some((r) => r.length !== HYPS.length) || evals.some((r) => r.length !== EVALS.length)) {
    throw new UserError(`${dir}: ${pair}.hyps and ${pair}.evals are not row-aligned tables of ${HYPS.length} and ${EVALS.length} columns`);
  }
  const space: ConfigSpace = Object.fromEntries(HYPS.map((h, j) => [h, ordinal([...new Set(hyps.map((r) => r[j]))].sort((a, b) => a - b))]));
  const objectiveNames = ['dev_bleu', 'dev_ppl', 'gpu_memory', 'num_param', 'dev_gpu_time'];
  const objectives = new Float32Array(hyps.length * objectiveNames.length);
  evals.forEach((row, i) => objectiveNames.forEach((o, m) => (objectives[i * objectiveNames.length + m] = row[EVALS.indexOf(o)])));
  return new TabularBlackbox({
    configSpace: space,
    configurations: hyps.map((row) => Object.fromEntries(HYPS.map((h, j) => [h, row[j]]))),
    fidelityName: 'epoch',
    fidelityValues: [1],
    objectiveNames,
    elapsedTimeAttr: 'dev_gpu_time',
    numSeeds: 1,
    objectives,
    metadata: nmtInfo,
  });
}
