import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { ExperimentDefinition } from '../experiment/load.js';
import { deadline } from '../util/deadline.js';
import { LeaseHeartbeat } from './heartbeat.js';
import { UserError } from '../util/errors.js';
import type { ExperimentFileData } from '../experiment/schema.js';
import type { OpenStudyOptions, StudyHandle, StudyOverview } from './handle.js';
import type { StudyBest, StudyFront, StudyStatusReport } from './status.js';
import { isTransient, withRetry } from './storage/open.js';
import type { LogLine, LogRecord, StudyStatus, WorkerIdentity } from './storage/store.js';
import { loopWorkers, optimizeLoop } from './optimize.js';
import { type AskResult, type CreateStudyOptions, type Objective, type OptimizeOptions, type OptimizeSummary, StudyError, type TellOptions, newWorkerIdentity, rebuildDefinition } from './study.js';
import { type ApiError, type ApiExperiment, type ApiHeartbeat, type ApiLogs, type ApiPagination, type ApiSuggestion, type ApiTellAndAsk, REQUEST_ID_HEADER, WORKER_HEADERS } from './wire.js';

/** Seconds one HTTP request may take before it is given up (and retried). */
const REQUEST_TIMEOUT = 30;

/** The environment variable of the API token (a child process gets it there, never in argv). */
export const TOKEN_ENV = 'TUNELAB_TOKEN';

/** The token given, else $TUNELAB_TOKEN, which is then removed from this process's environment so that the trials it starts do not inherit it. */
export function takeToken(given?: string): string | undefined {
  const token = given ?? process.env[TOKEN_ENV];
  delete process.env[TOKEN_ENV];
  return token;
}

/** A study server's URL taken apart: its base (anything before /v1/) and the experiment's id, if it names one. */
export function parseServerUrl(url: string): { base: string; id?: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UserError(`'${url}' is not a valid URL; expected http(s)://host:port[/v1/experiments/<id>]`);
  }
  const m = /^(.*?)(?:\/v1\/experiments\/(\d+))?\/?$/.exec(u.pathname);
  if (!m || u.username || u.password || u.search || /\/v1(\/|$)/.test(m[1])) {
    throw new UserError(`'${u.origin}${u.pathname}' is not a study server's URL; expected http(s)://host:port[/v1/experiments/<id>] (the token goes in $${TOKEN_ENV} or --token_file, never in the URL)`);
  }
  return { base: `${u.origin}${m[1]}`, ...(m[2] !== undefined && { id: m[2] }) };
}

/** The study's URL taken apart: the server's base and the experiment's id. */
export function parseStudyUrl(url: string): { base: string; id: string } {
  const { base, id } = parseServerUrl(url);
  if (id === undefined) throw new UserError(`'${url}' does not name a study on a server; expected http(s)://host:port/v1/experiments/<id>`);
  return { base, id };
}

/**
 * The URL of a study given by `<study>` and `--storage`: the study's own URL, or its id on the
 * server `storage` names (a study on a server is named by its id: the server lists no names).
 */
export function serverStudyUrl(study: string | number, storage: string | undefined): string {
  const s = String(study);
  if (/^https?:\/\//i.test(s)) {
    parseStudyUrl(s);
    return s;
  }
  const { base, id } = parseServerUrl(storage!);
  if (id !== undefined && id !== s) throw new UserError(`study ${s} is not the study --storage ${storage} names (${id}); give one of them`);
  if (!/^\d+$/.test(s)) throw new UserError(`study '${s}': a study on a server is named by its id (its URL: ${base}/v1/experiments/<id>), not by its name`);
  return `${base}/v1/experiments/${s}`;
}

/** A failed request worth trying again (the server unreachable, restarting or overloaded), in the form withRetry knows. */
class TransientError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** A non-2xx answer of the server, with SigOpt's error body. */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiError['error'],
  ) {
    super(body.message);
  }
}

/**
 * The JSON client of a study server: every request with a timeout, and retried with backoff (full
 * jitter) while the server is unreachable, restarting or answering 502-504, for `storageTimeout`
 * seconds. Keep-alive connections (Node's fetch pools them).
 */
export class ApiClient {
  private readonly auth: Record<string, string>;

  constructor(
    readonly base: string,
    token: string | undefined,
    private readonly options: { storageTimeout?: number; onRetry?: (line: string) => void } = {},
  ) {
    this.auth = token ? { authorization: `Bearer ${token}` } : {};
  }

