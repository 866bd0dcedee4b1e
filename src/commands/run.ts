import type { CommandModule } from 'yargs';
import type { StudyStatusReport } from '../study/status.js';
import { UserError } from '../util/errors.js';
import { signalExitCode } from '../util/signals.js';
import { TOKEN_FILE_FLAG, numberFlag, tokenFromFile } from './flags.js';
import { type ExecutorArgs, executorFlags } from './study-launch.js';

/** The last line of a shared run: where the study stands and its best, as `tunelab study best` tells it. */
async function printStudyEnd(s: StudyStatusReport): Promise<void> {
  const { formatValue } = await import('../util/table.js');
  if (s.front) {
    const { frontLines } = await import('../study/status.js');
    console.log([`study ${s.id} '${s.name}': ${s.status}, ${s.observations} / ${s.budget ?? '∞'} observations (${s.failed} failed)`, ...frontLines(s.front)].join('\n'));
    return;
  }
  const best = s.best ? `best ${s.best.metric} ${formatValue(s.best.value)} (suggestion ${s.best.suggestionId}: ${Object.entries(s.best.config).map(([k, v]) => `${k}=${typeof v === 'number' ? formatValue(v) : v}`).join(', ')})` : 'no feasible observation';
  console.log(`study ${s.id} '${s.name}': ${s.status}, ${s.observations} / ${s.budget ?? '∞'} observations (${s.failed} failed); ${best}`);
}

/**
 * The flags of a study of methods × seeds on one's own script, which a shared study (one method,
 * one master seed, one budget: the file's) cannot honour: refused, saying what to do instead,
 * never silently ignored.
 */
function refuseStudyFlags(argv: RunArgs, mode: '--storage' | '--executor'): void {
  const instead: Partial<Record<keyof RunArgs, string>> = {
    method: "it runs the file's one method (RS, BO, TPE or ASHA): set `method:` in the file; to compare methods on your script, run without " + mode + ' (--method M... [--num_seeds N])',
    num_seeds: "it is one run with the file's random_seed, over every worker: to repeat the run over seeds, run without " + mode + ' (--num_seeds N), or create one study per seed with its own `random_seed:` in the file',
    start_seed: "it is one run with the file's random_seed: set `random_seed:` in the file",
    random_seed: "its seed is the file's: set `random_seed:` in the file",
    max_trials: "its budget is the file's: set `budget: {max_trials: N}` in the file",
  };
  for (const [flag, why] of Object.entries(instead)) {
    if (argv[flag as keyof RunArgs] !== undefined) throw new UserError(`--${flag} does not apply with ${mode}: a shared study is the file as written; ${why}`);
  }
  // a shared study's workers take the command with them; submitted workers run the file's
  if (mode === '--executor' && argv['--']?.length) throw new UserError("-- <command> does not apply with --executor: every submitted worker runs the file's `command`; set it there");
}

/** `run --storage URL`: the same file as a shared study, with this machine's share of the workers. */
async function runShared(argv: RunArgs): Promise<void> {
  refuseStudyFlags(argv, '--storage');
  for (const flag of ['resume', 'experiment_tag', 'results_root'] as const) {
    if (argv[flag]) throw new UserError(`--${flag} does not apply with --storage: a shared study lives in its store (continue it by running the same file again; export it with tunelab study export)`);
  }
  const [{ loadExperimentFile }, { experimentFileOptions }, { runSharedStudy, sharedRunFailure }] = await Promise.all([import('../experiment/load.js'), import('../methods/registry.js'), import('../study/shared-run.js')]);
  const definition = await loadExperimentFile(argv.file, experimentFileOptions());
  const report = await runSharedStudy(definition, { storage: argv.storage, token: tokenFromFile(argv.token_file), nWorkers: argv.n_workers, storageTimeout: argv.storage_timeout, command: argv['--']?.map(String) });
  await printStudyEnd(report.status);
  const failure = sharedRunFailure(report);
  if (failure) {
    console.error(`tunelab: ${failure}`);
    process.exitCode = 1;
  }
}

