import { basename } from 'node:path';
import { formatTable, formatValue } from '../util/table.js';
import type { ResultRow } from '../results/read.js';
import { type Constraint, isFeasible } from '../schedulers/constraints.js';
import type { TrialStatus } from '../tuner/types.js';
import { type BestTrial, type ParetoFront, bestOf, frontOf } from './best.js';
import { type FolderContents, describeOwner, lastWriteTime, liveness, loadFolder, type OwnerInfo, type RunStatus } from './folder.js';

/** `tunelab status --json` of one experiment folder. */
export interface ExperimentStatusReport {
  folder: string;
  tag?: string;
  method: string;
  benchmark?: string;
  seed?: number;
  /** metadata.json's status; a 'failed' run whose error says "interrupted" (hpo-main's stop) reads 'stopped'. */
  status: RunStatus;
  /** status is 'running' but the lock is stale or missing: no process is running it. */
  ownerGone: boolean;
  /** The lock's owner (absent when there is no lock). */
  owner?: OwnerInfo;
  /** Stopped or owner gone: `--resume` continues it. */
  resumable: boolean;
  /** Why it failed (metadata's error; for hpo-main's stop, its "interrupted; ..." message). */
  error?: string;
  /** Why it stopped (metadata's stop_reason, e.g. the signal). */
  stopReason?: string;
  metric: string;
  mode: 'min' | 'max';
  startTime: string;
  endTime: string | null;
  /** start → end; while running → now; owner gone → the folder's last write. */
  elapsedSeconds: number;
  budget: {
    trialsStarted: number;
    maxTrials?: number;
    results: number;
    maxResults?: number;
    /** Seconds of the backend clock reached (the last result or checkpoint). */
    tunerTime: number;
    maxWallclockTime?: number;
  };
  /**
   * Trials by state: an ended trial as trials.jsonl records its end; any other as tuner.json records it, or by its last result's st_status. Of a run
   * that no longer runs (stopped, failed, owner gone), `running` counts the trials it was running
   * when it ended (a --resume continues them).
   */
  trials: Record<TrialStatus, number> & { total: number };
  /** Where the trial states came from: tuner.json (with any newer results rows), or the results rows alone; either way, trials.jsonl's ends prevail. */
  trialStatesFrom: 'tuner.json' | 'results';
  /** Every failed trial with its reason, by trial id. */
  failures: { trialId: number; error: string }[];
  /** The best feasible result so far (the first objective's, with several). */
  best?: BestTrial;
  /** With several objectives: the Pareto front so far. */
  front?: ParetoFront;
  constraints?: Constraint[];
  /** With constraints: trials that reported results, none of them feasible. */
  infeasibleTrials?: number;
}

/** The state of an experiment folder, read from its metadata.json, lock, tuner.json and results. */
/** Each trial's state (tuner.json's, brought up to date by the rows flushed after it) and a failed one's reason. */
export function trialStates({ metadata, rows, checkpoint, ends }: FolderContents, runStatus: string): { states: Map<number, TrialStatus>; errors: Map<number, string> } {
  const rowsOf = new Map<number, ResultRow[]>();
  for (const row of rows) {
    const id = Number(row.trial_id);
    (rowsOf.get(id) ?? rowsOf.set(id, []).get(id)!).push(row);
  }
  const states = new Map<number, TrialStatus>();
  const errors = new Map<number, string>();
  const recordedResults = new Map<number, number>();
  for (const t of checkpoint?.tuner.trials ?? []) {
    states.set(t.id, t.status);
    recordedResults.set(t.id, t.numResults);
    if (t.error !== undefined) errors.set(t.id, t.error);
  }
  for (const [id, trialRows] of rowsOf) {
    // rows flushed after the last checkpoint are newer than its record of the trial
    if (trialRows.length <= (recordedResults.get(id) ?? -1)) continue;
    const last = String(trialRows[trialRows.length - 1].st_status) as TrialStatus;
    // a finished run stops its running trials without writing a row
    states.set(id, last === 'running' && runStatus === 'completed' ? 'stopped' : last);
  }
  // a trial's recorded end is final, whichever row or checkpoint came before it
  for (const [id, end] of ends) states.set(id, end);
  for (const f of metadata.failed_trials ?? []) {
    states.set(f.trial_id, 'failed');
    errors.set(f.trial_id, f.error);
  }
  return { states, errors };
}

