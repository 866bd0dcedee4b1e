import { yahpoLCBenchInfo } from '../../blackbox/yahpo-lcbench.js';
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
