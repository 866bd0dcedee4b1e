/** tunelab's public API. */
export * from './config-space/index.js';
export { createRng, restoreRng, hashSeed, type Rng, type RngState } from './util/rng.js';
export { UserError } from './util/errors.js';

export type { Mode, Decision, TrialResult, Suggestion, TrialScheduler, Searcher, SearchProblem, ResultScalar } from './schedulers/types.js';
export { FIFOScheduler } from './schedulers/fifo.js';
export { HyperbandScheduler, rungLevels, type HyperbandOptions } from './schedulers/hyperband.js';
export { RandomSearcher } from './schedulers/searchers/random.js';
export { GridSearcher, type GridSearcherOptions } from './schedulers/searchers/grid.js';
export { TPESearcher, type TPESearcherOptions } from './schedulers/searchers/tpe.js';
export { REASearcher, type REASearcherOptions } from './schedulers/searchers/rea.js';
export { KDESearcher, type KDESearcherOptions } from './schedulers/searchers/kde.js';
export { DEHBSearcher, type DEHBSearcherOptions } from './schedulers/searchers/dehb.js';
export { SyncHyperbandScheduler, hyperbandBrackets, type SyncHyperbandOptions } from './schedulers/sync-hyperband.js';
export { GPSearcher, type GPSearcherOptions, type ResourceModel } from './schedulers/searchers/gp-searcher.js';
export { EHVISearcher, type EHVISearcherOptions } from './schedulers/searchers/ehvi.js';
export { expectedHypervolumeImprovement, nonDominatedBoxes, type Boxes } from './schedulers/gp/ehvi.js';
export { Staircase2D } from './results/staircase.js';
export { YahpoSurrogateBlackbox, loadYahpoSurrogate, YAHPO_SCENARIOS } from './blackbox/yahpo-surrogates.js';
export { GPPosterior, fitHyperparameters, negLogPosterior } from './schedulers/gp/gp.js';
export { expectedImprovement } from './schedulers/gp/acquisition.js';

export type { TrialBackend, BackendResult, PollResult } from './backends/types.js';
export { SimulatorBackend, type SimulatorOptions } from './backends/simulator.js';
export { LocalBackend, type LocalBackendOptions } from './backends/local.js';
export { SageMakerBackend, type SageMakerBackendOptions } from './backends/sagemaker.js';
export { runReportingTrial } from './cloud/trial-report.js';
export { REPORT_PREFIX } from './trial/protocol.js';
export { report, trialConfig, checkpointDir, trialId } from './trial/report.js';

export type { Blackbox } from './blackbox/types.js';
export { TabularBlackbox, tabulate, type TableData } from './blackbox/tabular.js';
export { readTable, writeTable } from './blackbox/format.js';
export { nearestNeighbourSurrogate, type Surrogate } from './blackbox/surrogates/surrogate.js';
export { syntheticBlackbox, syntheticBlackboxNames, fcnetConfigSpace } from './blackbox/synthetic.js';
export { loadBlackbox } from './blackbox/repository.js';
export { knnSurrogate, randomForestSurrogate, type ForestOptions } from './blackbox/surrogates/fitted.js';
export { buildBlackbox, gridConfigs, sampleDistinctConfigs, type BuildOptions, type BuildResult } from './blackbox/build/builder.js';
export { resolveTrainingFunction, type TrainingFunction } from './blackbox/build/training-function.js';
export { fcnetTrainingFunction, fcnetBuildSpace, fcnetTrainerNames } from './blackbox/build/fcnet-trainer.js';
export { MLP, type MLPOptions } from './blackbox/build/mlp.js';
export { loadDataset, trivialBaseline, datasetNames, type PreparedDataset } from './blackbox/build/datasets.js';
export { importBlackbox, IMPORTERS } from './blackbox/importers/index.js';

export { Tuner, TunerError, type TunerOptions } from './tuner/tuner.js';
export type { StoppingCriteria, ExtraResultsComposer, TunerCallback, TunerSummary, TrialRecord } from './tuner/types.js';
export { readCheckpoint, type TunerCheckpoint } from './tuner/checkpoint.js';

