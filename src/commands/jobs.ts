import type { CommandModule } from 'yargs';

interface JobsArgs {
  experiment_tag: string;
  backend: string;
  results_root?: string;
  stop: boolean;
}

export const jobsCommand: CommandModule<object, JobsArgs> = {
  command: 'jobs',
  describe: "list a study's launch-remote jobs with their state (local pool, SageMaker or Slurm); --stop stops the running ones",
  builder: (y) =>
    y
      .option('experiment_tag', { type: 'string', demandOption: true, describe: 'the study' })
      .option('backend', { type: 'string', default: 'local', choices: ['local', 'sagemaker', 'slurm'], describe: 'where the jobs run' })
      .option('results_root', { type: 'string', describe: 'local pool, Slurm: results root (default $TUNELAB_ROOT, else ~/tunelab)' })
      .option('stop', { type: 'boolean', default: false, describe: 'stop the jobs still running (SIGTERM / StopTrainingJob / scancel)' }),
  handler: async (a) => {
    const [{ localStudyJobs, sageMakerStudyJobs, stopStudyJobs }, { resultsRoot }, { formatTable }] = await Promise.all([
      import('../cloud/jobs.js'),
      import('../results/layout.js'),
      import('../util/table.js'),
    ]);
    const backend = a.backend as 'local' | 'sagemaker' | 'slurm';
    const slurm = backend === 'slurm' ? await import('../executors/slurm-jobs.js') : undefined;
    const jobs = slurm
      ? await slurm.slurmStudyJobs(resultsRoot(a.results_root), a.experiment_tag)
      : backend === 'sagemaker'
        ? await sageMakerStudyJobs(a.experiment_tag)
        : localStudyJobs(resultsRoot(a.results_root), a.experiment_tag);
    if (jobs.length === 0) {
      console.log(`no ${backend} jobs of study '${a.experiment_tag}'`);
      return;
    }
    console.log(formatTable(['job', 'state', 'method', 'seeds', 'results', 'detail'], jobs.map((j) => [j.job, j.state, j.method, j.seeds, j.destination, j.detail])));
    if (a.stop) {
      const stopped = slurm ? await slurm.stopSlurmJobs(jobs) : await stopStudyJobs(jobs, backend as 'local' | 'sagemaker');
      console.log(stopped.length ? `asked ${stopped.length} job(s) to stop: ${stopped.map((j) => j.job).join(', ')}` : 'no job is running');
    }
  },
};
