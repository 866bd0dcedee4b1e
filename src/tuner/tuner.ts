import type { TrialBackend, BackendResult } from '../backends/types.js';
import type { Cell } from '../results/csv.js';
import { ResultsWriter } from '../results/writer.js';
import { type TrialEnd, TrialEndsWriter } from '../results/trial-ends.js';
import { DECISIONS_FILE, decisionLine } from '../results/decisions.js';
import { JsonLinesWriter } from '../results/jsonl.js';
import { type Constraint, isFeasible } from '../schedulers/constraints.js';
import { type Decision, type TrialScheduler } from '../schedulers/types.js';
import { BestTracker, type BestRule, ParetoTracker } from '../results/best.js';
import { type Objective, signed } from '../results/pareto.js';
import { type TunerCheckpoint, writeCheckpoint } from './checkpoint.js';
import type { ExtraResultsComposer, FrontPoint, StoppingCriteria, TrialRecord, TunerCallback, TunerSummary } from './types.js';

export interface TunerOptions {
  scheduler: TrialScheduler;
  backend: TrialBackend;
  nWorkers: number;
  stopping: StoppingCriteria;
  /** Names of the config's hyperparameters, for the `config_<name>` columns. */
  configNames: readonly string[];
  /** Metric columns of the results (default: the backend's metric names); a result lacking one leaves its cell empty. */
  metricColumns?: readonly string[];
  /** Outcome constraints: a result that violates one is infeasible and never the best. */
  constraints?: readonly Constraint[];
  /** What a trial's value is, and so which trial is the best (src/results/best.ts; default `any`). */
  bestRule?: BestRule;
  /** Several objectives: the best is their Pareto front (default: the scheduler's metric alone). */
  objectives?: readonly Objective[];
  /** Folder for results.csv.gz, trials.jsonl (how each trial ended) and tuner.json; without it nothing is written. */
  folder?: string;
  /** Write tuner.json at every flush (default true when `folder` is set). */
  checkpoint?: boolean;
  /** Stored in tuner.json and checked on resume. */
  identity?: Record<string, unknown>;
  extraResults?: ExtraResultsComposer;
  callbacks?: TunerCallback[];
  /** The run fails once more than this many trials failed (default 1). */
  maxFailures?: number;
  /** Results are flushed every this many seconds of the backend clock (default 60). */
  flushInterval?: number;
  /**
   * Flush (and checkpoint) on time even while no event arrives, by waiting on the backend no longer
   * than the next flush (for real-time backends, whose rows a crash must not lose; default false:
   * a simulator's flushes follow its events).
   */
  flushWhileIdle?: boolean;
  /**
   * tuner.json is written every this many seconds of the backend clock (default 300), always right
   * after a flush, and at the end. A resumed run drops rows written after its checkpoint and
   * computes them again (the simulator), or takes them again from the trials' logs (LocalBackend).
   */
  checkpointInterval?: number;
  /**
   * ... but no more often than every this many wall-clock seconds (default: 30, or
   * `checkpointInterval` if smaller). A simulated clock runs thousands of times faster than real
   * time, and the whole state grows with the trials: rewriting it every 300 simulated s made the
   * bytes written grow with the square of the budget. A real-time backend is not affected.
   */
  checkpointWallInterval?: number;
  /**
   * Flush and write tuner.json as soon as a trial starts or resumes (default false). For backends
   * whose trials run on their own and keep checkpoints (LocalBackend): once one runs, it moves past
   * what it reported, so a resumed run must know it ran — else it would give its id and checkpoint
   * folder to another config, or leave a paused trial's reports since its resume unclaimed.
   */
  checkpointOnLaunch?: boolean;
}

export class TunerError extends Error {}

const STATUS_COLUMNS = ['trial_id', 'st_tuner_time', 'st_worker_time', 'st_worker_iter', 'st_decision', 'st_status'];

/**
 * The asynchronous tuning loop: keeps `nWorkers` trials busy with what the scheduler suggests, feeds
 * every result back to it, applies its decisions, and records each result as a row.
 */
