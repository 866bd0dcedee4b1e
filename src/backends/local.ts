import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { accessSync, constants, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import type { Config } from '../config-space/index.js';
import type { TrialResult } from '../trial/result.js';
import { UserError } from '../util/errors.js';
import { mkdirp } from '../util/fs.js';
import { ENV_RUN_ID, endGroup, spawnGroup } from './process-group.js';
import { ENV_CHECKPOINT_DIR, ENV_CONFIG, ENV_TRIAL_ID, REPORT_PREFIX } from '../trial/protocol.js';
import { TrialLog, readFrom } from './trial-log.js';
import type { PollResult, TrialBackend } from './types.js';

export { REPORT_PREFIX };
export { ENV_RUN_ID, killLeftoverTrials } from './process-group.js';

export interface LocalBackendOptions {
  /**
   * The training command: an argv list, e.g. ['python3', 'train.py'], the config following as
   * `--name value` arguments; or a string run by `/bin/sh -c`, the config arguments in "$@" (appended
   * to it: 'python3 train.py' gets them too).
   */
  command: readonly string[] | string;
  cwd?: string;
  /** Added to the trials' environment. */
  env?: Record<string, string>;
  /** Results carry this resource attribute (e.g. 'epoch') ... */
  resourceAttr: string;
  /** ... and these metrics; a report lacking one of them fails the trial. */
  metricNames: readonly string[];
  /** A report's resource must lie in 1..maxResource (default: no upper bound) ... */
  maxResource?: number;
  /** ... and be an integer (default true). */
  integralResource?: boolean;
  /** Reports carry no resource: a trial's n-th report is at resource n (for single-fidelity problems). */
  countReports?: boolean;
  /** Per-trial stdout/stderr go to `<logsDir>/trial-<id>.stdout|stderr`; checkpoints to `<checkpointsDir>/<id>`. */
  logsDir: string;
  checkpointsDir: string;
  /** A trial that prints no report for this many seconds is killed and failed (default: no limit). */
  trialTimeout?: number;
  /** Seconds between SIGTERM and SIGKILL when a trial's process group is ended (default 5). */
  killGrace?: number;
  /** Every trial process gets `TUNELAB_RUN_ID=<runId>` (default: a random id), for killLeftoverTrials. */
  runId?: string;
}

/** How long the pipes of a script that exited may stay open (a descendant holding them) before we stop reading. */
const DRAIN_MS = 1000;
/** A failure reason carries at most this many of stderr's last lines, and at most about this many characters. */
const STDERR_LINES = 10;
const STDERR_CHARS = 2000;
/** Longer stdout lines cannot be reports and are skipped, so that output without newlines cannot fill the memory. */
const MAX_LINE = 1 << 20;
/** setTimeout's limit; a longer (or infinite) delay would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One process group running a trial's command. */
interface Run {
  stderrTail: string;
  /** it was paused: what it still reports is banked */
  paused?: boolean;
  /** the leader has exited; its pipes are being drained */
  exited: boolean;
  /** starts ending the group (idempotent); resolves once it is gone */
  end(): Promise<void>;
  /** resolves once the group is gone and the logs are closed */
  ended: Promise<void>;
}

interface LocalTrial {
  config: Config;
  status: 'running' | 'paused' | 'stopped' | 'done';
  /** highest resource reported so far (null: none); a restarted script's repeats are dropped */
  lastResource: number | null;
  /**
   * Reports its current process printed: without a resource (countReports) the n-th is at
   * resource n, so a script restarted after a crash, which starts over, repeats the ones taken in
   */
  processReports: number;
  /** where its stdout log ends after the last line taken in: what lies beyond was printed since */
  logEnd: number;
  iter: number;
  /** training seconds of earlier segments, and the start of the current one (backend clock; undefined: no process trains) */
  trainedBefore: number;
  segmentStart?: number;
  lastReportAt: number;
  /** the run whose output counts ... */
  run?: Run;
  /** ... and the newest one, perhaps still ending: a resumed trial starts once it is gone */
  lastRun?: Run;
  relaunching?: boolean;
  /**
   * Results of a paused trial not handed out before the pause (queued, or printed while its
   * process ended): progress its checkpoint may hold, which its successor would not repeat, so
   * they are handed out when it resumes.
   */
  banked: Banked[];
}

interface Banked {
  result: TrialResult;
  workerTime: number;
}

/** What poll hands out, in the order it happened. */
type BackendEvent =
  | ({ kind: 'result'; trialId: number; time: number } & Banked)
  | { kind: 'completed'; trialId: number }
  | { kind: 'failed'; trialId: number; error: string };

type SavedTrial = Pick<LocalTrial, 'config' | 'status' | 'lastResource' | 'iter' | 'trainedBefore' | 'banked'> &
  Partial<Pick<LocalTrial, 'processReports' | 'logEnd'>> & {
    /** its events not handed out yet (older checkpoints lack them) */
    pending?: BackendEvent[];
  };

/** Words a shell string may start with that are no program on PATH. */
const SHELL_WORDS = new Set(
  '. alias bg break case cd command continue do done echo elif else esac eval exec exit export false fc fg fi for getopts hash if in jobs kill local printf pwd read readonly return set shift test then times trap true type ulimit umask unalias unset until wait while'.split(' '),
);
/** A first word without quoting, expansions, assignments or redirections. */
const PLAIN_WORD = /^[\w./+,@%-]+$/;

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function executableProblem(file: string): string | undefined {
  try {
    if (statSync(file).isDirectory()) return 'is a directory';
  } catch {
    return 'not found';
  }
  try {
    accessSync(file, constants.X_OK);
  } catch {
    return 'is not executable';
  }
  return undefined;
}

/** checkCommand with the PATH the command will see. */
function findProblem(command: readonly string[] | string, cwd: string | undefined, path: string | undefined): string | undefined {
  const dir = resolve(cwd ?? '.');
  const problem = (what: string) => `cannot run '${typeof command === 'string' ? command : command.join(' ')}' (cwd ${dir}): ${what}`;
  if (!isDirectory(dir)) return problem('the working directory does not exist');
  let program: string;
  if (typeof command === 'string') {
    program = command.trim().split(/\s+/)[0];
    if (!PLAIN_WORD.test(program) || SHELL_WORDS.has(program)) return undefined; // the shell will tell
  } else {
    program = command[0];
    if (!program) return problem('empty command');
  }
  if (program.includes('/')) {
    const p = executableProblem(resolve(dir, program));
    return p && problem(`'${program}' ${p}`);
  }
  let found: string | undefined;
  for (const entry of (path ?? '').split(delimiter)) {
    const file = resolve(dir, entry, program); // an empty entry is the working directory
    const p = executableProblem(file);
    if (!p) return undefined;
    if (p !== 'not found') found ??= `'${file}' ${p}`;
  }
  return problem(found ?? `'${program}' not found on PATH`);
}

/**
 * Throws a UserError when the training command cannot run: its program (argv[0], or a shell
 * string's first word when that is a plain word) is not found — on PATH when it has no slash,
 * else relative to `cwd` — or not executable, or `cwd` does not exist.
 */
export function checkCommand(command: readonly string[] | string, cwd?: string): void {
  const problem = findProblem(command, cwd, process.env.PATH);
  if (problem) throw new UserError(problem);
}

function signalName(n: number): string | undefined {
  return Object.entries(osConstants.signals).find(([, v]) => v === n)?.[0];
}

function exitReason(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `killed by ${signal}`;
  // the supervising shell reports a death by signal n as 128 + n
  const name = code !== null && code > 128 ? signalName(code - 128) : undefined;
  return name ? `killed by ${name} (exit code ${code})` : `exit code ${code}`;
}

function stderrSuffix(tail: string): string {
  let text = tail
    .split('\n')
    .filter((l) => l.trim())
    .slice(-STDERR_LINES)
    .join(' | ');
  if (text.length > STDERR_CHARS) text = `…${text.slice(-STDERR_CHARS)}`;
  return text ? `; stderr: ${text}` : '';
}

/** Bare NaN / Infinity / -Infinity outside strings, as report() and Python's json.dumps write them. */
const NON_FINITE_TOKEN = /"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)/g;
/** They become strings with this mark (a NUL cannot appear raw in a JSON string, so none of the script's own strings begins so) ... */
const NON_FINITE_MARK = '\u0000tunelab:';

function parseReport(text: string): unknown {
  const json = text.replace(NON_FINITE_TOKEN, (m, token?: string) => (token ? `"\\u0000tunelab:${token}"` : m));
  // ... and numbers again
  return JSON.parse(json, (_k, v) => (typeof v === 'string' && v.startsWith(NON_FINITE_MARK) ? Number(v.slice(NON_FINITE_MARK.length)) : v));
}

/** Splits a byte stream into lines and hands on the text after REPORT_PREFIX of those that start with it. */
class ReportLines {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private skipping = false;

  constructor(private readonly onReport: (text: string) => void) {}

  push(chunk: Buffer): void {
    const lines = (this.partial + this.decoder.write(chunk)).split('\n');
    this.partial = lines.pop()!;
    if (this.skipping && lines.length > 0) {
      lines.shift();
      this.skipping = false;
    }
    for (const line of lines) this.take(line);
    if (this.partial.length > MAX_LINE) {
      this.partial = '';
      this.skipping = true;
    }
  }

  /** At the end of the stream; a last line without newline counts only if the stream really ended. */
  end(complete: boolean): void {
    if (complete && !this.skipping) this.take(this.partial + this.decoder.end());
    this.partial = '';
  }

  private take(line: string) {
    if (line.startsWith(REPORT_PREFIX)) this.onReport(line.slice(REPORT_PREFIX.length).replace(/\r$/, ''));
  }
}

/** Resolves once the pipes reached their end (true), or after DRAIN_MS (false); destroys them either way. */
async function drain(streams: Readable[]): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const complete = await Promise.race([
    Promise.all(streams.map((s) => finished(s).catch(() => undefined))).then(() => true),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), DRAIN_MS))),
  ]);
  clearTimeout(timer);
  for (const s of streams) s.destroy();
  return complete;
}

