import { randomInt, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LocalBackend, checkCommand, killLeftoverTrials } from '../backends/local.js';
import type { SageMakerBackendOptions } from '../backends/sagemaker.js';
import type { TrialBackend } from '../backends/types.js';
import { type ExperimentDefinition, defaultMethod, loadExperimentFile, resourceAttrOf, trialCommand, trialEnvironment } from '../experiment/load.js';
import { createExperimentFolder, resultsRoot } from '../results/layout.js';
import { type FolderLock, acquireFolderLock, assertNotInUse, takeoverNotice } from '../results/lock.js';
import { type ExperimentMetadata, readMetadata, runStamp, writeMetadata } from '../results/metadata.js';
import { CHECKPOINT_FILE, readCheckpoint } from '../tuner/checkpoint.js';
import { Tuner } from '../tuner/tuner.js';
import type { TunerCallback } from '../tuner/types.js';
import { UserError } from '../util/errors.js';
import { checkPathPart } from '../util/path-part.js';
import { isDiskFull } from '../util/fs.js';
import { createRng } from '../util/rng.js';
import { STOP_SIGNALS, signalExitCode } from '../util/signals.js';
import { type ExperimentOutcome, REAL_TRIAL_TUNING, checkWritableRoot, diskFullReason, prepareResume, previousRuns, resumedMasterSeed, resumedMetadata, runInFolder, runSeed, seedRange } from './run-folder.js';
import { type MethodDefinition, experimentFileOptions, getMethod, methodDefinitions, objectiveMisfit } from '../methods/registry.js';
import { type Log, budgetProgressCallback, stopProgressBars, trialLinesCallback, verboseCallback } from './reporting.js';

export interface RunOptions {
  /** The experiment file (`experiment.yml`, `.yaml` or `.json`). */
  file: string;
  /** Study the run belongs to (default: the experiment's name); results go to `<root>/<tag>/`. */
  experimentTag?: string;
  /** Trials at once (default: the file's parallel_bandwidth). */
  nWorkers?: number;
  resultsRoot?: string;
  /** Continue the newest unfinished run of this experiment (same tag and method). */
  resume?: boolean;
  verbose?: number;
  /** Run each trial as a SageMaker training job (SageMakerBackend) instead of a local process. */
  sagemaker?: RunOnSageMaker;
  /** The method (default: the file's; else BO, or ASHA with a resource). */
  method?: string;
  /** The seed index (default 0) and the master seed it is derived from (default: the file's random_seed, else drawn), as in hpo-main. */
  seed?: number;
  randomSeed?: number;
  /** Overrides the file's budget.max_trials. */
  maxTrials?: number;
  /** Overrides the file's command (`run -f … -- <command>`). */
  command?: string[];
}

/** The SageMaker trial backend's settings that an experiment file does not hold. */
export type RunOnSageMaker = Omit<SageMakerBackendOptions, 'command' | 'name' | 'resourceAttr' | 'metricNames' | 'countReports'>;

export interface RunContext {
  methods?: Record<string, MethodDefinition>;
  log?: Log;
  /** Show a progress bar (default: when stdout is a terminal and not verbose). */
  progress?: boolean;
  /** Receives the tuner once built (tests stop it from here). */
  onTuner?: (tuner: Tuner) => void;
}

export interface RunReport extends Partial<ExperimentOutcome> {
  experiment: ExperimentDefinition;
  /** The run was already completed (with --resume): nothing ran. */
  alreadyCompleted?: boolean;
  /** The signal that stopped the run (it is `stopped`, resumable). */
  interrupted?: NodeJS.Signals;
}

/** What may not change between a run and its --resume: the problem itself (budget, command, env may). */
const PROBLEM_KEYS = ['parameters', 'metrics', 'resource'] as const;

/**
 * `tunelab run -f experiment.yml`: tunes the user's own training command on this machine with the
 * file's method, writing the standard experiment folder (results.csv.gz, metadata.json with the
 * experiment file inside, tuner.json, logs/, checkpoints/, lock).
 */