/** `run --executor`: the study's workers submitted to Slurm, Kubernetes or this machine, their output followed until the study ends. */
async function runOnExecutor(argv: RunArgs): Promise<void> {
  refuseStudyFlags(argv, '--executor');
  for (const flag of ['resume', 'experiment_tag', 'results_root', 'n_workers'] as const) {
    if (argv[flag]) throw new UserError(`--${flag} does not apply with --executor: ${flag === 'n_workers' ? 'give the number of workers with --workers' : 'the study lives in its store (continue it by running the same file again)'}`);
  }
  if (argv.backend !== 'local') throw new UserError(`--backend ${argv.backend} does not apply with --executor: each worker runs its trials where it runs`);
  const [{ loadExperimentFile }, { experimentFileOptions }, { runOnExecutor: run, executorRunFailure }] = await Promise.all([import('../experiment/load.js'), import('../methods/registry.js'), import('../executors/run.js')]);
  const definition = await loadExperimentFile(argv.file, experimentFileOptions());
  const report = await run(definition, {
    executor: argv.executor as 'local',
    storage: argv.storage,
    storageTimeout: argv.storage_timeout,
    token: tokenFromFile(argv.token_file),
    workers: argv.workers,
    parallelism: argv.parallelism,
    orphanTimeout: argv.orphan_timeout,
    resources: definition.resources,
    slurm: { partition: argv.slurm_partition, time: argv.slurm_time, account: argv.slurm_account, extra: argv.slurm_extra },
    kubernetes: { namespace: argv.k8s_namespace, image: argv.k8s_image },
  });
  await printStudyEnd(report.status);
  const failure = executorRunFailure(report);
  if (report.interrupted) process.exitCode = signalExitCode(report.interrupted);
  else if (failure) {
    console.error(`tunelab: ${failure}`);
    process.exitCode = 1;
  }
}

interface RunArgs extends ExecutorArgs {
  file: string;
  experiment_tag?: string;
  n_workers?: number;
  results_root?: string;
  resume: boolean;
  verbose: number;
  storage?: string;
  storage_timeout?: number;
  token_file?: string;
  backend: string;
  sagemaker_image?: string;
  sagemaker_role?: string;
  instance_type: string;
  s3_bucket?: string;
  s3_prefix: string;
  method?: string[];
  num_seeds?: number;
  start_seed?: number;
  random_seed?: number;
  max_trials?: number;
  '--'?: (string | number)[];
  workers?: number;
}

