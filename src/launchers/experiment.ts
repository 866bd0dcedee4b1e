import { join } from 'node:path';
import { loadBlackbox } from '../blackbox/repository.js';
import { LocalBackend } from '../backends/local.js';
import { SimulatorBackend } from '../backends/simulator.js';
import type { Blackbox } from '../blackbox/types.js';
import { hyperparameters } from '../config-space/index.js';
import { createExperimentFolder } from '../results/layout.js';
import { acquireFolderLock, takeoverNotice } from '../results/lock.js';
import { type ExperimentMetadata, runStamp, writeMetadata } from '../results/metadata.js';
import { readCheckpoint } from '../tuner/checkpoint.js';
import { Tuner } from '../tuner/tuner.js';
import type { ExtraResultsComposer, TunerCallback } from '../tuner/types.js';
import { UserError } from '../util/errors.js';
import { createRng } from '../util/rng.js';
import type { BenchmarkDefinition } from './benchmarks/index.js';
import { type MethodDefinition, objectiveMisfit } from '../methods/registry.js';
import { type HypervolumeSetting, type Objective, hypervolumeSetting } from '../results/pareto.js';
import { TabularBlackbox } from '../blackbox/tabular.js';
import { REAL_TRIAL_TUNING, prepareResume, resumedMetadata, runInFolder, runSeed, type ExperimentOutcome } from './run-folder.js';

export interface ExperimentSpec {
  tag: string;
  method: MethodDefinition;
  benchmark: BenchmarkDefinition;
  seed: number;
  masterSeed: number;
  resultsRoot: string;
  nWorkers?: number;
  maxWallclockTime?: number;
  /** No trial starts after this many; the run ends once they have ended (or the clock runs out). */
  maxNumTrialsStarted?: number;
  restrictConfigurations?: boolean;
  saveTuner?: boolean;
  maxFailures?: number;
  extraResults?: ExtraResultsComposer;
  callbacks?: TunerCallback[];
  /** Continue this folder's run from its tuner.json instead of starting a new folder. */
  resumeFolder?: string;
  /** 'simulator' (default) replays the benchmark's blackbox; 'local' runs its training command. */
  backend?: 'simulator' | 'local';
  /** Simulator only: add the tuner's own decision time to the simulated clock (SimulatorOptions.chargeDecisionTime). */
  chargeDecisionTime?: boolean;
  /** Receives the tuner once built (e.g. so a SIGINT handler can stop it) and its folder (e.g. to stream it to S3). */
  onTuner?: (tuner: Tuner, folder: string) => void;
  /** Receives notices (e.g. a dead owner's lock taken over, rows a resume discarded; default console.warn). */
  log?: (line: string) => void;
}

/** The benchmark's blackbox (its data, computed or tabulated); a UserError naming what is missing. */
export const benchmarkBlackbox = (benchmark: BenchmarkDefinition): Promise<Blackbox> =>
  loadBlackbox({ blackbox: benchmark.blackbox, dataset: benchmark.dataset, surrogate: benchmark.surrogate });

const benchmarkObjectives = (b: BenchmarkDefinition): Objective[] => b.objectives ?? [{ metric: b.metric, mode: b.mode }];

/**
 * A benchmark's hypervolume setting: each objective mapped to [0, 1] from the table's best value (→ 0)
 * to its 90th percentile counted from the best (→ 1; tables hold diverged runs whose losses would
 * squash every other value to 0), the reference point at 1.1 per objective.
 */
export function tableHypervolumeSetting(objectives: readonly Objective[], table: TabularBlackbox): HypervolumeSetting {
  const q = objectives.map((o) => table.objectiveQuantiles(o.metric, o.mode === 'min' ? [0, 0.9] : [1, 0.1]));
  return hypervolumeSetting(
    objectives.map((o, k) => (o.mode === 'min' ? q[k][0] : -q[k][0])),
    objectives.map((o, k) => (o.mode === 'min' ? q[k][1] : -q[k][1])),
  );
}

