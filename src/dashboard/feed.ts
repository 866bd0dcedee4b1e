import { type Config, hyperparameters } from '../config-space/index.js';
import type { ExperimentDefinition } from '../experiment/load.js';
import { resourceAttrOf } from '../experiment/load.js';
import { isFeasible } from '../schedulers/constraints.js';
import { rungRule } from '../study/planner.js';
import { type StudyBest, StudyBestTracker, type StudyFront } from '../study/status.js';
import type { Cursor, ObservationRecord, ReportRecord, StudyRecord, StudyStore, SuggestionRecord, SuggestionState, WorkerRecord } from '../study/storage/store.js';
import { rebuildDefinition, studyMethod } from '../study/study.js';
import { type RungCall, RungReplay, reportCalls } from './rungs.js';

/** One trial (a suggestion) as the dashboard shows it. */
export interface TrialRow {
  id: number;
  config: Config;
  state: SuggestionState;
  value: number | null;
  metrics: Record<string, number>;
  /** Its outcome constraints hold (null: no observation yet). */
  feasible: boolean | null;
  worker: string | null;
  host: string | null;
  attempts: number;
  /** Seconds, from the worker's own measure (null: still running, or never run). */
  duration: number | null;
  /** When it was observed (ms, the store's clock). */
  observedAt: number | null;
  /** Its last report's resource and the store's decision then; `stop`: ASHA stopped it. */
  resource: number | null;
  decision: 'continue' | 'stop' | null;
  /** The rung call behind its last decision (the stopping one, else the last promotion). */
  why: RungCall | null;
  error: string | null;
}

export interface ParameterInfo {
  name: string;
  kind: string;
  log: boolean;
  /** A choice's or ordinal's values. */
  values?: readonly (string | number | boolean)[];
}

export interface WorkerHealth {
  workerId: string;
  host: string;
  pid: number;
  state: 'running' | 'idle' | 'lost' | 'exited';
  running: number;
  lastSeen: number;
  startedAt: number;
}

export interface Fleet {
  now: number;
  workers: WorkerHealth[];
  /** Open suggestions and their leases. */
  leases: { id: number; worker: string | null; host: string | null; expiresAt: number | null; expired: boolean; attempts: number }[];
  /** Suggestions handed out more than once: recovered from a worker whose lease ran out. */
  recovered: number;
  budget: { maxTrials: number | null; done: number; failed: number; open: number; ready: number; abandoned: number; remaining: number | null };
}

export interface StudyHead {
  store: number;
  id: number;
  name: string;
  status: string;
  method: string;
  metric: string;
  mode: 'min' | 'max';
  resourceAttr: string | null;
  createdAt: number;
  parameters: ParameterInfo[];
  constraints: { metric: string; text: string }[];
  rung: { levels: readonly number[]; reductionFactor: number } | null;
  /** The best feasible observation (one objective; null with several). */
  best: StudyBest | null;
  /** Every objective, in the study's order (several: the best is the front). */
  objectives: { metric: string; mode: 'min' | 'max' }[];
  /** With several objectives: the Pareto front of the feasible observations, as `study best` prints it (else null). */
  front: StudyFront | null;
  /** The store's clock at the last read. */
  updatedAt: number;
}

/** What a page gets first, and each later change: trials upserted by id, reports and rung calls appended. */
export interface StudyUpdate {
  head: StudyHead;
  trials: TrialRow[];
  reports: ReportRecord[];
  calls: RungCall[];
  fleet: Fleet;
}

/** A trial's metrics before it is observed (one object for all: never written to). */
const NO_METRICS: Record<string, number> = Object.freeze({}) as Record<string, number>;

/** Rows a first read takes from the store at a time. */
const PAGE = 1000;

/** Hands every row after `afterId` to `take`, a page of PAGE at a time (each read after the last is taken); returns the last id. */
async function inPages<T extends { id: number }>(read: (afterId: number) => Promise<T[]>, afterId: number, take: (page: T[]) => void): Promise<number> {
  for (;;) {
    const page = await read(afterId);
    take(page);
    if (page.length > 0) afterId = page[page.length - 1].id;
    if (page.length < PAGE) return afterId;
  }
}

const stateOf = (o: ObservationRecord): SuggestionState => (o.failed ? 'failed' : 'completed');

/**
 * A study as the dashboard holds it: every row read once, then only the rows added since (the store's
 * readView from a cursor, and the reports after the last id), so that a tick costs the new work plus
 * the open suggestions and the workers (bounded by the fleet), never the whole history.
 */
