import type { Config } from '../config-space/index.js';
import type { ExperimentDefinition } from '../experiment/load.js';
import { formatTable } from '../launchers/reporting.js';
import { REPORT_COUNT_ATTR } from '../launchers/run.js';
import { createExperimentFolder, resultsRoot } from '../results/layout.js';
import { type ExperimentMetadata, writeMetadata } from '../results/metadata.js';
import { ResultsWriter } from '../results/writer.js';
import { isFeasible } from '../schedulers/constraints.js';
import { better } from '../schedulers/types.js';
import { gitCommit, tunelabVersion } from '../util/package-info.js';
import { initialRandom } from './planner.js';
import type { ObservationRecord, StudyStatus, StudySummary, SuggestionRecord, SuggestionState } from './store.js';
import type { Study } from './study.js';

/** `tunelab study status`, `logs`, `stop`, `open`, `best`, `list` and `export`: the Orchestrator's view of a study. */

export interface StudyBest {
  suggestionId: number;
  metric: string;
  value: number;
  config: Config;
  metrics: Record<string, number>;
  workerId: unknown;
}

export interface WorkerStatus {
  workerId: string;
  host: string;
  pid: number;
  /** running: holds a live lease; idle: asking or between trials; lost: its lease expired (dead?); exited. */
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
  best?: StudyBest;
}

/** `o` is feasible (its outcome constraints hold) and better than `best` (or there is none yet). */
export function improvesBest(definition: Pick<ExperimentDefinition, 'mode' | 'constraints'>, o: ObservationRecord, best: ObservationRecord | undefined): boolean {
  if (o.failed || o.value === null || Number.isNaN(o.value) || !isFeasible(o.values, definition.constraints)) return false;
  return !best || better(definition.mode, o.value, best.value!);
}

/** The best feasible observation (outcome constraints hold), or undefined. */
export function studyBest(study: Study, observations: readonly ObservationRecord[], configs: ReadonlyMap<number, Config>): StudyBest | undefined {
  const { metric } = study.definition;
  let best: ObservationRecord | undefined;
  for (const o of observations) if (improvesBest(study.definition, o, best)) best = o;
  if (!best) return undefined;
  return { suggestionId: best.suggestionId, metric, value: best.value!, config: configs.get(best.suggestionId) ?? {}, metrics: best.values, workerId: best.metadata.worker_id };
}

export async function studyStatus(study: Study): Promise<StudyStatusReport> {
  const { store } = study;
  const [record, suggestions, observations, workers] = await Promise.all([study.refresh(), store.listSuggestions(study.id), store.listObservations(study.id), store.listWorkers(study.id)]);
  const now = Date.now();
  const counts = Object.fromEntries((['ready', 'open', 'completed', 'failed', 'abandoned'] as const).map((s) => [s, 0])) as Record<SuggestionState, number>;
  for (const s of suggestions) counts[s.state]++;
  const perWorker = new Map<string, WorkerStatus>();
  for (const w of workers) {
    perWorker.set(w.workerId, { workerId: w.workerId, host: w.host, pid: w.pid, state: w.endedAt ? 'exited' : 'idle', running: 0, succeeded: 0, failed: 0, lastSeen: new Date(w.lastSeen).toISOString() });
  }
  for (const s of suggestions) {
    const w = s.workerId ? perWorker.get(s.workerId) : undefined;
    if (!w) continue;
    if (s.state === 'completed') w.succeeded++;
    else if (s.state === 'failed') w.failed++;
    else if (s.state === 'open') {
      w.running++;
      if ((s.leaseExpiresAt ?? 0) > now) w.state = w.state === 'exited' ? 'exited' : 'running';
      else if (w.state === 'idle') w.state = 'lost';
    }
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
    best: studyBest(study, observations, configs),
  };
}

const configText = (c: Config) => Object.entries(c).map(([k, v]) => `${k}=${v}`).join(', ');