/**
 * Runs each trial as a subprocess on this machine, on the real clock, in a process group of its
 * own that is ended as a whole (see process-group.ts; it ends too when this process dies). The
 * script gets its config as `--name value` arguments and as JSON in `$TUNELAB_CONFIG`, a checkpoint
 * folder in `$TUNELAB_CHECKPOINT_DIR` (so that a paused trial, restarted, can continue), and
 * reports with `console.log('[tunelab] ' + JSON.stringify({epoch, loss}))`. Other output is only logged.
 */
export class LocalBackend implements TrialBackend {
  readonly resourceAttr: string;
  readonly metricNames: readonly string[];
  readonly runId: string;
  private readonly killGrace: number;
  /** now() = clockBase + seconds since clockStart (restore() moves them so that the clock continues) */
  private clockStart = performance.now();
  private clockBase = 0;
  private readonly trials = new Map<number, LocalTrial>();
  /** ids of trials with status 'running' */
  private readonly running = new Set<number>();
  /** every group not known to be gone, for close() */
  private readonly runs = new Set<Run>();
  private events: BackendEvent[] = [];
  private wake: (() => void) | undefined;
  private interrupted = false;
  private closed = false;
  /** Reports restore() took from the trials' logs (printed after the state was taken), to be said aloud. */
  recoveredReports = 0;