export async function runExperimentFile(options: RunOptions, context: RunContext = {}): Promise<RunReport> {
  const log = context.log ?? ((line: string) => console.log(line));
  const methods = context.methods ?? methodDefinitions;
  const loaded = await loadExperimentFile(options.file, experimentFileOptions(methods));
  for (const note of loaded.notes) log(`${loaded.file}: ${note}`);
  const definition = withOverrides(loaded, options);
  const method = getMethod(options.method ?? definition.method ?? defaultMethod(Boolean(definition.resource), definition.objectives.length > 1), methods);
  const misfit = objectiveMisfit(method, definition.objectives, methods);
  if (misfit) throw new UserError(`${definition.file ?? definition.name}: ${misfit}`);
  const seed = options.seed ?? 0;
  const tag = options.experimentTag ?? definition.name;
  checkPathPart('--experiment_tag', tag);
  const nWorkers = options.nWorkers ?? definition.parallelBandwidth;
  if (!(Number.isInteger(nWorkers) && nWorkers >= 1)) throw new UserError(`--n_workers must be a positive integer, got ${nWorkers}`);
  const command = trialCommand(definition);
  checkCommand(command, definition.cwd);
  const trialEnv = trialEnvironment(definition);
  const root = resultsRoot(options.resultsRoot);
  checkWritableRoot(root, tag);

  let resumeFolder: string | undefined;
  if (options.resume) {
    const [latest] = previousRuns(root, tag, method.name, definition.name, seed);
    if (latest?.status === 'completed') {
      log(`${definition.name}: already completed in ${latest.folder}; nothing to resume`);
      return { experiment: definition, folder: latest.folder, metadata: readMetadata(latest.folder), alreadyCompleted: true };
    }
    // a live run of the same experiment is refused, whether or not it has a checkpoint yet
    if (latest) assertNotInUse(latest.folder);
    if (latest && existsSync(join(latest.folder, CHECKPOINT_FILE))) resumeFolder = latest.folder;
    else log(latest ? `${latest.folder} has no ${CHECKPOINT_FILE} to resume from; starting a new run` : `no earlier run of ${definition.name} with ${method.name} under ${join(root, tag)}; starting a new run`);
  }
  const previous = resumeFolder ? resumedMetadata(resumeFolder) : undefined;
  if (previous) checkSameProblem(previous, definition, resumeFolder!);
  // a resumed run keeps its seed, so that it continues the same random stream
  const masterSeed = previous?.random_seed ?? options.randomSeed ?? definition.randomSeed ?? randomInt(0, 2 ** 32);
  if (!previous && options.randomSeed === undefined && definition.randomSeed === undefined) log(`random_seed ${masterSeed} (drawn; put random_seed: ${masterSeed} in the file to repeat this run)`);
  const identity = { tag, method: method.name, benchmark: definition.name, seed, random_seed: masterSeed };
  const checkpoint = resumeFolder ? readCheckpoint(resumeFolder, identity) : undefined;

  // a full disk before the run could record it in its folder: said as such, without a stack trace
  const fullDisk = (e: unknown) => (isDiskFull(e) ? new UserError(diskFullReason(e, join(root, tag)), 1) : e);
  let folder: string;
  let lock: FolderLock;
  try {
    folder = resumeFolder ?? createExperimentFolder(root, tag, definition.name, seed);
    lock = acquireFolderLock(folder, 'run');
  } catch (e) {
    throw fullDisk(e);
  }
  const takeover = takeoverNotice(folder, lock);
  if (takeover) log(takeover);
  let interrupted: NodeJS.Signals | undefined;
  let tuner: Tuner | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      // a second signal: no more waiting; the trials' supervisors end their groups when this process is gone
      log(`${signal} again: exiting now`);
      lock.release();
      process.exit(signalExitCode(signal));
    }
    interrupted = signal;
    stopProgressBars();
    log(`${signal}: stopping the trials, flushing results and writing ${CHECKPOINT_FILE} (continue with --resume; ${signal} again to exit at once)`);
    tuner?.requestStop(signal);
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  try {
    const runId = previous ? String(previous.run_id) : randomUUID();
    if (previous) {
      const killed = await killLeftoverTrials(runId);
      if (killed > 0) log(`${folder}: ended ${killed} trial process group(s) left running by the earlier run`);
    }
    const resourceAttr = resourceAttrOf(definition);
    const maxResource = definition.resource?.max ?? 1;
    const constraintMetrics = definition.constraints.map((c) => c.metric);
    const objectiveMetrics = definition.objectives.map((o) => o.metric);
    const multiObjective = definition.objectives.length > 1;
    const scheduler = await method.create({
      configSpace: definition.configSpace,
      metric: definition.metric,
      mode: definition.mode,
      ...(multiObjective && { objectives: definition.objectives }),
      resourceAttr,
      maxResource,
      nWorkers,
      rng: createRng(runSeed(masterSeed, seed)),
      constraints: definition.constraints,
      options: definition.methodOptions,
      pointsToEvaluate: definition.pointsToEvaluate,
    });
    const metadata: ExperimentMetadata = previous
      ? { ...previous, status: 'running', end_time: null, n_workers: nWorkers, budget: definition.source.budget, max_wallclock_time: definition.budget.maxWallclockTime ?? null, experiment: definition.source, resumed_at: new Date().toISOString() }
      : {
          tag,
          method: method.name,
          benchmark: definition.name,
          seed,
          random_seed: masterSeed,
          run_seed: runSeed(masterSeed, seed),
          n_workers: nWorkers,
          max_wallclock_time: definition.budget.maxWallclockTime ?? null,
          metric: definition.metric,
          mode: definition.mode,
          ...(multiObjective && { objectives: definition.objectives }),
          best: definition.best,
          resource_attr: resourceAttr,
          max_resource: maxResource,
          constraints: definition.constraints,
          store_metrics: definition.storeMetrics,
          budget: definition.source.budget,
          backend: options.sagemaker ? 'sagemaker' : 'local',
          scheduler: scheduler.metadata(),
          experiment_file: definition.file,
          experiment: definition.source,
          run_id: runId,
          failed_trials: [],
          ...runStamp(),
        };
    delete metadata.error;
    delete metadata.stop_reason;
    // a new run's folder says what it is at once; a resumed one is written only once its files passed
    if (!checkpoint) writeMetadata(folder, metadata);
    // the SageMaker backend (and the AWS SDK set-up under it) is loaded only for a run that uses it
    const backend: TrialBackend = options.sagemaker
      ? new (await import('../backends/sagemaker.js')).SageMakerBackend({
          ...options.sagemaker,
          command: typeof command === 'string' ? ['/bin/sh', '-c', command] : command,
          name: tag,
          prefix: `${options.sagemaker.prefix}/${basename(folder)}`,
          resourceAttr,
          metricNames: [...objectiveMetrics, ...constraintMetrics],
          countReports: !definition.resource,
        })
      : new LocalBackend({
      command,
      cwd: definition.cwd,
      env: trialEnv,
      resourceAttr,
      metricNames: [...objectiveMetrics, ...constraintMetrics],
      maxResource: definition.resource ? maxResource : undefined,
      countReports: !definition.resource,
      logsDir: join(folder, 'logs'),
      checkpointsDir: join(folder, 'checkpoints'),
      trialTimeout: definition.trialTimeout,
      runId,
    });
    const callbacks: TunerCallback[] = [failureRecorder(folder, metadata)];
    if (checkpoint && backend instanceof LocalBackend) callbacks.push(recoveryNote(folder, backend, log));
    if ((options.verbose ?? 0) > 0) callbacks.push(verboseCallback(`[${definition.name}]`, log, definition.metric));
    else if (context.progress ?? Boolean(process.stdout.isTTY)) callbacks.push(budgetProgressCallback(definition.name, definition.budget, definition.metric));
    else callbacks.push(trialLinesCallback(log, definition.metric, definition.budget.maxTrials));
    tuner = new Tuner({
      scheduler,
      backend,
      nWorkers,
      stopping: { maxNumTrialsStarted: definition.budget.maxTrials, maxWallclockTime: definition.budget.maxWallclockTime, maxNumResults: definition.budget.maxResults },
      configNames: Object.keys(definition.configSpace),
      metricColumns: [...objectiveMetrics, ...constraintMetrics, ...definition.storeMetrics],
      ...(multiObjective && { objectives: definition.objectives }),
      constraints: definition.constraints,
      bestRule: definition.best,
      folder,
      identity,
      callbacks,
      maxFailures: definition.maxFailures,
      ...REAL_TRIAL_TUNING,
    });
    if (checkpoint) {
      prepareResume(folder, checkpoint, { scheduler: scheduler.state(), backend: backend.state() }, tuner.columns, log);
      writeMetadata(folder, metadata);
    }
    if (interrupted) tuner.requestStop(interrupted);
    context.onTuner?.(tuner);
    log(`${definition.name}: ${resumeFolder ? 'resuming' : 'started'} ${method.name} with ${nWorkers} trial(s) at once → ${folder}`);
    const outcome = await runInFolder(tuner, backend, folder, metadata, checkpoint);
    return { experiment: definition, ...outcome, interrupted };
  } catch (e) {
    throw fullDisk(e);
  } finally {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
    lock.release();
  }
}

