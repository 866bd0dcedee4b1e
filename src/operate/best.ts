import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type BestRule, type PointReport, type Report, bestOfReports, bestRuleOf, failedTrialIds, paretoOfReports } from '../results/best.js';
import { type HypervolumeSetting, type Objective, normalisedHypervolume, signed } from '../results/pareto.js';
import type { ResultRow } from '../results/read.js';
import type { TrialEnd } from '../results/trial-ends.js';
import { isFeasible } from '../schedulers/constraints.js';
import { type FolderContents, loadFolder, type OperatedMetadata } from './folder.js';

/** The best feasible result of an experiment. */
export interface BestTrial {
  trialId: number;
  /** The objective (metadata's metric) and its value in that row. */
  metric: string;
  mode: 'min' | 'max';
  /** What a trial's value is: its last report, or its best at any resource (src/results/best.ts). */
  rule: BestRule;
  value: number;
  /** The row's resource level (e.g. epoch), null when the row has none. */
  resourceAttr: string;
  resource: number | null;
  maxResource?: number;
  /** True when the row is the trial's final one: at the maximum resource, or the last report of a trial that completed (it ended cleanly). */
  finalResource: boolean;
  /** How the trial ended (trials.jsonl); absent while it runs, or for a run written before that file existed. */
  ended?: TrialEnd;
  /** Hyperparameters, from the config_ columns (numbers parsed). */
  config: Record<string, string | number | null>;
  /** Every metric column of that row. */
  metrics: Record<string, number | string | null>;
  /** Tuner time of the row (seconds since the start, backend clock). */
  tunerTime: number;
  /** The trial's checkpoint folder, when it exists. */
  checkpointDir?: string;
  /** With several objectives: each objective's value in that row. */
  values?: Record<string, number>;
}

/** With several objectives, the best of an experiment: the Pareto front of its feasible trials' values. */
export interface ParetoFront {
  objectives: Objective[];
  rule: BestRule;
  /** Each point with its trial, config, objective values and resource, in time order. */
  points: BestTrial[];
  /** The front's hypervolume under the run's setting (metadata.json `hypervolume`), when it has one. */
  hypervolume?: number;
}

/** The objectives of a folder with several (metadata.json `objectives`), else undefined. */
export function multiObjectives(metadata: Readonly<Record<string, unknown>>): Objective[] | undefined {
  const o = metadata.objectives;
  return Array.isArray(o) && o.length > 1 ? (o as Objective[]) : undefined;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && !Number.isNaN(v);

/** The metric columns: between the resource column and the first config_ column. */
export function metricColumns(columns: string[], resourceAttr: string | undefined): string[] {
  const resourceAt = resourceAttr ? columns.indexOf(resourceAttr) : -1;
  const from = resourceAt >= 0 ? resourceAt + 1 : columns.indexOf('st_status') + 1;
  const configAt = columns.findIndex((c) => c.startsWith('config_'));
  return columns.slice(from, configAt >= 0 ? configAt : columns.length);
}

function maxResourceOf(metadata: OperatedMetadata): number | undefined {
  const fromRun = (metadata.experiment as { resource?: { max?: unknown } } | undefined)?.resource?.max;
  const m = metadata.max_resource ?? fromRun;
  return isNumber(m) ? m : undefined;
}

/** The rows of a folder as reports for src/results/best.ts, in time (row) order. */
export function rowReports(rows: ResultRow[], metadata: OperatedMetadata): Report<ResultRow>[] {
  return rows.map((row, order) => ({ trialId: Number(row.trial_id), value: isNumber(row[metadata.metric]) ? (row[metadata.metric] as number) : NaN, feasible: isFeasible(row, metadata.constraints), order, item: row }));
}

/** The row is the trial's last one. */
function isLastOf(rows: readonly ResultRow[], trialId: number, row: ResultRow): boolean {
  for (let i = rows.length - 1; i >= 0; i--) if (Number(rows[i].trial_id) === trialId) return rows[i] === row;
  return false;
}

/** The rows of a folder with several objectives as point reports, in time (row) order. */
export function rowPointReports(rows: ResultRow[], metadata: OperatedMetadata, objectives: readonly Objective[]): PointReport<ResultRow>[] {
  return rows.map((row, order) => ({ trialId: Number(row.trial_id), point: signed(objectives, row), feasible: isFeasible(row, metadata.constraints), order, item: row }));
}

/** The Pareto front of a folder with several objectives; undefined for a single-objective one. */
export function frontOf(folder: string, contents: FolderContents): ParetoFront | undefined {
  const { metadata, rows } = contents;
  const objectives = multiObjectives(metadata);
  if (!objectives) return undefined;
  const rule = bestRuleOf(metadata);
  const front = paretoOfReports(rowPointReports(rows, metadata, objectives), failedTrialIds(metadata), rule).front();
  const setting = metadata.hypervolume as HypervolumeSetting | undefined;
  return {
    objectives,
    rule,
    points: front.map((r) => ({ ...trialOfRow(folder, r.item, contents), values: Object.fromEntries(objectives.map((o) => [o.metric, r.item[o.metric] as number])) })),
    ...(setting && { hypervolume: normalisedHypervolume(front.map((r) => r.point), setting) }),
  };
}

export function bestOf(folder: string, contents: FolderContents): BestTrial | undefined {
  const { metadata, rows } = contents;
  const rule = bestRuleOf(metadata);
  const best = bestOfReports(rowReports(rows, metadata), failedTrialIds(metadata), rule, metadata.mode).best()?.item;
  return best && trialOfRow(folder, best, contents);
}

/** A result row as the best (or a front point) shows it. */
function trialOfRow(folder: string, best: ResultRow, { metadata, rows, columns, ends }: FolderContents): BestTrial {
  const { metric, mode } = metadata;
  const rule = bestRuleOf(metadata);
  const trialId = Number(best.trial_id);
  const resourceAttr = metadata.resource_attr ?? '';
  const resource = isNumber(best[resourceAttr]) ? (best[resourceAttr] as number) : null;
  const maxResource = maxResourceOf(metadata);
  const checkpointDir = join(folder, 'checkpoints', String(trialId));
  return {
    trialId,
    metric,
    mode,
    rule,
    value: best[metric] as number,
    resourceAttr,
    resource,
    maxResource,
    finalResource: (maxResource !== undefined && resource !== null && resource >= maxResource) || ((ends.get(trialId) ?? best.st_status) === 'completed' && isLastOf(rows, trialId, best)),
    ...(ends.has(trialId) && { ended: ends.get(trialId) }),
    config: Object.fromEntries(columns.filter((c) => c.startsWith('config_')).map((c) => [c.slice('config_'.length), best[c]])),
    metrics: Object.fromEntries(metricColumns(columns, metadata.resource_attr).map((c) => [c, best[c]])),
    tunerTime: Number(best.st_tuner_time),
    checkpointDir: existsSync(checkpointDir) ? checkpointDir : undefined,
  };
}

/** The best of a folder: its Pareto front with several objectives, else its best trial; undefined when no result is feasible. */
export function bestOrFront(folder: string, warn?: (message: string) => void): { front: ParetoFront } | { best: BestTrial } | undefined {
  const contents = loadFolder(folder, warn);
  const front = frontOf(folder, contents);
  if (front) return front.points.length ? { front } : undefined;
  const best = bestOf(folder, contents);
  return best && { best };
}

/** The best feasible result of an experiment folder; undefined when no result is feasible (or none was reported). */
export function bestTrial(folder: string, warn?: (message: string) => void): BestTrial | undefined {
  return bestOf(folder, loadFolder(folder, warn));
}
