import type { ColumnTable } from 'arquero';
import type { S3Client } from '@aws-sdk/client-s3';
import { downloadStudy } from '../cloud/sync.js';
import { type BestTrial, bestTrial } from '../operate/best.js';
import { resultsRoot } from '../results/layout.js';
import { type S3Location, s3Client } from '../results/s3.js';
import { UserError } from '../util/errors.js';
import { RunRows, constantColumn, concatColumn } from './columns.js';
import { type LoadOptions, type LoadedRun, type Run, loadRuns } from './load.js';

/** A run's best feasible result (tunelab best's), with the run it belongs to. */
export interface RunBestTrial extends BestTrial {
  folder: string;
  setup: string;
  benchmark: string;
  seed: number;
}

/** Each run's best trial: id, config and every metric of that row (the earliest on ties); runs without a feasible result are left out. */
export function bestTrials(runs: Run[], warn?: (message: string) => void): RunBestTrial[] {
  return runs.flatMap((r) => {
    const best = bestTrial(r.folder, warn);
    return best ? [{ folder: r.folder, setup: r.setup, benchmark: r.benchmark, seed: r.seed, ...best }] : [];
  });
}

/** The columns loadExperimentsTable gives every row from its run's metadata. */
const RUN_COLUMNS = ['tag', 'setup', 'benchmark', 'seed', 'folder'] as const;

export interface ExperimentsTableOptions extends LoadOptions {
  /**
   * Only these columns, in this order (run columns — tag, setup, benchmark, seed, folder — and
   * results columns alike): a notebook that needs four columns reads four. Default: all of them.
   */
  columns?: string[];
  /** Load from S3 instead: the study's files are downloaded into `root` first (as plotStudy does). */
  s3?: { location: S3Location; client?: S3Client };
}

/**
 * Every column of every selected run's results as one arquero table (Syne Tune's load_experiments_df):
 * the runs are chosen as loadResults chooses them (filters, failed and unfinished runs, one per seed),
 * each row gets the run's tag, setup, benchmark, seed and folder; a column a run lacks is null there.
 * Each results file is read once and decoded straight into columns: numbers as Float64Array, other
 * values dictionary-encoded, run columns as constants per run; no object per row, and a column only
 * some runs have (one benchmark's hyperparameters) holds only their rows (see plotting/columns).
 */
export async function loadExperimentsTable(options: ExperimentsTableOptions = { tags: [] }): Promise<ColumnTable> {
  const root = resultsRoot(options.root);
  const origin = options.s3 ? await downloadStudy(options.s3.client ?? s3Client(), options.s3.location, options.tags, root, options.warn) : options.origin;
  const wanted = options.columns?.filter((c) => !(RUN_COLUMNS as readonly string[]).includes(c));
  const runs = loadRuns({ ...options, root, origin }, () => wanted);
  const rows = new RunRows(runs.map((r) => r.results.length));
  // result columns in order of first appearance over the runs
  const resultNames = [...new Set(runs.flatMap((r) => r.results.names))].filter((c) => !(RUN_COLUMNS as readonly string[]).includes(c));
  const names = options.columns ?? [...RUN_COLUMNS, ...resultNames];
  const unknown = names.filter((c) => !(RUN_COLUMNS as readonly string[]).includes(c) && !resultNames.includes(c));
  if (unknown.length > 0 && runs.length > 0) {
    const known = [...RUN_COLUMNS, ...new Set(runs.flatMap((r) => r.results.header))];
    throw new UserError(`column(s) ${unknown.map((c) => `'${c}'`).join(', ')} in no results file of the runs loaded; their columns: ${known.join(', ')}`);
  }
  const runValue: Record<(typeof RUN_COLUMNS)[number], (r: LoadedRun) => string | number> = {
    tag: (r) => r.metadata.tag,
    setup: (r) => r.metadata.method,
    benchmark: (r) => r.metadata.benchmark,
    seed: (r) => r.metadata.seed,
    folder: (r) => r.folder,
  };
  const columns: Record<string, unknown> = {};
  for (const name of names) {
    if (name in runValue) columns[name] = constantColumn(runs.map(runValue[name as keyof typeof runValue]), rows);
    else {
      columns[name] = concatColumn(runs.map((r) => r.results.columns.get(name)), rows);
      // the column holds what it needs of the runs' arrays (a copy of numbers it concatenated goes now)
      for (const r of runs) r.results.columns.delete(name);
    }
  }
  const { table } = await import('arquero');
  return table(columns as Parameters<typeof table>[0], names);
}