  async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    return withRetry(`${method} ${path}`, () => this.once<T>(method, path, body, headers), { ...this.options, url: this.base });
  }

  private async once<T>(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<T> {
    const limit = deadline(REQUEST_TIMEOUT * 1000);
    try {
      return await this.answer<T>(method, path, body, headers, limit.signal);
    } finally {
      limit.clear();
    }
  }

  private async answer<T>(method: string, path: string, body: unknown, headers: Record<string, string>, signal: AbortSignal): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: { ...this.auth, ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      if (err.name === 'TimeoutError') throw new TransientError(`no answer within ${REQUEST_TIMEOUT} s`, 'ETIMEDOUT');
      // any failure to connect or to read the answer (undici's socket errors among them) is worth a retry
      const code = err.cause?.code;
      throw new TransientError(`${code && !isTransient({ code }) ? `${code}: ` : ''}${err.cause?.message ?? err.message}`, code && isTransient({ code }) ? code : 'ECONNRESET');
    }
    const text = await res.text().catch((e: Error) => {
      if (e.name === 'TimeoutError') throw new TransientError(`no answer within ${REQUEST_TIMEOUT} s`, 'ETIMEDOUT');
      throw new TransientError(`the answer was cut off: ${e.message}`, 'ECONNRESET');
    });
    if (res.status >= 502 && res.status <= 504) throw new TransientError(`HTTP ${res.status}`, 'ECONNREFUSED');
    const json = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) {
      const error = (json as ApiError | undefined)?.error ?? { message: `HTTP ${res.status}`, status: res.status };
      if (res.status === 401) throw new UserError(`${this.base} refused the API token (401: ${error.message}); set $TUNELAB_TOKEN or --token_file to a token of the server's --token_file`);
      // 409 is an answer the callers act on (no suggestion now, an observation refused); any other is the end
      if (res.status === 409) throw new ApiRequestError(res.status, error);
      throw new UserError(`${this.base}: ${method} ${path}: HTTP ${res.status}: ${error.message}`, res.status === 404 ? 2 : 1);
    }
    return json as T;
  }
}

/**
 * A study on a study server (`tunelab server`), for a worker: the same surface as a Study in a
 * store (StudyHandle), over HTTP. The server holds the searchers and the store; this process holds
 * its suggestions under leases that it renews with heartbeats, as a Study does with the store.
 */