export class Tuner {
  readonly scheduler: TrialScheduler;
  readonly backend: TrialBackend;
  readonly trials = new Map<number, TrialRecord>();
  readonly columns: string[];
  private nextTrialId = 0;
  private numResults = 0;
  private numFailures = 0;
  private lastFlushTime = 0;
  private lastCheckpointTime = 0;
  /** performance.now() of the last tuner.json write */
  private lastCheckpointWall = -Infinity;
  private numCompleted = 0;
  private readonly best: BestTracker<null>;
  /** with several objectives */
  private readonly pareto: ParetoTracker<null> | undefined;
  private writer: ResultsWriter | undefined;
  private ends: TrialEndsWriter | undefined;
  /** decisions.jsonl, for a scheduler that gives its decisions' reasons */
  private decisions: JsonLinesWriter | undefined;
  private stopReason: string | undefined;
  private readonly running = new Set<number>();

  constructor(private readonly options: TunerOptions) {
    this.scheduler = options.scheduler;
    this.backend = options.backend;
    this.best = new BestTracker(options.bestRule ?? 'any', options.scheduler.mode);
    if ((options.objectives?.length ?? 0) > 1) this.pareto = new ParetoTracker(options.bestRule ?? 'any');
    if (!(Number.isInteger(options.nWorkers) && options.nWorkers >= 1)) throw new TunerError(`n_workers must be a positive integer, got ${options.nWorkers}`);
    const { backend } = options;
    this.columns = [
      ...STATUS_COLUMNS,
      backend.resourceAttr,
      ...(options.metricColumns ?? backend.metricNames).filter((m) => m !== backend.resourceAttr),
      ...options.configNames.map((n) => `config_${n}`),
      // the method's own scalar of each result (MO-BO, MO-ASHA); none for the others, whose rows are unchanged
      ...(options.scheduler.scalar ? [options.scheduler.scalar.column] : []),
      ...(options.extraResults?.keys() ?? []),
    ];
    // one pass with a set: indexOf per column was quadratic (20 minutes for 200,000 parameters)
    const seen = new Set<string>();
    const dup = this.columns.find((c) => seen.size === seen.add(c).size);
    if (dup) throw new TunerError(`results column '${dup}' appears twice (an extra-results key clashes with a built-in column?)`);
  }

  /** Ask the loop to stop after the current step; results are flushed and tuner.json written. */
  requestStop(reason = 'stop requested'): void {
    this.stopReason ??= reason;
    this.backend.interrupt?.();
  }

  /** Why the run was asked to stop (undefined: it was not). */
  get stopRequested(): string | undefined {
    return this.stopReason;
  }

  get tunerTime(): number {
    return this.backend.now();
  }

  get resultsWritten(): number {
    return this.numResults;
  }

  /** Current best (trial, metric value). */
  get bestSoFar(): { trialId: number; value: number } | undefined {
    const b = this.best.best();
    return b && { trialId: b.trialId, value: b.value };
  }

  /** With several objectives, the Pareto front so far (each point's objective values by metric); else undefined. */
  get paretoFront(): FrontPoint[] | undefined {
    if (!this.pareto) return undefined;
    const objectives = this.options.objectives!;
    return this.pareto.front().map((r) => ({
      trialId: r.trialId,
      values: Object.fromEntries(objectives.map((o, k) => [o.metric, o.mode === 'min' ? r.point[k] : -r.point[k]])),
      config: this.trials.get(r.trialId)!.config,
    }));
  }

  private emit<K extends keyof TunerCallback>(event: K, ...args: Parameters<NonNullable<TunerCallback[K]>>): void {
    for (const cb of this.options.callbacks ?? []) (cb[event] as ((...a: unknown[]) => void) | undefined)?.apply(cb, args);
  }