/** A benchmark's hypervolume setting: from its fixed bounds when it has them (surrogates), else from its table. */
function benchmarkHypervolumeSetting(benchmark: BenchmarkDefinition, objectives: readonly Objective[], blackbox: Blackbox): HypervolumeSetting {
  const bounds = benchmark.hypervolumeBounds;
  if (!bounds) return tableHypervolumeSetting(objectives, blackbox as TabularBlackbox);
  const sign = (k: number, v: number) => (objectives[k].mode === 'min' ? v : -v);
  return hypervolumeSetting(
    bounds.map(([best], k) => sign(k, best)),
    bounds.map(([, worst], k) => sign(k, worst)),
  );
}

/** Why the method cannot run on the benchmark's blackbox with these options (empty: it can). */
export function pairProblems(spec: Pick<ExperimentSpec, 'benchmark' | 'method' | 'restrictConfigurations' | 'backend'>, blackbox: Blackbox): string[] {
  const { benchmark, method } = spec;
  const out: string[] = [];
  for (const { metric } of benchmarkObjectives(benchmark)) {
    if (!blackbox.objectiveNames.includes(metric)) out.push(`benchmark ${benchmark.name}: metric '${metric}' not among the blackbox objectives ${blackbox.objectiveNames.join(', ')}`);
  }
  const misfit = objectiveMisfit(method, benchmarkObjectives(benchmark));
  if (misfit) out.push(misfit);
  if (benchmark.objectives && !benchmark.hypervolumeBounds && !(blackbox instanceof TabularBlackbox)) {
    out.push(`benchmark ${benchmark.name}: several objectives need a table or fixed hypervolume bounds (their hypervolume is normalised by them)`);
  }
  if (method.multiFidelity && blackbox.fidelityValues.length < 2) {
    out.push(`method ${method.name} needs a multi-fidelity benchmark; ${benchmark.name} has a single fidelity (use RS or BO)`);
  } else if (method.multiFidelity && blackbox.fidelityName !== benchmark.maxResourceAttr) {
    out.push(`method ${method.name} needs the resource attribute '${benchmark.maxResourceAttr}' of ${benchmark.name}, which its blackbox does not report (its fidelity is '${blackbox.fidelityName}')`);
  }
  out.push(...(method.check?.(blackbox.configSpace) ?? []));
  if (spec.restrictConfigurations && !blackbox.configurations) {
    out.push(`--restrict_configurations needs a tabulated benchmark; ${benchmark.name} is computed in closed form`);
  }
  if ((spec.backend ?? 'simulator') === 'local' && !benchmark.local) {
    out.push(`benchmark ${benchmark.name} has no training command; --backend local needs one (use --backend simulator)`);
  }
  return out;
}

/** The benchmark's blackbox, once its data is there and the method, benchmark, backend and options go together; else a UserError. */
export async function experimentBlackbox(spec: Pick<ExperimentSpec, 'benchmark' | 'method' | 'restrictConfigurations' | 'backend'>): Promise<Blackbox> {
  const blackbox = await benchmarkBlackbox(spec.benchmark);
  const problems = pairProblems(spec, blackbox);
  if (problems.length > 0) throw new UserError(problems.join('; '));
  return blackbox;
}

