import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Config, type ConfigSpace, lograndint, loguniform, randint, uniform } from '../config-space/index.js';
import { UserError } from '../util/errors.js';
import type { Blackbox } from './types.js';
import { type OrtModule, type OrtSession, onnxSession, yahpoInstances } from './yahpo-onnx.js';

/** Order of the model's continuous inputs (SCHEMA.md of the YAHPO LCBench data): raw values, no log transform. */
const CONT_INPUTS = ['epoch', 'batch_size', 'learning_rate', 'momentum', 'weight_decay', 'num_layers', 'max_units', 'max_dropout'] as const;
const HYPERPARAMETERS = CONT_INPUTS.slice(1);
/** The model's output columns, in order. */
const OUTPUTS = ['time', 'val_accuracy', 'val_cross_entropy', 'val_balanced_accuracy', 'test_cross_entropy', 'test_balanced_accuracy'] as const;
const EPOCHS = 52;

export const YAHPO_LCBENCH_DIR = 'yahpo_lcbench';
export const yahpoLCBenchInfo = {
  source: 'YAHPO Gym surrogate of LCBench (slds-lmu/yahpo_data v1.0.2, lcbench/), run with onnxruntime-web',
  licence: 'Apache-2.0 (surrogate and the underlying LCBench data)',
  citation: 'Pfisterer et al. 2022, YAHPO Gym (arXiv:2109.03670); Zimmer et al. 2021, LCBench (doi:10.6084/m9.figshare.11662422)',
};

/** The 7 hyperparameters of the LCBench space (config_space.json), with its log scales. */
export function lcbenchConfigSpace(): ConfigSpace {
  return {
    batch_size: lograndint(16, 512),
    learning_rate: loguniform(1e-4, 0.1),
    momentum: uniform(0.1, 0.99),
    weight_decay: uniform(1e-5, 0.1),
    num_layers: randint(1, 5),
    max_units: lograndint(64, 1024),
    max_dropout: uniform(0, 1),
  };
}

/** The task ids of the surrogate (config_space.json) and their model codes (encoding.json). */
export const lcbenchTasks = (dataDir: string) => yahpoInstances(dataDir, 'OpenML_task_id');

/**
 * One LCBench task as a blackbox: the rows of a config's learning curve (epochs 1..52) come from a
 * batched call of the surrogate and are cached. Rows are computed independently, so a prefix is
 * computed alone (and extended when a longer one is asked) with the same bits as the whole curve.
 * The surrogate is deterministic, so there is one seed.
 */
export class YahpoLCBenchBlackbox implements Blackbox {
  readonly configSpace = lcbenchConfigSpace();
  readonly fidelityName = 'epoch';
  readonly fidelityValues = Array.from({ length: EPOCHS }, (_, i) => i + 1);
  readonly objectiveNames = ['val_accuracy', 'val_cross_entropy', 'val_balanced_accuracy', 'test_cross_entropy', 'test_balanced_accuracy', 'time'];
  readonly elapsedTimeAttr = 'time';
  readonly numSeeds = 1;
  readonly metadata = yahpoLCBenchInfo;
  /** Model calls and curve rows (epochs) computed so far, what the surrogate's time grows with. */
  readonly computed = { calls: 0, rows: 0 };
  /** a config's curve prefix computed so far */
  private readonly cache = new Map<string, Float64Array>();
  private readonly code: number;
  private readonly modelPath: string;
  /** column of the model's output for each objective */
  private readonly outputColumn = this.objectiveNames.map((name) => OUTPUTS.indexOf(name as (typeof OUTPUTS)[number]));
  /** the loaded model, loaded when first needed */
  private model?: { ort: OrtModule; session: OrtSession };

  constructor(
    dataDir: string,
    readonly task: string,
  ) {
    const { tasks, codes } = lcbenchTasks(dataDir);
    if (!tasks.includes(task)) throw new UserError(`unknown LCBench task '${task}'; valid tasks: ${tasks.join(', ')}`);
    this.code = codes[task];
    this.modelPath = join(dataDir, 'model.onnx');
  }

  curve(config: Config): Promise<Float64Array> {
    return this.curvePrefix(config, 0, EPOCHS);
  }

  async curvePrefix(config: Config, _seed: number, upTo: number): Promise<Float64Array> {
    const values = HYPERPARAMETERS.map((k) => Number(config[k]));
    const key = values.join(',');
    const M = this.objectiveNames.length;
    const hit = this.cache.get(key);
    const from = hit ? hit.length / M : 0;
    if (from >= upTo) return hit!;
    if (!this.model) {
      const m = await onnxSession(this.modelPath);
      this.model ??= m;
    }
    const { ort, session: s } = this.model;
    // rows from..upTo-1 (epochs from+1..upTo)
    const rows = upTo - from;
    const C = CONT_INPUTS.length;
    const cont = new Float32Array(rows * C);
    for (let r = 0; r < rows; r++) {
      cont[r * C] = from + r + 1;
      for (let j = 1; j < C; j++) cont[r * C + j] = values[j - 1];
    }
    const xCat = new ort.Tensor('int32', new Int32Array(rows).fill(this.code), [rows, 1]);
    const out = await s.run({ x_cat: xCat, x_cont: new ort.Tensor('float32', cont, [rows, C]) });
    this.computed.calls++;
    this.computed.rows += rows;
    const data = out[s.outputNames[0]].data as Float32Array;
    const O = OUTPUTS.length;
    const columns = this.outputColumn;
    const curve = new Float64Array(upTo * M);
    if (hit) curve.set(hit);
    let elapsed = hit ? hit[from * M - 1] : 0;
    for (let r = 0; r < rows; r++) {
      const o = (from + r) * M;
      for (let m = 0; m < M - 1; m++) curve[o + m] = data[r * O + columns[m]];
      // the surrogate predicts each epoch's cumulative time on its own: keep it non-decreasing
      elapsed = Math.max(elapsed, data[r * O + columns[M - 1]]);
      curve[o + M - 1] = elapsed;
    }
    if (this.cache.size > 50_000) this.cache.clear();
    this.cache.set(key, curve);
    return curve;
  }

  /** Forgets the cached curves (a benchmark that times the surrogate starts each run afresh). */
  clearCache(): void {
    this.cache.clear();
  }
}

/** The LCBench blackbox of a task, from `<dataDir>/yahpo_lcbench/`; a clear error when the data is absent. */
export function loadYahpoLCBench(dataRoot: string, task: string): YahpoLCBenchBlackbox {
  const dir = join(dataRoot, YAHPO_LCBENCH_DIR);
  for (const f of ['model.onnx', 'config_space.json', 'encoding.json']) {
    if (!existsSync(join(dir, f))) {
      throw new UserError(
        `the YAHPO LCBench surrogate is not in ${dir} (missing ${f}): run 'tunelab blackbox download yahpo-lcbench' (or set $TUNELAB_DATA to a folder holding ${YAHPO_LCBENCH_DIR}/)`,
      );
    }
  }
  return new YahpoLCBenchBlackbox(dir, task);
}