/** `--backend sagemaker`: each trial a training job (SageMakerBackend); every setting it needs named when missing. */
function sagemakerSettings(argv: RunArgs) {
  if (argv.backend !== 'sagemaker') return undefined;
  if (argv.storage !== undefined) throw new UserError('--backend sagemaker does not apply with --storage: a shared study runs its trials on the machines of its workers');
  const missing = (['sagemaker_image', 'sagemaker_role', 's3_bucket'] as const).filter((f) => !argv[f]);
  if (missing.length > 0) throw new UserError(`--backend sagemaker needs ${missing.map((f) => `--${f}`).join(', ')} (the trial image with tunelab installed, the IAM role the jobs run as, and the bucket their reports and checkpoints go to)`);
  return { image: argv.sagemaker_image!, role: argv.sagemaker_role!, instanceType: argv.instance_type, bucket: argv.s3_bucket!, prefix: argv.s3_prefix };
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'tune your own training command on this machine, as an experiment file describes it',
  builder: (y) =>
    executorFlags(y)
      .option('workers', numberFlag('workers', "with --executor: workers to submit (default: the file's parallel_bandwidth)", { integer: true }))
      .option('file', { alias: 'f', type: 'string', demandOption: true, describe: 'the experiment file (experiment.yml, .yaml or .json)' })
      .option('experiment_tag', { type: 'string', describe: "study the run belongs to (default: the experiment's name); results go to <root>/<tag>/" })
      .option('n_workers', numberFlag('n_workers', "trials at once (default: the file's parallel_bandwidth)", { integer: true }))
      .option('results_root', { type: 'string', describe: 'results root (default $TUNELAB_ROOT, else ~/tunelab)' })
      .option('resume', { type: 'boolean', default: false, describe: "continue the newest unfinished run of this experiment from its tuner.json (clock and budget continue)" })
      .option('verbose', numberFlag('verbose', '1: print every trial start, decision and end', { integer: true, default: 0 }))
      .option('storage', { type: 'string', describe: 'tune as a shared study in this store (sqlite:PATH or postgresql://...) or on a study server (http://host:port[/v1/experiments/<id>]): start n_workers study workers here; other machines join with tunelab study worker' })
      .option('token_file', TOKEN_FILE_FLAG)
      .option('storage_timeout', numberFlag('storage_timeout', 'seconds each worker retries an unreachable store (with --storage)'))
      .option('backend', { type: 'string', default: 'local', choices: ['local', 'sagemaker'], describe: 'where each trial runs: a local process, or a SageMaker training job' })
      .option('sagemaker_image', { type: 'string', describe: 'SageMaker: the trial image, with tunelab installed' })
      .option('sagemaker_role', { type: 'string', describe: 'SageMaker: IAM role ARN the trial jobs run as' })
      .option('instance_type', { type: 'string', default: 'ml.c5.xlarge', describe: 'SageMaker: instance type per trial job' })
      .option('s3_bucket', { type: 'string', describe: "SageMaker: bucket of the trials' reports and checkpoints" })
      .option('s3_prefix', { type: 'string', default: 'tunelab', describe: 'SageMaker: key prefix, s3://<bucket>/<prefix>/<run folder>/trial-<id>/' })
      .option('method', { type: 'string', array: true, requiresArg: true, describe: "method(s) to run (default: the file's); several: a study, every method × seed, as hpo-main" })
      .option('num_seeds', numberFlag('num_seeds', 'run seeds start_seed .. num_seeds-1 of each method (as hpo-main)', { integer: true }))
      .option('start_seed', numberFlag('start_seed', 'first seed (default 0)', { integer: true }))
      .option('random_seed', numberFlag('random_seed', "master seed every run's seed is derived from (default: the file's random_seed, else drawn)", { integer: true }))
      .option('max_trials', numberFlag('max_trials', "trials per run (overrides the file's budget.max_trials)", { integer: true }))
      .parserConfiguration({ 'populate--': true })
      .usage('$0 run -f experiment.yml [--method M...] [--num_seeds N] [options] [-- <command...>]') as never,
  handler: async (argv) => {
    const sagemaker = sagemakerSettings(argv);
    if (argv.executor !== undefined) return runOnExecutor(argv);
    if (argv.workers !== undefined) throw new UserError('--workers applies with --executor (local, slurm or kubernetes); trials at once on this machine: --n_workers');
    if (argv.storage !== undefined) return runShared(argv);
    const { runExperimentFile, runStudy } = await import('../launchers/run.js');
    const options = {
      file: argv.file,
      experimentTag: argv.experiment_tag,
      nWorkers: argv.n_workers,
      resultsRoot: argv.results_root,
      resume: argv.resume,
      verbose: argv.verbose,
      sagemaker,
      randomSeed: argv.random_seed,
      maxTrials: argv.max_trials,
      command: argv['--']?.map(String),
    };
    const seeds = (argv.num_seeds ?? 1) - (argv.start_seed ?? 0);
    if ((argv.method?.length ?? 0) > 1 || seeds !== 1) {
      const study = await runStudy({ ...options, methods: argv.method, numSeeds: argv.num_seeds, startSeed: argv.start_seed });
      const { formatValue } = await import('../util/table.js');
      for (const r of study.runs) {
        if (!r.metadata) continue;
        const best = r.summary?.front ? `Pareto front of ${r.summary.front.length} point(s)` : r.summary?.best ? `best ${r.metadata.metric} ${formatValue(r.summary.best.value)} (trial ${r.summary.best.trialId})` : r.alreadyCompleted ? 'already completed' : 'no feasible result';
        console.log(`${r.metadata.method} seed ${r.metadata.seed}: ${r.metadata.status}, ${best} → ${r.folder}`);
      }
      const tag = argv.experiment_tag ?? study.runs[0]?.experiment.name;
      console.log(`compare them: tunelab plot --experiment_tag ${tag}${argv.results_root ? ` --results_root ${argv.results_root}` : ''}`);
      const last = study.runs[study.runs.length - 1];
      if (last?.interrupted) process.exitCode = signalExitCode(last.interrupted);
      else if (study.runs.some((r) => r.metadata && r.metadata.status !== 'completed')) process.exitCode = 1;
      return;
    }
    const report = await runExperimentFile({ ...options, method: argv.method?.[0], seed: argv.start_seed });
    if (report.alreadyCompleted || !report.metadata) return;
    const { metadata, summary, folder } = report;
    if (summary?.front?.length && folder) {
      // the folder's front, by the one definition `best` and `status` use
      const [{ bestOrFront }, { formatFront }] = await Promise.all([import('../operate/best.js'), import('../operate/status.js')]);
      const best = bestOrFront(folder);
      if (best && 'front' in best) console.log(formatFront(best.front).join('\n'));
    } else if (summary?.best) {
      const { formatValue } = await import('../util/table.js');
      const config = Object.entries(summary.best.config).map(([k, v]) => `${k}=${typeof v === 'number' ? formatValue(v) : v}`).join(', ');
      console.log(`best ${metadata.metric} ${formatValue(summary.best.value)} (trial ${summary.best.trialId}: ${config})`);
    } else if (summary) console.log(`no feasible result (${summary.numTrials} trials, ${summary.numFailures} failed)`);
    console.log(`${metadata.status}${metadata.error ? `: ${metadata.error}` : ''} → ${folder}  (tunelab status ${folder})`);
    if (report.interrupted) process.exitCode = signalExitCode(report.interrupted);
    else if (metadata.status !== 'completed') process.exitCode = 1;
  },
};
