/**
 * Tabulate a real training function, then tune on the table: the fcnet network trained on iris for
 * a seeded sample of configs (every epoch's objectives and its measured time), loaded back as a
 * blackbox and replayed by the simulator under ASHA. `tunelab blackbox build` does the same from
 * the command line.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HyperbandScheduler, RandomSearcher, SimulatorBackend, TabularBlackbox, Tuner, buildBlackbox, createRng, readTable } from '../src/index.js';

const out = join(process.env.TUNELAB_ROOT ?? mkdtempSync(join(tmpdir(), 'tunelab-example-')), 'fcnet-iris');
const built = await buildBlackbox({ trainer: 'fcnet-iris', out, numConfigs: 40, samplingSeed: 7, numSeeds: 2, epochs: 9, workers: 2, progress: false });
console.log(`built ${out}: ${built.table.configurations.length} configs × ${built.table.numSeeds} seeds × ${built.table.fidelityValues.length} epochs, ${built.epochsPerSecond.toFixed(0)} epochs/s`);

// configs outside the table are answered by the average of the 5 nearest tabulated ones
const blackbox = new TabularBlackbox(readTable(out), 'knn');
const problem = { configSpace: blackbox.configSpace, metric: 'valid_loss', mode: 'min' as const, rng: createRng(7) };
const tuner = new Tuner({
  scheduler: new HyperbandScheduler(problem, new RandomSearcher(problem), { type: 'stopping', maxT: 9, gracePeriod: 1, reductionFactor: 3 }),
  backend: new SimulatorBackend(blackbox, { seed: 7 }),
  nWorkers: 2,
  stopping: { maxNumTrialsStarted: 30 },
  configNames: Object.keys(blackbox.configSpace),
});
const summary = await tuner.run();
console.log(`ASHA: ${summary.numTrials} trials, ${summary.numResults} results in ${summary.tunerTime.toFixed(3)} simulated s; best valid_loss ${summary.best!.value.toFixed(4)}`);
