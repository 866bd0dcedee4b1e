import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../util/errors.js';
import { TOKEN_FILE_FLAG, numberFlag, tokenFromFile } from './flags.js';

/** `tunelab study launch`: a study's workers on this machine, a Slurm cluster or Kubernetes (DESIGN.md §10). */

interface LaunchArgs extends ExecutorArgs {
  study: string;
  storage?: string;
  storage_timeout: number;
  token_file?: string;
  workers: number;
  '--'?: string[];
}

/** The flags of `executorFlags`, as yargs hands them over. */
export interface ExecutorArgs {
  executor?: string;
  parallelism?: number;
  orphan_timeout: number;
  slurm_partition?: string;
  slurm_time?: string;
  slurm_account?: string;
  slurm_extra?: string;
  k8s_namespace?: string;
  k8s_image?: string;
}

/** Executor flags shared by `study launch` and `run -f --executor`. */
export function executorFlags<T>(y: Argv<T>) {
  return y
    .option('executor', { type: 'string', choices: ['local', 'slurm', 'kubernetes'], describe: 'where the workers run' })
    .option('parallelism', numberFlag('parallelism', 'workers at once (Slurm array throttle %P, Kubernetes parallelism; default all)', { integer: true }))
    .option('orphan_timeout', numberFlag('orphan_timeout', 'seconds a worker keeps retrying an unreachable store before it ends', { default: 300 }))
    .option('slurm_partition', { type: 'string', describe: 'sbatch --partition' })
    .option('slurm_time', { type: 'string', describe: 'sbatch --time (each worker gives its trial back 2 minutes before it)' })
    .option('slurm_account', { type: 'string', describe: 'sbatch --account' })
    .option('slurm_extra', { type: 'string', describe: 'further sbatch flags, e.g. "--qos=low --constraint=a100"' })
    .option('k8s_namespace', { type: 'string', describe: 'Kubernetes namespace (default: default)' })
    .option('k8s_image', { type: 'string', describe: 'an image whose entrypoint is tunelab (docker/Dockerfile, or built FROM it)' });
}

export const studyLaunch: CommandModule<object, LaunchArgs> = {
  command: 'launch <study>',
  describe: "start the study's workers with an executor: local processes, a Slurm job array, or a Kubernetes Indexed Job",
  builder: (y) =>
    executorFlags(y)
      .positional('study', { type: 'string', demandOption: true, describe: "the study: its id or name, or a study server's URL http://host:port/v1/experiments/<id>" })
      .option('token_file', TOKEN_FILE_FLAG)
      .option('storage', { type: 'string', describe: 'the study store every worker reaches: postgresql://… or a study server http://… (a SQLite file only with --executor local)' })
      .option('storage_timeout', numberFlag('storage_timeout', 'seconds to keep retrying an unreachable store here', { default: 30 }))
      .option('workers', { ...numberFlag('workers', 'how many workers', { integer: true }), demandOption: true })
      .parserConfiguration({ 'populate--': true })
      .usage('$0 study launch <study> --workers N --executor local|slurm|kubernetes [--storage URL] [-- <command...>]') as never,
  handler: async (a) => {
    if (!a.executor) throw new UserError('--executor is required: local, slurm or kubernetes');
    const [{ loadStudy }, { launchWorkers }, { STORAGE_ENV }, { isServerUrl }, { takeToken }] = await Promise.all([
      import('../study/study.js'),
      import('../executors/launch.js'),
      import('../study/storage/open.js'),
      import('../study/handle.js'),
      import('../study/remote.js'),
    ]);
    const storage = a.storage ?? process.env[STORAGE_ENV];
    const server = isServerUrl(a.study) || (storage !== undefined && isServerUrl(storage));
    // taken once: this process uses it, and the workers get it in their environment
    const token = server ? takeToken(tokenFromFile(a.token_file)) : undefined;
    const study = await loadStudy(a.study, { storage, storageTimeout: a.storage_timeout, token });
    try {
      const submission = await launchWorkers(study, {
        executor: a.executor as 'local',
        workers: a.workers,
        parallelism: a.parallelism,
        storage: server ? study.location : (storage ?? study.location),
        token,
        orphanTimeout: a.orphan_timeout,
        command: a['--']?.length ? a['--'].map(String) : undefined,
        resources: study.definition.resources,
        slurm: { partition: a.slurm_partition, time: a.slurm_time, account: a.slurm_account, extra: a.slurm_extra },
        kubernetes: { namespace: a.k8s_namespace, image: a.k8s_image },
      });
      console.log(`study ${study.id} '${study.name}': ${submission.workers} worker(s) submitted to ${submission.executor} as ${submission.id}; their output under ${submission.logDir}`);
    } finally {
      await study.close();
    }
  },
};