export function formatStudyStatus(r: StudyStatusReport): string {
  const lines = [
    `Study ${r.id} '${r.name}' (${r.method}, ${r.mode === 'min' ? 'minimize' : 'maximize'} ${r.metric}) in ${r.storage}: ${r.status}${r.stopMode ? ` (${r.stopMode})` : ''}`,
    `${r.observations} / ${r.budget ?? '∞'} observations, ${r.failed} failed; ${r.suggestions.open} open, ${r.suggestions.ready} ready, ${r.suggestions.abandoned} abandoned; parallel bandwidth ${r.parallelBandwidth}`,
  ];
  if (r.workers.length > 0) {
    lines.push('', formatTable(['worker', 'host', 'pid', 'state', 'running', 'succeeded', 'failed', 'last seen'], r.workers.map((w) => [w.workerId, w.host, w.pid, w.state, w.running, w.succeeded, w.failed, w.lastSeen])));
  }
  if (r.hosts.length > 1) lines.push('', formatTable(['host', 'workers', 'running', 'succeeded', 'failed'], r.hosts.map((h) => [h.host, h.workers, h.running, h.succeeded, h.failed])));
  lines.push('', r.best ? `best ${r.metric} ${r.best.value} (suggestion ${r.best.suggestionId}: ${configText(r.best.config)})` : 'no observation yet');
  return lines.join('\n');
}

export function formatBest(study: Study, best: StudyBest | undefined): string {
  if (!best) return `study ${study.id} '${study.name}': no feasible observation yet`;
  return [`best ${best.metric} ${best.value} (suggestion ${best.suggestionId}, worker ${best.workerId})`, ...Object.entries(best.config).map(([k, v]) => `  ${k}: ${v}`)].join('\n');
}

