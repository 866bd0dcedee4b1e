import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CHECKPOINT_FILE } from '../tuner/checkpoint.js';
import type { S3Client } from '@aws-sdk/client-s3';
import { ExperimentStream } from '../cloud/stream.js';
import { s3Client, s3JobName } from '../results/s3.js';
import { resultsRoot } from '../results/layout.js';
import { assertNotInUse } from '../results/lock.js';
import type { ExtraResultsComposer, TunerCallback } from '../tuner/types.js';
import type { Tuner } from '../tuner/tuner.js';
import { UserError } from '../util/errors.js';
import { STOP_SIGNALS, signalExitCode } from '../util/signals.js';
import { checkPathPart } from '../util/path-part.js';
import { isDiskFull } from '../util/fs.js';
import { type BenchmarkDefinition, benchmarkDefinitions, defaultBenchmarks, getBenchmark } from './benchmarks/index.js';
import { runExperiment } from './experiment.js';
import { type ExperimentOutcome, checkWritableRoot, diskFullReason, previousRuns, resumedMasterSeed, seedRange } from './run-folder.js';
import { type MethodDefinition, getMethod, methodDefinitions } from '../methods/registry.js';
import { formatTable, formatValue } from '../util/table.js';
import { checkStudy } from './study-check.js';
import { type Log, budgetProgressCallback, progressBarCallback, stopProgressBars, verboseCallback } from './reporting.js';

export interface HpoMainOptions {
  experimentTag: string;
  /** Default: every method of the registry. */
  method?: string[];
  /** Default: the registry's default benchmarks. */
  benchmark?: string[];
  /** Seeds run are startSeed .. numSeeds-1 (Syne Tune's semantics). */
  numSeeds?: number;
  startSeed?: number;
  randomSeed?: number;
  nWorkers?: number;
  maxWallclockTime?: number;
  /** Also end each run once this many trials have started (Syne Tune's max_num_trials_started). */
  maxNumTrialsStarted?: number;
  resultsRoot?: string;
  verbose?: number;
  saveTuner?: boolean;
  /** Continue unfinished runs of the same (tag, method, benchmark, seed) from their tuner.json; skip finished ones. */
  resume?: boolean;
  restrictConfigurations?: boolean;
  maxFailures?: number;
  backend?: string;
  /** Add the tuner's own decision time to the simulated clock (simulator backend only; off by default). */
  chargeDecisionTime?: boolean;
  /** Upload every finished experiment to s3://<s3Bucket>/<s3Prefix>/<tag>/<job>/<folder>/. */
  s3Bucket?: string;
  s3Prefix?: string;
  /** With s3Bucket: seconds of wall time between uploads of a running experiment (default 60). */
  s3SyncInterval?: number;
}

export interface HpoMainContext {
  methods?: Record<string, MethodDefinition>;
  benchmarks?: Record<string, BenchmarkDefinition>;
  extraResults?: ExtraResultsComposer;
  log?: Log;
  /** Show a progress bar (default: when stdout is a terminal and not verbose). */
  progress?: boolean;
}

export interface HpoMainReport {
  masterSeed: number;
  seeds: number[];
  outcomes: ExperimentOutcome[];
  skipped: string[];
  /** folders whose upload to S3 failed (their local results are intact) */
  uploadFailures: string[];
  /** The signal that stopped the study early (its current run is `stopped`, resumable). */
  interrupted?: NodeJS.Signals;
  /** Why the study stopped before its end on a full disk (the experiments left were not run). */
  halted?: string;
}

/** The numbers every run of a study takes (hpo-main, and launch-remote before it starts a job). */
export function checkRunLimits(options: Pick<HpoMainOptions, 'nWorkers' | 'maxWallclockTime' | 'maxNumTrialsStarted' | 'maxFailures'>): void {
  for (const [flag, v] of [['--n_workers', options.nWorkers], ['--max_wallclock_time', options.maxWallclockTime]] as const) {
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new UserError(`${flag} must be a positive number, got ${v}`);
  }
  if (options.nWorkers !== undefined && !Number.isInteger(options.nWorkers)) throw new UserError(`--n_workers must be an integer, got ${options.nWorkers}`);
  if (options.maxNumTrialsStarted !== undefined && !(Number.isInteger(options.maxNumTrialsStarted) && options.maxNumTrialsStarted >= 1)) {
    throw new UserError(`--max_num_trials_started must be a positive integer, got ${options.maxNumTrialsStarted}`);
  }
  if (options.maxFailures !== undefined && !(Number.isInteger(options.maxFailures) && options.maxFailures >= 0)) {
    throw new UserError(`--max_failures must be a non-negative integer, got ${options.maxFailures}`);
  }
}

