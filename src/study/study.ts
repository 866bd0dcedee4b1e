import { randomBytes, randomInt } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '../config-space/index.js';
import { type ExperimentDefinition, defaultMethod, loadExperiment, parseExperiment } from '../experiment/load.js';
import { experimentFileOptions } from '../methods/registry.js';
import { UserError, unknownName } from '../util/errors.js';
import { checkPathPart } from '../util/path-part.js';
import { createRng } from '../util/rng.js';
import { StudyCache } from './storage/cache.js';
import { type StudyHandle, type StudyOverview, isServerUrl } from './handle.js';
import type { RemoteStudy } from './remote.js';
import { type LoopWorker, loopWorkers, optimizeLoop } from './optimize.js';
import { bestOfStudy, frontOfStudy, stopStudy, studyStatus } from './status.js';
import { type OpenStoreOptions, openStore } from './storage/open.js';
import { LeaseHeartbeat } from './heartbeat.js';
import { MULTI_OBJECTIVE_STUDY_METHODS, type Plan, STUDY_METHODS, bufferLimits, outstandingTarget, type StudyMethod, type StudyPlanContext, createStudySearcher, freshConfigs, planClaim, refillNeed, rungRule, suggestionLimits } from './planner.js';
import type { FreeClaim, FreeRefusal, LogLine, NewObservation, RungRule, StoredDefinition, StudyRecord, StudyStore, TellOutcome, WorkerIdentity } from './storage/store.js';

export interface StudyOptions extends OpenStoreOptions {
  /** `--storage`: a SQLite file or a postgresql:// URL (default: `<results root>/studies.db`). */
  storage?: string;
  /** An open store to use instead (not closed by the study). */
  store?: StudyStore;
  /**
   * The suggestions are held by workers elsewhere that renew their own leases (the study server,
   * whose clients send heartbeats): this process neither tracks nor renews what it hands out.
   */
  remoteWorkers?: boolean;
  /** With a study server's URL as `storage`: the API token (default: $TUNELAB_TOKEN, then removed from the environment). */
  token?: string;
}

/** A study server's URL (`tunelab server`): `createStudy` and `loadStudy` then give a RemoteStudy. */
export type ServerUrl = `http://${string}` | `https://${string}`;

export interface CreateStudyOptions extends StudyOptions {
  /** The study's name (default: the experiment's name); names are unique in a store. */
  name?: string;
  /** With a study of that name already in the store: load it (if it tunes the same problem) rather than fail. */
  loadIfExists?: boolean;
  /** SigOpt's experiment metadata, kept with the study (the study server's experiments). */
  metadata?: Record<string, unknown>;
}

export interface AskResult {
  suggestionId: number;
  config: Config;
}

/** One attempt at a suggestion: one, or why there is none (`wait`: every slot is taken for now, asking later may succeed). */
export type AskAttempt = { suggestion: AskResult } | { none: 'budget' | 'stopped' | 'exhausted' | 'wait' };

export interface TellOptions {
  failed?: boolean;
  /** Anything worth keeping with the observation (the worker's id, host, pid and the duration are added). */
  metadata?: Record<string, unknown>;
}

/** What an objective gets besides its config. */
export interface TrialContext {
  suggestionId: number;
  /** An intermediate result; 'stop' when ASHA stops the trial across workers (the objective should return then). */
  report(resource: number, value: number, metrics?: Record<string, number>): Promise<'continue' | 'stop'>;
}

export type Objective = (config: Config, trial: TrialContext) => Promise<number | Record<string, number>> | number | Record<string, number>;

export interface OptimizeOptions {
  /** Concurrent evaluations in this process, each a worker of the study (default 1). */
  workers?: number;
}

export interface OptimizeSummary {
  observations: number;
  failed: number;
  /** Suggestions this process lost to another worker (its lease had expired). */
  lost: number;
}


/** A new worker identity: host, pid and a random part (several workers may share a process). */
export function newWorkerIdentity(): WorkerIdentity {
  return { workerId: `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`, host: hostname(), pid: process.pid };
}

