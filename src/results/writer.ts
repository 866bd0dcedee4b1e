import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { UserError } from '../util/errors.js';
import { appendWhole, writeFileAtomic } from '../util/fs.js';
import { type Cell, csvLine, parseCsv } from './csv.js';
import { gzipMembers } from './members.js';

export const RESULTS_FILE = 'results.csv.gz';

/**
 * Makes a results file agree with a checkpoint that counted `rows` rows, before a resumed run
 * appends to it: a damaged tail (a crash in the middle of a flush) is cut off, and rows written
 * after the checkpoint (a stop between a flush and the next checkpoint) are discarded, since the
 * resumed run records them again (LocalBackend.restore recovers real trials' reports from their logs). The cut falls on a gzip member's end wherever the checkpoint
 * does, so the kept bytes are the original ones. Returns what it did, a sentence each; throws a
 * UserError naming the file, and touches nothing, when the file cannot be continued.
 */
export function reconcileResults(folder: string, columns: readonly string[], rows: number): string[] {
  const path = join(folder, RESULTS_FILE);
  const cannot = (why: string) => new UserError(`cannot resume from ${path}: ${why}`);
  if (!existsSync(path)) throw cannot('the file is missing');
  const buf = readFileSync(path);
  const { members, goodBytes, damage } = gzipMembers(buf);
  if (members.length === 0) throw cannot(`no complete gzip member in it (${damage}); the file is truncated or not a results file`);
  // each member holds whole rows (a flush appends complete lines)
  const parsed = members.map((m) => parseCsv(m.data.toString('utf8')));
  const header = parsed[0][0] ?? [];
  if (header.join(',') !== columns.join(',')) {
    throw cannot(`it has columns [${header.join(', ')}], the resumed run writes [${columns.join(', ')}]`);
  }
  const onDisk = parsed.reduce((n, p) => n + p.length, 0) - 1;
  if (onDisk < rows) {
    throw cannot(`it holds ${onDisk} complete rows but the checkpoint counted ${rows}${damage ? `; its tail is damaged (${damage})` : ''}`);
  }
  const notes: string[] = [];
  if (damage) notes.push(`${path}: cut off a damaged tail of ${buf.length - goodBytes} bytes (${damage}), left by a crash while writing, after its ${onDisk} complete rows`);
  if (onDisk > rows) {
    notes.push(`${path}: discarded its last ${onDisk - rows} row(s): they were written after the checkpoint, which counts ${rows} (as when a run stops between a flush and its next checkpoint); the resumed run records them again (the simulator computes them anew, real trials' reports are taken from their logs)`);
  }
  // the member holding the checkpoint's last row (the header counts as a row here)
  let before = 0;
  let k = 0;
  while (before + parsed[k].length < rows + 1) before += parsed[k++].length;
  if (before + parsed[k].length === rows + 1) {
    if (members[k].end < buf.length) truncateSync(path, members[k].end);
  } else {
    // the checkpoint falls inside member k (a file written by another version): re-compress its kept rows
    const start = k === 0 ? 0 : members[k - 1].end;
    const kept = parsed[k].slice(0, rows + 1 - before).map((r) => csvLine(r)).join('');
    writeFileAtomic(path, Buffer.concat([buf.subarray(0, start), gzipSync(kept)]));
  }
  return notes;
}

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

  /** Continue a results file after a checkpoint that had `rows` rows flushed (see reconcileResults; `log` hears what it did). */
  static resume(folder: string, columns: readonly string[], rows: number, log: (line: string) => void = (l) => console.warn(l)): ResultsWriter {
    for (const note of reconcileResults(folder, columns, rows)) log(note);
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
    // a member written in part is cut off (the file stays whole); on failure the rows stay buffered
    appendWhole(this.path, gzipSync(this.buffer.join('')));
    this.written += this.buffer.length;
    this.buffer = [];
  }
}