/** Runs one experiment (method × benchmark × seed) on the simulator, writing its results folder. */
export async function runExperiment(spec: ExperimentSpec): Promise<ExperimentOutcome> {
  const { benchmark, method } = spec;
  const blackbox = await experimentBlackbox(spec);
  const backendName = spec.backend ?? 'simulator';
  const seedValue = runSeed(spec.masterSeed, spec.seed);
  const nWorkers = spec.nWorkers ?? benchmark.nWorkers;
  const maxWallclockTime = spec.maxWallclockTime ?? benchmark.maxWallclockTime;
  const maxResource = blackbox.fidelityValues[blackbox.fidelityValues.length - 1];
  const objectives = benchmark.objectives;
  const hypervolume = objectives && benchmarkHypervolumeSetting(benchmark, objectives, blackbox);
  const scheduler = await method.create({
    configSpace: blackbox.configSpace,
    metric: benchmark.metric,
    mode: benchmark.mode,
    objectives,
    resourceAttr: blackbox.fidelityName,
    maxResource,
    nWorkers,
    rng: createRng(seedValue),
    restrictTo: spec.restrictConfigurations ? blackbox.configurations : undefined,
    hypervolume,
  });
  const identity = { tag: spec.tag, method: method.name, benchmark: benchmark.name, seed: spec.seed, random_seed: spec.masterSeed };
  const log = spec.log ?? ((line: string) => console.warn(line));
  // read the checkpoint and metadata before touching anything, so bad ones leave the folder as it was
  const checkpoint = spec.resumeFolder ? readCheckpoint(spec.resumeFolder, identity) : undefined;
  const previous = spec.resumeFolder ? resumedMetadata(spec.resumeFolder) : undefined;
  const folder = spec.resumeFolder ?? createExperimentFolder(spec.resultsRoot, spec.tag, benchmark.name, spec.seed);
  // one process per folder: a second --resume of the same run is refused while the first lives
  const lock = acquireFolderLock(folder, 'hpo-main');
  const takeover = takeoverNotice(folder, lock);
  if (takeover) log(takeover);
  try {
    const metadata: ExperimentMetadata = previous
      ? { ...previous, status: 'running', end_time: null, resumed_at: new Date().toISOString() }
      : {
          tag: spec.tag,
          method: method.name,
          benchmark: benchmark.name,
          seed: spec.seed,
          random_seed: spec.masterSeed,
          run_seed: seedValue,
          n_workers: nWorkers,
          max_wallclock_time: maxWallclockTime,
          // only when given, so that the metadata of runs without it stays as it was
          ...(spec.maxNumTrialsStarted === undefined ? {} : { max_num_trials_started: spec.maxNumTrialsStarted }),
          metric: benchmark.metric,
          mode: benchmark.mode,
          ...(objectives && { objectives, hypervolume }),
          best: 'any',
          resource_attr: blackbox.fidelityName,
          max_resource: maxResource,
          backend: backendName,
          restrict_configurations: Boolean(spec.restrictConfigurations),
          charge_decision_time: Boolean(spec.chargeDecisionTime),
          scheduler: scheduler.metadata(),
          ...runStamp(),
        };
    delete metadata.error;
    delete metadata.stop_reason;
    // a new run's folder says what it is at once; a resumed one is written only once its files passed
    if (!checkpoint) writeMetadata(folder, metadata);
    const backend =
      backendName === 'local'
        ? new LocalBackend({
            ...benchmark.local!,
            resourceAttr: blackbox.fidelityName,
            metricNames: benchmarkObjectives(benchmark).map((o) => o.metric),
            logsDir: join(folder, 'logs'),
            checkpointsDir: join(folder, 'checkpoints'),
          })
        : new SimulatorBackend(blackbox, { seed: seedValue, chargeDecisionTime: spec.chargeDecisionTime });
    const tuner = new Tuner({
      scheduler,
      backend,
      nWorkers,
      stopping: { maxWallclockTime, maxNumTrialsStarted: spec.maxNumTrialsStarted },
      configNames: hyperparameters(blackbox.configSpace).map(([name]) => name),
      objectives,
      folder,
      checkpoint: spec.saveTuner ?? true,
      identity,
      extraResults: spec.extraResults,
      callbacks: spec.callbacks,
      maxFailures: spec.maxFailures,
      ...(backendName === 'local' ? REAL_TRIAL_TUNING : {}),
    });
    if (checkpoint) {
      prepareResume(folder, checkpoint, { scheduler: scheduler.state(), backend: backend.state() }, tuner.columns, log);
      writeMetadata(folder, metadata);
    }
    spec.onTuner?.(tuner, folder);
    return await runInFolder(tuner, backend, folder, metadata, checkpoint);
  } finally {
    lock.release();
  }
}

