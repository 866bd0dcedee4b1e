import type { CommandModule } from 'yargs';
import { hpoMain } from '../launchers/hpo-main.js';
import { experimentFlags } from './flags.js';

export const hpoMainCommand: CommandModule = {
  command: 'hpo-main',
  describe: 'run experiments: method × benchmark × seed, on the simulator',
  builder: (y) => experimentFlags(y),
  handler: async (argv) => {
    const a = argv as unknown as Awaited<ReturnType<typeof experimentFlags>['argv']>;
    const report = await hpoMain({
      experimentTag: a.experiment_tag,
      method: a.method,
      benchmark: a.benchmark,
      numSeeds: a.num_seeds,
      startSeed: a.start_seed,
      randomSeed: a.random_seed,
      backend: a.backend,
      nWorkers: a.n_workers,
      maxWallclockTime: a.max_wallclock_time,
      resultsRoot: a.results_root,
      verbose: a.verbose,
      saveTuner: a.save_tuner,
      resume: a.resume,
      restrictConfigurations: a.restrict_configurations,
      maxFailures: a.max_failures,
    });
    if (report.outcomes.some((o) => o.metadata.status !== 'completed')) process.exitCode = 1;
  },
};
