import type { CommandModule } from 'yargs';
import { launchRemote } from '../launchers/launch-remote.js';
import { experimentFlags, hpoMainOptions, numeric } from './flags.js';

const launchFlags = <T>(y: Parameters<typeof experimentFlags<T>>[0]) =>
  experimentFlags(y)
    // here --backend says where jobs run; inside each job trials are simulated
    .option('backend', { type: 'string', default: 'local', choices: ['local'], describe: 'where the jobs run: local process pool' })
    .option('max_parallel_jobs', { type: 'string', coerce: numeric('max_parallel_jobs', { integer: true }), describe: 'jobs at once (default: the number of cores)' })
    .option('dry_run', { type: 'boolean', default: false, describe: 'print the jobs and their command lines, run nothing' });

export const launchRemoteCommand: CommandModule = {
  command: 'launch-remote',
  describe: 'fan a study out into jobs: one per cheap method (all seeds), one per seed of an expensive method',
  builder: (y) => launchFlags(y),
  handler: async (argv) => {
    const a = argv as unknown as Awaited<ReturnType<typeof launchFlags>['argv']>;
    // inside the jobs trials are simulated: --backend here names the job runner, not the trial backend
    const outcomes = await launchRemote({ ...hpoMainOptions(a), backend: undefined, maxParallelJobs: a.max_parallel_jobs, dryRun: a.dry_run });
    if (outcomes.some((o) => o.exitCode !== 0)) process.exitCode = 1;
  },
};