/** The file as this run uses it: the command line's budget and command over the file's. */
function withOverrides(d: ExperimentDefinition, o: RunOptions): ExperimentDefinition {
  if (o.maxTrials !== undefined && !(Number.isInteger(o.maxTrials) && o.maxTrials >= 1)) throw new UserError(`--max_trials must be a positive integer, got ${o.maxTrials}`);
  const source = { ...d.source, ...(o.maxTrials !== undefined && { budget: { ...d.source.budget, max_trials: o.maxTrials } }), ...(o.command?.length && { command: o.command }) };
  return { ...d, source, budget: { ...d.budget, maxTrials: o.maxTrials ?? d.budget.maxTrials }, command: o.command?.length ? o.command : d.command };
}

export interface RunStudyOptions extends Omit<RunOptions, 'method' | 'seed'> {
  /** Every method runs every seed (default: the file's method). */
  methods?: string[];
  /** Seeds start_seed .. num_seeds-1, as in hpo-main. */
  numSeeds?: number;
  startSeed?: number;
}

export interface RunStudyReport {
  masterSeed: number;
  runs: RunReport[];
}

/**
 * `tunelab run -f experiment.yml --method BO ASHA --num_seeds 5`: every method × seed on the user's
 * own script, with hpo-main's layout and seeds (the file's name as the benchmark, seed i's random
 * stream derived from the master seed and i alone), so that `tunelab plot` compares the methods on it
 * as on a benchmark. `--resume` continues or skips each run as hpo-main does.
 */
