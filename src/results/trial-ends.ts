import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appendWhole } from '../util/fs.js';

/**
 * How each trial of an experiment ended, one JSON line per trial as it ends:
 * `{"trial_id":3,"status":"completed"}`. A results row's `st_status` is the trial's status when
 * that result came (as in Syne Tune), so a trial whose clean exit arrives after its last report
 * has no `completed` row; this file is where its end is recorded, whatever the timing. It is
 * appended at the results' flushes (never rewritten), and a resumed run cuts it back to the lines
 * its checkpoint counted, as it does the results.
 */
export const TRIAL_ENDS_FILE = 'trials.jsonl';

export type TrialEnd = 'completed' | 'stopped' | 'failed';

const ENDS: readonly string[] = ['completed', 'stopped', 'failed'] satisfies TrialEnd[];

/** Complete lines of the file's text (a crash mid-append leaves a partial last line, which does not count). */
function completeLines(text: string): string[] {
  const lines = text.split('\n');
  lines.pop();
  return lines;
}

export class TrialEndsWriter {
  private buffer: string[] = [];

  private constructor(
    readonly path: string,
    private written: number,
  ) {}

  /** A new, empty file. */
  static create(folder: string): TrialEndsWriter {
    const path = join(folder, TRIAL_ENDS_FILE);
    writeFileSync(path, '');
    return new TrialEndsWriter(path, 0);
  }

  /**
   * Continues the file after a checkpoint that counted `lines` lines written: the lines after them
   * (ends the resumed run records again) and any partial tail are cut off. A checkpoint of a tunelab
   * that kept no such file (`lines` undefined) continues whatever complete lines there are.
   */
  static resume(folder: string, lines: number | undefined): TrialEndsWriter {
    const path = join(folder, TRIAL_ENDS_FILE);
    if (!existsSync(path)) {
      writeFileSync(path, '');
      return new TrialEndsWriter(path, 0);
    }
    const kept = completeLines(readFileSync(path, 'utf8')).slice(0, lines);
    truncateSync(path, Buffer.byteLength(kept.map((l) => `${l}\n`).join('')));
    return new TrialEndsWriter(path, kept.length);
  }

  record(trialId: number, status: TrialEnd): void {
    this.buffer.push(`${JSON.stringify({ trial_id: trialId, status })}\n`);
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

/** Each ended trial's end, by trial id (empty when the folder has no such file: an older run, or none ended yet). */
export function readTrialEnds(folder: string): Map<number, TrialEnd> {
  const ends = new Map<number, TrialEnd>();
  let text: string;
  try {
    text = readFileSync(join(folder, TRIAL_ENDS_FILE), 'utf8');
  } catch {
    return ends;
  }
  for (const line of completeLines(text)) {
    try {
      const { trial_id: id, status } = JSON.parse(line) as { trial_id?: unknown; status?: unknown };
      if (Number.isInteger(id) && typeof status === 'string' && ENDS.includes(status)) ends.set(id as number, status as TrialEnd);
    } catch {
      // a damaged line says nothing; the rows and tuner.json still tell that trial's state
    }
  }
  return ends;
}
