import { resourceAttrOf } from '../experiment/load.js';
import { createExperimentFolder, resultsRoot } from '../results/layout.js';
import { type ExperimentMetadata, writeMetadata } from '../results/metadata.js';
import { ResultsWriter } from '../results/writer.js';
import { gitCommit, tunelabVersion } from '../util/package-info.js';
import { initialRandom } from './planner.js';
import type { SuggestionRecord } from './storage/store.js';
import type { Study } from './study.js';
import { checkPathPart } from '../util/path-part.js';

/** `tunelab study export`: a study as an experiment folder of the standard layout. */

/** Columns every results file starts with (src/tuner/tuner.ts writes them in this order). */
const STATUS_COLUMNS = ['trial_id', 'st_tuner_time', 'st_worker_time', 'st_worker_iter', 'st_decision', 'st_status'];

/**
 * The study as an experiment folder of the standard layout (DESIGN.md §4) under `<root>/<name>/`:
 * metadata.json and results.csv.gz with one row per report (a told observation without reports
 * gives one row), so `tunelab plot --experiment_tag <name>` and the notebook API read it.
 */
export async function exportStudy(study: Study, options: { root?: string } = {}): Promise<string> {
  const { store } = study;
  // the name comes from the store, which others write to: it must be one folder name under the root
  checkPathPart(`study ${study.id}'s name in ${store.url}`, study.name);
  const d = study.definition;
  const [record, suggestions, observations, reports] = await Promise.all([study.refresh(), store.listSuggestions(study.id), store.listObservations(study.id), store.listReports(study.id)]);
  const resourceAttr = resourceAttrOf(d);
  // every objective (several make a folder whose best is the front), then the constraint and stored metrics
  const metrics = [...d.objectives.map((o) => o.metric), ...d.constraints.map((c) => c.metric), ...d.storeMetrics];
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
    ...(d.objectives.length > 1 && { objectives: d.objectives }),
    best: d.best,
    resource_attr: resourceAttr,
    max_resource: d.resource?.max ?? 1,
    constraints: d.constraints,
    store_metrics: d.storeMetrics,
    budget: d.source.budget,
    backend: 'study',
    scheduler: { method: study.method, initial_random: initialRandom(d), ...d.source.study, rung_levels: study.rule?.levels },
    experiment_file: d.file,
    experiment: d.source,
    study: { id: study.id, storage: store.url, status: record.status, observations: observations.length, failed: observations.filter((o) => o.failed).length },
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
