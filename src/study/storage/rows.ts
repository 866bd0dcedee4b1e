import type { RungReason } from '../../results/decisions.js';
import type { LogRecord, ObservationRecord, ReportRecord, RungRule, StudyRecord, SuggestionRecord, WorkerRecord } from './store.js';

/** Row → record mappers shared by the backends: both name their columns alike and keep JSON as text. */

type Row = Record<string, unknown>;

/** Every table holding a study's rows (by `study_id`), those referring to others first: the order a study is deleted in. */
export const STUDY_ROW_TABLES = ['requests', 'trial_logs', 'workers', 'rungs', 'reports', 'observations', 'suggestions'] as const;

const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

export const studyFromRow = (r: Row): StudyRecord => ({
  id: num(r.id),
  name: String(r.name),
  status: r.status as StudyRecord['status'],
  stopMode: (r.stop_mode ?? null) as StudyRecord['stopMode'],
  definition: json(r.definition),
  createdAt: num(r.created_at),
  refillAt: num(r.refill_at),
  refillObservations: num(r.refill_observations),
});

export const suggestionFromRow = (r: Row): SuggestionRecord => ({
  id: num(r.id),
  config: json(r.config),
  state: r.state as SuggestionRecord['state'],
  workerId: (r.worker_id ?? null) as string | null,
  host: (r.host ?? null) as string | null,
  pid: numOrNull(r.pid),
  leaseExpiresAt: numOrNull(r.lease_expires_at),
  attempts: num(r.attempts),
  createdAt: num(r.created_at),
  assignedAt: numOrNull(r.assigned_at),
  endedAt: numOrNull(r.ended_at),
});

export const observationFromRow = (r: Row): ObservationRecord => ({
  id: num(r.id),
  suggestionId: num(r.suggestion_id),
  value: numOrNull(r.value),
  objectiveValues: r.objective_values === null || r.objective_values === undefined ? null : json<number[]>(r.objective_values),
  values: json(r.metrics),
  failed: Boolean(r.failed),
  metadata: json(r.metadata),
  createdAt: num(r.created_at),
});

export const reportFromRow = (r: Row): ReportRecord => ({
  id: num(r.id),
  suggestionId: num(r.suggestion_id),
  resource: num(r.resource),
  value: num(r.value),
  metrics: json(r.metrics),
  decision: r.decision as ReportRecord['decision'],
  reason:
    r.rung_level === null || r.rung_level === undefined
      ? null
      : { level: num(r.rung_level), rank: num(r.rung_rank), size: num(r.rung_size), keep: num(r.rung_keep), threshold: numOrNull(r.rung_threshold), decision: r.decision as ReportRecord['decision'] },
  workerId: String(r.worker_id),
  createdAt: num(r.created_at),
});

/** A report's reason as the values of its rung_level, rung_rank, rung_size, rung_keep, rung_threshold columns. */
export const reasonColumns = (r: RungReason | null): (number | null)[] => (r ? [r.level, r.rank, r.size, r.keep, r.threshold] : [null, null, null, null, null]);

export const workerFromRow = (r: Row): WorkerRecord => ({
  workerId: String(r.worker_id),
  host: String(r.host),
  pid: num(r.pid),
  startedAt: num(r.started_at),
  lastSeen: num(r.last_seen),
  endedAt: numOrNull(r.ended_at),
});

export const logFromRow = (r: Row): LogRecord => ({
  id: num(r.id),
  suggestionId: num(r.suggestion_id),
  workerId: String(r.worker_id),
  stream: r.stream as LogRecord['stream'],
  line: String(r.line),
  time: num(r.time),
});

/**
 * The rung levels a report at `resource` reaches that the suggestion has not recorded yet (as
 * HyperbandScheduler: a result at or beyond the maximal resource records none).
 */
export function levelsReached(rule: RungRule, resource: number, recorded: readonly number[]): number[] {
  if (resource >= rule.maxResource) return [];
  return rule.levels.filter((l) => l <= resource && !recorded.includes(l));
}

/** ASHA (stopping type): how many of a rung of `size` go on, ⌈n/η⌉. */
export const rungKeep = (size: number, reductionFactor: number): number => Math.ceil(size / reductionFactor);

/** ASHA (stopping type): continue only in the top ⌈n/η⌉ of the values at the rung, this one included. */
export function rungDecision(better: number, size: number, reductionFactor: number): 'continue' | 'stop' {
  return better >= rungKeep(size, reductionFactor) ? 'stop' : 'continue';
}

/** ASHA's decision at one rung with its reason: `better` values there beat this one, `threshold` is the ⌈n/η⌉-th best. */
export function rungReason(level: number, better: number, size: number, reductionFactor: number, threshold: number | null): RungReason {
  return { level, rank: better + 1, size, keep: rungKeep(size, reductionFactor), threshold, decision: rungDecision(better, size, reductionFactor) };
}

/** The reason a report keeps: of the first rung that stopped the trial, else of the last rung it reached (null: none). */
export function reportReason(reasons: readonly RungReason[]): RungReason | null {
  return reasons.find((r) => r.decision === 'stop') ?? reasons[reasons.length - 1] ?? null;
}

/** Why a tell is refused, given the suggestion's row (undefined: accepted). */
export function tellRefusal(s: SuggestionRecord | undefined, suggestionId: number, workerId: string, now: number): string | undefined {
  if (!s) return `suggestion ${suggestionId} is not in this study`;
  if (s.state !== 'open') return `suggestion ${suggestionId} is ${s.state}, not open`;
  if (s.workerId !== workerId && (s.leaseExpiresAt ?? 0) > now) return `suggestion ${suggestionId} is held by worker ${s.workerId} (its lease runs until ${new Date(s.leaseExpiresAt!).toISOString()})`;
  return undefined;
}