/** The method a definition runs in a study; only the methods a shared store can serve. */
export function studyMethod(definition: ExperimentDefinition): StudyMethod {
  const several = definition.objectives.length > 1;
  const method = definition.method ?? defaultMethod(Boolean(definition.resource), several);
  const fitting = several ? MULTI_OBJECTIVE_STUDY_METHODS : STUDY_METHODS.filter((m) => !(MULTI_OBJECTIVE_STUDY_METHODS as readonly string[]).includes(m));
  if (!(STUDY_METHODS as readonly string[]).includes(method)) {
    const why = method === 'MO-ASHA' ? " (its rungs rank points of several objectives, and the store's rungs hold one value each)" : '';
    throw new UserError(`${definition.file ?? definition.name}: method '${method}' cannot run as a shared study${why}; valid methods for a study${several ? ` with several objectives` : ''}: ${fitting.join(', ')}`);
  }
  if (several && !(fitting as readonly string[]).includes(method)) {
    throw new UserError(`${definition.file ?? definition.name}: method '${method}' optimises one objective, and this file has ${definition.objectives.length} (${definition.objectives.map((o) => o.metric).join(', ')}); valid methods for a study with several objectives: ${fitting.join(', ')}`);
  }
  if (method === 'ASHA' && !definition.resource) throw new UserError(`${definition.file ?? definition.name}: method ASHA needs resource: {name, max} in the file`);
  return method as StudyMethod;
}

/**
 * Every objective's value in `metrics`, in the definition's order, or the first objective that is
 * missing or not a number.
 */
export function objectiveValues(definition: Pick<ExperimentDefinition, 'objectives'>, metrics: Readonly<Record<string, unknown>>): { values: number[] } | { missing: string } {
  const values: number[] = [];
  for (const { metric } of definition.objectives) {
    const v = metrics[metric];
    if (typeof v !== 'number' || Number.isNaN(v)) return { missing: metric };
    values.push(v);
  }
  return { values };
}

/** The definition a study was stored with, validated again. */
export function rebuildDefinition(stored: StoredDefinition): ExperimentDefinition {
  return { ...parseExperiment(stored.source, experimentFileOptions(), stored.file ? { file: stored.file } : undefined), cwd: stored.cwd };
}

/** `store` opened for a study: closed with it unless the caller gave it. */
async function storeFor(options: StudyOptions): Promise<{ store: StudyStore; owned: boolean }> {
  if (options.store) return { store: options.store, owned: false };
  return { store: await openStore(options.storage, options), owned: true };
}

/**
 * Puts an experiment (a definition, or the path of an experiment file) in a store as a new study
 * (DESIGN.md §7). Its method must be one a study serves (RS, BO, ASHA); its budget's max_trials is
 * the number of observations across all workers.
 */
export async function createStudy(experiment: ExperimentDefinition | string | Readonly<Record<string, unknown>>, options: CreateStudyOptions & { storage: ServerUrl }): Promise<RemoteStudy>;
export async function createStudy(experiment: ExperimentDefinition | string | Readonly<Record<string, unknown>>, options?: CreateStudyOptions): Promise<Study>;
export async function createStudy(experiment: ExperimentDefinition | string | Readonly<Record<string, unknown>>, options: CreateStudyOptions = {}): Promise<Study | RemoteStudy> {
  const definition = await loadExperiment(experiment);
  if (options.storage !== undefined && isServerUrl(options.storage)) {
    const { createRemoteStudy } = await import('./remote.js');
    return createRemoteStudy(definition, options.storage, options);
  }
  const method = studyMethod(definition);
  // the name becomes a folder (study export, the workers' logs): checked before anything is written
  const name = checkPathPart('--name (the study name)', options.name ?? definition.name);
  const { store, owned } = await storeFor(options);
  try {
    const existing = await store.findStudy(name);
    if (existing) {
      if (!options.loadIfExists) throw new UserError(`a study named '${name}' exists in ${store.url} (id ${existing.id}); load it, or give another name`);
      const before = existing.definition.source;
      const changed = (['parameters', 'metrics', 'resource', 'method'] as const).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(definition.source[k]));
      if (changed.length > 0) throw new UserError(`study '${name}' in ${store.url} tunes another problem (its ${changed.join(', ')} differ from ${definition.file ?? 'the definition'}); give another name`);
      return new Study(store, existing, rebuildDefinition(existing.definition), owned, options.remoteWorkers);
    }
    const stored: StoredDefinition = { source: definition.source, file: definition.file, cwd: definition.cwd, method, randomSeed: definition.randomSeed ?? randomInt(0, 2 ** 32), ...(options.metadata && { metadata: options.metadata }) };
    const record = await store.createStudy(name, stored);
    return new Study(store, record, definition, owned, options.remoteWorkers);
  } catch (e) {
    if (owned) await store.close();
    throw e;
  }
}