  /** Runs to the end (or to `requestStop`). Pass a checkpoint to continue a previous run. */
  async run(resumeFrom?: TunerCheckpoint): Promise<TunerSummary> {
    const { folder } = this.options;
    if (resumeFrom) await this.restore(resumeFrom);
    else if (folder) {
      this.writer = ResultsWriter.create(folder, this.columns);
      this.ends = TrialEndsWriter.create(folder);
      if (this.scheduler.takeDecisions) this.decisions = JsonLinesWriter.create(folder, DECISIONS_FILE);
      // resumable from the start, not only from the first flush
      this.saveCheckpoint();
    }
    this.emit('onStart', this);
    try {
      await this.loop();
    } finally {
      this.flushFiles();
    }
    const interrupted = this.stopReason !== undefined;
    if (!interrupted) {
      for (const id of [...this.running]) await this.endTrial(id, 'stopped');
    }
    this.saveCheckpoint();
    const summary = this.summary(interrupted ? 'interrupted' : 'completed');
    this.emit('onEnd', this, summary);
    return summary;
  }

  private summary(status: TunerSummary['status']): TunerSummary {
    return {
      status,
      numTrials: this.trials.size,
      numResults: this.numResults,
      numFailures: this.numFailures,
      tunerTime: this.backend.now(),
      best: this.bestSoFar && { ...this.bestSoFar, config: this.trials.get(this.bestSoFar.trialId)!.config },
      ...(this.pareto && { front: this.paretoFront }),
    };
  }

  private criteriaMet(): boolean {
    const s = this.options.stopping;
    if (s.maxWallclockTime !== undefined && this.backend.now() >= s.maxWallclockTime) return true;
    if (s.maxNumResults !== undefined && this.numResults >= s.maxNumResults) return true;
    if (s.maxNumTrialsCompleted !== undefined && this.numCompleted >= s.maxNumTrialsCompleted) return true;
    return false;
  }

  private async loop(): Promise<void> {
    const { stopping, nWorkers } = this.options;
    const deadline = stopping.maxWallclockTime ?? Infinity;
    let steps = 0;
    while (!this.criteriaMet()) {
      await this.fillWorkers(nWorkers);
      if (this.running.size === 0) return; // nothing left to run
      const flushDue = this.options.flushWhileIdle && (this.writer?.pending || this.ends?.pending || this.decisions?.pending) ? this.lastFlushTime + (this.options.flushInterval ?? 60) : Infinity;
      const { results, completed, failed } = await this.backend.poll(Math.min(deadline, flushDue));
      for (const r of results) {
        await this.onResult(r);
        if (this.criteriaMet()) break;
      }
      for (const id of completed) if (this.running.has(id)) await this.endTrial(id, 'completed');
      for (const f of failed) if (this.running.has(f.trialId)) await this.onFailure(f.trialId, f.error);
      this.flushAndCheckpointWhenDue();
      // let signal handlers run: a simulated loop never waits on real I/O otherwise
      if (++steps % 256 === 0) await new Promise((r) => setImmediate(r));
      if (this.stopReason !== undefined) return;
    }
  }

  private async fillWorkers(nWorkers: number): Promise<void> {
    const maxStarted = this.options.stopping.maxNumTrialsStarted ?? Infinity;
    while (this.running.size < nWorkers) {
      const suggestion = this.scheduler.suggest(this.nextTrialId, this.nextTrialId < maxStarted);
      if (!suggestion) return;
      if ('resume' in suggestion) {
        const trial = this.trials.get(suggestion.resume);
        if (!trial || trial.status !== 'paused') throw new TunerError(`scheduler asked to resume trial ${suggestion.resume}, which is not paused`);
        trial.status = 'running';
        this.running.add(trial.id);
        this.takeDecisions(this.backend.now());
        await this.backend.resume(trial.id);
        this.checkpointLaunch();
        this.emit('onTrialStart', this, trial, true);
      } else {
        // a scheduler written before `allowNew` existed may still return a config: the budget holds
        if (this.nextTrialId >= maxStarted) return;
        const trial: TrialRecord = { id: this.nextTrialId++, config: suggestion.config, status: 'running', numResults: 0 };
        this.trials.set(trial.id, trial);
        this.running.add(trial.id);
        await this.backend.start(trial.id, trial.config);
        this.checkpointLaunch();
        this.emit('onTrialStart', this, trial, false);
      }
    }
  }