export async function runStudy(options: RunStudyOptions, context: RunContext = {}): Promise<RunStudyReport> {
  const log = context.log ?? ((line: string) => console.log(line));
  const registry = context.methods ?? methodDefinitions;
  const definition = await loadExperimentFile(options.file, experimentFileOptions(registry));
  const methods = (options.methods?.length ? options.methods : [definition.method ?? defaultMethod(Boolean(definition.resource), definition.objectives.length > 1)]).map((m) => getMethod(m, registry).name);
  const seeds = seedRange(options.numSeeds ?? 1, options.startSeed ?? 0);
  const tag = options.experimentTag ?? definition.name;
  const root = resultsRoot(options.resultsRoot);
  const resumed = options.resume && options.randomSeed === undefined ? resumedMasterSeed(root, tag, methods, [definition.name], seeds) : undefined;
  const masterSeed = options.randomSeed ?? resumed ?? definition.randomSeed ?? randomInt(0, 2 ** 32);
  if (!(Number.isInteger(masterSeed) && masterSeed >= 0 && masterSeed < 2 ** 32)) throw new UserError(`--random_seed must be an integer in [0, 2^32), got ${masterSeed}`);
  log(`random_seed ${masterSeed}; running ${methods.length * seeds.length} experiment(s): methods ${methods.join(', ')} × seeds ${seeds.join(', ')} on ${definition.name}; results under ${join(root, tag)}`);
  const runs: RunReport[] = [];
  for (const method of methods) {
    for (const seed of seeds) {
      const report = await runExperimentFile({ ...options, method, seed, randomSeed: masterSeed }, context);
      runs.push(report);
      if (report.interrupted) return { masterSeed, runs };
    }
  }
  return { masterSeed, runs };
}

/** A resumed run must tune the same problem; only the budget, command and environment may change. */
function checkSameProblem(previous: ExperimentMetadata, definition: ExperimentDefinition, folder: string): void {
  const before = previous.experiment as Record<string, unknown> | undefined;
  if (!before) throw new UserError(`${folder} was not made by tunelab run (no experiment in its metadata.json); it cannot be resumed from an experiment file`);
  const changed = PROBLEM_KEYS.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(definition.source[k]));
  if (changed.length > 0) {
    throw new UserError(`${definition.file}: its ${changed.join(', ')} differ from the run in ${folder}, which --resume would continue; restore them, or start a new run without --resume`);
  }
}

/** Says how many reports the resumed run took from the trials' logs (printed after its checkpoint, never printed again). */
function recoveryNote(folder: string, backend: LocalBackend, log: Log): TunerCallback {
  return {
    onStart() {
      const n = backend.recoveredReports;
      if (n > 0) log(`${join(folder, 'logs')}: recovered ${n} report(s) the trials printed after the checkpoint; they are recorded now`);
    },
  };
}

/** Keeps metadata.json's `failed_trials` (id, config, reason) current, so `status` shows failures while the run goes on. */
function failureRecorder(folder: string, metadata: ExperimentMetadata): TunerCallback {
  const failures = (metadata.failed_trials ??= []) as { trial_id: number; error: string; config: unknown }[];
  return {
    onTrialEnd(_tuner, trial) {
      if (trial.status !== 'failed') return;
      failures.push({ trial_id: trial.id, error: trial.error ?? 'unknown', config: trial.config });
      writeMetadata(folder, metadata);
    },
  };
}
