import type { ExperimentDefinition } from '../experiment/load.js';
import { BestTracker, ParetoTracker } from '../results/best.js';
import type { Objective } from '../results/pareto.js';
import type { Config } from '../config-space/index.js';
import { formatTable, formatValue } from '../util/table.js';
import { isFeasible } from '../schedulers/constraints.js';
import { observationPoint } from './planner.js';
import type { ObservationRecord, StudyStatus, StudySummary, SuggestionRecord, SuggestionState } from './storage/store.js';
import type { Study } from './study.js';

/** `tunelab study status`, `stop`, `open`, `best` and `list`: the Orchestrator's view of a study. */

export interface StudyBest {
  suggestionId: number;
  metric: string;
  value: number;
  config: Config;
  metrics: Record<string, number>;
  workerId: unknown;
}

/** A point of a study's Pareto front: its suggestion, its objectives' values, its config. */
export interface StudyFrontPoint {
  suggestionId: number;
  /** Each objective's value, by metric. */
  values: Record<string, number>;
  config: Config;
  /** Every metric told with it. */
  metrics: Record<string, number>;
  workerId: unknown;
}

/** With several objectives, a study's best: the Pareto front of its feasible observations, in time order. */
export interface StudyFront {
  objectives: Objective[];
  points: StudyFrontPoint[];
}

export interface WorkerStatus {
  workerId: string;
  host: string;
  pid: number;
  /**
   * running: holds a live lease; idle: asking or between trials; lost: a lease of its expired, or it
   * has not been seen for a lease's length (a live worker renews three times as often, idle or not):
   * dead, or cut off from the store; exited.
   */
  state: 'running' | 'idle' | 'lost' | 'exited';
  running: number;
  succeeded: number;
  failed: number;
  lastSeen: string;
}

export interface StudyStatusReport {
  id: number;
  name: string;
  storage: string;
  method: string;
  metric: string;
  mode: 'min' | 'max';
  status: StudyStatus;
  stopMode: string | null;
  createdAt: string;
  observations: number;
  budget: number | null;
  failed: number;
  /** Suggestions by state. */
  suggestions: Record<SuggestionState, number>;
  parallelBandwidth: number;
  workers: WorkerStatus[];
  hosts: { host: string; workers: number; running: number; succeeded: number; failed: number }[];
  /** The best feasible observation (one objective). */
  best?: StudyBest;
  /** With several objectives: the Pareto front (no `best`). */
  front?: StudyFront;
}

/** The best feasible observation (outcome constraints hold), or undefined. */
export function studyBest(study: Pick<Study, 'definition'>, observations: readonly ObservationRecord[], configs: ReadonlyMap<number, Config>): StudyBest | undefined {
  const tracker = new StudyBestTracker(study.definition);
  for (const o of observations) tracker.add(o);
  return tracker.best(configs);
}

/** With several objectives, the Pareto front of the feasible observations (src/results/best.ts's ParetoTracker), or undefined with one. */
export function studyFront(study: Pick<Study, 'definition'>, observations: readonly ObservationRecord[], configs: ReadonlyMap<number, Config>): StudyFront | undefined {
  const tracker = new StudyBestTracker(study.definition);
  for (const o of observations) tracker.add(o);
  return tracker.front(configs);
}

/**
 * studyBest (and studyFront) kept up to date as observations come (the dashboard, the server): an
 * observation costs O(1) (O(front size) with several objectives). An observation is a trial's value
 * already (the worker told it by the study's rule): one report per trial.
 */
export class StudyBestTracker {
  private readonly tracker: BestTracker<ObservationRecord>;
  /** with several objectives */
  private readonly pareto: ParetoTracker<ObservationRecord> | undefined;
  private order = 0;

  constructor(private readonly definition: Pick<ExperimentDefinition, 'metric' | 'mode' | 'constraints' | 'best' | 'objectives'>) {
    // a study's observation is its suggestion's only one (the stores hold one per suggestion)
    this.tracker = new BestTracker(definition.best, definition.mode, { oncePerTrial: true });
    if (definition.objectives.length > 1) this.pareto = new ParetoTracker(definition.best, { oncePerTrial: true });
  }

  add(o: ObservationRecord): void {
    if (o.failed) {
      this.tracker.fail(o.suggestionId);
      this.pareto?.fail(o.suggestionId);
      return;
    }
    const feasible = isFeasible(o.values, this.definition.constraints);
    const order = this.order++;
    this.tracker.add({ trialId: o.suggestionId, value: o.value ?? NaN, feasible, order, item: o });
    this.pareto?.add({ trialId: o.suggestionId, point: observationPoint(this.definition.objectives, o), feasible, order, item: o });
  }

