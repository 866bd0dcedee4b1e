import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Config, type ConfigSpace, type Domain, choice, lograndint, loguniform, randint, uniform, when } from '../config-space/index.js';
import { UserError } from '../util/errors.js';
import type { Blackbox } from './types.js';
import { type OrtModule, type OrtSession, onnxSession, yahpoInstances } from './yahpo-onnx.js';

/**
 * YAHPO Gym surrogates with several outputs (rbv2_xgboost, rbv2_rpart, iaml_glmnet): the model's
 * input order (cont_names, cat_names) and outputs (y_names) are those of yahpo_gym 1.0
 * (yahpo_gym/benchmarks/rbv2.py and iaml.py) and agree with the models' input and output widths.
 */
export interface YahpoScenario {
  /** folder of the data (model.onnx, config_space.json, encoding.json) */
  dir: string;
  /** the instance hyperparameter (a constant of a benchmark) */
  instance: string;
  contNames: readonly string[];
  catNames: readonly string[];
  outputs: readonly string[];
  /** fidelity parameters and the values tunelab fixes them to: the full training set (and all 10 replications of rbv2) */
  fidelity: Readonly<Record<string, number>>;
}

const RBV2_OUTPUTS = ['acc', 'bac', 'auc', 'brier', 'f1', 'logloss', 'timetrain', 'timepredict', 'memory'];
const IAML_OUTPUTS = ['mmce', 'f1', 'auc', 'logloss', 'ramtrain', 'rammodel', 'rampredict', 'timetrain', 'timepredict', 'mec', 'ias', 'nf'];

export const YAHPO_SCENARIOS: Readonly<Record<string, YahpoScenario>> = {
  rbv2_xgboost: {
    dir: 'yahpo_rbv2_xgboost',
    instance: 'task_id',
    contNames: ['nrounds', 'eta', 'gamma', 'lambda', 'alpha', 'subsample', 'max_depth', 'min_child_weight', 'colsample_bytree', 'colsample_bylevel', 'rate_drop', 'skip_drop', 'trainsize', 'repl'],
    catNames: ['task_id', 'booster', 'num.impute.selected.cpo'],
    outputs: RBV2_OUTPUTS,
    fidelity: { trainsize: 1, repl: 10 },
  },
  rbv2_rpart: {
    dir: 'yahpo_rbv2_rpart',
    instance: 'task_id',
    contNames: ['cp', 'maxdepth', 'minbucket', 'minsplit', 'trainsize', 'repl'],
    catNames: ['task_id', 'num.impute.selected.cpo'],
    outputs: RBV2_OUTPUTS,
    fidelity: { trainsize: 1, repl: 10 },
  },
  iaml_glmnet: {
    dir: 'yahpo_iaml_glmnet',
    instance: 'task_id',
    contNames: ['alpha', 's', 'trainsize'],
    catNames: ['task_id'],
    outputs: IAML_OUTPUTS,
    fidelity: { trainsize: 1 },
  },
};

export const yahpoSurrogateInfo = (scenario: string) => ({
  source: `YAHPO Gym surrogate ${scenario} (slds-lmu/yahpo_data, ${scenario}/), run with onnxruntime-web`,
  licence: 'Apache-2.0',
  citation: 'Pfisterer et al. 2022, YAHPO Gym (arXiv:2109.03670); rbv2: Binder, Pfisterer & Bischl 2020',
});

interface CSHyperparameter {
  name: string;
  type: string;
  log?: boolean;
  lower?: number;
  upper?: number;
  choices?: string[];
}
interface CSCondition {
  child: string;
  parent: string;
  type: string;
  value?: string;
  values?: string[];
}

/**
 * The search space of a ConfigSpace JSON file (config_space.json), the instance and fidelity
 * parameters left out; conditions (EQ, IN on a categorical parent) become `when`.
 */
export function yahpoConfigSpace(json: { hyperparameters: CSHyperparameter[]; conditions?: CSCondition[] }, leaveOut: readonly string[]): ConfigSpace {
  const space: ConfigSpace = {};
  for (const h of json.hyperparameters) {
    if (leaveOut.includes(h.name)) continue;
    let d: Domain;
    if (h.type === 'uniform_float') d = (h.log ? loguniform : uniform)(h.lower!, h.upper!);
    else if (h.type === 'uniform_int') d = (h.log ? lograndint : randint)(h.lower!, h.upper!);
    else if (h.type === 'categorical') d = choice(h.choices!);
    else throw new Error(`config_space.json: hyperparameter type '${h.type}' of '${h.name}' is not read`);
    space[h.name] = d;
  }
  for (const c of json.conditions ?? []) {
    if (c.type !== 'EQ' && c.type !== 'IN') throw new Error(`config_space.json: condition type '${c.type}' on '${c.child}' is not read`);
    space[c.child] = when({ [c.parent]: c.type === 'EQ' ? [c.value!] : c.values! }, space[c.child] as Domain);
  }
  return space;
}