/**
 * Opens a study of a store by id or name; or a study on a study server, by its URL
 * (http://host:port/v1/experiments/<id>) or by its id with the server's URL as `storage`.
 */
export async function loadStudy(idOrName: ServerUrl, options?: StudyOptions): Promise<RemoteStudy>;
export async function loadStudy(idOrName: string | number, options: StudyOptions & { storage: ServerUrl }): Promise<RemoteStudy>;
export async function loadStudy(idOrName: string | number, options?: StudyOptions): Promise<Study>;
export async function loadStudy(idOrName: string | number, options: StudyOptions = {}): Promise<Study | RemoteStudy> {
  if (isServerUrl(idOrName) || (options.storage !== undefined && isServerUrl(options.storage))) {
    const { connectStudy, serverStudyUrl } = await import('./remote.js');
    return connectStudy(serverStudyUrl(idOrName, options.storage), options);
  }
  const { store, owned } = await storeFor(options);
  try {
    const record = await store.findStudy(String(idOrName));
    if (!record) {
      const names = (await store.listStudies()).map((s) => `${s.id} (${s.name})`);
      throw unknownName('study', String(idOrName), names.length ? names : ['none: create one with tunelab study create -f experiment.yml']);
    }
    return new Study(store, record, rebuildDefinition(record.definition), owned, options.remoteWorkers);
  } catch (e) {
    if (owned) await store.close();
    throw e;
  }
}

interface Held {
  worker: WorkerIdentity;
  claimedAt: number;
}

/**
 * A study in a store, as one process sees it. `ask` hands out suggestions under the store's lock,
 * leases are renewed while the suggestions are held, `report` applies ASHA across workers, `tell`
 * records the observation. Every worker of the process shares its cache of the study's rows.
 */
export class Study implements StudyHandle, StudyOverview {
  readonly id: number;
  readonly name: string;
  readonly method: StudyMethod;
  /** The default worker of `ask`/`report`/`tell`; `optimize` adds one per concurrent evaluation. */
  readonly worker: WorkerIdentity;
  private readonly ctx: StudyPlanContext;
  private readonly held = new Map<number, Held>();
  private readonly lost = new Set<number>();
  private readonly heartbeat = new LeaseHeartbeat(
    () => this.renewNow(),
    () => this.closed,
  );
  private renewing: Promise<void> | undefined;
  private refilling: Promise<void> | undefined;
  /** Transactions of this process under way that take the study's lock (PostgreSQL holds it across round trips). */
  private lockedCalls = 0;
  private readonly unlockWaiters: (() => void)[] = [];
  /** This process's workers that asked, until they exit: renewals keep their last_seen current, idle or not. */
  private readonly registered = new Map<string, WorkerIdentity>();
  private stopListeners: ((mode: 'finish' | 'abandon') => void)[] = [];
  private lostListeners: ((suggestionId: number) => void)[] = [];
  private closed = false;

  constructor(
    readonly store: StudyStore,
    private record: StudyRecord,
    readonly definition: ExperimentDefinition,
    private readonly ownsStore: boolean,
    private readonly remoteWorkers = false,
  ) {
    this.id = record.id;
    this.name = record.name;
    this.method = record.definition.method as StudyMethod;
    this.worker = newWorkerIdentity();
    const cache = new StudyCache();
    // each process draws its own random stream: the study's seed and this process's worker id
    const rng = createRng(`${record.definition.randomSeed}:${this.worker.workerId}`);
    this.ctx = { method: this.method, definition, settings: definition.study, searcher: createStudySearcher(this.method, definition, cache, rng), cache, rule: rungRule(this.method, definition) };
  }

