import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ColumnTable } from 'arquero';
import { parseExperimentFolderName, resultsRoot } from '../results/layout.js';
import { type ExperimentMetadata } from '../results/metadata.js';
import { describeOwner, liveness, runStatus } from '../operate/folder.js';
import { readExperimentMetadata, readResultColumns } from '../results/read.js';
import { checkPathPart } from '../util/path-part.js';
import { type Constraint, isFeasible } from '../schedulers/constraints.js';
import { UserError } from '../util/errors.js';
import { type PointReport, bestRuleOf, curvePoints, failedTrialIds, hypervolumeCurve } from '../results/best.js';
import { type HypervolumeSetting, type Objective, hypervolumeSetting } from '../results/pareto.js';
import { multiObjectives } from '../operate/best.js';

/** The objectives' points of a run with several (signed, time-stamped), before its hypervolume curve is drawn. */
interface PendingFront {
  folder: string;
  metadata: ExperimentMetadata;
  objectives: Objective[];
  reports: (PointReport<null> & { time: number })[];
}

/**
 * A run with several objectives plots its hypervolume over time (maximised). Its setting is the
 * one in its metadata.json (a benchmark's, fixed by the table); runs without one (experiment files)
 * share, per benchmark, bounds taken from every point of the runs loaded with them (so their
 * curves compare with each other, not with another plot's), the reference at 1.1.
 */
function hypervolumeRuns(pending: PendingFront[]): Loaded[] {
  const shared = new Map<string, HypervolumeSetting>();
  for (const p of pending) {
    if (p.metadata.hypervolume || shared.has(p.metadata.benchmark)) continue;
    const pts = pending.filter((q) => q.metadata.benchmark === p.metadata.benchmark && !q.metadata.hypervolume).flatMap((q) => q.reports.filter((r) => r.feasible && !r.point.some(Number.isNaN)).map((r) => r.point));
    const m = p.objectives.length;
    const lower = Array.from({ length: m }, (_, k) => Math.min(...pts.map((x) => x[k])));
    const upper = Array.from({ length: m }, (_, k) => Math.max(...pts.map((x) => x[k])));
    shared.set(p.metadata.benchmark, hypervolumeSetting(lower, upper));
  }
  return pending.map((p) => {
    const setting = (p.metadata.hypervolume as HypervolumeSetting | undefined) ?? shared.get(p.metadata.benchmark)!;
    const curve = hypervolumeCurve(p.reports, failedTrialIds(p.metadata), bestRuleOf(p.metadata), setting);
    return { folder: p.folder, metadata: { ...p.metadata, metric: 'hypervolume', mode: 'max' }, ...curve };
  });
}

/** A loaded experiment: its metadata and the two columns plotting uses. */
interface Loaded {
  folder: string;
  metadata: ExperimentMetadata;
  times: Float64Array;
  values: Float64Array;
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

/**
 * Loads every experiment folder under the tags. Corrupt or half-written folders are skipped with a
 * warning naming them, and so are failed and unfinished runs unless asked for; when a (benchmark, setup)
 * has more runs than seeds, the completed run per seed is preferred, then the newest, and the others
 * are named; missing seeds are reported.
 */
export async function loadResults(options: LoadOptions): Promise<LoadedResults> {
  const root = resultsRoot(options.root);
  if (!Array.isArray(options.tags) || options.tags.length === 0) {
    const found = existsSync(root) ? readdirSync(root).filter((t) => !t.startsWith('.')).sort() : [];
    throw new UserError(`loading results needs { tags: [...] }: the experiment tags to load; tags under ${root}: ${found.join(', ') || '(none)'}`);
  }
  const warn = options.warn ?? ((m: string) => console.warn(m));
  const where = (folder: string) => options.origin?.get(folder) ?? folder;
  const loaded: Loaded[] = [];
  const pending: PendingFront[] = [];
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
        const constraints = (m.constraints ?? []) as Constraint[];
        const objectives = multiObjectives(m);
        if (objectives) {
          const names = [...new Set([...objectives.map((o) => o.metric), ...constraints.map((c) => c.metric)])];
          const cols = readResultColumns(folder, ['st_tuner_time', 'trial_id', ...names], warn);
          const reports = Array.from(cols.st_tuner_time, (time, i) => {
            const row = Object.fromEntries(names.map((n) => [n, cols[n][i]]));
            const point = objectives.map((o) => (o.mode === 'min' ? row[o.metric] : -row[o.metric]));
            return { trialId: cols.trial_id[i], point, feasible: isFeasible(row, constraints), order: i, item: null, time };
          });
          pending.push({ folder, metadata: m, objectives, reports });
          continue;
        }
        const rule = bestRuleOf(m);
        const failed = failedTrialIds(m);
        // the trial ids are read only when needed: a study of simulated runs may hold millions of rows
        const byTrial = rule === 'last' || failed.size > 0;
        const cols = readResultColumns(folder, ['st_tuner_time', m.metric, ...constraints.map((c) => c.metric), ...(byTrial ? ['trial_id'] : [])], warn);
        const values = cols[m.metric];
        // the best-so-far curve is over feasible results only: an infeasible one counts as no result
        for (let i = 0; i < values.length && constraints.length > 0; i++) {
          if (!isFeasible(Object.fromEntries(constraints.map((c) => [c.metric, cols[c.metric][i]])), constraints)) values[i] = NaN;
        }
        // the curve is over the trials' values as `tunelab best` defines them
        const curve = byTrial ? curvePoints(cols.st_tuner_time, cols.trial_id, values, rule, failed) : { times: cols.st_tuner_time, values };
        loaded.push({ folder, metadata: m, ...curve });
      } catch (e) {
        warn(`skipping ${where(folder)}: ${(e as Error).message.replace(`${folder}: `, '')}`);
      }
    }
  }
  if (leftOut.unfinished.length) warn(`left out ${leftOut.unfinished.length} unfinished run(s) (--include_unfinished plots them): ${leftOut.unfinished.join(', ')}`);
  if (leftOut.failed.length) warn(`left out ${leftOut.failed.length} failed run(s) (--include_failed plots them): ${leftOut.failed.join(', ')}`);
  loaded.push(...hypervolumeRuns(pending));
  const runs = dedupe(loaded, warn, where);
  // columnar construction: a study can hold millions of rows
  const total = runs.reduce((n, r) => n + r.times.length, 0);
  const cols = { setup: new Array<string>(total), benchmark: new Array<string>(total), seed: new Float64Array(total), folder: new Array<string>(total), st_tuner_time: new Float64Array(total), value: new Float64Array(total) };
  let k = 0;
  for (const r of runs) {
    for (let i = 0; i < r.times.length; i++, k++) {
      cols.setup[k] = r.setup;
      cols.benchmark[k] = r.benchmark;
      cols.seed[k] = r.seed;
      cols.folder[k] = r.folder;
      cols.st_tuner_time[k] = r.times[i];
      cols.value[k] = r.values[i];
    }
  }
  // arquero (ESM only, so loaded asynchronously) is paid for by the callers of loadResults alone
  const { table } = await import('arquero');
  return { runs, table: table(cols) };
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

