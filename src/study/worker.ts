import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LocalBackend, checkCommand } from '../backends/local.js';
import type { BackendResult, TrialBackend } from '../backends/types.js';
import { resultsRoot } from '../results/layout.js';
import { BestTracker } from '../results/best.js';
import { isFeasible } from '../schedulers/constraints.js';
import { resourceAttrOf, trialCommand, trialEnvironment } from '../experiment/load.js';
import { mkdirp } from '../util/fs.js';
import { resolveInside } from '../util/path-part.js';
import type { LogLine } from './storage/store.js';
import { type OpenStudyOptions, type StudyHandle, openStudy } from './handle.js';
import { EXHAUSTED } from './status.js';
import { type AskResult, StudyError, objectiveValues } from './study.js';

export interface WorkerOptions extends OpenStudyOptions {
  /** The study's id or name, or its URL on a study server (`http://host:port/v1/experiments/<id>`). */
  study: string | number;
  /** Run this instead of the experiment file's command (argv, or one shell string). */
  command?: string[] | string;
  /** Where this worker keeps its trials' log files (default `<results root>/.study-workers/<study>/<worker>`). */
  workDir?: string;
  /**
   * The study's trials' checkpoint folders, `<dir>/<suggestion id>`, shared by every worker (default
   * `<results root>/.study-workers/<study>/checkpoints/<its creation, epoch s>`, on the filesystem the workers share): a
   * trial given back by one worker continues from its checkpoint under the next.
   */
  checkpointsDir?: string;
  log?: (line: string) => void;
}

export interface WorkerSummary {
  workerId: string;
  succeeded: number;
  failed: number;
  /** Trials given up (stopped with --abandon, or lost to another worker after the lease expired) or given back on a signal. */
  abandoned: number;
  /** Why the worker ended: the study's budget met, its finite space exhausted, the study stopped, a signal, too many failures. */
  reason: 'budget' | 'exhausted' | 'stopped' | 'signal' | 'failures';
  /** The signal that ended the worker, with reason 'signal'. */
  signal?: NodeJS.Signals;
}

/** The worker's last line: what it did, and why it ended. */
export const workerSummaryLine = (s: WorkerSummary) =>
  `worker ${s.workerId}: ${s.succeeded} succeeded, ${s.failed} failed, ${s.abandoned} abandoned; ended: ${s.reason}${s.reason === 'exhausted' ? ` (${EXHAUSTED})` : ''}`;

/** Ships the trials' output into the store, line by line, so that `study logs` works from any machine. */
class LogShipper {
  private readonly offsets = new Map<string, number>();
  private readonly partial = new Map<string, string>();

  constructor(
    private readonly study: StudyHandle,
    private readonly logsDir: string,
    private readonly workerId: string,
  ) {}

  /** New complete lines of the trial's files (all of them with `final`). */
  async ship(suggestionId: number, final = false): Promise<void> {
    const lines: LogLine[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      const file = join(this.logsDir, `trial-${suggestionId}.${stream}`);
      if (!existsSync(file)) continue;
      const key = `${suggestionId}.${stream}`;
      const offset = this.offsets.get(key) ?? 0;
      const size = statSync(file).size;
      let text = this.partial.get(key) ?? '';
      if (size > offset) {
        const buf = Buffer.alloc(size - offset);
        const fd = openSync(file, 'r');
        try {
          readSync(fd, buf, 0, buf.length, offset);
        } finally {
          closeSync(fd);
        }
        text += buf.toString('utf8');
        this.offsets.set(key, size);
      }
      const parts = text.split('\n');
      // what follows the last newline waits for the rest of its line, unless the trial is over
      let rest = parts.pop()!;
      if (final && rest !== '') {
        parts.push(rest);
        rest = '';
      }
      this.partial.set(key, rest);
      const time = Date.now();
      for (const line of parts) lines.push({ suggestionId, workerId: this.workerId, stream, line, time });
    }
    await this.study.appendLogs(lines);
  }
}

/** How the local backend names a trial ended by one of the signals that also stop a worker. */
const STOP_SIGNAL_DEATH = /killed by SIG(TERM|INT|HUP|USR1)\b/;

/**
 * `tunelab study worker`: asks the study for suggestions and runs the command on each with the
 * trial protocol (DESIGN.md §8) through the local backend, reporting every result (ASHA may stop
 * the trial) and the final one as the observation, until the budget is met or the study stopped.
 * The lease is renewed while the trial runs; SIGINT/SIGTERM/SIGUSR1 give the current trial back
 * (ready again: not counted towards the budget nor as a failure; the next worker to ask continues
 * it under the same id, from the same checkpoint folder) and end the worker.
 */
