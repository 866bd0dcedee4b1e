import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { DECISIONS_FILE, type DecisionLine, readDecisions } from '../results/decisions.js';
import { METADATA_FILE } from '../results/metadata.js';
import { readExperiment } from '../results/read.js';
import { TRIAL_ENDS_FILE } from '../results/trial-ends.js';
import { RESULTS_FILE } from '../results/writer.js';
import { RungReplay } from './rungs.js';

/** A rung decision of a results folder: recorded in decisions.jsonl, or replayed from the rows (a run written before it was kept). */
export interface RunDecision extends DecisionLine {
  source: 'recorded' | 'replayed';
}

/** One trial of a run as its page shows it. */
export interface RunTrial {
  id: number;
  config: Record<string, string | number | boolean | null>;
  /** How it ended (trials.jsonl), else the status of its last row. */
  status: string;
  results: number;
  resource: number | null;
  value: number | null;
  best: number | null;
  /** The decision that ended or last moved it (the first stop, else the last decision), with its reason. */
  why: RunDecision | null;
}

/** One experiment folder of a tag: its trials, curves, decisions and best-so-far. */
export interface RunPage {
  tag: string;
  folder: string;
  method: string;
  benchmark: string;
  seed: number;
  status: string;
  metric: string;
  mode: 'min' | 'max';
  resourceAttr: string;
  scheduler: Record<string, unknown>;
  trials: RunTrial[];
  /** Every result: trial, tuner time, resource, value (the learning curves and best-so-far). */
  results: { trial: number; time: number; resource: number; value: number | null }[];
  decisions: RunDecision[];
  /** Where the decisions come from: decisions.jsonl, a replay of the rows (ASHA's stopping rule), or none to show. */
  decisionsFrom: 'recorded' | 'replayed' | 'none';
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The rows of an ASHA run (stopping type, one bracket) replayed as its scheduler saw them: what a run written before decisions.jsonl shows. */
function replayRows(scheduler: Record<string, unknown>, mode: 'min' | 'max', results: RunPage['results']): RunDecision[] | undefined {
  const levels = scheduler.rung_levels;
  if (scheduler.scheduler !== 'hyperband' || scheduler.type !== 'stopping' || scheduler.brackets !== 1 || !Array.isArray(levels)) return undefined;
  const replay = new RungReplay({ levels: levels as number[], reductionFactor: Number(scheduler.reduction_factor), mode, maxResource: Number(scheduler.max_t) });
  const out: RunDecision[] = [];
  results.forEach((r, i) => {
    if (r.value === null) return;
    for (const c of replay.add({ id: i, suggestionId: r.trial, resource: r.resource, value: r.value, createdAt: r.time })) {
      out.push({ trialId: c.suggestionId, time: c.time, level: c.level, value: c.value, rank: c.rank, size: c.size, keep: c.keep, threshold: c.threshold, decision: c.decision, source: 'replayed' });
    }
  });
  return out;
}

/** Reads a run folder (`dir` = <root>/<tag>/<folder>, already checked to be inside the root). */
export function runPage(dir: string, tag: string, folder: string): RunPage {
  const { metadata: m, rows, trialEnds } = readExperiment(dir, () => {});
  const resourceAttr = m.resource_attr;
  const results = rows.map((r) => ({ trial: Number(r.trial_id), time: Number(r.st_tuner_time), resource: Number(r[resourceAttr]), value: num(r[m.metric]) }));
  const recorded = readDecisions(dir);
  const replayed = recorded.length === 0 ? replayRows(m.scheduler, m.mode, results) : undefined;
  const decisions: RunDecision[] = recorded.length > 0 ? recorded.map((d) => ({ ...d, source: 'recorded' })) : (replayed ?? []);
  const why = new Map<number, RunDecision>();
  for (const d of decisions) if (why.get(d.trialId)?.decision !== 'stop') why.set(d.trialId, d);
  const better = (a: number, b: number) => (m.mode === 'min' ? a < b : a > b);
  const trials = new Map<number, RunTrial>();
  for (const row of rows) {
    const id = Number(row.trial_id);
    let t = trials.get(id);
    if (!t) {
      const config = Object.fromEntries(Object.entries(row).filter(([k]) => k.startsWith('config_')).map(([k, v]) => [k.slice('config_'.length), v]));
      t = { id, config, status: '', results: 0, resource: null, value: null, best: null, why: null };
      trials.set(id, t);
    }
    const value = num(row[m.metric]);
    t.results++;
    t.resource = num(row[resourceAttr]);
    t.value = value;
    t.status = String(row.st_status ?? '');
    if (value !== null && (t.best === null || better(value, t.best))) t.best = value;
  }
  for (const t of trials.values()) {
    t.status = trialEnds.get(t.id) ?? t.status;
    t.why = why.get(t.id) ?? null;
  }
  return {
    tag,
    folder,
    method: m.method,
    benchmark: m.benchmark,
    seed: m.seed,
    status: String(m.status),
    metric: m.metric,
    mode: m.mode,
    resourceAttr,
    scheduler: m.scheduler,
    trials: [...trials.values()].sort((a, b) => a.id - b.id),
    results,
    decisions,
    decisionsFrom: recorded.length > 0 ? 'recorded' : replayed ? 'replayed' : 'none',
  };
}

/** What a run's page depends on, as an ETag: its files' sizes and times of change (a stat each per poll). */
export function runStamp(dir: string): string {
  const h = createHash('sha1');
  for (const f of [RESULTS_FILE, METADATA_FILE, DECISIONS_FILE, TRIAL_ENDS_FILE]) {
    try {
      const st = statSync(join(dir, f));
      h.update(`${f}:${st.size}:${st.mtimeMs};`);
    } catch {
      h.update(`${f}:-;`);
    }
  }
  return `"${h.digest('hex').slice(0, 20)}"`;
}