/**
 * Runs method × benchmark × seed experiments one after the other (the `hpo-main` command; also the
 * programmatic entry point for a study with its own methods, benchmarks and extra results).
 */
export async function hpoMain(options: HpoMainOptions, context: HpoMainContext = {}): Promise<HpoMainReport> {
  const log = context.log ?? ((line: string) => console.log(line));
  const methods = context.methods ?? methodDefinitions;
  const benchmarks = context.benchmarks ?? benchmarkDefinitions;
  const backends = ['simulator', 'local'] as const;
  const backend = (options.backend ?? 'simulator') as (typeof backends)[number];
  if (!backends.includes(backend)) throw new UserError(`unknown backend '${options.backend}'; valid backends: ${backends.join(', ')}`);
  if (options.chargeDecisionTime && backend !== 'simulator') {
    throw new UserError(`--charge_decision_time applies to the simulator backend only, not to --backend ${backend}`);
  }
  checkPathPart('--experiment_tag', options.experimentTag);
  // names that become path parts: a registry of the API's caller may hold any
  const methodList = (options.method?.length ? options.method : Object.keys(methods)).map((m) => getMethod(m, methods));
  for (const m of methodList) checkPathPart('a method name', m.name);
  const benchmarkList = (options.benchmark?.length ? options.benchmark : defaultBenchmarks(benchmarks)).map((b) => getBenchmark(b, benchmarks));
  for (const b of benchmarkList) checkPathPart('a benchmark name', b.name);
  const seeds = seedRange(options.numSeeds ?? 1, options.startSeed ?? 0);
  checkRunLimits(options);
  // what every run needs (its data, a method and backend that fit it), before the first one starts
  await checkStudy(methodList, benchmarkList, { restrictConfigurations: options.restrictConfigurations, backend });
  const root = resultsRoot(options.resultsRoot);
  checkWritableRoot(root, options.experimentTag);
  const resumedSeed = options.resume && options.randomSeed === undefined ? resumedMasterSeed(root, options.experimentTag, methodList.map((m) => m.name), benchmarkList.map((b) => b.name), seeds) : undefined;
  const masterSeed = options.randomSeed ?? resumedSeed ?? randomInt(0, 2 ** 32);
  if (!(Number.isInteger(masterSeed) && masterSeed >= 0 && masterSeed < 2 ** 32)) {
    throw new UserError(`--random_seed must be an integer in [0, 2^32), got ${masterSeed}`);
  }
  const seedSource = resumedSeed !== undefined ? ' (that of the runs resumed)' : ` (drawn; pass --random_seed ${masterSeed} to extend or repeat this study)`;
  log(`random_seed ${masterSeed}${options.randomSeed === undefined ? seedSource : ''}`);
  const total = methodList.length * benchmarkList.length * seeds.length;
  log(`running ${total} experiment(s): methods ${methodList.map((m) => m.name).join(', ')} × benchmarks ${benchmarkList.map((b) => b.name).join(', ')} × seeds ${seeds.join(', ')}; results under ${root}/${options.experimentTag}`);

  const report: HpoMainReport = { masterSeed, seeds, outcomes: [], skipped: [], uploadFailures: [] };
  let current: Tuner | undefined;
  let stream: ExperimentStream | undefined;
  let s3: S3Client | undefined;
  // SIGTERM (kill, timeout, systemd, Kubernetes, SageMaker) and SIGHUP (a closed terminal) stop as gracefully as Ctrl-C
  const onSignal = (signal: NodeJS.Signals) => {
    if (report.interrupted) {
      // a second signal: no more waiting; a dead owner's lock is taken over by the next --resume
      log(`${signal} again: exiting now (the local results stay; continue with --resume)`);
      process.exit(signalExitCode(signal));
    }
    stopProgressBars();
    log(`${signal}: stopping after the current step; results are flushed and tuner.json written (continue with --resume; ${signal} again to exit at once)`);
    report.interrupted = signal;
    current?.requestStop(signal);
    // an upload under way may wait minutes on a server that does not answer: the user will not
    if (stream?.abort(signal)) log(`${signal}: abandoned the upload under way; the local results stay (tunelab sync --upload sends them later)`);
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  try {
    let index = 0;
    for (const method of methodList) {
      for (const benchmark of benchmarkList) {
        for (const seed of seeds) {
          if (report.interrupted || report.halted) break;
          index++;
          const label = `[${index}/${total}] ${method.name} ${benchmark.name} seed ${seed}`;
          let resumeFolder: string | undefined;
          if (options.resume) {
            const [latest] = previousRuns(root, options.experimentTag, method.name, benchmark.name, seed);
            if (latest?.status === 'completed') {
              log(`${label}: already completed in ${latest.folder}; skipped`);
              report.skipped.push(latest.folder);
              continue;
            }
            // a live run of the same experiment is refused, whether or not it has a checkpoint yet
            if (latest) assertNotInUse(latest.folder);
            if (latest && existsSync(join(latest.folder, CHECKPOINT_FILE))) resumeFolder = latest.folder;
            else if (latest) log(`${label}: ${latest.folder} has no ${CHECKPOINT_FILE} to resume from; starting a new run`);
          }
          const callbacks: TunerCallback[] = [];
          if ((options.verbose ?? 0) > 0) callbacks.push(verboseCallback(`[${method.name} ${benchmark.name} ${seed}]`, log, benchmark.metric));
          else if (context.progress ?? Boolean(process.stdout.isTTY)) {
            callbacks.push(
              options.maxNumTrialsStarted === undefined
                ? progressBarCallback(label, options.maxWallclockTime ?? benchmark.maxWallclockTime, benchmark.metric)
                : budgetProgressCallback(label, { maxTrials: options.maxNumTrialsStarted }, benchmark.metric),
            );
          }
          log(`${label}: ${resumeFolder ? `resuming ${resumeFolder}` : 'started'}`);
          const wallStart = performance.now();
          stream = options.s3Bucket
            ? new ExperimentStream({ location: { bucket: options.s3Bucket, prefix: options.s3Prefix }, tag: options.experimentTag, job: s3JobName(method.name, seed, method.expensive), interval: options.s3SyncInterval, client: (s3 ??= s3Client()), log })
            : undefined;
          const outcome = await runExperiment({
            tag: options.experimentTag,
            method,
            benchmark,
            seed,
            masterSeed,
            resultsRoot: root,
            nWorkers: options.nWorkers,
            maxWallclockTime: options.maxWallclockTime,
            maxNumTrialsStarted: options.maxNumTrialsStarted,
            restrictConfigurations: options.restrictConfigurations,
            saveTuner: options.saveTuner,
            maxFailures: options.maxFailures,
            extraResults: context.extraResults,
            callbacks,
            resumeFolder,
            backend,
            chargeDecisionTime: options.chargeDecisionTime,
            onTuner: (t, folder) => {
              current = t;
              stream?.start(folder);
              // a signal that came while the run was being set up (its method's modules, the blackbox) stops it now
              if (report.interrupted) t.requestStop(report.interrupted);
            },
            log,
          }).catch((e: unknown) => {
            // a full disk before the run could record it (its folder, lock or metadata)
            if (isDiskFull(e)) return diskFullReason(e, join(root, options.experimentTag));
            throw e;
          });
          current = undefined;
          if (typeof outcome === 'string') {
            report.halted = `${label}: ${outcome}`;
            log(report.halted);
            break;
          }
          report.outcomes.push(outcome);
          // the experiments after it would fail the same way
          if (outcome.diskFull) report.halted = `${label}: ${outcome.metadata.error}`;
          if (stream) {
            try {
              log(`${label}: uploaded to ${await stream.finish()}`);
            } catch (e) {
              log(`${label}: ${(e as Error).message}`);
              report.uploadFailures.push(outcome.folder);
            }
          }
          const wall = ((performance.now() - wallStart) / 1000).toFixed(2);
          const s = outcome.summary;
          if (outcome.metadata.status === 'completed' && s) {
            log(`${label}: completed in ${wall}s wall: ${s.numTrials} trials, ${s.numResults} results, ${s.front ? `Pareto front of ${s.front.length} point(s)` : `best ${benchmark.metric} ${s.best ? formatValue(s.best.value) : '-'}`} → ${outcome.folder}`);
          } else {
            log(`${label}: ${outcome.metadata.status}: ${outcome.metadata.error ?? outcome.metadata.stop_reason} → ${outcome.folder}`);
          }
        }
      }
    }
  } finally {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
  }
  if (report.halted) {
    const notRun = total - report.outcomes.length - report.skipped.length;
    log(`stopped the study on a full disk: ${notRun} experiment(s) not run; free space, then run the same command with --resume`);
  }
  if (report.outcomes.length > 1) {
    log(
      formatTable(
        ['method', 'benchmark', 'seed', 'status', 'trials', 'best', 'folder'],
        report.outcomes.map((o) => [
          o.metadata.method,
          o.metadata.benchmark,
          o.metadata.seed,
          o.metadata.status,
          o.summary?.numTrials ?? '-',
          o.summary?.best ? formatValue(o.summary.best.value) : '-',
          o.folder,
        ]),
      ),
    );
  }
  return report;
}
