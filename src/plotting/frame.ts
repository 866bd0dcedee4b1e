import type { ColumnTable } from 'arquero';
import { type BestTrial, bestTrial } from '../operate/best.js';
import { readExperiment } from '../results/read.js';
import { type LoadOptions, type Run, loadResults } from './load.js';

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

/**
 * Every column of every selected run's results as one arquero table (Syne Tune's load_experiments_df):
 * the runs are chosen as loadResults chooses them (filters, failed and unfinished runs, one per seed),
 * each row gets the run's tag, setup, benchmark, seed and folder; a column a run lacks is null there.
 */
export async function loadExperimentsTable(options: LoadOptions): Promise<ColumnTable> {
  const { runs } = await loadResults(options);
  const experiments = runs.map((r) => ({ run: r, rows: readExperiment(r.folder).rows }));
  const names = ['tag', 'setup', 'benchmark', 'seed', 'folder'];
  const columns = new Set<string>();
  for (const e of experiments) for (const k of Object.keys(e.rows[0] ?? {})) if (!names.includes(k)) columns.add(k);
  const cols: Record<string, unknown[]> = Object.fromEntries([...names, ...columns].map((c) => [c, []]));
  for (const { run, rows } of experiments) {
    for (const row of rows) {
      cols.tag.push(run.metadata.tag);
      cols.setup.push(run.setup);
      cols.benchmark.push(run.benchmark);
      cols.seed.push(run.seed);
      cols.folder.push(run.folder);
      for (const c of columns) cols[c].push(row[c] ?? null);
    }
  }
  const { table } = await import('arquero');
  return table(cols);
}
