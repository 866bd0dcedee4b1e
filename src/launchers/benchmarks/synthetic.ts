import type { BenchmarkDefinition } from './types.js';

const common = {
  elapsedTimeAttr: 'elapsed_time',
  maxResourceAttr: 'epoch',
  nWorkers: 4,
  data: 'closed form' as const,
  info: { source: 'tunelab, closed-form learning curves (src/blackbox/synthetic.ts)', licence: 'Apache-2.0' },
};

export const syntheticBenchmarks: BenchmarkDefinition[] = [
  {
    ...common,
    name: 'synthetic-fcnet',
    description: 'closed-form learning curves on the fcnet config space (9 hyperparameters, 100 epochs)',
    blackbox: 'synthetic-fcnet',
    metric: 'valid_loss',
    mode: 'min',
    maxWallclockTime: 3600,
  },
  {
    ...common,
    name: 'synthetic-mlp',
    description: 'closed-form learning curves on a mixed MLP space (log, integer, ordinal, choice; 52 epochs), accuracy maximised',
    blackbox: 'synthetic-mlp',
    metric: 'val_accuracy',
    mode: 'max',
    maxWallclockTime: 3600,
  },
  {
    ...common,
    name: 'synthetic-branin',
    description: 'multi-fidelity Branin on [-5,10]×[0,15] (27 epochs; low fidelities biased), minimum 0.3979',
    blackbox: 'synthetic-branin',
    metric: 'value',
    mode: 'min',
    maxWallclockTime: 1800,
  },
  {
    ...common,
    name: 'synthetic-hartmann6',
    description: "Hartmann's 6-D function on [0,1]^6 as learning curves (27 epochs; low fidelities biased, the last epoch the function itself ± 1 % noise), minimum −3.3224",
    blackbox: 'synthetic-hartmann6',
    metric: 'value',
    mode: 'min',
    // about 200 full trials with 4 workers (a trial costs 54 s on average)
    maxWallclockTime: 2700,
  },
];
