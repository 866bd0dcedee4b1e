import { closeSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs';

/** Linux's process table (/proc); elsewhere every function here answers "unknown" (undefined or empty). */
export const hasProc = process.platform === 'linux';

export interface ProcStat {
  pid: number;
  pgid: number;
  zombie: boolean;
  /** When the process started, in clock ticks after boot (field 22 of /proc/<pid>/stat): with the boot id, what tells a process from a later one given the same pid. */
  startTime: string;
  /** CPU time used so far, user and system, in clock ticks (fields 14 and 15; `getconf CLK_TCK` a second). */
  cpuTicks: number;
}

/** /proc/<pid>/stat, or undefined when there is no such process (or no /proc). */
export function procStat(pid: number | string): ProcStat | undefined {
  if (!hasProc) return undefined;
  let text: string;
  try {
    text = readProcText(`/proc/${pid}/stat`);
  } catch {
    return undefined; // gone meanwhile
  }
  // "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses; fields[0] is field 3
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid: Number(pid), pgid: Number(fields[2]), zombie: fields[0] === 'Z' || fields[0] === 'X', startTime: fields[19], cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

const procChunk = Buffer.allocUnsafe(64 * 1024);

/**
 * A /proc file's text (latin1). Its size shows as 0, so readFileSync would allocate 64 KB for each:
 * a look at every process of a busy machine (a trial's end, endGroup) made megabytes of garbage.
 * One buffer serves every read; the file is read to its end. Throws as readFileSync does.
 */
export function readProcText(path: string): string {
  const fd = openSync(path, 'r');
  try {
    let text = '';
    for (;;) {
      const n = readSync(fd, procChunk, 0, procChunk.length, null);
      if (n === 0) return text;
      text += procChunk.toString('latin1', 0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/** The pids in /proc. */
export function procPids(): string[] {
  return hasProc ? readdirSync('/proc').filter((name) => /^\d+$/.test(name)) : [];
}

let cachedBootId: string | undefined;

/** This boot's id (/proc/sys/kernel/random/boot_id): a pid and start time recorded under another boot name no process of this one. */
export function bootId(): string | undefined {
  if (!hasProc) return undefined;
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      return undefined;
    }
  }
  return cachedBootId;
}
