import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { type Cell, csvLine, parseCsv } from './csv.js';

export const RESULTS_FILE = 'results.csv.gz';

/**
 * Appends result rows to `results.csv.gz`. Each flush appends one gzip member (gzip files may hold
 * several; every reader decompresses them as one stream), so the file is never rewritten and a crash
 * loses at most the rows since the last flush.
 */
export class ResultsWriter {
  private buffer: string[] = [];
  private written: number;
  readonly path: string;

  private constructor(
    folder: string,
    readonly columns: readonly string[],
    rowsOnDisk: number,
  ) {
    this.path = join(folder, RESULTS_FILE);
    this.written = rowsOnDisk;
  }

  /** A new results file with its header row. */
  static create(folder: string, columns: readonly string[]): ResultsWriter {
    const w = new ResultsWriter(folder, columns, 0);
    writeFileSync(w.path, gzipSync(csvLine(columns)));
    return w;
  }

  /**
   * Continue a results file after a checkpoint that had `rows` rows flushed. Rows written after the
   * checkpoint (a crash between flush and checkpoint) are dropped, since the resumed run reproduces them.
   */
  static resume(folder: string, columns: readonly string[], rows: number): ResultsWriter {
    const path = join(folder, RESULTS_FILE);
    if (!existsSync(path)) throw new Error(`${path} is missing; cannot resume`);
    const parsed = parseCsv(gunzipSync(readFileSync(path)).toString('utf8'));
    const header = parsed[0] ?? [];
    if (header.join(',') !== columns.join(',')) {
      throw new Error(`${path} has columns [${header.join(', ')}], the resumed run writes [${columns.join(', ')}]`);
    }
    const onDisk = parsed.length - 1;
    if (onDisk < rows) throw new Error(`${path} holds ${onDisk} rows but the checkpoint counted ${rows}`);
    if (onDisk > rows) {
      const text = parsed.slice(0, rows + 1).map((r) => csvLine(r)).join('');
      writeFileSync(`${path}.tmp`, gzipSync(text));
      renameSync(`${path}.tmp`, path);
    }
    return new ResultsWriter(folder, columns, rows);
  }

  append(row: Record<string, Cell>): void {
    this.buffer.push(csvLine(this.columns.map((c) => row[c])));
  }

  /** Rows on disk after the last flush. */
  get rowsWritten(): number {
    return this.written;
  }

  get pending(): number {
    return this.buffer.length;
  }

  flush(): void {
    if (this.buffer.length === 0) return;
    appendFileSync(this.path, gzipSync(this.buffer.join('')));
    this.written += this.buffer.length;
    this.buffer = [];
  }
}
