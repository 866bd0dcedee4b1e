import { join } from 'node:path';
import { type Config, type ConfigSpace, logfinrange } from '../../config-space/index.js';
import { fcnetConfigSpace } from '../synthetic.js';
import { packageRoot } from '../../util/package-info.js';
import { DATASETS, type PreparedDataset, loadDataset } from './datasets.js';
import { type Activation, MLP, type MLPOptions } from './mlp.js';
import type { TrainingFunction } from './training-function.js';

/**
 * The fcnet space of the reference study with the hidden layers capped at 256 units instead of 512:
 * a 512×512 network costs 4× a 256×256 one per epoch, and with it the 81,000 epochs of a
 * 1,000-config table took about 20 minutes per data set on both cores of this machine (the target
 * is 10). Everything else is the reference space.
 */
export function fcnetBuildSpace(): ConfigSpace {
  return {
    ...fcnetConfigSpace(),
    hp_n_units_1: logfinrange(16, 256, 5, { castInt: true }),
    hp_n_units_2: logfinrange(16, 256, 5, { castInt: true }),
  };
}

export const fcnetTrainerNames = Object.keys(DATASETS).map((d) => `fcnet-${d}`);

/**
 * The script that trains one config for real (`--backend local`): always the compiled one, also when
 * this module runs from src/ under vitest, as Node 20 cannot run .ts.
 */
export const fcnetScriptPath = join(packageRoot, 'dist', 'src', 'blackbox', 'build', 'fcnet-script.js');

/** The network of an fcnet config on a prepared data set (shared by the table builder and fcnet-script). */
export function fcnetOptions(ds: PreparedDataset, config: Config, seed: number, epochs: number): MLPOptions {
  return {
    inputs: ds.featureNames.length,
    outputs: ds.outputs,
    task: ds.task,
    units: [config.hp_n_units_1 as number, config.hp_n_units_2 as number],
    activations: [config.hp_activation_fn_1 as Activation, config.hp_activation_fn_2 as Activation],
    dropout: [config.hp_dropout_1 as number, config.hp_dropout_2 as number],
    batchSize: config.hp_batch_size as number,
    learningRate: config.hp_init_lr as number,
    schedule: config.hp_lr_schedule as 'cosine' | 'const',
    epochs,
    seed,
  };
}

/** The score recorded beside the loss: accuracy for classification, R² for regression. */
export const fcnetScoreName = (ds: PreparedDataset) => (ds.task === 'classification' ? 'valid_accuracy' : 'valid_r2');

/** Trains one epoch and returns the table's objectives after it: valid_loss, the score, train_loss, n_params. */
export function fcnetEpoch(net: MLP, ds: PreparedDataset): number[] {
  const trainLoss = net.trainEpoch(ds.train);
  const v = net.evaluate(ds.valid);
  return [v.loss, v.score, trainLoss, net.parameterCount];
}

/** The two-hidden-layer network of fcnet, trained on one of the shipped data sets. */
export function fcnetTrainingFunction(name: string): TrainingFunction {
  const dataset = name.replace(/^fcnet-/, '');
  const ds = loadDataset(dataset);
  return {
    name,
    configSpace: fcnetBuildSpace(),
    objectiveNames: ['valid_loss', fcnetScoreName(ds), 'train_loss', 'n_params'],
    metadata: {
      source: `tunelab blackbox build ${name}: a fully connected network (two hidden layers, Adam, dropout, constant or cosine learning rate) trained in TypeScript on ${ds.info.source}`,
      dataset: dataset,
      task: ds.info.description,
      data_licence: ds.info.licence,
      licence: `tables: Apache-2.0 (tunelab); data: ${ds.info.licence}`,
      train_rows: ds.train.n,
      valid_rows: ds.valid.n,
      features: ds.featureNames,
      valid_loss: ds.task === 'classification' ? 'mean cross-entropy on the validation split' : 'mean squared error of the standardised target on the validation split',
      citation: 'Klein & Hutter 2019, Tabular Benchmarks for Joint Architecture and Hyperparameter Optimization (the fcnet space)',
    },
    *run(config: Config, seed: number, epochs: number) {
      const net = new MLP(fcnetOptions(ds, config, seed, epochs));
      for (let e = 0; e < epochs; e++) yield fcnetEpoch(net, ds);
    },
  };
}
