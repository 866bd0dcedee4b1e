import { setTimeout as sleep } from 'node:timers/promises';
import { executorOf } from './launch.js';
import type { Executor, Submission } from './types.js';

/** How a worker's lines are prefixed when several are merged: its executor and the engine's id of it. */
export const workerLabel = (s: Submission, index: number) => `[${s.executor} ${s.executor === 'slurm' ? `${s.id}_${index}` : `${s.id}/${index}`}]`;

interface Source {
  submission: Submission;
  executor: Executor;
  index: number;
  offset: number;
  /** Bytes after the last newline, kept until their line is complete (a character split across reads stays whole). */
  partial: Buffer;
}

/**
 * Every worker's output of the submissions, merged line by line, each line prefixed by its worker
 * (`[slurm 123_4] …`); each worker is read from where the last look left it.
 */
export class WorkerOutputTailer {
  private readonly sources: Source[];

  constructor(submissions: readonly Submission[]) {
    this.sources = submissions.flatMap((submission) => {
      const executor = executorOf(submission);
      return Array.from({ length: submission.workers }, (_, index) => ({ submission, executor, index, offset: 0, partial: Buffer.alloc(0) }));
    });
  }

  /** Emits the new complete lines of every worker; `final` also the unfinished last ones. */
  async read(emit: (line: string) => void, final = false): Promise<void> {
    for (const s of this.sources) {
      const bytes = await s.executor.output(s.submission, s.index, s.offset);
      s.offset += bytes.length;
      const data = Buffer.concat([s.partial, bytes]);
      const cut = final ? data.length : data.lastIndexOf(0x0a) + 1;
      s.partial = Buffer.from(data.subarray(cut));
      if (cut === 0) continue;
      const label = workerLabel(s.submission, s.index);
      for (const line of data.subarray(0, cut).toString('utf8').replace(/\n$/, '').split('\n')) emit(`${label} ${line.replace(/\r$/, '')}`);
    }
  }
}

export interface FollowWorkersOptions {
  /** Asked after each look: once true, a last look drains what was written and the following ends. */
  done: () => Promise<boolean>;
  /** Milliseconds between looks (default 1000). */
  pollMs?: number;
  signal?: AbortSignal;
}

/** Prints every worker's output as it is written, until `done` (or the signal). */
export async function followWorkerOutput(submissions: readonly Submission[], emit: (line: string) => void, options: FollowWorkersOptions): Promise<void> {
  const tailer = new WorkerOutputTailer(submissions);
  for (;;) {
    await tailer.read(emit);
    if (options.signal?.aborted || (await options.done())) break;
    await sleep(options.pollMs ?? 1000, undefined, { signal: options.signal }).catch(() => undefined);
  }
  await tailer.read(emit, true);
}