  /** ASHA's stopping rule across workers (undefined for RS and BO). */
  get rule(): RungRule | undefined {
    return this.ctx.rule;
  }

  get leaseSeconds(): number {
    return this.definition.study.leaseSeconds;
  }

  get createdSeconds(): number {
    return Math.floor(this.record.createdAt / 1000);
  }

  /** Where the study lives, for messages: the store's URL without its password. */
  get location(): string {
    return this.store.url;
  }

  /** Trial output lines, kept in the store so that `study logs` works from any machine. */
  async appendLogs(lines: readonly LogLine[]): Promise<void> {
    await this.store.appendLogs(this.id, lines);
  }

  statusReport() {
    return studyStatus(this);
  }

  best() {
    return bestOfStudy(this);
  }

  front() {
    return frontOfStudy(this);
  }

  stop(abandon: boolean): Promise<void> {
    return stopStudy(this, abandon);
  }

  readLogs(after: number, limit: number) {
    return this.store.readLogs(this.id, after, limit);
  }

  async openCount(): Promise<number> {
    return (await this.store.listSuggestions(this.id, ['open'])).length;
  }

  /** The study's row as last read (status, stop mode). */
  async refresh(): Promise<StudyRecord> {
    this.record = (await this.store.findStudy(String(this.id))) ?? this.record;
    return this.record;
  }

  /** Called when `study stop` is seen (while renewing leases). */
  onStop(listener: (mode: 'finish' | 'abandon') => void): void {
    this.stopListeners.push(listener);
  }

  /** Called when a held suggestion was lost: its lease expired and another worker took it, or it was abandoned by hand. */
  onLost(listener: (suggestionId: number) => void): void {
    this.lostListeners.push(listener);
  }

  /**
   * Called once when a renewal fails (the store full, or unreachable past --storage_timeout): the
   * leases will lapse, so the caller should give its trials up and end.
   */
  onStoreFailure(listener: (error: Error) => void): void {
    this.heartbeat.onFailure(listener);
  }

  private async register(worker: WorkerIdentity): Promise<void> {
    if (this.registered.has(worker.workerId)) return;
    this.registered.set(worker.workerId, worker);
    await this.store.registerWorker(this.id, worker);
    // the server's remote workers renew for themselves (their heartbeats)
    if (!this.remoteWorkers) this.heartbeat.start(this.leaseSeconds);
  }

  /** Records that this process's worker ended (it no longer renews). */
  async workerExited(worker: WorkerIdentity): Promise<void> {
    this.registered.delete(worker.workerId);
    await this.store.workerExited(this.id, worker.workerId);
  }

  /**
   * A suggestion for `worker`, waiting while every slot (bandwidth, budget) is taken by open
   * suggestions that may still fail or be recovered; undefined once the budget is met, the space
   * exhausted or the study stopped.
   */
  async ask(worker: WorkerIdentity = this.worker): Promise<AskResult | undefined> {
    for (let wait = 20; ; wait = Math.min(1000, wait * 1.5)) {
      const attempt = await this.tryAsk(worker);
      if ('suggestion' in attempt) return attempt.suggestion;
      if (attempt.none !== 'wait') return undefined;
      // jittered, so that waiting workers do not poll in step
      await new Promise((r) => setTimeout(r, wait * (0.5 + Math.random())));
    }
  }