  /** The best observation (one objective), or the front's (several), in time order. */
  reports(): { item: ObservationRecord }[] {
    if (this.pareto) return this.pareto.front();
    const best = this.tracker.best();
    return best ? [best] : [];
  }

  best(configs: ReadonlyMap<number, Config>): StudyBest | undefined {
    const best = this.tracker.best()?.item;
    if (!best) return undefined;
    return { suggestionId: best.suggestionId, metric: this.definition.metric, value: best.value!, config: configs.get(best.suggestionId) ?? {}, metrics: best.values, workerId: best.metadata.worker_id };
  }

  front(configs: ReadonlyMap<number, Config>): StudyFront | undefined {
    if (!this.pareto) return undefined;
    const { objectives } = this.definition;
    return {
      objectives,
      points: this.pareto.front().map(({ item: o }) => ({
        suggestionId: o.suggestionId,
        values: Object.fromEntries(objectives.map((ob, k) => [ob.metric, o.objectiveValues![k]])),
        config: configs.get(o.suggestionId) ?? {},
        metrics: o.values,
        workerId: o.metadata.worker_id,
      })),
    };
  }
}

export async function studyStatus(study: Study): Promise<StudyStatusReport> {
  const { store } = study;
  const [record, suggestions, observations, workers, now] = await Promise.all([study.refresh(), store.listSuggestions(study.id), store.listObservations(study.id), store.listWorkers(study.id), store.now()]);
  const leaseMs = study.leaseSeconds * 1000;
  const counts = Object.fromEntries((['ready', 'open', 'completed', 'failed', 'abandoned'] as const).map((s) => [s, 0])) as Record<SuggestionState, number>;
  for (const s of suggestions) counts[s.state]++;
  const perWorker = new Map<string, WorkerStatus>();
  const leases = new Map<string, { live: boolean; expired: boolean }>();
  for (const w of workers) {
    perWorker.set(w.workerId, { workerId: w.workerId, host: w.host, pid: w.pid, state: 'idle', running: 0, succeeded: 0, failed: 0, lastSeen: new Date(w.lastSeen).toISOString() });
    leases.set(w.workerId, { live: false, expired: false });
  }
  for (const s of suggestions) {
    const w = s.workerId ? perWorker.get(s.workerId) : undefined;
    if (!w) continue;
    if (s.state === 'completed') w.succeeded++;
    else if (s.state === 'failed') w.failed++;
    else if (s.state === 'open') {
      w.running++;
      const lease = leases.get(w.workerId)!;
      if ((s.leaseExpiresAt ?? 0) > now) lease.live = true;
      else lease.expired = true;
    }
  }
  // a live lease proves the worker alive; an expired one, or silence for a lease's length, that it is not
  for (const w of workers) {
    const lease = leases.get(w.workerId)!;
    perWorker.get(w.workerId)!.state = w.endedAt ? 'exited' : lease.live ? 'running' : lease.expired || w.lastSeen + leaseMs <= now ? 'lost' : 'idle';
  }
  const hosts = new Map<string, StudyStatusReport['hosts'][number]>();
  for (const w of perWorker.values()) {
    const h = hosts.get(w.host) ?? { host: w.host, workers: 0, running: 0, succeeded: 0, failed: 0 };
    h.workers++;
    h.running += w.running;
    h.succeeded += w.succeeded;
    h.failed += w.failed;
    hosts.set(w.host, h);
  }
  const configs = new Map(suggestions.map((s) => [s.id, s.config]));
  const d = study.definition;
  return {
    id: study.id,
    name: study.name,
    storage: store.url,
    method: study.method,
    metric: d.metric,
    mode: d.mode,
    status: record.status,
    stopMode: record.stopMode,
    createdAt: new Date(record.createdAt).toISOString(),
    observations: observations.length,
    budget: d.budget.maxTrials ?? null,
    failed: observations.filter((o) => o.failed).length,
    suggestions: counts,
    parallelBandwidth: d.parallelBandwidth,
    workers: [...perWorker.values()],
    hosts: [...hosts.values()],
    ...(d.objectives.length > 1 ? { front: studyFront(study, observations, configs) } : { best: studyBest(study, observations, configs) }),
  };
}

const configText = (c: Config) => Object.entries(c).map(([k, v]) => `${k}=${v}`).join(', ');

/** What an `exhausted` study's status means. */
export const EXHAUSTED = 'every config of the space was tried before the budget was met';

