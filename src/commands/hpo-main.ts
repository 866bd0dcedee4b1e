import type { CommandModule } from 'yargs';
import { signalExitCode } from '../util/signals.js';
import { type ExperimentArgv, experimentFlags, hpoMainOptions } from './flags.js';

export const hpoMainCommand: CommandModule = {
  command: 'hpo-main',
  describe: 'run experiments: method × benchmark × seed, on the simulator (or --backend local)',
  builder: (y) => experimentFlags(y),
  handler: async (argv) => {
    const { hpoMain } = await import('../launchers/hpo-main.js');
    const report = await hpoMain(hpoMainOptions(argv as unknown as ExperimentArgv));
    if (report.halted) console.error(`tunelab: ${report.halted}`);
    if (report.interrupted) process.exitCode = signalExitCode(report.interrupted);
    else if (report.halted || report.outcomes.some((o) => o.metadata.status !== 'completed') || report.uploadFailures.length > 0) process.exitCode = 1;
  },
};