export async function runStudyWorker(options: WorkerOptions): Promise<WorkerSummary> {
  const log = options.log ?? ((line: string) => console.log(line));
  const study = await openStudy(options.study, options);
  const d = study.definition;
  const worker = study.worker;
  const resourceAttr = resourceAttrOf(d);
  let command: string[] | string;
  let dir: string;
  let checkpointsDir: string;
  let env: Record<string, string>;
  try {
    command = trialCommand(d, options.command);
    env = trialEnvironment(d);
    // the study's name comes from the store or a server: it must stay one folder under the results root
    const studyDir = resolveInside(join(resultsRoot(), '.study-workers'), [`${study.id}-${study.name}`], "the study's name");
    dir = options.workDir ?? resolveInside(studyDir, [worker.workerId], 'the worker id');
    // keyed by the study and the suggestion, not the worker: whoever holds the trial next finds its checkpoint
    // (and by its creation: a study of the same id and name in another store, under the same root, starts afresh)
    checkpointsDir = options.checkpointsDir ?? join(studyDir, 'checkpoints', String(study.createdSeconds));
    checkCommand(command, d.cwd);
    mkdirp(dir);
    mkdirp(checkpointsDir);
  } catch (e) {
    await study.close();
    throw e;
  }
  // one backend per trial run: a suggestion handed back to this worker (it lost it, and its new
  // holder lost it in turn) runs again under its id, from its checkpoint folder, not as a clash
  // with the run this worker gave up
  const newBackend = (): TrialBackend =>
    new LocalBackend({
      command,
      cwd: d.cwd,
      env,
      resourceAttr,
      metricNames: [d.metric, ...d.constraints.map((c) => c.metric)],
      maxResource: d.resource?.max,
      countReports: !d.resource,
      logsDir: join(dir, 'logs'),
      checkpointsDir,
      trialTimeout: d.trialTimeout,
      runId: worker.workerId,
    });
  let backend: TrialBackend | undefined;
  const shipper = new LogShipper(study, join(dir, 'logs'), worker.workerId);
  const summary: WorkerSummary = { workerId: worker.workerId, succeeded: 0, failed: 0, abandoned: 0, reason: 'budget' };
  let current: number | undefined;
  /** The suggestion claimed with the last observation (`s` undefined: none is left); not asked for again. */
  let claimed: { s?: AskResult } | undefined;
  let signal: NodeJS.Signals | undefined;
  let abandonNow = false;
  const interrupt = () => backend?.interrupt?.();
  const onSignal = (s: NodeJS.Signals) => {
    signal = s;
    interrupt();
  };
  // SIGUSR1: Slurm's warning before a task's time limit or preemption (sbatch --signal=B:USR1@120)
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGUSR1'];
  for (const s of signals) process.on(s, onSignal);
  study.onStop((mode) => {
    if (mode === 'abandon') {
      abandonNow = true;
      interrupt();
    }
  });
  study.onLost((id) => {
    if (id === current) {
      abandonNow = true;
      interrupt();
    }
  });
  // a lease renewal that failed for good (the store full, or unreachable past --storage_timeout):
  // the leases lapse, so the trial is given up and the worker ends with the reason
  let storeFailure: Error | undefined;
  study.onStoreFailure((e) => {
    storeFailure = e;
    interrupt();
  });
  // a suggestion claimed with the last observation but not to be run: given back at once (ready
  // for another worker when a signal ends this one; given up when too many failures do)
  const giveBackClaimed = async () => {
    const next = claimed?.s;
    claimed = undefined;
    if (next) await (signal ? study.release(next.suggestionId) : study.abandon(next.suggestionId));
  };
  log(`worker ${worker.workerId} on study ${study.id} (${study.name}, ${study.method}) with ${study.location}`);
  try {
    for (;;) {
      if (signal) {
        await giveBackClaimed();
        summary.reason = 'signal';
        summary.signal = signal;
        break;
      }
      const s = claimed ? claimed.s : await study.ask();
      claimed = undefined;
      if (!s) {
        const { status } = await study.refresh();
        summary.reason = status === 'stopped' || status === 'exhausted' ? status : 'budget';
        break;
      }
      current = s.suggestionId;
      abandonNow = false;
      const started = Date.now();
      await backend?.close();
      const run = (backend = newBackend());
      await run.start(s.suggestionId, s.config);
      let last: BackendResult | undefined;
      // the observation is the trial's value as `tunelab best` defines it (its last report, or its best one)
      const value = new BestTracker<BackendResult>(d.best, d.mode);
      let stoppedAt: number | undefined;
      let error: string | undefined;
      let ended = false;
      let lastShip = Date.now();
      while (!ended && !signal && !abandonNow && !storeFailure) {
        const poll = await run.poll(run.now() + 1);
        for (const r of poll.results) {
          if (r.trialId !== s.suggestionId || stoppedAt !== undefined) continue;
          last = r;
          value.add({ trialId: r.trialId, value: r.result.metrics[d.metric], feasible: isFeasible(r.result.metrics, d.constraints), order: r.workerIter, item: r });
          const decision = await study.report(s.suggestionId, r.result.resource, r.result.metrics[d.metric], r.result.metrics);
          if (decision === 'stop') {
            stoppedAt = r.result.resource;
            await run.stop(s.suggestionId);
            ended = true;
          }
        }
        if (poll.completed.includes(s.suggestionId)) ended = true;
        const f = poll.failed.find((x) => x.trialId === s.suggestionId);
        if (f) {
          error = f.error;
          ended = true;
        }
        if (Date.now() - lastShip > 1000) {
          lastShip = Date.now();
          await shipper.ship(s.suggestionId);
        }
      }
      if (storeFailure) throw storeFailure;
      // a stop signal sent to the whole job (Slurm's scancel, Ctrl-C to a terminal's process group) can end the
      // trial a moment before this worker's own handler runs: such a trial is given back, not told as failed
      if (error && STOP_SIGNAL_DEATH.test(error)) {
        for (let waited = 0; !signal && waited < 2000; waited += 50) await new Promise((r) => setTimeout(r, 50));
        if (signal) ended = false;
      }
      if (!ended) {
        // a signal: the trial is given back, for the next worker to continue from its checkpoint;
        // `study stop --abandon`, or the suggestion was lost: it is given up
        await run.stop(s.suggestionId);
        await shipper.ship(s.suggestionId, true);
        const giveBack = Boolean(signal) && !abandonNow;
        if (!study.isLost(s.suggestionId)) await (giveBack ? study.release(s.suggestionId) : study.abandon(s.suggestionId));
        summary.abandoned++;
        log(`trial ${s.suggestionId}: ${giveBack ? `given back (${signal}); the next worker continues it from ${join(checkpointsDir, String(s.suggestionId))}` : `abandoned${signal ? ` (${signal})` : ''}`}`);
        current = undefined;
        continue;
      }
      await shipper.ship(s.suggestionId, true);
      if (!error && !last) error = `the command ended without reporting '${d.metric}' (print a line ${JSON.stringify(`[tunelab] {"${d.metric}": ...}`)})`;
      // several objectives: the last report (no one metric's best stands for the vector)
      const told = d.objectives.length > 1 ? last : (value.best()?.item ?? last);
      const vector = told && objectiveValues(d, told.result.metrics);
      if (!error && vector && 'missing' in vector) error = `the command's result lacks the objective '${vector.missing}' (print a line ${JSON.stringify(`[tunelab] {"${vector.missing}": ...}`)})`;
      const metadata: Record<string, unknown> = { duration: (Date.now() - started) / 1000 };
      if (error) metadata.error = error;
      if (stoppedAt !== undefined) metadata.stopped_at = stoppedAt;
      if (last) metadata.results = last.workerIter + 1;
      const values = error ? undefined : told!.result.metrics;
      const options = { failed: Boolean(error), metadata };
      // the observation and the next suggestion in one step, unless this failure ends the worker
      const lastOne = Boolean(error) && summary.failed + 1 > d.maxFailures;
      current = undefined;
      let refused: string | undefined;
      if (lastOne || signal) {
        try {
          await study.tell(s.suggestionId, values, options);
        } catch (e) {
          if (!(e instanceof StudyError)) throw e;
          refused = e.message;
        }
      } else {
        const r = await study.tellAndAsk(s.suggestionId, values, options);
        claimed = { s: r.next };
        refused = r.refused;
      }
      if (refused !== undefined) {
        summary.abandoned++;
        log(`trial ${s.suggestionId}: ${refused}`);
      } else {
        if (error) summary.failed++;
        else summary.succeeded++;
        log(`trial ${s.suggestionId}: ${error ? `failed: ${error}` : `${d.objectives.map((o) => `${o.metric} ${told!.result.metrics[o.metric]}`).join(', ')}${stoppedAt !== undefined ? ` (stopped by ASHA at ${resourceAttr} ${stoppedAt})` : ''}`}`);
      }
      if (summary.failed > d.maxFailures) {
        await giveBackClaimed();
        summary.reason = 'failures';
        log(`${summary.failed} trials of this worker failed, more than max_failures=${d.maxFailures}: the worker ends`);
        break;
      }
    }
  } catch (e) {
    // the store failed (or anything else did): the trial is ended, then given up where the store
    // still answers, so that another worker need not wait out its lease
    await backend?.close();
    for (const id of [current, claimed?.s?.suggestionId]) {
      if (id === undefined) continue;
      await study.abandon(id).then(
        () => log(`trial ${id}: abandoned (the worker fails)`),
        () => undefined,
      );
    }
    throw e;
  } finally {
    for (const s of signals) process.off(s, onSignal);
    await backend?.close();
    // recorded where the store still answers; else `study status` shows the worker lost once its lease and last_seen are past
    await study.workerExited(worker).catch(() => undefined);
    await study.close();
  }
  return summary;
}
