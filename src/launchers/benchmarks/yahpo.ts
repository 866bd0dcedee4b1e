import { yahpoLCBenchInfo } from '../../blackbox/yahpo-lcbench.js';
import { yahpoSurrogateInfo } from '../../blackbox/yahpo-surrogates.js';
import type { BenchmarkDefinition } from './types.js';

/** The 34 OpenML tasks of the YAHPO LCBench surrogate (its config_space.json). */
export const LCBENCH_TASKS = [
  '3945', '7593', '34539', '126025', '126026', '126029', '146212', '167104', '167149', '167152', '167161', '167168',
  '167181', '167184', '167185', '167190', '167200', '167201', '168329', '168330', '168331', '168335', '168868', '168908',
  '168910', '189354', '189862', '189865', '189866', '189873', '189905', '189906', '189908', '189909',
];

export const yahpoBenchmarks: BenchmarkDefinition[] = LCBENCH_TASKS.map((task) => ({
  name: `yahpo-lcbench-${task}`,
  description: `LCBench task ${task} (YAHPO surrogate, ONNX): 7 hyperparameters, epochs 1..52, real cumulative runtime`,
  blackbox: 'yahpo-lcbench',
  dataset: task,
  metric: 'val_accuracy',
  mode: 'max',
  elapsedTimeAttr: 'time',
  maxResourceAttr: 'epoch',
  // ASHA sees about 500 trials in this budget on task 3945
  maxWallclockTime: 3600,
  nWorkers: 4,
  data: { command: 'tunelab blackbox download yahpo-lcbench' },
  info: yahpoLCBenchInfo,
}));

/**
 * Two-objective benchmarks on YAHPO surrogates with several outputs, one fixed instance each
 * (OpenML task 40981), at the whole training set. An accuracy-type objective against a cost-type
 * one; the hypervolume normalisation maps each from the instance's best to its worst value in
 * YAHPO's own per-instance statistics (yahpo_data's instance_target_statistics.csv: min and max of
 * each target over the surrogate's training data), the reference point at 1.1.
 */
const yahpoMO = (scenario: string, task: string, description: string, objectives: NonNullable<BenchmarkDefinition['objectives']>, bounds: [number, number][]): BenchmarkDefinition => ({
  name: `yahpo-${scenario}-mo`,
  description,
  blackbox: `yahpo-${scenario}`,
  dataset: task,
  metric: objectives[0].metric,
  mode: objectives[0].mode,
  objectives,
  hypervolumeBounds: bounds,
  elapsedTimeAttr: 'timetrain',
  maxResourceAttr: 'trainsize',
  maxWallclockTime: 3600,
  nWorkers: 4,
  data: { command: `tunelab blackbox download yahpo-${scenario}` },
  info: yahpoSurrogateInfo(scenario),
});

export const yahpoMOBenchmarks: BenchmarkDefinition[] = [
  yahpoMO('rbv2_xgboost', '40981', 'XGBoost on OpenML task 40981 (YAHPO rbv2 surrogate): accuracy (max) against training time in seconds (min); 14 hyperparameters, booster-conditional', [
    { metric: 'acc', mode: 'max' },
    { metric: 'timetrain', mode: 'min' },
  ], [[0.9143512, 0.20210989], [0.29797354, 392.13553]]),
  yahpoMO('rbv2_rpart', '40981', 'decision tree (rpart) on OpenML task 40981 (YAHPO rbv2 surrogate): accuracy (max) against training time in seconds (min)', [
    { metric: 'acc', mode: 'max' },
    { metric: 'timetrain', mode: 'min' },
  ], [[0.9142728, 0.47117698], [0.20948845, 1.3112533]]),
  yahpoMO('iaml_glmnet', '40981', 'elastic net (glmnet) on OpenML task 40981 (YAHPO iaml surrogate): misclassification error (min) against the number of features used (min)', [
    { metric: 'mmce', mode: 'min' },
    { metric: 'nf', mode: 'min' },
  ], [[0.1243779, 0.5310687], [0, 16]]),
];