  /**
   * One attempt of ask's: a suggestion for `worker`, or why there is none now (the study server
   * answers with it). With `request` (a client's request id), a retry of the same request gets the
   * suggestion the first attempt claimed, and claims none (see StudyStore).
   */
  async tryAsk(worker: WorkerIdentity = this.worker, request?: string): Promise<AskAttempt> {
    await this.register(worker);
    const { searcher } = this.ctx;
    // the one-step path: a ready suggestion of the buffer, or a config that needs no view
    const blind = searcher.proposeBlind?.();
    if (blind || searcher.modelBased) {
      const free = await this.locked(() => this.store.claimIfFree(this.id, worker, this.leaseSeconds, blind, this.limits(), request));
      const taken = this.takeFree(free, blind, worker);
      if (taken) return { suggestion: taken };
      if (free) return { none: (free as FreeRefusal).none };
    }
    // the plan of the transaction that committed (a retried one plans again)
    const decided: { plan?: Plan } = {};
    const outcome = await this.locked(() =>
      this.store.suggest(
        this.id,
        worker,
        this.leaseSeconds,
        this.ctx.cache.cursor,
        (view) => {
          decided.plan = planClaim(this.ctx, view);
          return decided.plan.changes;
        },
        request,
      ),
    );
    this.record = outcome.view.study;
    if (outcome.claimed) {
      if (decided.plan?.refillDue) this.refillSoon();
      return { suggestion: this.claimed(outcome.claimed.id, outcome.claimed.config, worker) };
    }
    const result = decided.plan?.result;
    return { none: result === 'budget' || result === 'stopped' || result === 'exhausted' ? result : 'wait' };
  }

  private limits() {
    return suggestionLimits(this.definition, this.record.createdAt);
  }

  /** After a one-step claim: the blind config back to the searcher unless it became the suggestion, the buffer refilled if it runs low. */
  private takeFree(free: FreeClaim | FreeRefusal | undefined, blind: Config | undefined, worker: WorkerIdentity): AskResult | undefined {
    const { searcher } = this.ctx;
    // a ready suggestion was handed out rather than the blind config (a study's buffer), or a
    // retried request's first answer: keep it
    if (blind && (!free || 'none' in free || free.ready > 0 || free.replayed)) searcher.giveBack!(blind);
    if (!free || 'none' in free) return undefined;
    if (searcher.modelBased && outstandingTarget(this.ctx, free.done) > free.open + free.ready) this.refillSoon();
    return this.claimed(free.claimed.id, free.claimed.config, worker);
  }