export { ResultsWriter, RESULTS_FILE } from './results/writer.js';
export { readMetadata, type ExperimentMetadata, type ExperimentStatus } from './results/metadata.js';
export { createExperimentFolder, experimentFolderName, parseExperimentFolderName, resultsRoot } from './results/layout.js';

export { benchmarkDefinitions, defaultBenchmarks, getBenchmark, type BenchmarkDefinition } from './launchers/benchmarks/index.js';
export {
  methodDefinitions,
  getMethod,
  withFixedHyperparameters,
  experimentFileOptions,
  type MethodDefinition,
  type MethodArguments,
  type MethodOptions,
} from './methods/registry.js';
export { randomSearch, hyperbandRandom } from './methods/random.js';
export { bayesOpt, mobster } from './methods/gp.js';
export { hpoMain, type HpoMainOptions, type HpoMainContext, type HpoMainReport } from './launchers/hpo-main.js';
export { parseHpoMainFlags, experimentFlags, hpoMainOptions, numberFlag, usageFailure, type ExperimentArgv } from './commands/flags.js';
export { launchRemote, planJobs, type RemoteJob, type LaunchRemoteOptions, type JobOutcome, type LaunchReport } from './launchers/launch-remote.js';
export { createSageMakerJob, waitForSageMakerJob, trainingJobName, type SageMakerJobOptions } from './launchers/sagemaker-jobs.js';
export { runExperiment, type ExperimentSpec } from './launchers/experiment.js';
export { runSeed, seedRange, type ExperimentOutcome } from './launchers/run-folder.js';
export { checkStudy, type StudyCheckOptions, type StudyCheck } from './launchers/study-check.js';
export { formatTable } from './util/table.js';
export { runExperimentFile, type RunOptions, type RunOnSageMaker, type RunContext, type RunReport } from './launchers/run.js';
export { loadExperiment, loadExperimentFile, parseExperiment, trialEnvironment, MAX_EXPERIMENT_FILE_BYTES, MAX_PARAMETERS, type ExperimentDefinition, type ExperimentFileOptions } from './experiment/load.js';
export { BestTracker, bestOfReports, bestRuleOf, curvePoints, failedTrialIds, ParetoTracker, paretoOfReports, hypervolumeCurve, type BestRule, type Report, type PointReport } from './results/best.js';
export { crowdingDistance, dominates, hypervolume, hypervolumeSetting, nonDominatedRanks, normalisedHypervolume, paretoFrontIndices, rankByFrontAndCrowding, signed, type HypervolumeSetting, type Objective as MetricObjective } from './results/pareto.js';
export { experimentSchema, type ExperimentFileInput, type ExperimentFileData } from './experiment/schema.js';
export { isFeasible, type Constraint } from './schedulers/constraints.js';
export { acquireFolderLock, readLock, type LockOwner, type FolderLock } from './results/lock.js';

