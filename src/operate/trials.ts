import { bestOfReports, bestRuleOf, failedTrialIds } from '../results/best.js';
import { formatTable, formatValue } from '../util/table.js';
import { rowReports } from './best.js';
import { liveness, loadFolder } from './folder.js';
import { trialStates } from './status.js';

/** One trial as `tunelab trials` lists it: its config, its value (by the folder's rule, src/results/best.ts), state, resource and worker. */
export interface TrialListing {
  trialId: number;
  state: string;
  /** The trial's value, undefined when it has none (failed, infeasible, no report yet). */
  value?: number;
  /** The resource level of the report that holds the value (e.g. its epoch). */
  resource?: number;
  /** Who ran it: a study's worker id; '-' for an experiment folder's local trials. */
  worker: string;
  config: Record<string, unknown>;
}

/** Every trial of an experiment folder, by id. */
export function experimentTrials(folder: string): TrialListing[] {
  const contents = loadFolder(folder);
  const { metadata, rows, columns } = contents;
  const { states } = trialStates(contents, liveness(folder).status);
  const tracker = bestOfReports(rowReports(rows, metadata), failedTrialIds(metadata), bestRuleOf(metadata), metadata.mode);
  const configOf = new Map<number, Record<string, unknown>>();
  for (const row of rows) configOf.set(Number(row.trial_id), Object.fromEntries(columns.filter((c) => c.startsWith('config_')).map((c) => [c.slice(7), row[c]])));
  for (const f of (metadata.failed_trials ?? []) as { trial_id: number; config?: Record<string, unknown> }[]) if (f.config && !configOf.has(f.trial_id)) configOf.set(f.trial_id, f.config);
  const ids = [...new Set([...states.keys(), ...configOf.keys()])].sort((a, b) => a - b);
  return ids.map((trialId) => {
    const r = tracker.values().get(trialId);
    const counts = r && r.feasible && !Number.isNaN(r.value);
    const resource = r ? Number(r.item[metadata.resource_attr]) : NaN;
    return { trialId, state: states.get(trialId) ?? 'running', ...(counts && { value: r.value }), ...(Number.isFinite(resource) && { resource }), worker: '-', config: configOf.get(trialId) ?? {} };
  });
}

export function formatTrials(trials: readonly TrialListing[], metric: string): string {
  const cell = (v: unknown) => (typeof v === 'number' ? formatValue(v) : String(v));
  return formatTable(
    ['trial', 'state', metric, 'resource', 'worker', 'config'],
    trials.map((t) => [t.trialId, t.state, t.value === undefined ? '-' : formatValue(t.value), t.resource ?? '-', t.worker, Object.entries(t.config).map(([k, v]) => `${k}=${cell(v)}`).join(', ')]),
  );
}
