import type { CommandModule } from 'yargs';
import { signalExitCode } from '../util/signals.js';
import { experimentFlags, hpoMainOptions, numberFlag } from './flags.js';

const launchFlags = <T>(y: Parameters<typeof experimentFlags<T>>[0]) =>
  // here --backend says where jobs run; inside each job trials are simulated
  experimentFlags(y, { type: 'string', default: 'local', choices: ['local', 'sagemaker', 'slurm'], describe: 'where the jobs run: local process pool, SageMaker training jobs, or the tasks of one Slurm job array' })
    .option('sagemaker_image', { type: 'string', describe: 'SageMaker: container image with tunelab installed' })
    .option('sagemaker_role', { type: 'string', describe: 'SageMaker: IAM role ARN the jobs run as' })
    .option('instance_type', { type: 'string', default: 'ml.c5.xlarge', describe: 'SageMaker: instance type per job' })
    .option('max_parallel_jobs', numberFlag('max_parallel_jobs', 'jobs at once (default: the number of cores; Slurm: the array throttle %P, default all)', { integer: true }))
    .option('wait', { type: 'boolean', default: false, describe: 'SageMaker, Slurm: wait until every job has ended (default: return once they are submitted)' })
    .option('slurm_partition', { type: 'string', describe: 'Slurm: sbatch --partition' })
    .option('slurm_time', { type: 'string', describe: 'Slurm: sbatch --time of each task' })
    .option('slurm_account', { type: 'string', describe: 'Slurm: sbatch --account' })
    .option('slurm_extra', { type: 'string', describe: 'Slurm: further sbatch flags, e.g. "--qos=low"' })
    .option('dry_run', { type: 'boolean', default: false, describe: 'print the jobs and their command lines, run nothing' });

export const launchRemoteCommand: CommandModule = {
  command: 'launch-remote',
  describe: 'fan a study out into jobs: one per cheap method (all seeds), one per seed of an expensive method',
  builder: (y) => launchFlags(y),
  handler: async (argv) => {
    const a = argv as unknown as Awaited<ReturnType<typeof launchFlags>['argv']>;
    if (a.backend === 'slurm') {
      const { launchSlurmJobs } = await import('../executors/slurm-jobs.js');
      const report = await launchSlurmJobs({
        ...hpoMainOptions(a),
        backend: undefined,
        maxParallelJobs: a.max_parallel_jobs,
        dryRun: a.dry_run,
        wait: a.wait,
        slurm: { partition: a.slurm_partition, time: a.slurm_time, account: a.slurm_account, extra: a.slurm_extra },
      });
      if (report.interrupted) process.exitCode = signalExitCode(report.interrupted);
      else if (report.outcomes.some((o) => !o.ok)) process.exitCode = 1;
      return;
    }
    const { launchRemote } = await import('../launchers/launch-remote.js');
    // inside the jobs trials are simulated: --backend here names the job runner, not the trial backend
    const sagemaker =
      a.backend === 'sagemaker' && a.sagemaker_image && a.sagemaker_role && a.s3_bucket
        ? { image: a.sagemaker_image, role: a.sagemaker_role, instanceType: a.instance_type, bucket: a.s3_bucket, prefix: a.s3_prefix }
        : undefined;
    const report = await launchRemote({
      ...hpoMainOptions(a),
      backend: undefined,
      jobBackend: a.backend as 'local' | 'sagemaker',
      sagemaker,
      maxParallelJobs: a.max_parallel_jobs,
      dryRun: a.dry_run,
      wait: a.wait,
    });
    if (report.interrupted) process.exitCode = signalExitCode(report.interrupted);
    else if (report.outcomes.some((o) => !o.ok)) process.exitCode = 1;
  },
};