export { readExperiment, type ExperimentResults, type ResultRow } from './results/read.js';
export { readTrialEnds, TRIAL_ENDS_FILE, type TrialEnd } from './results/trial-ends.js';
export { readDecisions, DECISIONS_FILE, type DecisionLine, type RungDecision, type RungDecisionKind, type RungReason } from './results/decisions.js';
export { loadResults, type LoadOptions, type LoadedResults, type Run } from './plotting/load.js';
export { aggregateCurves, acrossBenchmarks, bestSoFarAt, iqm, summarise, regretReference, finalValues, finalTable, markdownTable, finalTableMarkdown, finalTableCsv, type Aggregation, type CurvePoint, type AcrossBenchmarks, type AcrossPoint, type FinalRow, type FinalValue, type Table } from './plotting/aggregate.js';
export { bestTrials, loadExperimentsTable, type RunBestTrial } from './plotting/frame.js';
export { benchmarkSpec, regretSpec, rankSpec, learningCurvesSpec, type LearningCurvesOptions } from './plotting/specs.js';
export { toSVG, svgToPNG, htmlReport, type ReportContent, type ReportFigure } from './plotting/render.js';
export { plotStudy, type PlotStudyOptions, type PlotStudyResult } from './plotting/study.js';
export { experimentStatus, formatStatus, type ExperimentStatusReport } from './operate/status.js';
export { bestTrial, bestOrFront, frontOf, type BestTrial, type ParetoFront } from './operate/best.js';
export { resolveExperiment, chooseFolder, liveness, type ResolvedExperiment, type Liveness, type OwnerInfo, type RunStatus } from './operate/folder.js';
export { LogTailer, printLogs, followLogs, type LogOptions, type FollowOptions } from './operate/logs.js';
export { stopExperiment, type StopOptions, type StopOutcome } from './operate/stop.js';
export { uploadExperiment, s3Client, s3JobName, type S3Location } from './results/s3.js';
export { downloadStudy } from './cloud/sync.js';
export { createStudy, loadStudy, Study, StudyError, newWorkerIdentity, type StudyOptions, type CreateStudyOptions, type AskResult, type TellOptions, type TrialContext, type Objective, type OptimizeOptions, type OptimizeSummary, type ServerUrl } from './study/study.js';
export { openStore, parseStorage, redactUrl, defaultStorage, type OpenStoreOptions } from './study/storage/open.js';
export type { StudyStore, StudyRecord, SuggestionRecord, ObservationRecord, ReportRecord, WorkerIdentity, StudyView, SuggestionChanges, SuggestionState, StudyStatus } from './study/storage/store.js';
export { StudyCache } from './study/storage/cache.js';
export { planClaim, freshConfigs, refillNeed, STUDY_METHODS, type StudyMethod } from './study/planner.js';
export { runStudyWorker, workerSummaryLine, type WorkerOptions, type WorkerSummary } from './study/worker.js';
export { runSharedStudy, sharedRunFailure, type SharedStudyOptions, type SharedStudyReport, type WorkerExit } from './study/shared-run.js';
export { openStudy, isServerUrl, type StudyHandle, type StudyOverview, type OpenStudyOptions } from './study/handle.js';
export { RemoteStudy, connectStudy, createRemoteStudy, parseStudyUrl, parseServerUrl, experimentBody } from './study/remote.js';
export { createSharedStudy, workerTarget, type StudyWorkers } from './study/shared-study.js';
export type { ApiExperiment, ApiSuggestion, ApiObservation, ApiPagination, ApiError, ApiHeartbeat, ApiLogs } from './study/wire.js';
export { startServer, type ServeOptions, type RunningServer } from './server/serve.js';
export { startDashboard, type DashboardOptions, type RunningDashboard } from './dashboard/serve.js';
export { pedAnova, type ImportanceResult } from './dashboard/importance.js';
export { buildApp, type AppOptions } from './server/app.js';
export { studyStatus, formatStudyStatus, stopStudy, bestOfStudy, frontOfStudy, type StudyStatusReport, type StudyBest, type StudyFront, type StudyFrontPoint } from './study/status.js';
export { studyLogs } from './study/logs.js';
export { exportStudy } from './study/export.js';
export type { Executor, WorkerSpec, WorkerResources, WorkerState, WorkerInfo, Submission } from './executors/types.js';
export { SlurmExecutor, type SlurmOptions, type ArraySpec } from './executors/slurm.js';
export { KubernetesExecutor, type KubernetesOptions } from './executors/kubernetes.js';
export { LocalExecutor } from './executors/local.js';
export { EXECUTORS, createExecutor, launchWorkers, checkSharedStorage, submissionsOf, clusterWorkers, stopClusterWorkers, deleteClusterWorkers, formatClusterWorkers, type LaunchOptions, type ClusterSubmission } from './executors/launch.js';
export { WorkerOutputTailer, followWorkerOutput, type FollowWorkersOptions } from './executors/follow.js';
export { runOnExecutor, executorRunFailure, type ExecutorRunOptions, type ExecutorRunReport } from './executors/run.js';
export { launchSlurmJobs, slurmStudyJobs, stopSlurmJobs, type SlurmLaunchOptions } from './executors/slurm-jobs.js';