function toRun(e: Loaded): Run {
  const m = e.metadata;
  // rows are appended in time order; drop results without a finite metric value
  const times: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < e.times.length; i++) {
    if (Number.isFinite(e.times[i]) && Number.isFinite(e.values[i])) {
      times.push(e.times[i]);
      values.push(e.values[i]);
    }
  }
  return { folder: e.folder, setup: m.method, benchmark: m.benchmark, seed: m.seed, metric: m.metric, mode: m.mode, metadata: m, times, values };
}

/** Per (benchmark, setup, seed) the completed run, else the newest; warns about the extra ones and about missing seeds. */
function dedupe(loaded: Loaded[], warn: (m: string) => void, where: (folder: string) => string): Run[] {
  const groups = new Map<string, Loaded[]>();
  for (const e of loaded) {
    const key = `${e.metadata.benchmark}\u0000${e.metadata.method}`;
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  const seedsPerBenchmark = new Map<string, Set<number>>();
  for (const e of loaded) seedsPerBenchmark.set(e.metadata.benchmark, (seedsPerBenchmark.get(e.metadata.benchmark) ?? new Set()).add(e.metadata.seed));
  const runs: Run[] = [];
  for (const [key, exps] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const [benchmark, setup] = key.split('\u0000');
    const bySeed = new Map<number, Loaded[]>();
    for (const e of exps) bySeed.set(e.metadata.seed, [...(bySeed.get(e.metadata.seed) ?? []), e]);
    if (exps.length > bySeed.size) {
      const extra = [...bySeed.values()].filter((l) => l.length > 1).flatMap((l) => l.map((e) => where(e.folder)));
      warn(`${setup} on ${benchmark}: ${exps.length} results for ${bySeed.size} seeds; using the newest completed run per seed. Runs of repeated seeds: ${extra.join(', ')}`);
    }
    const expected = [...seedsPerBenchmark.get(benchmark)!].sort((a, b) => a - b);
    const missing = expected.filter((s) => !bySeed.has(s));
    if (missing.length > 0) warn(`${setup} on ${benchmark}: missing seeds ${missing.join(', ')} (other setups have them)`);
    for (const [, list] of [...bySeed].sort(([a], [b]) => a - b)) {
      const done = (e: Loaded) => (e.metadata.status === 'completed' ? 0 : 1);
      const newer = (a: Loaded, b: Loaded) => (a.metadata.start_time < b.metadata.start_time ? 1 : a.metadata.start_time > b.metadata.start_time ? -1 : a.folder < b.folder ? 1 : -1);
      runs.push(toRun(list.sort((a, b) => done(a) - done(b) || newer(a, b))[0]));
    }
  }
  return runs;
}
