import { DATASETS } from '../../blackbox/build/datasets.js';
import { fcnetScriptPath } from '../../blackbox/build/fcnet-trainer.js';
import { NB201_DATASETS } from '../../blackbox/importers/nasbench201.js';
import type { BenchmarkDefinition } from './types.js';

/**
 * Real tabulated benchmarks. `fcnet-<dataset>` for the shipped data sets: tables that tunelab built
 * itself by training its TypeScript fcnet network (benchmarks/data/fcnet/<dataset>/, made with
 * `tunelab blackbox build fcnet-<dataset> --num_configs 1000 --num_seeds 3 --epochs 27`). Their
 * elapsed times are real CPU seconds of tiny networks, so the budgets are seconds too: each is
 * about 300 × (mean time of a full 27-epoch run) / 4 workers, i.e. RS evaluates ~300 configs.
 * And the public tables the user imports: the four fcnet tables of Klein & Hutter, and NAS-Bench-201
 * (budgets and workers as Syne Tune's benchmark definitions of it).
 */
const shipped: { dataset: keyof typeof DATASETS; maxWallclockTime: number; isDefault?: boolean }[] = [
  { dataset: 'cars', maxWallclockTime: 20, isDefault: true },
  { dataset: 'penguins', maxWallclockTime: 16 },
  { dataset: 'weather', maxWallclockTime: 35 },
];

const nb201Budget: Record<string, { maxWallclockTime: number; nWorkers: number }> = {
  cifar10: { maxWallclockTime: 5 * 3600, nWorkers: 4 },
  cifar100: { maxWallclockTime: 6 * 3600, nWorkers: 4 },
  'ImageNet16-120': { maxWallclockTime: 8 * 3600, nWorkers: 8 },
};

const fcnetImported: [string, string][] = [
  ['protein', 'protein_structure'],
  ['naval', 'naval_propulsion'],
  ['parkinsons', 'parkinsons_telemonitoring'],
  ['slice', 'slice_localization'],
];

/** A shipped fcnet table's benchmark, one objective or two. */
const shippedFcnet = (dataset: keyof typeof DATASETS, maxWallclockTime: number) => ({
  blackbox: 'fcnet',
  dataset,
  metric: 'valid_loss',
  mode: 'min' as const,
  elapsedTimeAttr: 'elapsed_time',
  maxResourceAttr: 'epoch',
  maxWallclockTime,
  nWorkers: 4,
  surrogate: 'knn' as const,
  data: 'shipped' as const,
});

const shippedFcnetInfo = (dataset: keyof typeof DATASETS) => ({
  source: `tunelab blackbox build fcnet-${dataset} (benchmarks/data/fcnet/${dataset}); data: ${DATASETS[dataset].source}`,
  licence: `tables Apache-2.0; data ${DATASETS[dataset].licence}`,
});

export const tabulatedBenchmarks: BenchmarkDefinition[] = [
  ...shipped.map(({ dataset, maxWallclockTime, isDefault }) => ({
    name: `fcnet-${dataset}`,
    description: `fcnet network trained for real on ${DATASETS[dataset].description}; 1,000 configs × 3 seeds × 27 epochs, validation loss minimised`,
    ...shippedFcnet(dataset, maxWallclockTime),
    // trains the config for real with the table's seed (seed index 0), so it reports the table's curve
    local: { command: [process.execPath, fcnetScriptPath, `fcnet-${dataset}`] },
    ...(isDefault ? { isDefault } : {}),
    info: { ...shippedFcnetInfo(dataset), citation: 'the fcnet space of Klein & Hutter 2019 (hidden layers capped at 256 units)' },
  })),
  ...shipped.map(({ dataset, maxWallclockTime }) => ({
    name: `fcnet-${dataset}-mo`,
    description: `fcnet on ${DATASETS[dataset].description}, two objectives: validation loss against model size (parameters), both minimised`,
    ...shippedFcnet(dataset, maxWallclockTime),
    objectives: [
      { metric: 'valid_loss', mode: 'min' as const },
      { metric: 'n_params', mode: 'min' as const },
    ],
    info: shippedFcnetInfo(dataset),
  })),
  ...fcnetImported.map(([name, dataset]) => ({
    name: `fcnet-${name}`,
    description: `fcnet (Klein & Hutter 2019) on ${dataset}: 62,208 configs × 4 seeds × 100 epochs`,
    blackbox: 'fcnet',
    dataset,
    metric: 'metric_valid_loss',
    mode: 'min' as const,
    elapsedTimeAttr: 'metric_elapsed_time',
    maxResourceAttr: 'epochs',
    maxWallclockTime: 3600,
    nWorkers: 4,
    data: { command: `tunelab blackbox import fcnet <fcnet_${dataset}_data.hdf5>` },
    info: {
      source: `fcnet_tabular_benchmarks fcnet_${dataset}_data.hdf5, imported with tunelab blackbox import fcnet`,
      licence: 'see the fcnet tabular benchmarks distribution (automl/nas_benchmarks)',
      citation: 'Klein & Hutter 2019, Tabular Benchmarks for Joint Architecture and Hyperparameter Optimization (arXiv:1905.04970)',
    },
  })),
  ...NB201_DATASETS.map((dataset) => ({
    name: `nasbench201-${dataset}`,
    description: `NAS-Bench-201 on ${dataset}: 15,625 cells × 3 seeds × 200 epochs, validation error minimised`,
    blackbox: 'nasbench201',
    dataset,
    metric: 'metric_valid_error',
    mode: 'min' as const,
    elapsedTimeAttr: 'metric_elapsed_time',
    maxResourceAttr: 'epoch',
    ...nb201Budget[dataset],
    data: { command: 'tunelab blackbox import nasbench201 <NATS-tss-v1_0-3ffb9.pickle.pbz2>' },
    info: {
      source: 'NATS-Bench topology search space (NATS-tss-v1_0-3ffb9.pickle.pbz2), imported with tunelab blackbox import nasbench201',
      licence: 'MIT (NATS-Bench)',
      citation: 'Dong & Yang 2020, NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture Search (ICLR 2020)',
    },
  })),
];
