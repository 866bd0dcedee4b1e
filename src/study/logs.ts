import type { LogRecord } from './storage/store.js';
import type { StudyOverview } from './handle.js';

/** `tunelab study logs`: every trial's output, prefixed by worker and trial. */

export interface StudyLogOptions {
  follow?: boolean;
  /** Seconds between polls with `follow` (default 1). */
  interval?: number;
  write?: (line: string) => void;
  /** Ends `follow` early. */
  signal?: AbortSignal;
}

/**
 * Prints every trial's output, each line prefixed by worker and trial (also of trials that crashed
 * and of workers that died: the lines are in the store). With `follow`, waits for new lines until
 * the study is no longer running and no suggestion is open.
 */
export async function studyLogs(study: StudyOverview, options: StudyLogOptions = {}): Promise<number> {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  let after = 0;
  let printed = 0;
  for (;;) {
    for (;;) {
      const batch = await study.readLogs(after, 1000);
      for (const l of batch) write(logLine(l));
      printed += batch.length;
      if (batch.length > 0) after = batch[batch.length - 1].id;
      if (batch.length < 1000) break;
    }
    if (!options.follow || options.signal?.aborted) return printed;
    const record = await study.refresh();
    if (record.status !== 'running' && (await study.openCount()) === 0) {
      // one more read: lines shipped by the last trials just before they ended
      const rest = await study.readLogs(after, 1000);
      for (const l of rest) write(logLine(l));
      return printed + rest.length;
    }
    await new Promise((r) => setTimeout(r, (options.interval ?? 1) * 1000));
  }
}

const logLine = (l: LogRecord) => `[${l.workerId} trial ${l.suggestionId}${l.stream === 'stderr' ? ' stderr' : ''}] ${l.line}`;