  /** Runs a transaction that takes the study's lock, counted so that unlocked() can wait for none to be open. */
  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    this.lockedCalls++;
    try {
      return await fn();
    } finally {
      if (--this.lockedCalls === 0) for (const w of this.unlockWaiters.splice(0)) w();
    }
  }

  private unlocked(): Promise<void> {
    return new Promise((r) => this.unlockWaiters.push(r));
  }

  private claimed(suggestionId: number, config: Config, worker: WorkerIdentity): AskResult {
    if (!this.remoteWorkers) {
      this.held.set(suggestionId, { worker, claimedAt: Date.now() });
      this.heartbeat.start(this.leaseSeconds);
    }
    return { suggestionId, config };
  }

  /**
   * Refills the buffer off the asking worker's path (after its trial has started) and off the lock:
   * the model is fitted and the batch proposed from a snapshot read without the lock, then one short
   * transaction stores what is still missing. A failed refill leaves the buffer to the next ask.
   */
  private refillSoon(): void {
    if (this.refilling) return;
    this.refilling = (async () => {
      await new Promise<void>((r) => setImmediate(r));
      const view = await this.store.readView(this.id, this.ctx.cache.cursor);
      const need = refillNeed(this.ctx, view);
      if (need.n <= 0) return;
      // the fit blocks this process: only once the asking worker has gone on with its suggestion (a
      // macrotask later), and not while one of its transactions holds the study's lock (nothing runs
      // between the last check and the fit)
      for (;;) {
        await new Promise<void>((r) => setImmediate(r));
        if (this.lockedCalls === 0) break;
        await this.unlocked();
      }
      const configs = freshConfigs(this.ctx, view, this.ctx.searcher.propose(need.n, need.pending));
      // one short step under the lock: the store adds what the buffer still lacks
      await this.locked(() => this.store.addReady(this.id, configs, bufferLimits(this.ctx)));
    })()
      .catch(() => undefined)
      .finally(() => {
        this.refilling = undefined;
      });
  }

  /**
   * Extends the leases of every held suggestion, and the last_seen of every worker of this process
   * (an idle one too: `study status` tells a dead worker by it); learns of `study stop` and of lost suggestions.
   */
  async renewNow(): Promise<void> {
    if (this.renewing) return this.renewing;
    this.renewing = (async () => {
      const byWorker = new Map<string, { worker: WorkerIdentity; ids: number[] }>();
      for (const worker of this.registered.values()) byWorker.set(worker.workerId, { worker, ids: [] });
      for (const [id, h] of this.held) {
        const e = byWorker.get(h.worker.workerId) ?? { worker: h.worker, ids: [] };
        e.ids.push(id);
        byWorker.set(h.worker.workerId, e);
      }
      if (byWorker.size === 0) {
        this.heartbeat.stop();
        return;
      }
      for (const { worker, ids } of byWorker.values()) {
        const outcome = await this.store.renew(this.id, worker, ids, this.leaseSeconds);
        for (const id of outcome.lost) {
          if (!this.held.delete(id)) continue;
          this.lost.add(id);
          for (const l of this.lostListeners) l(id);
        }
        if (outcome.status === 'stopped' && outcome.stopMode) for (const l of this.stopListeners) l(outcome.stopMode);
      }
    })().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  /** The suggestion was held here and lost (see onLost). */
  isLost(suggestionId: number): boolean {
    return this.lost.has(suggestionId);
  }

  private holder(suggestionId: number, what: string): Held {
    const h = this.held.get(suggestionId);
    if (h) return h;
    if (this.lost.has(suggestionId)) throw new StudyError(`suggestion ${suggestionId} was lost (its lease expired and it was recovered, or it was abandoned); the ${what} is dropped`);
    // a suggestion this process did not ask for: worked on by hand (SigOpt's "list open suggestions and work on them")
    return { worker: this.worker, claimedAt: Date.now() };
  }

  /** An intermediate result at `resource`; 'stop' when ASHA (across every worker's reports) stops the trial. */
  async report(suggestionId: number, resource: number, value: number, metrics: Record<string, number> = {}): Promise<'continue' | 'stop'> {
    const h = this.holder(suggestionId, 'report');
    return this.store.report(this.id, suggestionId, h.worker, { resource, value, metrics: { ...metrics, [this.definition.metric]: value } }, this.ctx.rule);
  }

  /** The observation of a held suggestion, as tell stores it (the objectives checked, the worker's metadata added). */
  private observation(suggestionId: number, values: number | Record<string, number> | undefined, options: TellOptions): { held: Held; observation: NewObservation } {
    const held = this.holder(suggestionId, 'observation');
    const { metric, objectives } = this.definition;
    if (typeof values === 'number' && objectives.length > 1) {
      throw new UserError(`tell(${suggestionId}): this study has ${objectives.length} objectives (${objectives.map((o) => o.metric).join(', ')}); give every one's value as {name: value}, not one number`);
    }
    const metrics = typeof values === 'number' ? { [metric]: values } : (values ?? {});
    const failed = options.failed ?? false;
    const vector = objectiveValues(this.definition, metrics);
    if (!failed && 'missing' in vector) {
      throw new UserError(`tell(${suggestionId}): the values lack the metric '${vector.missing}' (got ${JSON.stringify(values)}); pass {failed: true} for a failed evaluation`);
    }
    const objective = failed || 'missing' in vector ? null : vector.values;
    const metadata = { ...options.metadata, worker_id: held.worker.workerId, host: held.worker.host, pid: held.worker.pid, duration: (Date.now() - held.claimedAt) / 1000 };
    return { held, observation: { values: metrics, value: objective && objective[0], objectiveValues: objective, failed, metadata } };
  }

  /** Ends a suggestion with its observation: the objective's value (or every metric), or failed. */
  async tell(suggestionId: number, values: number | Record<string, number> | undefined, options: TellOptions = {}): Promise<void> {
    const { held, observation } = this.observation(suggestionId, values, options);
    const outcome = await this.store.tell(this.id, suggestionId, held.worker, observation);
    this.held.delete(suggestionId);
    if (!outcome.recorded) throw new StudyError(`${outcome.reason}; the observation is dropped`);
  }

  /**
   * tell, then ask for the same worker, in one transaction of the store when the next suggestion
   * needs no view (random search, or the buffer's next): optimize's loop in one round trip. The
   * next suggestion comes even when the tell is refused (`refused` says why).
   */
  async tellAndAsk(suggestionId: number, values: number | Record<string, number> | undefined, options: TellOptions = {}): Promise<{ next?: AskResult; refused?: string }> {
    let prepared;
    try {
      prepared = this.observation(suggestionId, values, options);
    } catch (e) {
      // a suggestion known lost: nothing to tell, the next one all the same
      if (!(e instanceof StudyError)) throw e;
      return { next: await this.ask(), refused: e.message };
    }
    const { held, observation } = prepared;
    const { told, next } = await this.tellAndTryAsk(suggestionId, held.worker, observation);
    const refused = told.recorded ? undefined : told.reason;
    if ('suggestion' in next) return { next: next.suggestion, refused };
    return { next: next.none === 'wait' ? await this.ask(held.worker) : undefined, refused };
  }

  /**
   * The observation of `worker`'s suggestion, then one attempt at its next suggestion: one
   * transaction of the store when the next needs no view (random search, or the buffer's next),
   * else the tell and tryAsk. The study server's one-call cycle, and optimize's loop.
   */
  async tellAndTryAsk(suggestionId: number, worker: WorkerIdentity, observation: NewObservation, request?: string): Promise<{ told: TellOutcome; next: AskAttempt }> {
    await this.register(worker);
    const { searcher } = this.ctx;
    const blind = searcher.proposeBlind?.();
    // the ask after the tell has an id of its own: its claim is remembered apart from the tell's
    const ask = request === undefined ? undefined : `${request}/ask`;
    if (blind || searcher.modelBased) {
      const { told, next } = await this.locked(() => this.store.tellAndClaim(this.id, suggestionId, worker, observation, this.leaseSeconds, blind, this.limits(), request));
      this.held.delete(suggestionId);
      const taken = this.takeFree(next, blind, worker);
      return { told, next: taken ? { suggestion: taken } : next && 'none' in next ? { none: next.none } : await this.tryAsk(worker, ask) };
    }
    // a retried tell of the same worker is answered as recorded (the store knows its suggestion told)
    const told = await this.store.tell(this.id, suggestionId, worker, observation);
    this.held.delete(suggestionId);
    return { told, next: await this.tryAsk(worker, ask) };
  }

  /** Gives a held suggestion up (it is abandoned: it does not count towards the budget). */
  async abandon(suggestionId: number): Promise<void> {
    this.held.delete(suggestionId);
    await this.store.abandon(this.id, [suggestionId]);
  }

  /** Gives a held suggestion back: ready again, for the next worker that asks (not counted against the budget, nor as a failure). */
  async release(suggestionId: number): Promise<void> {
    this.held.delete(suggestionId);
    await this.store.release(this.id, [suggestionId]);
  }

  /**
   * The whole loop for programs that evaluate in process: `workers` concurrent evaluations, each a
   * worker of the study, until the budget is met or the study is stopped. An objective that throws
   * gives a failed observation; more than the file's max_failures of them end this call with an error.
   */
  async optimize(objective: Objective, options: OptimizeOptions = {}): Promise<OptimizeSummary> {
    const n = loopWorkers(options.workers);
    const state: { failure?: Error } = {};
    this.onStoreFailure((e) => (state.failure ??= e));
    const workers = Array.from({ length: n }, (_, i): LoopWorker => {
      const worker = i === 0 ? this.worker : newWorkerIdentity();
      return {
        ask: () => this.ask(worker),
        report: (...a) => this.report(...a),
        isLost: (id) => this.isLost(id),
        tellAndAsk: (...a) => this.tellAndAsk(...a),
        abandon: (id) => this.abandon(id),
      };
    });
    const summary = await optimizeLoop(workers, objective, this.definition.maxFailures, state, (m) => new StudyError(m));
    for (const worker of [...this.registered.values()]) await this.workerExited(worker);
    if (state.failure) throw state.failure;
    return summary;
  }

  /** Stops renewing, marks this process's workers as exited, and closes the store if the study opened it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.heartbeat.stop();
    // a renewal under way that fails was told to onStoreFailure's listeners already
    await this.renewing?.catch(() => undefined);
    await this.refilling;
    if (this.ownsStore) await this.store.close();
  }
}

/** A suggestion this worker no longer holds, or a refused observation: the worker goes on with the next one. */
export class StudyError extends Error {}