export class StudyFeed {
  readonly definition: ExperimentDefinition;
  private readonly trials = new Map<number, TrialRow>();
  private readonly reports: ReportRecord[] = [];
  private readonly calls: RungCall[] = [];
  private readonly best: StudyBestTracker;
  private readonly replay: RungReplay | undefined;
  private readonly configs = new Map<number, Config>();
  private cursor: Cursor = { observation: 0, suggestion: 0 };
  /** Observations whose suggestion is not read yet (the first read's pages race the writers). */
  private readonly early = new Map<number, ObservationRecord>();
  private readonly names = new Map<string, string>();
  private readonly metas = new Map<string, { worker_id: unknown }>();
  private reportCursor = 0;
  private active = new Set<number>();
  private recovered = new Set<number>();
  private record: StudyRecord;
  private fleet: Fleet | undefined;
  private now = 0;
  /** Trials by state, kept as states change (a tick never counts the whole history). */
  private readonly states: Record<SuggestionState, number> = { ready: 0, open: 0, completed: 0, failed: 0, abandoned: 0 };
  private loaded = false;
  /** How many trials are observed (what `observed()` would give, without building it). */
  private observations = 0;
  private ticking: Promise<StudyUpdate | undefined> | undefined;

  constructor(
    readonly storeIndex: number,
    readonly store: StudyStore,
    record: StudyRecord,
  ) {
    this.record = record;
    this.definition = rebuildDefinition(record.definition);
    this.best = new StudyBestTracker(this.definition);
    const rule = rungRule(studyMethod(this.definition), this.definition);
    this.replay = rule && new RungReplay(rule);
  }

  /** Every trial in id order (the order they were added in: suggestions are read by id). */
  allTrials(): TrialRow[] {
    return [...this.trials.values()];
  }

  /** The head and the fleet only (the home page's card). */
  async summary(): Promise<Pick<StudyUpdate, 'head' | 'fleet'>> {
    if (!this.loaded) await this.tick();
    return { head: this.head(), fleet: this.fleet! };
  }

  /** Everything, for a page that opens (reads the store first if nothing was read yet). */
  async snapshot(): Promise<StudyUpdate> {
    if (!this.loaded) await this.tick();
    return { head: this.head(), trials: this.allTrials(), reports: this.reports, calls: this.calls, fleet: this.fleet! };
  }

  /**
   * A page's first data in parts of at most `size` trials (and the reports, with their rung calls,
   * in parts of the same size); each part's head and fleet are the same, `part.last` marks the end.
   * Read the store first (snapshot) when nothing was read yet.
   */
  *snapshotParts(size: number): Generator<StudyUpdate & { part: { index: number; last: boolean } }> {
    const trials = this.allTrials();
    const parts = Math.max(1, Math.ceil(trials.length / size), Math.ceil(this.reports.length / size));
    const head = this.head();
    let call = 0;
    for (let i = 0; i < parts; i++) {
      const reports = this.reports.slice(i * size, (i + 1) * size);
      const upTo = i === parts - 1 ? Infinity : (reports[reports.length - 1]?.id ?? -Infinity);
      const from = call;
      while (call < this.calls.length && this.calls[call].reportId <= upTo) call++;
      yield { head, trials: trials.slice(i * size, (i + 1) * size), reports, calls: this.calls.slice(from, call), fleet: this.fleet!, part: { index: i, last: i === parts - 1 } };
    }
  }

