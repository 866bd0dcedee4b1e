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
  syntheticBlackbox,
} from '../src/index.js';

const blackbox = syntheticBlackbox('synthetic-mlp');
// the benchmark's space: loguniform, uniform, randint, lograndint, choice and ordinal domains
const configSpace = blackbox.configSpace;
console.log('space:', Object.entries(configSpace).map(([k, d]) => `${k}: ${JSON.stringify((d as { toJSON(): unknown }).toJSON())}`).join('; '));
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
