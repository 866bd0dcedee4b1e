import type { CommandModule } from 'yargs';
import { signalExitCode } from '../util/signals.js';
import { numeric } from './flags.js';

interface RunArgs {
  file: string;
  experiment_tag?: string;
  n_workers?: number;
  results_root?: string;
  resume: boolean;
  verbose: number;
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'tune your own training command on this machine, as an experiment file describes it',
  builder: (y) =>
    y
      .option('file', { alias: 'f', type: 'string', demandOption: true, describe: 'the experiment file (experiment.yml, .yaml or .json)' })
      .option('experiment_tag', { type: 'string', describe: "study the run belongs to (default: the experiment's name); results go to <root>/<tag>/" })
      .option('n_workers', { type: 'string', coerce: numeric('n_workers', { integer: true }), describe: "trials at once (default: the file's parallel_bandwidth)" })
      .option('results_root', { type: 'string', describe: 'results root (default $TUNELAB_ROOT, else ~/tunelab)' })
      .option('resume', { type: 'boolean', default: false, describe: "continue the newest unfinished run of this experiment from its tuner.json (clock and budget continue)" })
      .option('verbose', { type: 'string', default: '0', coerce: numeric('verbose', { integer: true }), describe: '1: print every trial start, decision and end' }) as never,
  handler: async (argv) => {
    const { runExperimentFile } = await import('../launchers/run.js');
    const report = await runExperimentFile({
      file: argv.file,
      experimentTag: argv.experiment_tag,
      nWorkers: argv.n_workers,
      resultsRoot: argv.results_root,
      resume: argv.resume,
      verbose: argv.verbose,
    });
    if (report.alreadyCompleted || !report.metadata) return;
    const { metadata, summary, folder } = report;
    if (summary?.best) {
      const config = Object.entries(summary.best.config).map(([k, v]) => `${k}=${v}`).join(', ');
      console.log(`best ${metadata.metric} ${summary.best.value} (trial ${summary.best.trialId}: ${config})`);
    } else if (summary) console.log(`no feasible result (${summary.numTrials} trials, ${summary.numFailures} failed)`);
    console.log(`${metadata.status}${metadata.error ? `: ${metadata.error}` : ''} → ${folder}  (tunelab status ${folder})`);
    if (report.interrupted) process.exitCode = signalExitCode(report.interrupted);
    else if (metadata.status !== 'completed') process.exitCode = 1;
  },
};