export function experimentStatus(folder: string): ExperimentStatusReport {
  const live = liveness(folder);
  const contents = loadFolder(folder);
  const { metadata, rows, checkpoint } = contents;
  const running = live.status === 'running' && !live.ownerGone;
  const { states, errors } = trialStates(contents, live.status);
  const trials = { total: states.size, running: 0, paused: 0, completed: 0, stopped: 0, failed: 0 };
  for (const s of states.values()) if (s in trials) trials[s]++;
  const failures = [...states]
    .filter(([, s]) => s === 'failed')
    .map(([trialId]) => ({ trialId, error: errors.get(trialId) ?? '(no reason recorded)' }))
    .sort((a, b) => a.trialId - b.trialId);

  const end = running ? Date.now() : metadata.end_time ? Date.parse(metadata.end_time) : lastWriteTime(folder);
  const budget = metadata.budget ?? {};
  const maxWallclockTime = budget.max_wallclock_time ?? metadata.max_wallclock_time ?? undefined;
  let tunerTime = Math.max(0, checkpoint?.tuner.lastFlushTime ?? 0, checkpoint?.tuner.lastCheckpointTime ?? 0);
  for (const row of rows) tunerTime = Math.max(tunerTime, Number(row.st_tuner_time) || 0);

  const constraints = metadata.constraints?.length ? metadata.constraints : undefined;
  return {
    folder,
    tag: metadata.tag,
    method: metadata.method,
    benchmark: metadata.benchmark,
    seed: metadata.seed,
    status: live.status,
    ownerGone: live.ownerGone,
    owner: live.owner,
    resumable: live.status === 'stopped' || live.ownerGone,
    error: metadata.error,
    stopReason: typeof metadata.stop_reason === 'string' ? metadata.stop_reason : undefined,
    metric: metadata.metric,
    mode: metadata.mode,
    startTime: metadata.start_time,
    endTime: metadata.end_time,
    elapsedSeconds: Math.max(0, (end - Date.parse(metadata.start_time)) / 1000),
    budget: {
      trialsStarted: states.size,
      maxTrials: budget.max_trials,
      results: Math.max(rows.length, checkpoint?.tuner.numResults ?? 0),
      maxResults: budget.max_results,
      tunerTime,
      maxWallclockTime,
    },
    trials,
    trialStatesFrom: checkpoint ? 'tuner.json' : 'results',
    failures,
    best: bestOf(folder, contents),
    front: frontOf(folder, contents),
    constraints,
    infeasibleTrials: constraints && new Set(rows.map((r) => Number(r.trial_id))).size - new Set(rows.filter((r) => isFeasible(r, constraints)).map((r) => Number(r.trial_id))).size,
  };
}

const num = (v: unknown) => (typeof v === 'number' ? String(formatValue(v)) : String(v ?? ''));

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  const [h, m] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60)];
  const pad = (n: number) => String(n).padStart(2, '0');
  return h ? `${h}h ${pad(m)}m ${pad(s % 60)}s` : `${m}m ${pad(s % 60)}s`;
}

/** "running (pid 3 on host h)", "running (owner gone: ...)", "stopped (resumable with --resume)", "failed: why" */
export function describeStatus(r: ExperimentStatusReport): string {
  if (r.ownerGone) return `running (owner gone: ${r.owner ? describeOwner(r.owner) : 'no lock'}; resume with --resume)`;
  if (r.status === 'running') return r.owner ? `running (${describeOwner(r.owner)}${r.owner.sameHost ? '' : ', another host'})` : 'running';
  if (r.status === 'stopped') {
    const why = r.stopReason ?? r.error;
    return `stopped (resumable with --resume)${why ? `: ${why}` : ''}`;
  }
  if (r.status === 'failed') return `failed${r.error ? `: ${r.error}` : ''}`;
  return r.status;
}

const of = (used: string, max: number | undefined, unit = '') => (max === undefined ? used : `${used} / ${num(max)}${unit}`);

/** The best trial as text lines (shared by status and best). */
export function formatBest(b: BestTrial): string[] {
  const resource = b.resource === null ? 'no resource level' : `${b.resourceAttr || 'resource'} ${num(b.resource)}${b.maxResource !== undefined ? ` of ${num(b.maxResource)}` : ''}${b.finalResource ? ' (final' : ' (not final'}${b.ended ? `; the trial ${b.ended}` : ''})`;
  return [
    `trial ${b.trialId}: ${b.metric} = ${num(b.value)} (${b.mode}; ${b.rule === 'last' ? "a trial's value is its last report" : 'the best report at any resource'}), at ${resource}, tuner time ${num(b.tunerTime)}s`,
    `  metrics: ${Object.entries(b.metrics).map(([k, v]) => `${k}=${num(v)}`).join(', ')}`,
    `  config:  ${Object.entries(b.config).map(([k, v]) => `${k}=${num(v)}`).join(', ')}`,
    ...(b.checkpointDir ? [`  checkpoint: ${b.checkpointDir}`] : []),
  ];
}

