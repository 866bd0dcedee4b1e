import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appendWhole } from '../util/fs.js';

/**
 * A results folder's file of JSON lines, one object a line (trials.jsonl, decisions.jsonl): appended
 * at the results' flushes (never rewritten), and cut back by a resumed run to the lines its
 * checkpoint counted, as the results are.
 */
export class JsonLinesWriter {
  private buffer: string[] = [];

  private constructor(
    readonly path: string,
    private written: number,
  ) {}

  /** A new, empty file. */
  static create(folder: string, file: string): JsonLinesWriter {
    const path = join(folder, file);
    writeFileSync(path, '');
    return new JsonLinesWriter(path, 0);
  }

  /**
   * Continues the file after a checkpoint that counted `lines` lines written: the lines after them
   * (what the resumed run records again) and any partial tail are cut off. A checkpoint of a tunelab
   * that kept no such file (`lines` undefined) continues whatever complete lines there are.
   */
  static resume(folder: string, file: string, lines: number | undefined): JsonLinesWriter {
    const path = join(folder, file);
    if (!existsSync(path)) {
      writeFileSync(path, '');
      return new JsonLinesWriter(path, 0);
    }
    const kept = completeLines(readFileSync(path, 'utf8')).slice(0, lines);
    truncateSync(path, Buffer.byteLength(kept.map((l) => `${l}\n`).join('')));
    return new JsonLinesWriter(path, kept.length);
  }

  record(line: object): void {
    this.buffer.push(`${JSON.stringify(line)}\n`);
  }

  get pending(): number {
    return this.buffer.length;
  }

  /** Lines on disk after the last flush. */
  get linesWritten(): number {
    return this.written;
  }

  flush(): void {
    if (this.buffer.length === 0) return;
    // on failure the lines stay buffered
    appendWhole(this.path, this.buffer.join(''));
    this.written += this.buffer.length;
    this.buffer = [];
  }
}

/** Complete lines of the file's text (a crash mid-append leaves a partial last line, which does not count). */
function completeLines(text: string): string[] {
  const lines = text.split('\n');
  lines.pop();
  return lines;
}

/**
 * The parsed complete lines of `folder/file` that `accept` takes (none when there is no such file:
 * an older run). A damaged line says nothing and is skipped.
 */
export function readJsonLines<T>(folder: string, file: string, accept: (line: Record<string, unknown>) => T | undefined): T[] {
  let text: string;
  try {
    text = readFileSync(join(folder, file), 'utf8');
  } catch {
    return [];
  }
  const out: T[] = [];
  for (const line of completeLines(text)) {
    try {
      const parsed = JSON.parse(line) as unknown;
      const taken = parsed && typeof parsed === 'object' ? accept(parsed as Record<string, unknown>) : undefined;
      if (taken !== undefined) out.push(taken);
    } catch {
      // skipped: the rows and tuner.json still tell that trial's state
    }
  }
  return out;
}
