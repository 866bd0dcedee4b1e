import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';

/**
 * A trial's stdout or stderr log, appended synchronously as the output is read: a line is in the
 * file before the tuner sees the report it holds, so the file is the record of everything the
 * trial printed, which `--resume` recovers reports from (LocalBackend.restore). A log that cannot
 * be written must not end the tuner: a failed write is skipped.
 */
export class TrialLog {
  private fd: number | undefined;
  /** Bytes in the file: where the next write lands. */
  position = 0;

  constructor(path: string) {
    try {
      this.fd = openSync(path, 'a+');
      this.position = fstatSync(this.fd).size;
      // a process killed in the middle of a line left it open: the next output starts on a line of its own
      if (this.position > 0) {
        const last = Buffer.alloc(1);
        readSync(this.fd, last, 0, 1, this.position - 1);
        if (last[0] !== 0x0a) this.append(Buffer.from('\n'));
      }
    } catch {
      this.close();
    }
  }

  /** Appends `chunk`; returns the offset it starts at, or undefined if it could not be written. */
  append(chunk: Buffer): number | undefined {
    if (this.fd === undefined) return undefined;
    const at = this.position;
    try {
      for (let done = 0; done < chunk.length; ) done += writeSync(this.fd, chunk, done);
    } catch {
      // part of it may be in the file: the position follows the file
      try {
        this.position = fstatSync(this.fd).size;
      } catch {
        // keep the last known one
      }
      return undefined;
    }
    this.position += chunk.length;
    return at;
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // nothing left to lose
    }
    this.fd = undefined;
  }
}

/** The bytes of the file at `path` from `offset` to its end (empty when it is missing or shorter). */
export function readFrom(path: string, offset: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const size = fstatSync(fd).size;
    if (size <= offset) return Buffer.alloc(0);
    const buf = Buffer.alloc(size - offset);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}