export class RemoteStudy implements StudyHandle, StudyOverview {
  readonly worker: WorkerIdentity;
  private readonly held = new Set<number>();
  private readonly lost = new Set<number>();
  private stopListeners: ((mode: 'finish' | 'abandon') => void)[] = [];
  private lostListeners: ((suggestionId: number) => void)[] = [];
  private readonly heartbeat = new LeaseHeartbeat(
    () => this.renewNow(),
    () => this.closed,
  );
  private renewing: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly api: ApiClient,
    private readonly path: string,
    private experiment: ApiExperiment,
    readonly definition: ExperimentDefinition,
  ) {
    this.worker = newWorkerIdentity();
  }

  get id(): number {
    return Number(this.experiment.id);
  }

  get name(): string {
    return this.experiment.name;
  }

  get method(): string {
    return this.experiment.tunelab.method;
  }

  get createdSeconds(): number {
    return this.experiment.created;
  }

  get location(): string {
    return `${this.api.base}${this.path}`;
  }

  private get headers(): Record<string, string> {
    return { [WORKER_HEADERS.id]: this.worker.workerId, [WORKER_HEADERS.host]: this.worker.host, [WORKER_HEADERS.pid]: String(this.worker.pid) };
  }

  /** The worker's headers and a new request id (ApiClient.request sends the same headers with each of its retries). */
  private requestHeaders(): Record<string, string> {
    return { ...this.headers, [REQUEST_ID_HEADER]: randomUUID() };
  }

  onStop(listener: (mode: 'finish' | 'abandon') => void): void {
    this.stopListeners.push(listener);
  }

  onLost(listener: (suggestionId: number) => void): void {
    this.lostListeners.push(listener);
  }

  async refresh(): Promise<{ status: StudyStatus }> {
    this.experiment = await this.api.request<ApiExperiment>('GET', this.path);
    return { status: this.experiment.tunelab.status };
  }

  /** The server's status report, the study named by its URL here. */
  async statusReport(): Promise<StudyStatusReport> {
    const report = await this.api.request<Omit<StudyStatusReport, 'storage'>>('GET', `${this.path}/status`);
    return { ...report, storage: this.location };
  }

  async best(): Promise<StudyBest | undefined> {
    return (await this.statusReport()).best;
  }

  async front(): Promise<StudyFront | undefined> {
    return (await this.statusReport()).front;
  }

  async stop(abandon: boolean): Promise<void> {
    this.experiment = await this.api.request<ApiExperiment>('POST', `${this.path}/stop`, { abandon });
  }

  async readLogs(after: number, limit: number): Promise<LogRecord[]> {
    const r = await this.api.request<ApiLogs>('GET', `${this.path}/logs?after=${after}&limit=${Math.min(limit, 1000)}`);
    return r.data.map((l) => ({ id: l.id, suggestionId: Number(l.suggestion), workerId: l.worker, stream: l.stream, line: l.line, time: l.time }));
  }

  async openCount(): Promise<number> {
    return (await this.api.request<ApiPagination<ApiSuggestion>>('GET', `${this.path}/suggestions?state=open&limit=1`)).count;
  }

  async ask(): Promise<AskResult | undefined> {
    for (let wait = 50; ; wait = Math.min(2000, wait * 1.5)) {
      try {
        return this.hold(await this.api.request<ApiSuggestion>('POST', `${this.path}/suggestions`, {}, this.requestHeaders()));
      } catch (e) {
        if (!(e instanceof ApiRequestError && e.status === 409)) throw e;
        if (e.body.reason !== 'wait') return undefined;
      }
      // every slot is taken by open suggestions that may still fail or be recovered; jittered polls
      await new Promise((r) => setTimeout(r, wait * (0.5 + Math.random())));
    }
  }

  /** A suggestion handed to this worker: held, its lease renewed from now on. */
  private hold(s: ApiSuggestion): AskResult {
    const id = Number(s.id);
    this.held.add(id);
    this.heartbeat.start(this.definition.study.leaseSeconds);
    return { suggestionId: id, config: s.assignments };
  }

  async report(suggestionId: number, resource: number, value: number, metrics: Record<string, number> = {}): Promise<'continue' | 'stop'> {
    const values = Object.entries({ ...metrics, [this.definition.metric]: value }).map(([name, v]) => ({ name, value: v }));
    const r = await this.api.request<{ decision: 'continue' | 'stop' }>('POST', `${this.path}/suggestions/${suggestionId}/reports`, { resource, values }, this.headers);
    return r.decision;
  }

  isLost(suggestionId: number): boolean {
    return this.lost.has(suggestionId);
  }

  async abandon(suggestionId: number): Promise<void> {
    this.held.delete(suggestionId);
    await this.api.request('DELETE', `${this.path}/suggestions/${suggestionId}`, undefined, this.headers);
  }

  async release(suggestionId: number): Promise<void> {
    this.held.delete(suggestionId);
    await this.api.request('POST', `${this.path}/suggestions/${suggestionId}/release`, undefined, this.headers);
  }

  /** The body of POST …/observations (and …/tell_and_ask); a StudyError for a suggestion known lost. */
  private observationBody(suggestionId: number, values: number | Record<string, number> | undefined, options: TellOptions) {
    if (this.lost.has(suggestionId)) throw new StudyError(`suggestion ${suggestionId} was lost (its lease expired and it was recovered, or it was abandoned); the observation is dropped`);
    const metrics = typeof values === 'number' ? { [this.definition.metric]: values } : (values ?? {});
    const failed = options.failed ?? false;
    return { suggestion: String(suggestionId), failed, metadata: options.metadata ?? {}, ...(failed ? {} : { values: Object.entries(metrics).map(([name, value]) => ({ name, value })) }) };
  }

  async tell(suggestionId: number, values: number | Record<string, number> | undefined, options: TellOptions = {}): Promise<void> {
    const body = this.observationBody(suggestionId, values, options);
    try {
      await this.api.request('POST', `${this.path}/observations`, body, this.headers);
    } catch (e) {
      if (e instanceof ApiRequestError && e.status === 409) throw new StudyError(`${e.message}; the observation is dropped`);
      throw e;
    } finally {
      this.held.delete(suggestionId);
    }
  }

  /** tell, then ask, in one request (POST …/tell_and_ask); polls as ask does while every slot is taken. */
  async tellAndAsk(suggestionId: number, values: number | Record<string, number> | undefined, options: TellOptions = {}): Promise<{ next?: AskResult; refused?: string }> {
    let body;
    try {
      body = this.observationBody(suggestionId, values, options);
    } catch (e) {
      if (!(e instanceof StudyError)) throw e;
      return { next: await this.ask(), refused: e.message };
    }
    let r: ApiTellAndAsk;
    try {
      r = await this.api.request<ApiTellAndAsk>('POST', `${this.path}/tell_and_ask`, body, this.requestHeaders());
    } finally {
      this.held.delete(suggestionId);
    }
    const refused = r.refused === null ? undefined : `${r.refused}; the observation is dropped`;
    if (r.suggestion) return { next: this.hold(r.suggestion), refused };
    return { next: r.reason === 'wait' ? await this.ask() : undefined, refused };
  }

  async appendLogs(lines: readonly LogLine[]): Promise<void> {
    if (lines.length === 0) return;
    await this.api.request('POST', `${this.path}/logs`, { lines: lines.map((l) => ({ suggestion: String(l.suggestionId), stream: l.stream, line: l.line, time: l.time })) }, this.headers);
  }

  async workerExited(worker: WorkerIdentity): Promise<void> {
    await this.api.request('DELETE', `${this.path}/workers/${encodeURIComponent(worker.workerId)}`, undefined, this.headers);
  }

  onStoreFailure(listener: (error: Error) => void): void {
    this.heartbeat.onFailure(listener);
  }

  /** A heartbeat: extends the leases of the held suggestions; learns of `study stop` and of lost suggestions. */
  async renewNow(): Promise<void> {
    if (this.renewing) return this.renewing;
    this.renewing = (async () => {
      if (this.held.size === 0) return;
      const ids = [...this.held];
      const beat = await this.api.request<ApiHeartbeat>('POST', `${this.path}/heartbeat`, { suggestions: ids.map(String) }, this.headers);
      for (const id of beat.lost.map(Number)) {
        if (!this.held.delete(id)) continue;
        this.lost.add(id);
        for (const l of this.lostListeners) l(id);
      }
      if (beat.status === 'stopped' && beat.stop_mode) for (const l of this.stopListeners) l(beat.stop_mode);
    })().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  /**
   * Study.optimize over HTTP: `workers` concurrent evaluations in this process, each a worker of the
   * study (this one and siblings on the same connection), until the budget is met or the study stops.
   */
  async optimize(objective: Objective, options: OptimizeOptions = {}): Promise<OptimizeSummary> {
    const n = loopWorkers(options.workers);
    const workers: RemoteStudy[] = [this, ...Array.from({ length: n - 1 }, () => new RemoteStudy(this.api, this.path, this.experiment, this.definition))];
    const state: { failure?: Error } = {};
    for (const w of workers) w.onStoreFailure((e) => (state.failure ??= e));
    try {
      const summary = await optimizeLoop(workers, objective, this.definition.maxFailures, state, (m) => new StudyError(m));
      for (const w of workers) await w.workerExited(w.worker);
      if (state.failure) throw state.failure;
      return summary;
    } finally {
      for (const w of workers.slice(1)) await w.close();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.heartbeat.stop();
    await this.renewing?.catch(() => undefined);
  }
}

/** Connects to a study on a server by its URL; the token as takeToken finds it. */
export async function connectStudy(url: string, options: OpenStudyOptions = {}): Promise<RemoteStudy> {
  const { base, id } = parseStudyUrl(url);
  const api = new ApiClient(base, takeToken(options.token), { storageTimeout: options.storageTimeout, onRetry: options.onRetry });
  return remoteStudy(api, await api.request<ApiExperiment>('GET', `/v1/experiments/${id}`));
}

function remoteStudy(api: ApiClient, experiment: ApiExperiment): RemoteStudy {
  const definition = rebuildDefinition(experiment.tunelab.definition);
  // the creating machine's folder, when this machine has it; else the worker's own
  if (!existsSync(definition.cwd)) definition.cwd = process.cwd();
  return new RemoteStudy(api, `/v1/experiments/${experiment.id}`, experiment, definition);
}

/** An experiment file's parameter in SigOpt's form (the study server's POST /v1/experiments). */
function sigoptParameter(p: ExperimentFileData['parameters'][number]) {
  return {
    name: p.name,
    type: p.type,
    ...(p.bounds && { bounds: { min: p.bounds.min, max: p.bounds.max } }),
    ...(p.log && { transformation: 'log' }),
    ...(p.categorical_values && { categorical_values: p.categorical_values.map((v) => (typeof v === 'string' ? v : v.name)) }),
    ...(p.grid && { grid: p.grid }),
    ...(p.values && { values: p.values }),
    ...(p.value !== undefined && { value: p.value }),
  };
}

/** What a study tunes, in one form whether it came from a file or back from the server: two studies tune the same problem when these match. */
function problemOf(s: ExperimentFileData): Record<string, string> {
  return {
    parameters: JSON.stringify(s.parameters.map(sigoptParameter)),
    // a metric without objective is minimised (the file's default), which the server stores as said
    metrics: JSON.stringify(s.metrics.map((m) => [m.name, m.objective ?? 'minimize', m.strategy, m.threshold ?? null])),
    resource: JSON.stringify(s.resource ?? null),
    method: JSON.stringify(s.method ?? null),
  };
}

/** POST /v1/experiments' body for an experiment file: SigOpt's fields, and the file's own where SigOpt has none. */
export function experimentBody(definition: ExperimentDefinition, name: string): Record<string, unknown> {
  const s = definition.source;
  const { max_trials: budget, ...rest } = s.budget;
  if (budget === undefined) throw new UserError(`${definition.file ?? 'the experiment'}: a study on a server needs budget.max_trials (SigOpt's observation_budget)`);
  const own = Object.fromEntries(
    (['description', 'command', 'env', 'resource', 'method', 'method_options', 'study', 'random_seed', 'max_failures', 'trial_timeout', 'resources', 'points_to_evaluate', 'best'] as const).flatMap((k) => (s[k] === undefined ? [] : [[k, s[k]]])),
  );
  return {
    name,
    parameters: s.parameters.map(sigoptParameter),
    metrics: s.metrics.map((m) => ({ name: m.name, objective: m.objective ?? 'minimize', strategy: m.strategy, ...(m.threshold !== undefined && { threshold: m.threshold }) })),
    observation_budget: budget,
    parallel_bandwidth: s.parallel_bandwidth,
    ...own,
    // the folder the file's command runs in, resolved here (workers on machines without it use their own)
    cwd: definition.cwd,
    ...(Object.keys(rest).length > 0 && { budget: rest }),
  };
}

/**
 * `createStudy` with a study server's URL: the experiment created on the server (or, with
 * `loadIfExists`, the one of that name joined if it tunes the same problem); a URL naming an
 * experiment joins that one, which must tune the same problem.
 */
export async function createRemoteStudy(definition: ExperimentDefinition, url: string, options: CreateStudyOptions = {}): Promise<RemoteStudy> {
  const { base, id } = parseServerUrl(url);
  const api = new ApiClient(base, takeToken(options.token), { storageTimeout: options.storageTimeout, onRetry: options.onRetry });
  const name = options.name ?? definition.name;
  let existing = id;
  if (existing === undefined) {
    try {
      return remoteStudy(api, await api.request<ApiExperiment>('POST', '/v1/experiments', experimentBody(definition, name)));
    } catch (e) {
      if (!(e instanceof ApiRequestError && e.body.reason === 'exists' && e.body.experiment)) throw e;
      if (!options.loadIfExists) throw new UserError(`a study named '${name}' exists on ${base} (id ${e.body.experiment}); load it, or give another name`);
      existing = e.body.experiment;
    }
  }
  const experiment = await api.request<ApiExperiment>('GET', `/v1/experiments/${existing}`);
  const [theirs, ours] = [problemOf(experiment.tunelab.definition.source), problemOf(definition.source)];
  const changed = Object.keys(ours).filter((k) => theirs[k] !== ours[k]);
  if (changed.length > 0) throw new UserError(`study ${experiment.id} '${experiment.name}' on ${base} tunes another problem (its ${changed.join(', ')} differ from ${definition.file ?? 'the definition'}); give another name`);
  return remoteStudy(api, experiment);
}
