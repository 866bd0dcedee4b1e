import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Config } from '../config-space/index.js';
import { mkdirp } from '../util/fs.js';
import { REPORT_PREFIX } from './protocol.js';
import type { BackendResult, PollResult, TrialBackend } from './types.js';

export { REPORT_PREFIX };


export interface LocalBackendOptions {
  /** The training command, e.g. ['node', 'train.js']; the config follows as `--name value` arguments. */
  command: readonly string[];
  cwd?: string;
  /** Results carry this resource attribute (e.g. 'epoch') ... */
  resourceAttr: string;
  /** ... and these metrics; a report lacking one of them fails the trial. */
  metricNames: readonly string[];
  /** Per-trial stdout/stderr go to `<logsDir>/trial-<id>.stdout|stderr`; checkpoints to `<logsDir>/../checkpoints/<id>`. */
  logsDir: string;
  checkpointsDir: string;
  /** A trial that prints no report for this many seconds is killed and failed (default: no limit). */
  trialTimeout?: number;
  /** Seconds between SIGTERM and SIGKILL when a trial is paused or stopped (default 5). */
  killGrace?: number;
}

interface LocalTrial {
  config: Config;
  process?: ChildProcess;
  status: 'running' | 'paused' | 'stopped' | 'done';
  /** highest resource reported so far (null: none); a restarted script's repeats are dropped */
  lastResource: number | null;
  iter: number;
  /** training seconds of earlier segments, and the start of the current one (backend clock) */
  trainedBefore: number;
  segmentStart: number;
  lastReportAt: number;
  stderrTail: string[];
}

/**
 * Runs each trial as a subprocess on this machine, on the real clock. The script gets its config as
 * `--name value` arguments and as JSON in `$TUNELAB_CONFIG`, a checkpoint folder in
 * `$TUNELAB_CHECKPOINT_DIR` (so that a paused trial, restarted, can continue), and reports with
 * `console.log('[tunelab] ' + JSON.stringify({epoch, loss}))`. Other output is only logged.
 */
export class LocalBackend implements TrialBackend {
  readonly resourceAttr: string;
  readonly metricNames: readonly string[];
  private readonly t0 = performance.now();
  private readonly trials = new Map<number, LocalTrial>();
  private queue: PollResult = { results: [], completed: [], failed: [] };
  private wake: (() => void) | undefined;

  constructor(private readonly options: LocalBackendOptions) {
    if (options.command.length === 0) throw new Error('local backend: empty training command');
    this.resourceAttr = options.resourceAttr;
    this.metricNames = options.metricNames;
    mkdirp(options.logsDir);
  }

  now(): number {
    return (performance.now() - this.t0) / 1000;
  }

  private notify() {
    this.wake?.();
  }

  private fail(trialId: number, error: string) {
    const t = this.trials.get(trialId)!;
    if (t.status !== 'running') return;
    t.status = 'done';
    this.kill(t);
    this.queue.failed.push({ trialId, error });
    this.notify();
  }

