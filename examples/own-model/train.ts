import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MLP, checkpointDir, loadDataset, report, trialConfig } from '../../src/index.js';

/**
 * A user's own training script, tuned by `tunelab run -f examples/own-model/experiment.yml`: tunelab's
 * MLP predicts the sex of Palmer penguins. The trial protocol (DESIGN.md §8) gives it its config in
 * $TUNELAB_CONFIG and a checkpoint folder; it reports after every epoch and saves its checkpoint
 * there, so a trial that the scheduler pauses continues where it stopped when resumed.
 * Run by hand (`node dist/examples/own-model/train.js`) it trains the default config below.
 */
type Params = {
  lr: number;
  batch_size: number;
  units: number;
  dropout: number;
  activation: 'relu' | 'tanh';
};

const EPOCHS = 27;
const config = trialConfig<Params>() ?? { lr: 0.01, batch_size: 16, units: 64, dropout: 0.1, activation: 'relu' };
const data = loadDataset('penguins');
const net = new MLP({
  inputs: data.featureNames.length,
  outputs: data.outputs,
  task: data.task,
  units: [config.units, config.units],
  activations: [config.activation, config.activation],
  dropout: [config.dropout, config.dropout],
  batchSize: config.batch_size,
  learningRate: config.lr,
  schedule: 'cosine',
  epochs: EPOCHS,
  // one seed for every trial: configs are compared on the same initialisation and data order
  seed: 1,
});

const dir = checkpointDir();
const file = dir === undefined ? undefined : join(dir, 'model.ckpt');
if (dir) mkdirSync(dir, { recursive: true });
// a corrupt checkpoint throws: the trial fails with the reason rather than silently starting over
if (file && existsSync(file)) net.setState(MLP.decodeState(readFileSync(file)));

for (let epoch = net.epochsTrained + 1; epoch <= EPOCHS; epoch++) {
  net.trainEpoch(data.train);
  const v = net.evaluate(data.valid);
  // report, then save: killed in between, the resumed trial repeats this epoch, which tunelab drops
  report({ epoch, valid_loss: v.loss, valid_accuracy: v.score, n_params: net.parameterCount });
  if (file) {
    writeFileSync(`${file}.tmp`, MLP.encodeState(net.state()));
    renameSync(`${file}.tmp`, file);
  }
}
