import { type Config, hyperparameters } from '../config-space/index.js';
import type { ExperimentDefinition } from '../experiment/load.js';
import { resourceAttrOf } from '../experiment/load.js';
import { isFeasible } from '../schedulers/constraints.js';
import { rungRule } from '../study/planner.js';
import { type StudyBest, StudyBestTracker } from '../study/status.js';
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
  best: StudyBest | null;
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
  private reportCursor = 0;
  private active = new Set<number>();
  private recovered = new Set<number>();
  private record: StudyRecord;
  private fleet: Fleet | undefined;
  private now = 0;
  /** Trials by state, kept as states change (a tick never counts the whole history). */
  private readonly states: Record<SuggestionState, number> = { ready: 0, open: 0, completed: 0, failed: 0, abandoned: 0 };
  private loaded = false;
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

  /** Reads what was added since the last tick; the change, or undefined when nothing changed. One tick at a time. */
  async tick(): Promise<StudyUpdate | undefined> {
    if (this.ticking) return this.ticking;
    this.ticking = this.read().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async read(): Promise<StudyUpdate | undefined> {
    const first = !this.loaded;
    const [view, reports, workers, all] = await Promise.all([
      this.store.readView(this.record.id, this.cursor),
      this.store.listReports(this.record.id, this.reportCursor),
      this.store.listWorkers(this.record.id),
      // once, at the start: the states and workers of suggestions already ended
      first ? this.store.listSuggestions(this.record.id) : Promise.resolve(undefined),
    ]);
    this.loaded = true;
    const changed = new Set<number>();
    const statusChanged = view.study.status !== this.record.status;
    this.record = view.study;
    this.now = view.now;
    for (const s of all ?? []) {
      this.configs.set(s.id, s.config);
      this.add(this.fromSuggestion(s));
      if (s.attempts > 1) this.recovered.add(s.id);
      changed.add(s.id);
    }
    for (const s of view.newSuggestions) {
      if (this.trials.has(s.id)) continue;
      this.configs.set(s.id, s.config);
      this.add(this.fromSuggestion({ id: s.id, config: s.config, state: 'ready', workerId: null, host: null, pid: null, leaseExpiresAt: null, attempts: 0, createdAt: view.now, assignedAt: null, endedAt: null }));
      changed.add(s.id);
    }
    const nowActive = new Set<number>();
    for (const s of [...view.open, ...view.ready]) {
      nowActive.add(s.id);
      const t = this.trials.get(s.id);
      if (t && (t.state !== s.state || t.worker !== s.workerId || t.attempts !== s.attempts)) {
        this.setState(t, s.state);
        Object.assign(t, { worker: s.workerId, host: s.host, attempts: s.attempts });
        changed.add(s.id);
      }
      if (s.attempts > 1) this.recovered.add(s.id);
    }
    for (const o of view.newObservations) {
      if (o.id <= this.cursor.observation) continue;
      this.best.add(o);
      const t = this.trials.get(o.suggestionId);
      if (t) {
        this.observe(t, o);
        changed.add(t.id);
      }
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
    const calls: RungCall[] = [];
    for (const r of reports) {
      this.reports.push(r);
      this.reportCursor = r.id;
      const t = this.trials.get(r.suggestionId);
      const made = reportCalls(r, this.replay?.add(r) ?? []);
      calls.push(...made);
      if (t) {
        t.resource = r.resource;
        if (t.decision !== 'stop') t.decision = r.decision;
        const call = made.find((c) => c.decision === 'stop') ?? made[made.length - 1];
        if (call && t.why?.decision !== 'stop') t.why = call;
        changed.add(t.id);
      }
    }
    this.calls.push(...calls);
    this.cursor = {
      observation: Math.max(this.cursor.observation, ...view.newObservations.map((o) => o.id)),
      suggestion: Math.max(this.cursor.suggestion, ...view.newSuggestions.map((s) => s.id)),
    };
    const fleet = this.fleetOf(workers, [...view.open], view.done);
    // the clock alone moving is no change
    const fleetChanged = JSON.stringify({ ...fleet, now: 0 }) !== JSON.stringify({ ...this.fleet, now: 0 });
    this.fleet = fleet;
    if (!first && changed.size === 0 && reports.length === 0 && !statusChanged && !fleetChanged) return undefined;
    return { head: this.head(), trials: [...changed].sort((a, b) => a - b).map((id) => this.trials.get(id)!), reports, calls, fleet };
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

  private fromSuggestion(s: SuggestionRecord): TrialRow {
    return { id: s.id, config: s.config, state: s.state, value: null, metrics: {}, feasible: null, worker: s.workerId, host: s.host, attempts: s.attempts, duration: null, observedAt: null, resource: null, decision: null, why: null, error: null };
  }

  private observe(t: TrialRow, o: ObservationRecord): void {
    const m = o.metadata;
    this.setState(t, stateOf(o));
    Object.assign(t, {
      value: o.value,
      metrics: o.values,
      feasible: !o.failed && isFeasible(o.values, this.definition.constraints),
      worker: typeof m.worker_id === 'string' ? m.worker_id : t.worker,
      host: typeof m.host === 'string' ? m.host : t.host,
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
      best: this.best.best(this.configs) ?? null,
      updatedAt: this.now,
    };
  }

  /** The observed trials (for importance and CSV). */
  observed(): TrialRow[] {
    return this.allTrials().filter((t) => t.observedAt !== null);
  }
}
