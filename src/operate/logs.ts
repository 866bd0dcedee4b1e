import { closeSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../util/errors.js';
import { liveness } from './folder.js';

export interface LogOptions {
  /** Only this trial's logs. */
  trial?: number;
  /** Only the stderr logs. */
  stderrOnly?: boolean;
}

interface LogSource {
  trial: number;
  stream: 'stdout' | 'stderr';
  path: string;
  offset: number;
  /** Bytes after the last newline, kept until the line is complete. */
  partial: Buffer;
}

const LOG_FILE = /^trial-(\d+)\.(stdout|stderr)$/;
const CHUNK = 1 << 20;

export const logsDir = (folder: string) => join(folder, 'logs');

function logFiles(folder: string): { trial: number; stream: 'stdout' | 'stderr'; name: string }[] {
  let names: string[];
  try {
    names = readdirSync(logsDir(folder));
  } catch {
    return []; // no trial has started on the local backend (yet)
  }
  return names.flatMap((name) => {
    const m = LOG_FILE.exec(name);
    return m ? [{ trial: Number(m[1]), stream: m[2] as 'stdout' | 'stderr', name }] : [];
  });
}

/** Trial ids that have a log file, ascending. */
export function trialsWithLogs(folder: string): number[] {
  return [...new Set(logFiles(folder).map((f) => f.trial))].sort((a, b) => a - b);
}

/** A UserError for a --trial without logs, listing the trials that have some. */
export function checkTrialHasLogs(folder: string, trial: number): void {
  const trials = trialsWithLogs(folder);
  if (trials.includes(trial)) return;
  throw new UserError(
    `trial ${trial} has no logs in ${logsDir(folder)}; ${trials.length ? `trials with logs: ${trials.join(', ')}` : 'no trial has logs (only the local backend writes them)'}`,
  );
}

/**
 * Reads the trials' log files from where it left off, prefixing every line with its trial
 * (`[trial 3] ...`, `[trial 3 stderr] ...`); files are visited in trial order, stdout before stderr.
 * Only complete lines are returned, an unfinished last line once its newline arrives (or on the final read).
 */
export class LogTailer {
  private readonly sources = new Map<string, LogSource>();

  constructor(
    readonly folder: string,
    readonly options: LogOptions = {},
  ) {}

  /** Emits the new lines in blocks (each ending in a newline); `final` also flushes unfinished lines. */
  read(emit: (text: string) => void, final = false): void {
    for (const f of logFiles(this.folder)) {
      if ((this.options.trial !== undefined && f.trial !== this.options.trial) || (this.options.stderrOnly && f.stream !== 'stderr')) continue;
      if (!this.sources.has(f.name)) this.sources.set(f.name, { trial: f.trial, stream: f.stream, path: join(logsDir(this.folder), f.name), offset: 0, partial: Buffer.alloc(0) });
    }
    const order = [...this.sources.values()].sort((a, b) => a.trial - b.trial || (a.stream === 'stdout' ? -1 : 1));
    for (const s of order) this.readSource(s, emit, final);
  }

  private readSource(s: LogSource, emit: (text: string) => void, final: boolean): void {
    let size: number;
    try {
      size = statSync(s.path).size;
    } catch {
      return; // removed under us
    }
    if (size < s.offset) Object.assign(s, { offset: 0, partial: Buffer.alloc(0) }); // truncated: start over
    const prefix = s.stream === 'stdout' ? `[trial ${s.trial}] ` : `[trial ${s.trial} stderr] `;
    const fd = openSync(s.path, 'r');
    try {
      const buf = Buffer.alloc(CHUNK);
      while (s.offset < size) {
        const n = readSync(fd, buf, 0, Math.min(CHUNK, size - s.offset), s.offset);
        if (n === 0) break;
        s.offset += n;
        const data = Buffer.concat([s.partial, buf.subarray(0, n)]);
        const cut = data.lastIndexOf(0x0a);
        // split on bytes, so that a multi-byte character across two reads stays whole
        s.partial = Buffer.from(data.subarray(cut + 1));
        if (cut >= 0) emit(prefixLines(data.subarray(0, cut).toString('utf8'), prefix));
      }
    } finally {
      closeSync(fd);
    }
    if (final && s.partial.length) {
      emit(prefixLines(s.partial.toString('utf8'), prefix));
      s.partial = Buffer.alloc(0);
    }
  }
}

function prefixLines(text: string, prefix: string): string {
  return text.split('\n').map((l) => prefix + l.replace(/\r$/, '')).join('\n') + '\n';
}

/** Prints the logs written so far. */
export function printLogs(folder: string, options: LogOptions, emit: (text: string) => void): void {
  if (options.trial !== undefined) checkTrialHasLogs(folder, options.trial);
  new LogTailer(folder, options).read(emit, true);
}

export interface FollowOptions extends LogOptions {
  /** Milliseconds between looks at the log files (default 250). */
  pollMs?: number;
  signal?: AbortSignal;
}

/**
 * Prints the logs, then every new line as it is written (of trials that start later too), until the
 * experiment is no longer running: its status is not 'running', or its owner is gone on two looks in
 * a row (one look could fall between a starting run's metadata and its lock). The last read, taken
 * after the status check, drains what was written before the end.
 */
export async function followLogs(folder: string, options: FollowOptions, emit: (text: string) => void): Promise<void> {
  if (options.trial !== undefined) checkTrialHasLogs(folder, options.trial);
  const tailer = new LogTailer(folder, options);
  let goneLooks = 0;
  for (;;) {
    const live = liveness(folder);
    goneLooks = live.ownerGone ? goneLooks + 1 : 0;
    const ended = live.status !== 'running' || goneLooks >= 2 || options.signal?.aborted === true;
    tailer.read(emit, ended);
    if (ended) return;
    try {
      await sleep(options.pollMs ?? 250, undefined, { signal: options.signal });
    } catch {
      // aborted: one last read
    }
  }
}