  private async onResult(r: BackendResult): Promise<void> {
    const trial = this.trials.get(r.trialId);
    if (!trial || !this.running.has(r.trialId)) return;
    const decision: Decision = this.scheduler.onTrialResult(r.trialId, r.result);
    this.takeDecisions(r.time);
    trial.numResults++;
    trial.lastResult = r.result;
    this.numResults++;
    const value = r.result.metrics[this.scheduler.metric];
    const feasible = isFeasible(r.result.metrics, this.options.constraints);
    this.best.add({ trialId: trial.id, value: typeof value === 'number' ? value : NaN, feasible, order: this.numResults, item: null });
    this.pareto?.add({ trialId: trial.id, point: signed(this.options.objectives!, r.result.metrics), feasible, order: this.numResults, item: null });
    if (r.final) {
      this.markCompleted(trial); // its end is processed with the poll's completions
    } else if (decision === 'pause') {
      trial.status = 'paused';
      this.running.delete(trial.id);
      await this.backend.pause(trial.id);
    } else if (decision === 'stop') {
      trial.status = 'stopped';
      this.running.delete(trial.id);
      this.ends?.record(trial.id, 'stopped');
      await this.backend.stop(trial.id);
    }
    this.record(trial, r, decision);
    this.emit('onResult', this, trial, r, decision);
    if (decision === 'stop' && !r.final) this.emit('onTrialEnd', this, trial);
  }

  /** The scheduler's decisions since the last call, with their reasons, to decisions.jsonl (taken also without a folder, so that none piles up). */
  private takeDecisions(time: number): void {
    for (const d of this.scheduler.takeDecisions?.() ?? []) this.decisions?.record(decisionLine(d, time));
  }

  private record(trial: TrialRecord, r: BackendResult, decision: Decision): void {
    if (!this.writer) return;
    // a script's report may hold any field: the tuner's own columns win over one named like them
    const row: Record<string, Cell> = {
      ...r.result.metrics,
      trial_id: trial.id,
      st_tuner_time: r.time,
      st_worker_time: r.workerTime,
      st_worker_iter: r.workerIter,
      st_decision: decision,
      st_status: trial.status,
      [this.backend.resourceAttr]: r.result.resource,
    };
    for (const name of this.options.configNames) row[`config_${name}`] = trial.config[name];
    const scalar = this.scheduler.scalar;
    if (scalar) row[scalar.column] = scalar.of(trial.id);
    const extra = this.options.extraResults?.compose(this);
    if (extra) Object.assign(row, extra);
    this.writer.append(row);
  }

  private async endTrial(id: number, status: 'completed' | 'stopped'): Promise<void> {
    const trial = this.trials.get(id)!;
    this.running.delete(id);
    if (status === 'completed') this.markCompleted(trial);
    // a trial whose final report came in has completed, also when the run ends before its exit is taken in
    else if (trial.status !== 'completed') trial.status = status;
    this.ends?.record(id, trial.status as TrialEnd);
    if (status === 'completed') this.scheduler.onTrialComplete(id);
    else await this.backend.stop(id);
    this.emit('onTrialEnd', this, trial);
  }

  private markCompleted(trial: TrialRecord): void {
    if (trial.status !== 'completed') this.numCompleted++;
    trial.status = 'completed';
  }

  private async onFailure(id: number, error: string): Promise<void> {
    const trial = this.trials.get(id)!;
    this.running.delete(id);
    trial.status = 'failed';
    trial.error = error;
    this.ends?.record(id, 'failed');
    this.best.fail(id);
    this.pareto?.fail(id);
    this.numFailures++;
    this.scheduler.onTrialError(id);
    this.takeDecisions(this.backend.now());
    this.emit('onTrialEnd', this, trial);
    const maxFailures = this.options.maxFailures ?? 1;
    if (this.numFailures > maxFailures) {
      throw new TunerError(`${this.numFailures} trials failed, more than max_failures=${maxFailures}; last: trial ${id}: ${error}`);
    }
  }

