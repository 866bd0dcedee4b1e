import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ColumnTable } from 'arquero';
import { parseExperimentFolderName, resultsRoot } from '../results/layout.js';
import { type ExperimentMetadata } from '../results/metadata.js';
import { describeOwner, liveness, runStatus } from '../operate/folder.js';
import { type DecodedResults, numbersOf, readDecodedResults } from '../results/columns.js';
import { RunRows, constantColumn } from './columns.js';
import { readExperimentMetadata } from '../results/read.js';
import { checkPathPart } from '../util/path-part.js';
import { type Constraint, isFeasible } from '../schedulers/constraints.js';
import { UserError } from '../util/errors.js';
import { bestRuleOf, curvePoints, failedTrialIds, hypervolumeCurve } from '../results/best.js';
import { type HypervolumeSetting, type Objective, hypervolumeSetting } from '../results/pareto.js';
import { multiObjectives } from '../operate/best.js';

/**
 * Runs with several objectives plot their hypervolume over time (maximised). A run's setting is the
 * one in its metadata.json (a benchmark's, fixed by the table); runs without one (experiment files)
 * share, per benchmark, bounds taken from every point of the runs loaded with them (so their curves
 * compare with each other, not with another plot's), the reference at 1.1.
 */
function hypervolumeRuns(loaded: { run: LoadedRun; objectives: Objective[] }[]): Run[] {
  const pending = loaded.map(({ run, objectives }) => {
    const m = run.metadata;
    const column = (name: string) => numbersOf(run.results.columns.get(name)!);
    const constraints = (m.constraints ?? []) as Constraint[];
    const names = [...new Set([...objectives.map((o) => o.metric), ...constraints.map((c) => c.metric)])];
    const cols = Object.fromEntries(names.map((n) => [n, column(n)]));
    const trialIds = column('trial_id');
    const reports = Array.from(column('st_tuner_time'), (time, i) => {
      const row = Object.fromEntries(names.map((n) => [n, cols[n][i]]));
      const point = objectives.map((o) => (o.mode === 'min' ? row[o.metric] : -row[o.metric]));
      return { trialId: trialIds[i], point, feasible: isFeasible(row, constraints), order: i, item: null, time };
    });
    return { run, objectives, reports };
  });
  const shared = new Map<string, HypervolumeSetting>();
  for (const p of pending) {
    const m = p.run.metadata;
    if (m.hypervolume || shared.has(m.benchmark)) continue;
    const pts = pending.filter((q) => q.run.metadata.benchmark === m.benchmark && !q.run.metadata.hypervolume).flatMap((q) => q.reports.filter((r) => r.feasible && !r.point.some(Number.isNaN)).map((r) => r.point));
    const k = p.objectives.length;
    const lower = Array.from({ length: k }, (_, j) => Math.min(...pts.map((x) => x[j])));
    const upper = Array.from({ length: k }, (_, j) => Math.max(...pts.map((x) => x[j])));
    shared.set(m.benchmark, hypervolumeSetting(lower, upper));
  }
  return pending.map(({ run, reports }) => {
    const m = run.metadata;
    const setting = (m.hypervolume as HypervolumeSetting | undefined) ?? shared.get(m.benchmark)!;
    const curve = hypervolumeCurve(reports, failedTrialIds(m), bestRuleOf(m), setting);
    return { folder: run.folder, setup: m.method, benchmark: m.benchmark, seed: m.seed, metric: 'hypervolume', mode: 'max', metadata: { ...m, metric: 'hypervolume', mode: 'max' }, times: Array.from(curve.times), values: Array.from(curve.values) };
  });
}

/** A loaded experiment: its metadata and its results file, read once and decoded into the columns asked for. */
export interface LoadedRun {
  folder: string;
  metadata: ExperimentMetadata;
  results: DecodedResults;
}

export interface LoadOptions {
  /** Experiment tags to load (folders under <root>/<tag>/). */
  tags: string[];
  /** The results root (default: $TUNELAB_ROOT, else ~/tunelab). */
  root?: string;
  /** Keep only these methods ("setups"), benchmarks, seeds. */
  setups?: string[];
  benchmarks?: string[];
  seeds?: number[];
  /** Keep runs started within [from, to] (ISO dates). */
  from?: string;
  to?: string;
  /** Include runs whose status is `failed` (default: left out, with a warning naming them). */
  includeFailed?: boolean;
  /**
   * Include runs that did not finish: `stopped`, or `running` (whether or not its process still lives).
   * Default: left out with a warning naming them; their curves end early or stand for a study in progress.
   */
  includeUnfinished?: boolean;
  /** Any further filter on a run's metadata. */
  filter?: (metadata: ExperimentMetadata) => boolean;
  /** Receives every warning (default: console.warn). */
  warn?: (message: string) => void;
  /** Where each local folder came from (e.g. its S3 URI), for naming it in warnings. */
  origin?: Map<string, string>;
}

