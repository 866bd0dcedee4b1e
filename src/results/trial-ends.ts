import { JsonLinesWriter, readJsonLines } from './jsonl.js';

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

export class TrialEndsWriter {
  private constructor(private readonly lines: JsonLinesWriter) {}

  /** A new, empty file. */
  static create(folder: string): TrialEndsWriter {
    return new TrialEndsWriter(JsonLinesWriter.create(folder, TRIAL_ENDS_FILE));
  }

  /** Continues the file after a checkpoint that counted `lines` lines (JsonLinesWriter.resume). */
  static resume(folder: string, lines: number | undefined): TrialEndsWriter {
    return new TrialEndsWriter(JsonLinesWriter.resume(folder, TRIAL_ENDS_FILE, lines));
  }

  get path(): string {
    return this.lines.path;
  }

  record(trialId: number, status: TrialEnd): void {
    this.lines.record({ trial_id: trialId, status });
  }

  get pending(): number {
    return this.lines.pending;
  }

  /** Lines on disk after the last flush. */
  get linesWritten(): number {
    return this.lines.linesWritten;
  }

  flush(): void {
    this.lines.flush();
  }
}

/** Each ended trial's end, by trial id (empty when the folder has no such file: an older run, or none ended yet). */
export function readTrialEnds(folder: string): Map<number, TrialEnd> {
  const ends = readJsonLines(folder, TRIAL_ENDS_FILE, ({ trial_id: id, status }) =>
    Number.isInteger(id) && typeof status === 'string' && ENDS.includes(status) ? ([id as number, status as TrialEnd] as const) : undefined,
  );
  return new Map(ends);
}