  /** Reads what was added since the last tick; the change, or undefined when nothing changed. One tick at a time. */
  async tick(): Promise<StudyUpdate | undefined> {
    if (this.ticking) return this.ticking;
    this.ticking = this.read().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  /**
   * The study's history, read once in pages of PAGE rows (suggestions, then observations, then
   * reports): what is held at the peak is the study plus one page, never every row twice over.
   */
  private async load(): Promise<void> {
    const id = this.record.id;
    this.cursor.suggestion = await inPages(
      (afterId) => this.store.listSuggestions(id, undefined, { afterId, limit: PAGE }),
      this.cursor.suggestion,
      (page) => {
        for (const s of page) {
          this.configs.set(s.id, s.config);
          this.add(this.fromSuggestion(s));
          if (s.attempts > 1) this.recovered.add(s.id);
          if (s.state === 'open' || s.state === 'ready') this.active.add(s.id);
        }
      },
    );
    this.cursor.observation = await inPages((afterId) => this.store.listObservations(id, afterId, PAGE), this.cursor.observation, (page) => {
      for (const o of page) this.take(o);
    });
    await inPages((afterId) => this.store.listReports(id, afterId, PAGE), this.reportCursor, (page) => this.takeReports(page));
  }

  private async read(): Promise<StudyUpdate | undefined> {
    const first = !this.loaded;
    if (first) await this.load();
    const [view, reports, workers] = await Promise.all([this.store.readView(this.record.id, this.cursor), this.store.listReports(this.record.id, this.reportCursor), this.store.listWorkers(this.record.id)]);
    this.loaded = true;
    const changed = new Set<number>();
    const statusChanged = view.study.status !== this.record.status;
    this.record = view.study;
    this.now = view.now;
    for (const s of view.newSuggestions) {
      if (this.trials.has(s.id)) continue;
      this.configs.set(s.id, s.config);
      this.add(this.fromSuggestion({ id: s.id, config: s.config, state: 'ready', workerId: null, host: null, pid: null, leaseExpiresAt: null, attempts: 0, createdAt: view.now, assignedAt: null, endedAt: null }));
      changed.add(s.id);
      this.cursor.suggestion = Math.max(this.cursor.suggestion, s.id);
      // observed before its suggestion was read (the first read's pages)
      const early = this.early.get(s.id);
      if (early) {
        this.early.delete(s.id);
        this.observe(this.trials.get(s.id)!, early);
      }
    }
    const nowActive = new Set<number>();
    for (const s of [...view.open, ...view.ready]) {
      nowActive.add(s.id);
      const t = this.trials.get(s.id);
      if (t && (t.state !== s.state || t.worker !== s.workerId || t.attempts !== s.attempts)) {
        this.setState(t, s.state);
        Object.assign(t, { worker: this.name(s.workerId), host: this.name(s.host), attempts: s.attempts });
        changed.add(s.id);
      }
      if (s.attempts > 1) this.recovered.add(s.id);
    }
    for (const o of view.newObservations) {
      const t = this.take(o);
      if (t) changed.add(t.id);
    }
    // gone from open/ready without an observation: abandoned (by hand, a stop, or a worker giving it up)
    for (const id of this.active) {
      const t = this.trials.get(id);
      if (!nowActive.has(id) && t && (t.state === 'open' || t.state === 'ready')) {
        this.setState(t, 'abandoned');
        changed.add(id);
      }
    }
    this.active = nowActive;
    const calls = this.takeReports(reports, changed);
    const fleet = this.fleetOf(workers, [...view.open], view.done);
    // the clock alone moving is no change
    const fleetChanged = JSON.stringify({ ...fleet, now: 0 }) !== JSON.stringify({ ...this.fleet, now: 0 });
    this.fleet = fleet;
    if (!first && changed.size === 0 && reports.length === 0 && !statusChanged && !fleetChanged) return undefined;
    return { head: this.head(), trials: [...changed].sort((a, b) => a - b).map((id) => this.trials.get(id)!), reports, calls, fleet };
  }

  /** An observation read: into the best and its trial (held until its suggestion is read, when that comes later). */
  private take(o: ObservationRecord): TrialRow | undefined {
    if (o.id <= this.cursor.observation) return undefined;
    this.cursor.observation = o.id;
    // the best holds one per trial: what it reports of an observation only (the metrics are the trial's own object, the worker's name one string)
    this.best.add({ id: o.id, suggestionId: o.suggestionId, value: o.value, objectiveValues: this.definition.objectives.length > 1 ? o.objectiveValues : null, values: o.values, failed: o.failed, metadata: this.workerMeta(o.metadata.worker_id), createdAt: o.createdAt });
    const t = this.trials.get(o.suggestionId);
    if (t) this.observe(t, o);
    else this.early.set(o.suggestionId, o);
    return t;
  }

  /** Reports read: held, replayed into rung calls, and their trials' decisions; returns the calls they made. */
  private takeReports(reports: readonly ReportRecord[], changed?: Set<number>): RungCall[] {
    const calls: RungCall[] = [];
    for (const r of reports) {
      this.reports.push(r);
      this.reportCursor = r.id;
      const t = this.trials.get(r.suggestionId);
      const made = reportCalls(r, this.replay?.add(r) ?? []);
      for (const c of made) calls.push(c);
      if (t) {
        t.resource = r.resource;
        if (t.decision !== 'stop') t.decision = r.decision;
        const call = made.find((c) => c.decision === 'stop') ?? made[made.length - 1];
        if (call && t.why?.decision !== 'stop') t.why = call;
        changed?.add(t.id);
      }
    }
    for (const c of calls) this.calls.push(c);
    return calls;
  }

  private add(t: TrialRow): void {
    this.trials.set(t.id, t);
    this.states[t.state]++;
  }

  private setState(t: TrialRow, state: SuggestionState): void {
    this.states[t.state]--;
    this.states[state]++;
    t.state = state;
  }

  /** One `{worker_id}` per worker: what the best reports of an observation's metadata. */
  private workerMeta(worker: unknown): { worker_id: unknown } {
    if (typeof worker !== 'string') return { worker_id: worker };
    const name = this.name(worker);
    let meta = this.metas.get(name);
    if (!meta) this.metas.set(name, (meta = Object.freeze({ worker_id: name })));
    return meta;
  }

  /** One string per worker and host name (each row read brings its own copy). */
  private name(s: string): string;
  private name(s: string | null): string | null;
  private name(s: string | null): string | null {
    if (s === null) return null;
    const held = this.names.get(s);
    if (held !== undefined) return held;
    this.names.set(s, s);
    return s;
  }

  private fromSuggestion(s: SuggestionRecord): TrialRow {
    return { id: s.id, config: s.config, state: s.state, value: null, metrics: NO_METRICS, feasible: null, worker: this.name(s.workerId), host: this.name(s.host), attempts: s.attempts, duration: null, observedAt: null, resource: null, decision: null, why: null, error: null };
  }

  private observe(t: TrialRow, o: ObservationRecord): void {
    const m = o.metadata;
    if (t.observedAt === null) this.observations++;
    this.setState(t, stateOf(o));
    Object.assign(t, {
      value: o.value,
      metrics: o.values,
      feasible: !o.failed && isFeasible(o.values, this.definition.constraints),
      worker: typeof m.worker_id === 'string' ? this.name(m.worker_id) : t.worker,
      host: typeof m.host === 'string' ? this.name(m.host) : t.host,
      duration: typeof m.duration === 'number' ? m.duration : null,
      observedAt: o.createdAt,
      error: typeof m.error === 'string' ? m.error : null,
    });
  }

  private fleetOf(workers: WorkerRecord[], open: SuggestionRecord[], done: number): Fleet {
    const leaseMs = this.definition.study.leaseSeconds * 1000;
    const counts = this.states;
    const leases = open.map((s) => ({ id: s.id, worker: s.workerId, host: s.host, expiresAt: s.leaseExpiresAt, expired: (s.leaseExpiresAt ?? 0) <= this.now, attempts: s.attempts }));
    // as `study status` judges them: a live lease proves a worker alive, an expired one or silence for a lease's length that it is not
    const health = workers.map((w): WorkerHealth => {
      const mine = leases.filter((l) => l.worker === w.workerId);
      const state = w.endedAt ? 'exited' : mine.some((l) => !l.expired) ? 'running' : mine.some((l) => l.expired) || w.lastSeen + leaseMs <= this.now ? 'lost' : 'idle';
      return { workerId: w.workerId, host: w.host, pid: w.pid, state, running: mine.length, lastSeen: w.lastSeen, startedAt: w.startedAt };
    });
    const maxTrials = this.definition.budget.maxTrials ?? null;
    return {
      now: this.now,
      workers: health,
      leases,
      recovered: this.recovered.size,
      budget: { maxTrials, done, failed: counts.failed, open: open.length, ready: counts.ready, abandoned: counts.abandoned, remaining: maxTrials === null ? null : Math.max(0, maxTrials - done - open.length) },
    };
  }

  head(): StudyHead {
    const d = this.definition;
    const rule = this.replay?.rule;
    return {
      store: this.storeIndex,
      id: this.record.id,
      name: this.record.name,
      status: this.record.status,
      method: this.record.definition.method,
      metric: d.metric,
      mode: d.mode,
      resourceAttr: d.resource ? resourceAttrOf(d) : null,
      createdAt: this.record.createdAt,
      parameters: hyperparameters(d.configSpace).map(([name, domain]) => ({ name, kind: domain.kind, log: domain.kind.startsWith('log'), ...((domain.kind === 'choice' || domain.kind === 'ordinal') && { values: domain.finiteValues }) })),
      constraints: d.constraints.map((c) => ({ metric: c.metric, text: `${c.metric} ${c.mode === 'min' ? '≤' : '≥'} ${c.threshold}` })),
      rung: rule ? { levels: rule.levels, reductionFactor: rule.reductionFactor } : null,
      best: d.objectives.length > 1 ? null : (this.best.best(this.configs) ?? null),
      objectives: d.objectives.map((o) => ({ metric: o.metric, mode: o.mode })),
      front: this.best.front(this.configs) ?? null,
      updatedAt: this.now,
    };
  }

  /** The observed trials (for importance and CSV). */
  observed(): TrialRow[] {
    return this.allTrials().filter((t) => t.observedAt !== null);
  }

  /** How many trials are observed: `observed().length`, kept as observations come. */
  observedCount(): number {
    return this.observations;
  }
}