/** A Pareto front as text lines (shared by status, best and run's summary): one line per point, then its config. */
export function formatFront(f: ParetoFront): string[] {
  const dirs = f.objectives.map((o) => `${o.metric} ${o.mode}`).join(', ');
  const head = `Pareto front of ${f.points.length} point(s) (${dirs}; ${f.rule === 'last' ? "a trial's value is its last report" : 'every report at any resource'})${f.hypervolume !== undefined ? `, hypervolume ${num(f.hypervolume)}` : ''}`;
  return [
    head,
    ...f.points.flatMap((p) => [
      `  trial ${p.trialId}: ${Object.entries(p.values ?? {}).map(([k, v]) => `${k}=${num(v)}`).join(', ')}${p.resource === null ? '' : ` at ${p.resourceAttr || 'resource'} ${num(p.resource)}`}`,
      `    config: ${Object.entries(p.config).map(([k, v]) => `${k}=${num(v)}`).join(', ')}`,
    ]),
  ];
}

/** How many failures the text view lists (--json has all). */
const FAILURES_SHOWN = 5;

export function formatStatus(r: ExperimentStatusReport): string {
  const t = r.trials;
  const lines = [
    `experiment  ${r.folder}`,
    `status      ${describeStatus(r)}`,
    `method      ${r.method}${r.benchmark ? ` on ${r.benchmark}` : ''}${r.seed !== undefined ? `, seed ${r.seed}` : ''} (${r.front ? `objectives ${r.front.objectives.map((o) => `${o.metric} ${o.mode}`).join(', ')}` : `metric ${r.metric}, ${r.mode}`})`,
    `elapsed     ${formatDuration(r.elapsedSeconds)} (started ${r.startTime}${r.endTime ? `, ended ${r.endTime}` : ''})`,
    `budget      trials ${of(String(r.budget.trialsStarted), r.budget.maxTrials)}, results ${of(String(r.budget.results), r.budget.maxResults)}, tuner time ${of(`${num(r.budget.tunerTime)}s`, r.budget.maxWallclockTime, 's')}`,
    `trials      ${t.total}: ${t.running} ${r.ownerGone || r.status === 'stopped' || r.status === 'failed' ? 'interrupted' : 'running'}, ${t.paused} paused, ${t.completed} completed, ${t.stopped} stopped, ${t.failed} failed${r.trialStatesFrom === 'results' ? ' (from the results; no tuner.json)' : ''}`,
  ];
  if (r.failures.length) {
    const shown = r.failures.slice(-FAILURES_SHOWN);
    lines.push(`failures    ${r.failures.length}${r.failures.length > shown.length ? ` (the last ${shown.length}; --json lists all)` : ''}:`);
    for (const f of shown) lines.push(`  trial ${f.trialId}: ${f.error}`);
  }
  if (r.constraints) {
    const c = r.constraints.map((c) => `${c.metric} ${c.mode === 'min' ? '<=' : '>='} ${num(c.threshold)}`).join(', ');
    lines.push(`constraints ${c}; ${r.infeasibleTrials} trial(s) without a feasible result`);
  }
  const best = r.front?.points.length ? formatFront(r.front) : r.best && !r.front ? formatBest(r.best) : [r.constraints ? 'no feasible result yet' : 'no result yet'];
  lines.push(`best        ${best[0]}`, ...best.slice(1).map((l) => `          ${l}`));
  return lines.join('\n');
}

/** One line per experiment folder of a tag. */
export function formatStatusTable(reports: ExperimentStatusReport[]): string {
  return formatTable(
    ['folder', 'status', 'method', 'seed', 'trials', 'results', 'elapsed', 'best'],
    reports.map((r) => [
      basename(r.folder),
      r.ownerGone ? 'running (owner gone)' : r.status,
      r.method,
      r.seed ?? '-',
      r.trials.total,
      r.budget.results,
      formatDuration(r.elapsedSeconds),
      r.front ? `front of ${r.front.points.length}${r.front.hypervolume !== undefined ? `, hv ${num(r.front.hypervolume)}` : ''}` : r.best ? `${r.metric}=${num(r.best.value)} (trial ${r.best.trialId})` : '-',
    ]),
  );
}