/** One run (method × benchmark × seed) as loaded. */
export interface Run {
  folder: string;
  setup: string;
  benchmark: string;
  seed: number;
  metric: string;
  mode: 'min' | 'max';
  metadata: ExperimentMetadata;
  /** (st_tuner_time, metric) of every result, in time order */
  times: number[];
  values: number[];
}

export interface LoadedResults {
  runs: Run[];
  /** All results rows with the run's metadata columns (setup, benchmark, seed, folder), as an arquero table. */
  table: ColumnTable;
}

/** Whether a run's curve goes by trial (`best: last`, or failed trials left out): it needs the trial ids. */
const curveByTrial = (m: ExperimentMetadata) => bestRuleOf(m) === 'last' || failedTrialIds(m).size > 0;

/**
 * The columns of the plots: time, the metric, the constraints that decide which results count, and
 * the trial ids when the curve goes by trial (read only then: a study of simulated runs may hold millions of rows).
 */
const plotColumns = (m: ExperimentMetadata) => {
  const constraints = ((m.constraints ?? []) as Constraint[]).map((c) => c.metric);
  const objectives = multiObjectives(m);
  // several objectives: each one, and the trial ids (the front goes by trial)
  if (objectives) return [...new Set(['st_tuner_time', 'trial_id', ...objectives.map((o) => o.metric), ...constraints])];
  return ['st_tuner_time', m.metric, ...constraints, ...(curveByTrial(m) ? ['trial_id'] : [])];
};

/**
 * Loads every experiment folder under the tags. Corrupt or half-written folders are skipped with a
 * warning naming them, and so are failed and unfinished runs unless asked for; when a (benchmark, setup)
 * has more runs than seeds, the completed run per seed is preferred, then the newest, and the others
 * are named; missing seeds are reported.
 */
export async function loadResults(options: LoadOptions): Promise<LoadedResults> {
  const loaded = loadRuns(options, plotColumns);
  const several = loaded.flatMap((run) => {
    const objectives = multiObjectives(run.metadata);
    return objectives ? [{ run, objectives }] : [];
  });
  const curves = new Map(several.map(({ run }, i) => [run, i]));
  const hypervolumes = hypervolumeRuns(several);
  const runs = loaded.map((run) => (curves.has(run) ? hypervolumes[curves.get(run)!] : toRun(run)));
  // columnar construction: a study can hold millions of rows; the run's fields cost nothing per row
  const rows = new RunRows(runs.map((r) => r.times.length));
  const constant = (f: (r: Run) => string | number) => constantColumn(runs.map(f), rows);
  const series = (f: (r: Run) => number[]) => {
    const out = new Float64Array(rows.length);
    runs.forEach((r, i) => out.set(f(r), rows.start[i]));
    return out;
  };
  const cols = { setup: constant((r) => r.setup), benchmark: constant((r) => r.benchmark), seed: constant((r) => r.seed), folder: constant((r) => r.folder), st_tuner_time: series((r) => r.times), value: series((r) => r.values) };
  // arquero (ESM only, so loaded asynchronously) is paid for by the callers of loadResults alone
  const { table } = await import('arquero');
  return { runs, table: table(cols as Parameters<typeof table>[0]) };
}

/**
 * The runs loadResults (and loadExperimentsTable) chooses, each results file read once and decoded
 * into the columns `wanted` names for it (undefined: all); the header must hold `st_tuner_time` and
 * the metric. Warnings as loadResults says.
 */
export function loadRuns(options: LoadOptions, wanted: (m: ExperimentMetadata) => readonly string[] | undefined): LoadedRun[] {
  const root = resultsRoot(options.root);
  if (!Array.isArray(options.tags) || options.tags.length === 0) {
    const found = existsSync(root) ? readdirSync(root).filter((t) => !t.startsWith('.')).sort() : [];
    throw new UserError(`loading results needs { tags: [...] }: the experiment tags to load; tags under ${root}: ${found.join(', ') || '(none)'}`);
  }
  const warn = options.warn ?? ((m: string) => console.warn(m));
  const where = (folder: string) => options.origin?.get(folder) ?? folder;
  const loaded: LoadedRun[] = [];
  const leftOut = { failed: [] as string[], unfinished: [] as string[] };
  for (const tag of options.tags) {
    const dir = join(root, checkPathPart('--experiment_tag', tag));
    if (!existsSync(dir)) {
      warn(`no results for tag '${tag}' under ${root}`);
      continue;
    }
    for (const name of readdirSync(dir).sort()) {
      if (!parseExperimentFolderName(tag, name)) continue;
      const folder = join(dir, name);
      try {
        const m = readExperimentMetadata(folder);
        // figures are named after the benchmark: a name that is no file name (from S3, say) is left out
        checkPathPart('its benchmark name', m.benchmark);
        if (options.setups && !options.setups.includes(m.method)) continue;
        if (options.benchmarks && !options.benchmarks.includes(m.benchmark)) continue;
        if (options.seeds && !options.seeds.includes(m.seed)) continue;
        if (options.from && m.start_time < options.from) continue;
        if (options.to && m.start_time > options.to) continue;
        if (options.filter && !options.filter(m)) continue;
        const unfinished = unfinishedReason(folder, m);
        if (m.status === 'failed' && !unfinished && !options.includeFailed) {
          leftOut.failed.push(`${where(folder)}${m.error ? ` (${m.error})` : ''}`);
          continue;
        }
        if (unfinished && !options.includeUnfinished) {
          leftOut.unfinished.push(`${where(folder)} (${unfinished})`);
          continue;
        }
        const results = readDecodedResults(folder, { wanted: wanted(m), required: plotColumns(m), warn });
        loaded.push({ folder, metadata: m, results });
      } catch (e) {
        warn(`skipping ${where(folder)}: ${(e as Error).message.replace(`${folder}: `, '')}`);
      }
    }
  }
  if (leftOut.unfinished.length) warn(`left out ${leftOut.unfinished.length} unfinished run(s) (--include_unfinished plots them): ${leftOut.unfinished.join(', ')}`);
  if (leftOut.failed.length) warn(`left out ${leftOut.failed.length} failed run(s) (--include_failed plots them): ${leftOut.failed.join(', ')}`);
  return dedupe(loaded, warn, where);
}

