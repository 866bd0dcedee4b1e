/**
 * The building blocks without the launcher: a config space, ASHA (promotion type) with random search,
 * the simulator on a closed-form benchmark, and the Tuner with a callback.
 */
import {
  HyperbandScheduler,
  RandomSearcher,
  SimulatorBackend,
  Tuner,
  createRng,
  loguniform,
  ordinal,
  syntheticBlackbox,
  uniform,
  choice,
  randint,
  lograndint,
} from '../src/index.js';

const blackbox = syntheticBlackbox('synthetic-mlp');
// the benchmark's own space, spelled out: every domain kind of tunelab but finrange
const configSpace = {
  learning_rate: loguniform(1e-5, 1),
  weight_decay: loguniform(1e-8, 1e-1),
  dropout: uniform(0, 0.8),
  num_layers: randint(1, 5),
  max_units: lograndint(16, 1024),
  optimizer: choice(['sgd', 'adam', 'rmsprop']),
  batch_size: ordinal([16, 32, 64, 128, 256]),
};
const problem = { configSpace, metric: 'val_accuracy', mode: 'max' as const, rng: createRng(2024) };
const scheduler = new HyperbandScheduler(problem, new RandomSearcher(problem), { type: 'promotion', maxT: 52, gracePeriod: 2, reductionFactor: 3 });
let promotions = 0;
const tuner = new Tuner({
  scheduler,
  backend: new SimulatorBackend(blackbox, { seed: 2024 }),
  nWorkers: 4,
  stopping: { maxWallclockTime: 1200 },
  configNames: Object.keys(configSpace),
  callbacks: [{ onTrialStart: (_, __, resumed) => void (resumed && promotions++) }],
});
const summary = await tuner.run();
console.log(`${summary.numTrials} trials, ${promotions} promotions, ${summary.numResults} results in ${summary.tunerTime} simulated s`);
console.log(`best val_accuracy ${summary.best!.value.toFixed(3)} with`, summary.best!.config);
console.log('rungs:', scheduler.informationForRungs().map((r) => `${r.level}:${r.count}`).join(' '));