/**
 * One instance of a multi-output YAHPO surrogate as a single-fidelity blackbox: the fidelity
 * parameters fixed to the whole training set, every model output an objective (the predicted
 * `timetrain`, clamped at 0, is the elapsed time). A config's outputs are computed once and cached.
 * As YAHPO's own loader, an inactive continuous input is 0 and an inactive categorical one '#na#'.
 * The surrogate is deterministic: one seed.
 */
export class YahpoSurrogateBlackbox implements Blackbox {
  readonly configSpace: ConfigSpace;
  readonly fidelityName = 'trainsize';
  readonly fidelityValues = [1];
  readonly objectiveNames: readonly string[];
  readonly elapsedTimeAttr = 'timetrain';
  readonly numSeeds = 1;
  readonly metadata: Readonly<Record<string, unknown>>;
  private readonly code: number;
  private readonly codes: Record<string, Record<string, number>>;
  private readonly modelPath: string;
  private readonly cache = new Map<string, Float64Array>();
  private model?: { ort: OrtModule; session: OrtSession };

  constructor(
    dataDir: string,
    readonly scenario: string,
    readonly task: string,
  ) {
    const sc = YAHPO_SCENARIOS[scenario];
    const { tasks, codes } = yahpoInstances(dataDir, sc.instance);
    if (!tasks.includes(task)) throw new UserError(`unknown ${scenario} task '${task}'; valid tasks: ${tasks.join(', ')}`);
    this.code = codes[task];
    this.codes = JSON.parse(readFileSync(join(dataDir, 'encoding.json'), 'utf8'));
    this.configSpace = yahpoConfigSpace(JSON.parse(readFileSync(join(dataDir, 'config_space.json'), 'utf8')), [sc.instance, ...Object.keys(sc.fidelity)]);
    this.objectiveNames = sc.outputs;
    this.modelPath = join(dataDir, 'model.onnx');
    this.metadata = yahpoSurrogateInfo(scenario);
  }

  async curve(config: Config): Promise<Float64Array> {
    const sc = YAHPO_SCENARIOS[this.scenario];
    const inputs = { ...config, ...sc.fidelity };
    const key = sc.contNames.concat(sc.catNames.slice(1)).map((k) => String(inputs[k])).join(',');
    const hit = this.cache.get(key);
    if (hit) return hit;
    this.model ??= await onnxSession(this.modelPath);
    const { ort, session } = this.model;
    const cont = Float32Array.from(sc.contNames, (k) => (k in inputs ? Number(inputs[k]) : 0));
    const cat = Int32Array.from(sc.catNames, (k, i) => (i === 0 ? this.code : this.codes[k][String(inputs[k] ?? '#na#')]));
    const out = await session.run({ x_cat: new ort.Tensor('int32', cat, [1, cat.length]), x_cont: new ort.Tensor('float32', cont, [1, cont.length]) });
    const data = out[session.outputNames[0]].data as Float32Array;
    const curve = Float64Array.from(data.subarray(0, sc.outputs.length));
    const t = sc.outputs.indexOf('timetrain');
    curve[t] = Math.max(0, curve[t]);
    if (this.cache.size > 50_000) this.cache.clear();
    this.cache.set(key, curve);
    return curve;
  }
}

/** The blackbox of a scenario's task from `<dataRoot>/<scenario dir>/`; a clear error when the data is absent. */
export function loadYahpoSurrogate(dataRoot: string, scenario: string, task: string): YahpoSurrogateBlackbox {
  const sc = YAHPO_SCENARIOS[scenario];
  const dir = join(dataRoot, sc.dir);
  for (const f of ['model.onnx', 'config_space.json', 'encoding.json']) {
    if (!existsSync(join(dir, f))) {
      throw new UserError(`the YAHPO ${scenario} surrogate is not in ${dir} (missing ${f}): run 'tunelab blackbox download yahpo-${scenario}' (or set $TUNELAB_DATA to a folder holding ${sc.dir}/)`);
    }
  }
  return new YahpoSurrogateBlackbox(dir, scenario, task);
}