export function formatStudyStatus(r: StudyStatusReport): string {
  const lines = [
    `Study ${r.id} '${r.name}' (${r.method}, ${r.front ? r.front.objectives.map(direction).join(', ') : direction({ metric: r.metric, mode: r.mode })}) in ${r.storage}: ${r.status}${r.stopMode ? ` (${r.stopMode})` : ''}${r.status === 'exhausted' ? ` (${EXHAUSTED})` : ''}`,
    `${r.observations} / ${r.budget ?? '∞'} observations, ${r.failed} failed; ${r.suggestions.open} open, ${r.suggestions.ready} ready, ${r.suggestions.abandoned} abandoned; parallel bandwidth ${r.parallelBandwidth}`,
  ];
  if (r.workers.length > 0) {
    lines.push('', formatTable(['worker', 'host', 'pid', 'state', 'running', 'succeeded', 'failed', 'last seen'], r.workers.map((w) => [w.workerId, w.host, w.pid, w.state, w.running, w.succeeded, w.failed, w.lastSeen])));
  }
  if (r.hosts.length > 1) lines.push('', formatTable(['host', 'workers', 'running', 'succeeded', 'failed'], r.hosts.map((h) => [h.host, h.workers, h.running, h.succeeded, h.failed])));
  if (r.front) lines.push('', ...frontLines(r.front));
  else lines.push('', r.best ? `best ${r.metric} ${r.best.value} (suggestion ${r.best.suggestionId}: ${configText(r.best.config)})` : 'no observation yet');
  return lines.join('\n');
}

const direction = (o: Objective) => `${o.mode === 'min' ? 'minimize' : 'maximize'} ${o.metric}`;

/** A study's front as text lines: one per point (its suggestion and objectives), then its config. */
export function frontLines(f: StudyFront): string[] {
  if (f.points.length === 0) return ['no feasible observation yet'];
  return [
    `Pareto front of ${f.points.length} point(s) (${f.objectives.map(direction).join(', ')})`,
    ...f.points.flatMap((p) => [`  suggestion ${p.suggestionId}: ${Object.entries(p.values).map(([k, v]) => `${k}=${formatValue(v)}`).join(', ')} (worker ${p.workerId})`, `    config: ${configText(p.config)}`]),
  ];
}

/** `study best` of a study with several objectives: its front. */
export function formatFront(study: { id: number; name: string }, front: StudyFront | undefined): string {
  if (!front?.points.length) return `study ${study.id} '${study.name}': no feasible observation yet`;
  return frontLines(front).join('\n');
}

export function formatBest(study: { id: number; name: string }, best: StudyBest | undefined): string {
  if (!best) return `study ${study.id} '${study.name}': no feasible observation yet`;
  return [`best ${best.metric} ${best.value} (suggestion ${best.suggestionId}, worker ${best.workerId})`, ...Object.entries(best.config).map(([k, v]) => `  ${k}: ${v}`)].join('\n');
}

export async function bestOfStudy(study: Study): Promise<StudyBest | undefined> {
  const [suggestions, observations] = await Promise.all([study.store.listSuggestions(study.id, ['completed']), study.store.listObservations(study.id)]);
  return studyBest(study, observations, new Map(suggestions.map((s) => [s.id, s.config])));
}

/** With several objectives, the study's Pareto front (undefined with one). */
export async function frontOfStudy(study: Study): Promise<StudyFront | undefined> {
  const [suggestions, observations] = await Promise.all([study.store.listSuggestions(study.id, ['completed']), study.store.listObservations(study.id)]);
  return studyFront(study, observations, new Map(suggestions.map((s) => [s.id, s.config])));
}

export function formatStudyList(studies: readonly StudySummary[]): string {
  if (studies.length === 0) return 'no studies (create one with tunelab study create -f experiment.yml)';
  return formatTable(
    ['id', 'name', 'method', 'status', 'observations', 'open', 'created'],
    studies.map((s) => [s.id, s.name, s.method, s.status, `${s.observations} / ${s.budget ?? '∞'}`, s.open, new Date(s.createdAt).toISOString()]),
  );
}

/** `study stop`: workers finish their trials and report them (or abandon them with `abandon`), then exit. */
export async function stopStudy(study: Study, abandon: boolean): Promise<void> {
  await study.store.setStatus(study.id, 'stopped', abandon ? 'abandon' : 'finish');
}

/** `now`: the store's clock (StudyStore.now), by which the leases run. */
export function formatSuggestions(list: readonly SuggestionRecord[], now: number): string {
  if (list.length === 0) return 'no open suggestions';
  return formatTable(
    ['id', 'state', 'worker', 'host', 'lease', 'attempts', 'config'],
    list.map((s) => [s.id, s.state, s.workerId ?? '', s.host ?? '', s.leaseExpiresAt === null ? '' : s.leaseExpiresAt > now ? `${Math.round((s.leaseExpiresAt - now) / 1000)} s left` : 'expired', s.attempts, configText(s.config)]),
  );
}