  constructor(private readonly options: LocalBackendOptions) {
    const { command } = options;
    if (typeof command === 'string' ? !command.trim() : command.length === 0) throw new Error('local backend: empty training command');
    this.killGrace = options.killGrace ?? 5;
    if (!(this.killGrace >= 0 && Number.isFinite(this.killGrace))) throw new Error(`local backend: killGrace must be a number of seconds ≥ 0, got ${options.killGrace}`);
    if (options.maxResource !== undefined && !(options.maxResource >= 1)) throw new Error(`local backend: maxResource must be ≥ 1, got ${options.maxResource}`);
    this.resourceAttr = options.resourceAttr;
    this.metricNames = options.metricNames;
    this.runId = options.runId ?? randomUUID();
    mkdirp(options.logsDir);
  }

  now(): number {
    return this.clockBase + (performance.now() - this.clockStart) / 1000;
  }

  private notify() {
    this.wake?.();
  }

  private push(event: BackendEvent) {
    this.events.push(event);
    this.notify();
  }

  /** Removes the trial's events not handed out yet, and returns its results among them. */
  private takeEvents(trialId: number): Banked[] {
    const taken = this.events.filter((e) => e.trialId === trialId);
    if (taken.length > 0) this.events = this.events.filter((e) => e.trialId !== trialId);
    return taken.flatMap((e) => (e.kind === 'result' ? [{ result: e.result, workerTime: e.workerTime }] : []));
  }