  private flushAndCheckpointWhenDue(): void {
    const now = this.backend.now();
    if (now - this.lastFlushTime < (this.options.flushInterval ?? 60)) return;
    this.lastFlushTime = now;
    this.flushFiles();
    const interval = this.options.checkpointInterval ?? 300;
    const wallInterval = this.options.checkpointWallInterval ?? Math.min(30, interval);
    if (now - this.lastCheckpointTime >= interval && performance.now() - this.lastCheckpointWall >= wallInterval * 1000) {
      this.lastCheckpointTime = now;
      this.saveCheckpoint();
    }
  }

  private checkpointLaunch(): void {
    if (!this.options.checkpointOnLaunch) return;
    this.flushFiles();
    this.saveCheckpoint();
  }

  /** The results rows and the trials' ends, appended at the same moments. */
  private flushFiles(): void {
    this.writer?.flush();
    this.ends?.flush();
    this.decisions?.flush();
  }

  private saveCheckpoint(): void {
    const { folder, checkpoint = true } = this.options;
    if (!folder || !checkpoint) return;
    // the ends of the trials the run stopped at its end are on disk before the checkpoint counts them
    this.ends?.flush();
    this.decisions?.flush();
    writeCheckpoint(folder, this.checkpoint());
    this.lastCheckpointWall = performance.now();
  }

  checkpoint(): TunerCheckpoint {
    return {
      format: 'tunelab-tuner',
      version: 1,
      identity: this.options.identity ?? {},
      rowsWritten: this.writer?.rowsWritten ?? 0,
      trialEndsWritten: this.ends?.linesWritten ?? 0,
      ...(this.decisions && { decisionsWritten: this.decisions.linesWritten }),
      tuner: {
        nextTrialId: this.nextTrialId,
        // finished trials need no last result to continue; leaving it out keeps tuner.json small
        trials: [...this.trials.values()].map((t) => (t.status === 'running' || t.status === 'paused' ? t : { ...t, lastResult: undefined })),
        numResults: this.numResults,
        numFailures: this.numFailures,
        lastFlushTime: this.lastFlushTime,
        lastCheckpointTime: this.lastCheckpointTime,
        best: this.bestSoFar,
        trialValues: [...this.best.values().values()],
        ...(this.pareto && { trialPoints: [...this.pareto.values().values()].flat() }),
      },
      scheduler: this.scheduler.state(),
      backend: this.backend.state(),
    };
  }

  private async restore(c: TunerCheckpoint): Promise<void> {
    this.scheduler.restore(c.scheduler);
    await this.backend.restore(c.backend);
    this.nextTrialId = c.tuner.nextTrialId;
    this.numResults = c.rowsWritten;
    this.numFailures = c.tuner.numFailures;
    this.lastFlushTime = c.tuner.lastFlushTime;
    this.lastCheckpointTime = c.tuner.lastCheckpointTime;
    // a checkpoint of an earlier version holds the best alone
    this.best.restore(c.tuner.trialValues ?? (c.tuner.best ? [{ ...c.tuner.best, feasible: true, order: -1, item: null }] : []));
    // a JSON round trip writes NaN as null
    this.pareto?.restore((c.tuner.trialPoints ?? []).map((r) => ({ ...r, point: r.point.map((v) => v ?? NaN) })));
    this.trials.clear();
    this.running.clear();
    this.numCompleted = 0;
    for (const t of c.tuner.trials) {
      this.trials.set(t.id, { ...t });
      if (t.status === 'running') this.running.add(t.id);
      if (t.status === 'completed') this.numCompleted++;
    }
    if (this.options.folder) {
      this.writer = ResultsWriter.resume(this.options.folder, this.columns, c.rowsWritten);
      this.ends = TrialEndsWriter.resume(this.options.folder, c.trialEndsWritten);
      if (this.scheduler.takeDecisions) this.decisions = JsonLinesWriter.resume(this.options.folder, DECISIONS_FILE, c.decisionsWritten);
    }
  }
}