export async function bestOfStudy(study: Study): Promise<StudyBest | undefined> {
  const [suggestions, observations] = await Promise.all([study.store.listSuggestions(study.id, ['completed']), study.store.listObservations(study.id)]);
  return studyBest(study, observations, new Map(suggestions.map((s) => [s.id, s.config])));
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

export function formatSuggestions(list: readonly SuggestionRecord[], now = Date.now()): string {
  if (list.length === 0) return 'no open suggestions';
  return formatTable(
    ['id', 'state', 'worker', 'host', 'lease', 'attempts', 'config'],
    list.map((s) => [s.id, s.state, s.workerId ?? '', s.host ?? '', s.leaseExpiresAt === null ? '' : s.leaseExpiresAt > now ? `${Math.round((s.leaseExpiresAt - now) / 1000)} s left` : 'expired', s.attempts, configText(s.config)]),
  );
}

export interface StudyLogOptions {
  follow?: boolean;
  /** Seconds between polls with `follow` (default 1). */
  interval?: number;
  write?: (line: string) => void;
  /** Ends `follow` early. */
  signal?: AbortSignal;
}

/**
 * Prints every trial's output, each line prefixed by worker and trial (also of trials that crashed
 * and of workers that died: the lines are in the store). With `follow`, waits for new lines until
 * the study is no longer running and no suggestion is open.
 */
export async function studyLogs(study: Study, options: StudyLogOptions = {}): Promise<number> {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  let after = 0;
  let printed = 0;
  for (;;) {
    for (;;) {
      const batch = await study.store.readLogs(study.id, after, 1000);
      for (const l of batch) write(`[${l.workerId} trial ${l.suggestionId}${l.stream === 'stderr' ? ' stderr' : ''}] ${l.line}`);
      printed += batch.length;
      if (batch.length > 0) after = batch[batch.length - 1].id;
      if (batch.length < 1000) break;
    }
    if (!options.follow || options.signal?.aborted) return printed;
    const record = await study.refresh();
    if (record.status !== 'running' && (await study.store.listSuggestions(study.id, ['open'])).length === 0) {
      // one more read: lines shipped by the last trials just before they ended
      const rest = await study.store.readLogs(study.id, after, 1000);
      for (const l of rest) write(`[${l.workerId} trial ${l.suggestionId}${l.stream === 'stderr' ? ' stderr' : ''}] ${l.line}`);
      return printed + rest.length;
    }
    await new Promise((r) => setTimeout(r, (options.interval ?? 1) * 1000));
  }
}

/** Columns every results file starts with (src/tuner/tuner.ts writes them in this order). */
const STATUS_COLUMNS = ['trial_id', 'st_tuner_time', 'st_worker_time', 'st_worker_iter', 'st_decision', 'st_status'];

/**
 * The study as an experiment folder of the standard layout (DESIGN.md §4) under `<root>/<name>/`:
 * metadata.json and results.csv.gz with one row per report (a told observation without reports
 * gives one row), so `tunelab plot --experiment_tag <name>` and the notebook API read it.
 */
export async function exportStudy(study: Study, options: { root?: string } = {}): Promise<string> {
  const { store } = study;
  const d = study.definition;
  const [record, suggestions, observations, reports] = await Promise.all([study.refresh(), store.listSuggestions(study.id), store.listObservations(study.id), store.listReports(study.id)]);
  const resourceAttr = d.resource?.name ?? REPORT_COUNT_ATTR;
  const metrics = [d.metric, ...d.constraints.map((c) => c.metric), ...d.storeMetrics];
  const configNames = Object.keys(d.configSpace);
  const folder = createExperimentFolder(resultsRoot(options.root), study.name, study.name, 0, new Date(record.createdAt));
  const byId = new Map(suggestions.map((s) => [s.id, s]));
  const lastReport = new Map<number, number>();
  for (const r of reports) lastReport.set(r.suggestionId, r.id);
  const writer = ResultsWriter.create(folder, [...STATUS_COLUMNS, resourceAttr, ...metrics, ...configNames.map((n) => `config_${n}`)]);
  const iter = new Map<number, number>();
  const seconds = (t: number) => (t - record.createdAt) / 1000;
  const row = (s: SuggestionRecord, time: number, resource: number, values: Record<string, number>, decision: string, status: string) => {
    const i = iter.get(s.id) ?? 0;
    iter.set(s.id, i + 1);
    const cells: Record<string, string | number | null> = {
      trial_id: s.id,
      st_tuner_time: seconds(time),
      st_worker_time: (time - (s.assignedAt ?? s.createdAt)) / 1000,
      st_worker_iter: i,
      st_decision: decision,
      st_status: status,
      [resourceAttr]: resource,
    };
    for (const m of metrics) cells[m] = values[m] ?? null;
    for (const n of configNames) cells[`config_${n}`] = s.config[n] as string | number;
    writer.append(cells);
  };
  for (const r of reports) {
    const s = byId.get(r.suggestionId);
    if (!s) continue;
    const final = lastReport.get(s.id) === r.id && (s.state === 'completed' || s.state === 'failed');
    row(s, r.createdAt, r.resource, r.metrics, r.decision, !final ? 'running' : r.decision === 'stop' ? 'stopped' : s.state);
  }
  for (const o of observations) {
    const s = byId.get(o.suggestionId);
    if (!s || lastReport.has(s.id) || o.failed) continue;
    row(s, o.createdAt, d.resource?.max ?? 1, o.values, 'continue', 'completed');
  }
  writer.flush();
  const ended = observations.reduce((t, o) => Math.max(t, o.createdAt), record.createdAt);
  const metadata: ExperimentMetadata = {
    tag: study.name,
    method: study.method,
    benchmark: study.name,
    seed: 0,
    random_seed: record.definition.randomSeed,
    n_workers: d.parallelBandwidth,
    max_wallclock_time: d.budget.maxWallclockTime ?? null,
    metric: d.metric,
    mode: d.mode,
    resource_attr: resourceAttr,
    max_resource: d.resource?.max ?? 1,
    constraints: d.constraints,
    store_metrics: d.storeMetrics,
    budget: d.source.budget,
    backend: 'study',
    scheduler: { method: study.method, initial_random: initialRandom(d), ...d.source.study, rung_levels: study.rule?.levels },
    experiment_file: d.file,
    experiment: d.source,
    study: { id: study.id, storage: store.url, observations: observations.length, failed: observations.filter((o) => o.failed).length },
    failed_trials: observations.filter((o) => o.failed).map((o) => ({ trial_id: o.suggestionId, error: o.metadata.error ?? 'failed', config: byId.get(o.suggestionId)?.config })),
    tunelab_version: tunelabVersion,
    git_commit: gitCommit(),
    start_time: new Date(record.createdAt).toISOString(),
    end_time: record.status === 'running' ? null : new Date(ended).toISOString(),
    status: record.status === 'running' ? 'running' : record.status === 'stopped' ? 'stopped' : 'completed',
  };
  writeMetadata(folder, metadata);
  return folder;
}