  private setStatus(trialId: number, t: LocalTrial, status: LocalTrial['status']) {
    t.status = status;
    if (status === 'running') this.running.add(trialId);
    else this.running.delete(trialId);
  }

  /** Ends the trial's segment: its run's output no longer counts, and its group is ended. */
  private detach(t: LocalTrial) {
    if (t.segmentStart !== undefined) t.trainedBefore += this.now() - t.segmentStart;
    t.segmentStart = undefined;
    void t.run?.end();
    t.run = undefined;
  }

  private fail(trialId: number, error: string) {
    const t = this.trials.get(trialId)!;
    if (t.status !== 'running' || this.closed) return;
    const tail = t.run ? stderrSuffix(t.run.stderrTail) : '';
    this.setStatus(trialId, t, 'done');
    this.detach(t);
    this.push({ kind: 'failed', trialId, error: error + tail });
  }

  private launch(trialId: number, t: LocalTrial) {
    const { options } = this;
    const args = Object.entries(t.config).flatMap(([k, v]) => [`--${k}`, String(v)]);
    const argv = typeof options.command === 'string' ? ['/bin/sh', '-c', `${options.command} "$@"`, 'sh', ...args] : [...options.command, ...args];
    const checkpointDir = join(options.checkpointsDir, String(trialId));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...options.env,
      [ENV_CONFIG]: JSON.stringify(t.config),
      [ENV_TRIAL_ID]: String(trialId),
      [ENV_CHECKPOINT_DIR]: checkpointDir,
      [ENV_RUN_ID]: this.runId,
    };
    const problem = findProblem(options.command, options.cwd, env.PATH);
    if (problem) return this.fail(trialId, problem);
    mkdirp(checkpointDir);
    let child: ChildProcess;
    try {
      child = spawnGroup(argv, { cwd: options.cwd, env, graceSeconds: this.killGrace, marks: [ENV_RUN_ID, ENV_TRIAL_ID] });
    } catch (e) {
      return this.fail(trialId, `cannot run ${argv[0]}: ${(e as Error).message}`);
    }
    const out = new TrialLog(this.logPath(trialId, 'stdout'));
    const err = new TrialLog(this.logPath(trialId, 'stderr'));
    // what the log holds so far was taken in (or recovered by restore)
    t.logEnd = out.position;
    t.processReports = 0;
    const stdout = child.stdout!;
    const stderr = child.stderr!;
    const reports = new ReportLines((text) => {
      t.processReports++;
      if (t.run === run) this.onReport(trialId, t, text);
      else if (run.paused && (t.status === 'paused' || t.status === 'running')) this.bank(t, text);
    });
    let drained = Promise.resolve();
    const exit = new Promise<void>((resolveExit) => {
      child.once('exit', (code, signal) => {
        run.exited = true;
        void run.end(); // what the script left behind
        drained = drain([stdout, stderr]).then((complete) => {
          reports.end(complete);
          if (complete && t.lastRun === run) t.logEnd = out.position;
          // the trial's end is told only once its log files hold every line (they are written as
          // read): whoever reads them then (`tunelab logs`, a study worker shipping them to the
          // store) sees the whole output
          out.close();
          err.close();
          if (t.run === run) this.onExit(trialId, t, code, signal);
        });
        resolveExit();
      });
      child.once('error', (e) => {
        if (child.pid !== undefined) return; // it runs: not a failure to start
        run.exited = true;
        resolveExit();
        if (t.run === run) this.fail(trialId, `cannot run ${argv[0]}: ${e.message}`);
      });
    });
    let ending: Promise<void> | undefined;
    const run: Run = {
      stderrTail: '',
      exited: false,
      end: () =>
        (ending ??= (child.pid === undefined ? Promise.resolve() : endGroup(child.pid, this.killGrace, exit, { [ENV_RUN_ID]: this.runId, [ENV_TRIAL_ID]: String(trialId) })).then(() => {
          // only now: closing fd 3 earlier would make the watcher end the group by itself
          child.stdio[3]?.destroy();
        })),
      ended: exit
        .then(() => Promise.all([run.end(), drained]))
        .then(() => {
          out.close();
          err.close();
          this.runs.delete(run);
        }),
    };
    stdout.on('data', (d: Buffer) => {
      // the log first: a report is on disk before the tuner hears of it
      const at = out.append(d);
      reports.push(d);
      const newline = d.lastIndexOf(0x0a);
      if (at !== undefined && newline >= 0) t.logEnd = at + newline + 1;
    });
    stderr.on('data', (d: Buffer) => {
      err.append(d);
      run.stderrTail = (run.stderrTail + d.toString('utf8')).slice(-2 * STDERR_CHARS);
    });
    child.stdio[3]!.on('error', () => undefined); // the watcher's end closing under us is no news
    this.runs.add(run);
    t.run = run;
    t.lastRun = run;
    t.segmentStart = this.now();
    t.lastReportAt = t.segmentStart;
  }

  private onExit(trialId: number, t: LocalTrial, code: number | null, signal: NodeJS.Signals | null) {
    if (t.status !== 'running' || this.closed) return;
    if (code !== 0) return this.fail(trialId, exitReason(code, signal));
    this.setStatus(trialId, t, 'done');
    this.detach(t);
    this.push({ kind: 'completed', trialId });
  }

  private resourceRange(): string {
    const { maxResource, integralResource = true } = this.options;
    return `${integralResource ? 'an integer' : 'a number'} in 1..${maxResource ?? '∞'}`;
  }

  private resourceAccepted(resource: number): boolean {
    const { maxResource = Infinity, integralResource = true } = this.options;
    return resource >= 1 && resource <= maxResource && (!integralResource || Number.isInteger(resource));
  }

  /** The result a report line holds, or why it is not acceptable. */
  private parse(t: LocalTrial, text: string): TrialResult | string {
    const snippet = text.slice(0, 200);
    let report: Record<string, unknown>;
    try {
      report = parseReport(text) as Record<string, unknown>;
      if (!report || typeof report !== 'object' || Array.isArray(report)) throw new Error('not a JSON object');
    } catch (e) {
      return `malformed report line '${REPORT_PREFIX}${snippet}': ${(e as Error).message}`;
    }
    const attr = this.resourceAttr;
    if (this.options.countReports) report[attr] = t.processReports;
    const resource = report[attr];
    if (typeof resource !== 'number') return `report lacks a numeric '${attr}': ${snippet}`;
    if (!this.resourceAccepted(resource)) return `report has ${attr} ${resource}; ${attr} must be ${this.resourceRange()}: ${snippet}`;
    for (const m of this.metricNames) {
      if (typeof report[m] !== 'number') return `report lacks metric '${m}' (a number): ${snippet}`;
    }
    // every number travels on (constraint and store metrics too), and none may be NaN or infinite
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(report)) {
      if (typeof v !== 'number') continue;
      if (!Number.isFinite(v)) return `metric '${k}' is ${v}: ${snippet}`;
      metrics[k] = v;
    }
    return { resource, metrics };
  }

  /** A restarted script that starts over repeats resources it reported before: those are dropped. */
  private isRepeat(t: LocalTrial, result: TrialResult): boolean {
    return t.lastResource !== null && result.resource <= t.lastResource;
  }

  private deliver(trialId: number, { result, workerTime }: Banked) {
    this.push({ kind: 'result', trialId, result, time: this.now(), workerTime });
  }

  /** A result at the maximum resource is the trial's last (as on the simulator): its row says `completed`. */
  private atMaxResource(result: TrialResult): boolean {
    return !this.options.countReports && this.options.maxResource !== undefined && result.resource >= this.options.maxResource;
  }

  private onReport(trialId: number, t: LocalTrial, text: string) {
    if (t.status !== 'running') return;
    const result = this.parse(t, text);
    if (typeof result === 'string') return this.fail(trialId, result);
    t.lastReportAt = this.now();
    if (this.isRepeat(t, result)) return;
    t.lastResource = result.resource;
    this.deliver(trialId, { result, workerTime: t.trainedBefore + (t.lastReportAt - t.segmentStart!) });
  }

  /** A paused run's late report; a bad one is no reason to fail a paused trial. */
  private bank(t: LocalTrial, text: string) {
    const result = this.parse(t, text);
    if (typeof result === 'string' || this.isRepeat(t, result)) return;
    t.lastResource = result.resource;
    t.banked.push({ result, workerTime: t.trainedBefore });
  }

  async start(trialId: number, config: Config): Promise<void> {
    if (this.closed) throw new Error('local backend: closed');
    if (this.trials.has(trialId)) throw new Error(`local backend: trial ${trialId} exists already`);
    const t: LocalTrial = { config, status: 'running', lastResource: null, processReports: 0, logEnd: 0, iter: 0, trainedBefore: 0, lastReportAt: 0, banked: [] };
    this.trials.set(trialId, t);
    this.setStatus(trialId, t, 'running');
    this.launch(trialId, t);
  }

  /**
   * Also a trial that ended but whose end the tuner has not taken in yet (it decided on an
   * earlier result): it resumes by running again from its checkpoint.
   */
  async pause(trialId: number): Promise<void> {
    const t = this.trials.get(trialId);
    if (!t || t.status === 'paused' || t.status === 'stopped') return;
    this.setStatus(trialId, t, 'paused');
    if (t.run) t.run.paused = true;
    this.detach(t);
    t.banked.push(...this.takeEvents(trialId));
  }

  async stop(trialId: number): Promise<void> {
    const t = this.trials.get(trialId);
    if (!t || t.status === 'stopped') return;
    this.setStatus(trialId, t, 'stopped');
    this.detach(t);
    this.takeEvents(trialId);
    t.banked = [];
  }

  async resume(trialId: number): Promise<void> {
    const t = this.trials.get(trialId);
    if (!t || t.status !== 'paused') throw new Error(`local backend: trial ${trialId} is not paused`);
    if (this.closed) throw new Error('local backend: closed');
    this.setStatus(trialId, t, 'running');
    if (t.relaunching) return;
    t.relaunching = true;
    // the paused process must be gone before its successor opens the same checkpoint folder
    void (t.lastRun?.ended ?? Promise.resolve()).then(() => {
      t.relaunching = false;
      if (t.status !== 'running' || this.closed) return;
      for (const banked of t.banked.splice(0)) this.deliver(trialId, banked);
      this.launch(trialId, t);
    });
  }

  /** Fails trials that went quiet for too long; returns when the next one would be due (backend clock). */
  private checkTimeouts(): number {
    const limit = this.options.trialTimeout;
    if (limit === undefined) return Infinity;
    const now = this.now();
    let next = Infinity;
    for (const id of [...this.running]) {
      const t = this.trials.get(id)!;
      if (!t.run || t.run.exited) continue;
      const due = t.lastReportAt + limit;
      if (now > due) this.fail(id, `no report for ${limit} s (hung?); killed`);
      else next = Math.min(next, due);
    }
    return next;
  }

  /**
   * Blocks until an event, `deadline`, or the next trial timeout; never busy. Hands out at most one
   * result per trial (and a trial's later events after it): the tuner's decision on it comes
   * first, so that a pause banks what follows instead of the tuner dropping it.
   */
  async poll(deadline: number): Promise<PollResult> {
    for (;;) {
      const nextTimeout = this.checkTimeouts();
      const now = this.now();
      // with nothing running no event can come
      if (this.events.length > 0 || now >= deadline || this.running.size === 0 || this.interrupted || this.closed) break;
      const wait = (Math.min(deadline, nextTimeout) - now) * 1000;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(MAX_TIMER_MS, Math.max(1, wait)));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    this.interrupted = false;
    const out: PollResult = { results: [], completed: [], failed: [] };
    const held = new Set<number>();
    const withResult = new Set<number>();
    const rest: BackendEvent[] = [];
    for (const [i, e] of this.events.entries()) {
      if (held.has(e.trialId) || (e.kind === 'result' && withResult.has(e.trialId))) {
        held.add(e.trialId);
        rest.push(e);
      } else if (e.kind === 'result') {
        withResult.add(e.trialId);
        // the last result of a trial that has already exited cleanly is final too
        const next = this.events.slice(i + 1).find((n) => n.trialId === e.trialId);
        const final = this.atMaxResource(e.result) || next?.kind === 'completed';
        out.results.push({ trialId: e.trialId, result: e.result, time: e.time, workerTime: e.workerTime, workerIter: this.trials.get(e.trialId)!.iter++, ...(final && { final }) });
      } else if (e.kind === 'completed') out.completed.push(e.trialId);
      else out.failed.push({ trialId: e.trialId, error: e.error });
    }
    this.events = rest;
    return out;
  }

  interrupt(): void {
    this.interrupted = true;
    this.notify();
  }

  /**
   * Enough to continue after a crash: the clock, and the trials (those that were running are
   * restarted from their checkpoints), with the events not handed out yet and where each trial's
   * log was read up to.
   */
  state() {
    const now = this.now();
    const pending = new Map<number, BackendEvent[]>();
    for (const e of this.events) pending.set(e.trialId, [...(pending.get(e.trialId) ?? []), e]);
    return {
      time: now,
      trials: [...this.trials].map(([id, t]): [number, SavedTrial] => [
        id,
        {
          config: t.config,
          status: t.status,
          lastResource: t.lastResource,
          processReports: t.processReports,
          logEnd: t.logEnd,
          iter: t.iter,
          trainedBefore: t.trainedBefore + (t.segmentStart === undefined ? 0 : now - t.segmentStart),
          banked: t.banked,
          pending: pending.get(id) ?? [],
        },
      ]),
    };
  }

  /**
   * Continues from a state(): events not handed out are handed out first; a running or paused
   * trial's reports printed after the state was taken are recovered from its log (a trial
   * restarted from its own checkpoint does not print them again), a running one is restarted. The
   * checkpoint folders of trials the state does not know (started in the instant before a crash)
   * are emptied, so that the trial given their id next starts clean.
   */
  async restore(state: unknown): Promise<void> {
    const s = state as { time?: number; trials: [number, SavedTrial][] };
    this.clockBase = s.time ?? 0;
    this.clockStart = performance.now();
    this.removeUnknownCheckpoints(new Set(s.trials.map(([id]) => id)));
    for (const [id, { pending = [], ...saved }] of s.trials) {
      // a checkpoint of an earlier version lacks the log offset: its whole log is read, repeats dropped
      const t: LocalTrial = { processReports: 0, logEnd: 0, ...saved, banked: saved.banked ?? [], lastReportAt: 0 };
      this.trials.set(id, t);
      this.setStatus(id, t, t.status);
      if (t.status === 'done') {
        for (const e of pending) this.push({ ...e, trialId: id });
      } else if (t.status !== 'stopped') {
        t.banked.push(...pending.flatMap((e) => (e.kind === 'result' ? [{ result: e.result, workerTime: e.workerTime }] : [])));
        this.recover(id, t);
        if (t.status === 'running') {
          for (const banked of t.banked.splice(0)) this.deliver(id, banked);
          this.launch(id, t);
        }
      }
    }
  }

  private logPath(trialId: number, stream: 'stdout' | 'stderr'): string {
    return join(this.options.logsDir, `trial-${trialId}.${stream}`);
  }

  /** Banks the reports the trial's log holds past `logEnd`, as a paused trial's late ones; a line cut short by a crash is not one. */
  private recover(trialId: number, t: LocalTrial) {
    const before = t.banked.length;
    const lines = new ReportLines((text) => {
      t.processReports++;
      this.bank(t, text);
    });
    lines.push(readFrom(this.logPath(trialId, 'stdout'), t.logEnd));
    lines.end(false);
    this.recoveredReports += t.banked.length - before;
  }

  private removeUnknownCheckpoints(known: Set<number>) {
    const dir = this.options.checkpointsDir;
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      if (/^\d+$/.test(name) && !known.has(Number(name))) rmSync(join(dir, name), { recursive: true, force: true });
    }
  }

  /** Ends every trial's process group; resolves once all are gone. Trials keep their status, for a checkpoint. */
  async close(): Promise<void> {
    this.closed = true;
    this.notify();
    for (const run of this.runs) void run.end();
    await Promise.all([...this.runs].map((run) => run.ended));
  }
}
