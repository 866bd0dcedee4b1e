import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as aq from 'arquero';
import { parseExperimentFolderName } from '../results/layout.js';
import { type ExperimentMetadata } from '../results/metadata.js';
import { type ExperimentResults, readExperiment } from '../results/read.js';

export interface LoadOptions {
  /** Experiment tags to load (folders under <root>/<tag>/). */
  tags: string[];
  root: string;
  /** Keep only these methods ("setups"), benchmarks, seeds. */
  setups?: string[];
  benchmarks?: string[];
  seeds?: number[];
  /** Keep runs started within [from, to] (ISO dates). */
  from?: string;
  to?: string;
  /** Include runs whose status is `failed` (default: skipped). */
  includeFailed?: boolean;
  /** Any further filter on a run's metadata. */
  filter?: (metadata: ExperimentMetadata) => boolean;
  /** Receives every warning (default: console.warn). */
  warn?: (message: string) => void;
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
  table: aq.ColumnTable;
}

/**
 * Loads every experiment folder under the tags. Corrupt or half-written folders are skipped with a
 * warning naming them; when a (benchmark, setup) has more runs than seeds, the newest per seed is kept
 * and the others are named; missing seeds are reported.
 */
export function loadResults(options: LoadOptions): LoadedResults {
  const warn = options.warn ?? ((m: string) => console.warn(m));
  const loaded: ExperimentResults[] = [];
  for (const tag of options.tags) {
    const dir = join(options.root, tag);
    if (!existsSync(dir)) {
      warn(`no results for tag '${tag}' under ${options.root}`);
      continue;
    }
    for (const name of readdirSync(dir).sort()) {
      if (!parseExperimentFolderName(tag, name)) continue;
      const folder = join(dir, name);
      let exp: ExperimentResults;
      try {
        exp = readExperiment(folder);
      } catch (e) {
        warn(`skipping ${(e as Error).message}`);
        continue;
      }
      const m = exp.metadata;
      if (m.status === 'failed' && !options.includeFailed) continue;
      if (options.setups && !options.setups.includes(m.method)) continue;
      if (options.benchmarks && !options.benchmarks.includes(m.benchmark)) continue;
      if (options.seeds && !options.seeds.includes(m.seed)) continue;
      if (options.from && m.start_time < options.from) continue;
      if (options.to && m.start_time > options.to) continue;
      if (options.filter && !options.filter(m)) continue;
      loaded.push(exp);
    }
  }
  const runs = dedupe(loaded, warn);
  const rows: Record<string, unknown>[] = [];
  for (const r of runs) {
    for (let i = 0; i < r.times.length; i++) rows.push({ setup: r.setup, benchmark: r.benchmark, seed: r.seed, folder: r.folder, st_tuner_time: r.times[i], value: r.values[i] });
  }
  return { runs, table: aq.from(rows) };
}

function toRun(e: ExperimentResults): Run {
  const m = e.metadata;
  const pairs = e.rows
    .map((row) => [row.st_tuner_time as number, row[m.metric] as number] as const)
    .filter(([t, v]) => typeof t === 'number' && typeof v === 'number' && Number.isFinite(v))
    .sort((a, b) => a[0] - b[0]);
  return { folder: e.folder, setup: m.method, benchmark: m.benchmark, seed: m.seed, metric: m.metric, mode: m.mode, metadata: m, times: pairs.map((p) => p[0]), values: pairs.map((p) => p[1]) };
}

/** Newest run per (benchmark, setup, seed); warns about the extra ones and about missing seeds. */
function dedupe(loaded: ExperimentResults[], warn: (m: string) => void): Run[] {
  const groups = new Map<string, ExperimentResults[]>();
  for (const e of loaded) {
    const key = `${e.metadata.benchmark}\u0000${e.metadata.method}`;
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  const seedsPerBenchmark = new Map<string, Set<number>>();
  for (const e of loaded) seedsPerBenchmark.set(e.metadata.benchmark, (seedsPerBenchmark.get(e.metadata.benchmark) ?? new Set()).add(e.metadata.seed));
  const runs: Run[] = [];
  for (const [key, exps] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const [benchmark, setup] = key.split('\u0000');
    const bySeed = new Map<number, ExperimentResults[]>();
    for (const e of exps) bySeed.set(e.metadata.seed, [...(bySeed.get(e.metadata.seed) ?? []), e]);
    if (exps.length > bySeed.size) {
      const extra = [...bySeed.values()].filter((l) => l.length > 1).flatMap((l) => l.map((e) => e.folder));
      warn(`${setup} on ${benchmark}: ${exps.length} results for ${bySeed.size} seeds; using the newest per seed. Runs of repeated seeds: ${extra.join(', ')}`);
    }
    const expected = [...seedsPerBenchmark.get(benchmark)!].sort((a, b) => a - b);
    const missing = expected.filter((s) => !bySeed.has(s));
    if (missing.length > 0) warn(`${setup} on ${benchmark}: missing seeds ${missing.join(', ')} (other setups have them)`);
    for (const [, list] of [...bySeed].sort(([a], [b]) => a - b)) {
      const newest = list.sort((a, b) => (a.metadata.start_time < b.metadata.start_time ? 1 : a.metadata.start_time > b.metadata.start_time ? -1 : a.folder < b.folder ? 1 : -1))[0];
      runs.push(toRun(newest));
    }
  }
  return runs;
}
