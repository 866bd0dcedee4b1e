import { DATASETS } from '../../blackbox/build/datasets.js';
import type { BenchmarkDefinition } from './types.js';

/**
 * Real tabulated benchmarks. `fcnet-<dataset>` for the shipped data sets: tables that tunelab built
 * itself by training its TypeScript fcnet network (benchmarks/data/fcnet/<dataset>/, made with
 * `tunelab blackbox build fcnet-<dataset> --num_configs 1000 --num_seeds 3 --epochs 27`). Their
 * elapsed times are real CPU seconds of tiny networks, so the budgets are seconds too: each is
 * about 300 × (mean time of a full 27-epoch run) / 4 workers, i.e. RS evaluates ~300 configs.
 * And the four fcnet tables of Klein & Hutter, which the user imports.
 */
const shipped: { dataset: keyof typeof DATASETS; maxWallclockTime: number; isDefault?: boolean }[] = [
  { dataset: 'cars', maxWallclockTime: 20, isDefault: true },
  { dataset: 'penguins', maxWallclockTime: 16 },
  { dataset: 'weather', maxWallclockTime: 35 },
];

const fcnetImported: [string, string][] = [
  ['protein', 'protein_structure'],
  ['naval', 'naval_propulsion'],
  ['parkinsons', 'parkinsons_telemonitoring'],
  ['slice', 'slice_localization'],
];

export const tabulatedBenchmarks: BenchmarkDefinition[] = [
  ...shipped.map(({ dataset, maxWallclockTime, isDefault }) => ({
    name: `fcnet-${dataset}`,
    description: `fcnet network trained for real on ${DATASETS[dataset].description}; 1,000 configs × 3 seeds × 27 epochs, validation loss minimised`,
    blackbox: 'fcnet',
    dataset,
    metric: 'valid_loss',
    mode: 'min' as const,
    elapsedTimeAttr: 'elapsed_time',
    maxResourceAttr: 'epoch',
    maxWallclockTime,
    nWorkers: 4,
    surrogate: 'knn' as const,
    ...(isDefault ? { isDefault } : {}),
    info: {
      source: `tunelab blackbox build fcnet-${dataset} (benchmarks/data/fcnet/${dataset}); data: ${DATASETS[dataset].source}`,
      licence: `tables Apache-2.0; data ${DATASETS[dataset].licence}`,
      citation: 'the fcnet space of Klein & Hutter 2019 (hidden layers capped at 256 units)',
    },
  })),
  ...fcnetImported.map(([name, dataset]) => ({
    name: `fcnet-${name}`,
    description: `fcnet (Klein & Hutter 2019) on ${dataset}: 62,208 configs × 4 seeds × 100 epochs; needs \`tunelab blackbox import fcnet <fcnet_${dataset}_data.hdf5>\``,
    blackbox: 'fcnet',
    dataset,
    metric: 'metric_valid_loss',
    mode: 'min' as const,
    elapsedTimeAttr: 'metric_elapsed_time',
    maxResourceAttr: 'epochs',
    maxWallclockTime: 3600,
    nWorkers: 4,
    info: {
      source: `fcnet_tabular_benchmarks fcnet_${dataset}_data.hdf5, imported with tunelab blackbox import fcnet`,
      licence: 'see the fcnet tabular benchmarks distribution (automl/nas_benchmarks)',
      citation: 'Klein & Hutter 2019, Tabular Benchmarks for Joint Architecture and Hyperparameter Optimization (arXiv:1905.04970)',
    },
  })),
];