  private launch(trialId: number, t: LocalTrial) {
    const { options } = this;
    const args = Object.entries(t.config).flatMap(([k, v]) => [`--${k}`, String(v)]);
    const checkpointDir = join(options.checkpointsDir, String(trialId));
    mkdirp(checkpointDir);
    const log = (stream: string): WriteStream => createWriteStream(join(options.logsDir, `trial-${trialId}.${stream}`), { flags: 'a' });
    const child = spawn(options.command[0], [...options.command.slice(1), ...args], {
      cwd: options.cwd,
      env: { ...process.env, TUNELAB_CONFIG: JSON.stringify(t.config), TUNELAB_TRIAL_ID: String(trialId), TUNELAB_CHECKPOINT_DIR: checkpointDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.process = child;
    t.segmentStart = this.now();
    t.lastReportAt = t.segmentStart;
    const out = log('stdout');
    const err = log('stderr');
    child.stdout!.pipe(out);
    child.stderr!.pipe(err);
    child.stderr!.on('data', (d: Buffer) => {
      t.stderrTail.push(...d.toString('utf8').split('\n').filter(Boolean));
      t.stderrTail.splice(0, Math.max(0, t.stderrTail.length - 5));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (child === t.process && line.startsWith(REPORT_PREFIX)) this.onReport(trialId, t, line.slice(REPORT_PREFIX.length));
    });
    child.on('error', (e) => {
      if (child === t.process) this.fail(trialId, `cannot run ${options.command.join(' ')}: ${e.message}`);
    });
    child.on('close', (code, signal) => {
      if (child !== t.process || t.status !== 'running') return;
      t.process = undefined;
      if (code === 0) {
        t.status = 'done';
        this.queue.completed.push(trialId);
        this.notify();
      } else {
        this.fail(trialId, `${signal ? `killed by ${signal}` : `exit code ${code}`}${t.stderrTail.length ? `; stderr: ${t.stderrTail.join(' | ')}` : ''}`);
      }
    });
  }

  private onReport(trialId: number, t: LocalTrial, text: string) {
    if (t.status !== 'running') return;
    let report: Record<string, unknown>;
    try {
      report = JSON.parse(text);
      if (!report || typeof report !== 'object' || Array.isArray(report)) throw new Error('not a JSON object');
    } catch (e) {
      return this.fail(trialId, `malformed report line '${REPORT_PREFIX}${text.slice(0, 200)}': ${(e as Error).message}`);
    }
    const resource = report[this.resourceAttr];
    if (typeof resource !== 'number' || !Number.isFinite(resource)) {
      return this.fail(trialId, `report lacks a numeric '${this.resourceAttr}': ${text.slice(0, 200)}`);
    }
    const metrics: Record<string, number> = { [this.resourceAttr]: resource };
    for (const m of this.metricNames) {
      const v = report[m];
      if (typeof v !== 'number') return this.fail(trialId, `report lacks metric '${m}' (a number): ${text.slice(0, 200)}`);
      metrics[m] = v;
    }
    t.lastReportAt = this.now();
    // a restarted script that starts over repeats resources it reported before: skip those
    if (t.lastResource !== null && resource <= t.lastResource) return;
    t.lastResource = resource;
    const r: BackendResult = {
      trialId,
      result: { resource, metrics },
      time: t.lastReportAt,
      workerTime: t.trainedBefore + (t.lastReportAt - t.segmentStart),
      workerIter: t.iter++,
    };
    this.queue.results.push(r);
    this.notify();
  }

  private kill(t: LocalTrial) {
    const child = t.process;
    t.process = undefined;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), (this.options.killGrace ?? 5) * 1000);
    timer.unref();
    child.once('exit', () => clearTimeout(timer));
  }

  async start(trialId: number, config: Config): Promise<void> {
    if (this.trials.has(trialId)) throw new Error(`local backend: trial ${trialId} exists already`);
    const t: LocalTrial = { config, status: 'running', lastResource: null, iter: 0, trainedBefore: 0, segmentStart: 0, lastReportAt: 0, stderrTail: [] };
    this.trials.set(trialId, t);
    this.launch(trialId, t);
  }

  private halt(trialId: number, status: 'paused' | 'stopped') {
    const t = this.trials.get(trialId);
    if (!t || t.status !== 'running') return;
    t.status = status;
    t.trainedBefore += this.now() - t.segmentStart;
    this.kill(t);
  }

  async pause(trialId: number): Promise<void> {
    this.halt(trialId, 'paused');
  }

  async stop(trialId: number): Promise<void> {
    this.halt(trialId, 'stopped');
  }

  async resume(trialId: number): Promise<void> {
    const t = this.trials.get(trialId);
    if (!t || t.status !== 'paused') throw new Error(`local backend: trial ${trialId} is not paused`);
    t.status = 'running';
    this.launch(trialId, t);
  }

  private checkTimeouts() {
    const limit = this.options.trialTimeout;
    if (limit === undefined) return;
    const now = this.now();
    for (const [id, t] of this.trials) {
      if (t.status === 'running' && now - t.lastReportAt > limit) this.fail(id, `no report for ${limit} s (hung?); killed`);
    }
  }

  async poll(deadline: number): Promise<PollResult> {
    const empty = () => this.queue.results.length + this.queue.completed.length + this.queue.failed.length === 0;
    if (empty()) {
      const wait = Math.max(0, Math.min(1, deadline - this.now()));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait * 1000);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    this.checkTimeouts();
    const out = this.queue;
    this.queue = { results: [], completed: [], failed: [] };
    return out;
  }

  /** Enough to continue after a crash: trials that were running are restarted (from their checkpoints). */
  state() {
    return { trials: [...this.trials].map(([id, t]) => [id, { config: t.config, status: t.status, lastResource: t.lastResource, iter: t.iter, trainedBefore: t.trainedBefore }]) };
  }

  async restore(state: unknown): Promise<void> {
    const s = state as { trials: [number, Pick<LocalTrial, 'config' | 'status' | 'lastResource' | 'iter' | 'trainedBefore'>][] };
    for (const [id, saved] of s.trials) {
      const t: LocalTrial = { ...saved, stderrTail: [], segmentStart: 0, lastReportAt: 0 };
      this.trials.set(id, t);
      if (t.status === 'running') this.launch(id, t);
    }
  }

  async close(): Promise<void> {
    for (const t of this.trials.values()) if (t.status === 'running') this.kill(t);
  }
}