/** Why a run did not finish, or undefined when it ended (completed or failed). */
function unfinishedReason(folder: string, m: ExperimentMetadata): string | undefined {
  const status = runStatus(m);
  if (status === 'stopped') return 'stopped';
  if (status !== 'running') return undefined;
  const { owner, ownerGone } = liveness(folder);
  if (!ownerGone) return `still running: ${describeOwner(owner!)}`;
  return owner ? `running, but its process (${describeOwner(owner)}) is gone` : 'running, but no process owns it';
}

function toRun(e: LoadedRun): Run {
  const m = e.metadata;
  const column = (name: string) => numbersOf(e.results.columns.get(name)!);
  const constraints = (m.constraints ?? []) as Constraint[];
  const limits = constraints.map((c) => column(c.metric));
  let t = column('st_tuner_time');
  let v = column(m.metric);
  // the best-so-far curve is over feasible results only: an infeasible one counts as no result
  if (constraints.length > 0) {
    v = v.map((x, i) => (isFeasible(Object.fromEntries(constraints.map((c, k) => [c.metric, limits[k][i]])), constraints) ? x : NaN));
  }
  // the curve is over the trials' values as `tunelab best` defines them
  if (curveByTrial(m)) ({ times: t, values: v } = curvePoints(t, column('trial_id'), v, bestRuleOf(m), failedTrialIds(m)));
  // rows are appended in time order; drop results without a finite metric value
  const times: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < t.length; i++) {
    if (!Number.isFinite(t[i]) || !Number.isFinite(v[i])) continue;
    times.push(t[i]);
    values.push(v[i]);
  }
  return { folder: e.folder, setup: m.method, benchmark: m.benchmark, seed: m.seed, metric: m.metric, mode: m.mode, metadata: m, times, values };
}

/** Per (benchmark, setup, seed) the completed run, else the newest; warns about the extra ones and about missing seeds. */
function dedupe(loaded: LoadedRun[], warn: (m: string) => void, where: (folder: string) => string): LoadedRun[] {
  const groups = new Map<string, LoadedRun[]>();
  for (const e of loaded) {
    const key = `${e.metadata.benchmark}\u0000${e.metadata.method}`;
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  const seedsPerBenchmark = new Map<string, Set<number>>();
  for (const e of loaded) seedsPerBenchmark.set(e.metadata.benchmark, (seedsPerBenchmark.get(e.metadata.benchmark) ?? new Set()).add(e.metadata.seed));
  const runs: LoadedRun[] = [];
  for (const [key, exps] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const [benchmark, setup] = key.split('\u0000');
    const bySeed = new Map<number, LoadedRun[]>();
    for (const e of exps) bySeed.set(e.metadata.seed, [...(bySeed.get(e.metadata.seed) ?? []), e]);
    if (exps.length > bySeed.size) {
      const extra = [...bySeed.values()].filter((l) => l.length > 1).flatMap((l) => l.map((e) => where(e.folder)));
      warn(`${setup} on ${benchmark}: ${exps.length} results for ${bySeed.size} seeds; using the newest completed run per seed. Runs of repeated seeds: ${extra.join(', ')}`);
    }
    const expected = [...seedsPerBenchmark.get(benchmark)!].sort((a, b) => a - b);
    const missing = expected.filter((s) => !bySeed.has(s));
    if (missing.length > 0) warn(`${setup} on ${benchmark}: missing seeds ${missing.join(', ')} (other setups have them)`);
    for (const [, list] of [...bySeed].sort(([a], [b]) => a - b)) {
      const done = (e: LoadedRun) => (e.metadata.status === 'completed' ? 0 : 1);
      const newer = (a: LoadedRun, b: LoadedRun) => (a.metadata.start_time < b.metadata.start_time ? 1 : a.metadata.start_time > b.metadata.start_time ? -1 : a.folder < b.folder ? 1 : -1);
      runs.push(list.sort((a, b) => done(a) - done(b) || newer(a, b))[0]);
    }
  }
  return runs;
}
