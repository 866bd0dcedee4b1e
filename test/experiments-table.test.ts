import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ColumnTable } from 'arquero';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { loadExperimentsTable } from '../src/plotting/frame.js';
import { type LoadOptions, loadResults } from '../src/plotting/load.js';
import { readExperiment } from '../src/results/read.js';
import { UserError } from '../src/util/errors.js';
import { tempDir } from './helpers.js';

/** The table as loadExperimentsTable built it before (an object per row, every file read twice), restated. */
async function objectTable(options: LoadOptions): Promise<ColumnTable> {
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

const cells = (t: ColumnTable, c: string) => Array.from({ length: t.numRows() }, (_, i) => t.get(c, i));

describe('loadExperimentsTable', () => {
  const root = tempDir();
  const options = { tags: ['t'], root, warn: () => {} };

  beforeAll(async () => {
    const quiet = { log: () => {}, progress: false };
    await hpoMain({ experimentTag: 't', method: ['RS', 'ASHA'], benchmark: ['synthetic-branin'], numSeeds: 2, randomSeed: 8, resultsRoot: root, maxWallclockTime: 120 }, quiet);
    const { outcomes } = await hpoMain({ experimentTag: 't', method: ['RS'], benchmark: ['synthetic-fcnet'], numSeeds: 1, randomSeed: 8, resultsRoot: root, maxWallclockTime: 120 }, quiet);
    // one run gets a column the others lack, holding numbers, text, a quoted comma and empty cells
    const file = join(outcomes[0].folder, 'results.csv.gz');
    const lines = gunzipSync(readFileSync(file)).toString('utf8').trimEnd().split('\n');
    const note = (i: number) => (i % 4 === 0 ? '' : i % 4 === 1 ? String(i) : i % 4 === 2 ? 'late' : '"a, b"');
    writeFileSync(file, gzipSync(lines.map((l, i) => `${l},${i === 0 ? 'note' : note(i)}`).join('\n') + '\n'));
  });

  it("equals the object-per-row table cell for cell: same columns, values and order", async () => {
    const table = await loadExperimentsTable(options);
    const reference = await objectTable(options);
    expect(table.columnNames()).toEqual(reference.columnNames());
    expect(table.columnNames().slice(0, 6)).toEqual(['tag', 'setup', 'benchmark', 'seed', 'folder', 'trial_id']);
    expect(table.columnNames()).toContain('note');
    expect(table.numRows()).toBe(reference.numRows());
    expect(table.numRows()).toBeGreaterThan(1000);
    for (const c of reference.columnNames()) expect(cells(table, c), c).toEqual(cells(reference, c));
    // the mixed column: numbers, text with its comma, null where empty and where a run lacks it
    const notes = new Set(cells(table, 'note'));
    expect(notes).toContain(5);
    expect(notes).toContain('late');
    expect(notes).toContain('a, b');
    expect(notes).toContain(null);
    // numbers are Float64Array columns, text dictionary-encoded: no object per row
    expect(table.column('st_tuner_time')).toBeInstanceOf(Float64Array);
    // whole numbers in half the memory
    expect(table.column('trial_id')).toBeInstanceOf(Int32Array);
    expect((table.column('st_decision') as unknown as { key: (i: number) => number }).key(0)).toEqual(expect.any(Number));
  });

  it('arquero verbs give the same answers on it as on the object table', async () => {
    const { op } = await import('arquero');
    const summary = (t: ColumnTable) =>
      t
        .groupby('benchmark', 'setup', 'st_decision')
        .rollup({ n: op.count(), best: op.min('value'), notes: op.distinct('note') })
        .orderby('benchmark', 'setup', 'st_decision')
        .objects();
    const table = await loadExperimentsTable(options);
    const reference = await objectTable(options);
    expect(summary(table)).toEqual(summary(reference));
    expect(summary(table).length).toBeGreaterThanOrEqual(4);
    const bySetup = (t: ColumnTable) => t.groupby('setup').count().orderby('setup').objects();
    expect(bySetup(table)).toEqual(bySetup(reference));
  });

  it('columns: returns only those, in the order given, run columns among them', async () => {
    const table = await loadExperimentsTable({ ...options, columns: ['setup', 'seed', 'st_tuner_time', 'value'] });
    expect(table.columnNames()).toEqual(['setup', 'seed', 'st_tuner_time', 'value']);
    const reference = await objectTable(options);
    for (const c of table.columnNames()) expect(cells(table, c)).toEqual(cells(reference, c));
    await expect(loadExperimentsTable({ ...options, columns: ['setup', 'valu'] })).rejects.toThrow(UserError);
    await expect(loadExperimentsTable({ ...options, columns: ['setup', 'valu'] })).rejects.toThrow(/column\(s\) 'valu' in no results file of the runs loaded; their columns: tag, setup, .*value/);
  });
});
