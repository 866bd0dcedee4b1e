import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { mkdirp, readFrom } from '../util/fs.js';
import { packageRoot } from '../util/package-info.js';
import { procStat } from '../util/proc.js';
import type { Executor, Submission, WorkerInfo, WorkerSpec } from './types.js';

/** The built CLI of this install. */
const CLI = join(packageRoot, 'dist', 'src', 'cli.js');

/** One worker process: its pid, and its start time so that a reused pid is never taken for it. */
interface LocalWorker {
  index: number;
  pid: number;
  startTime: string | undefined;
}

/**
 * Workers as processes on this machine that outlive the command that launched them (`study
 * launch --executor local`; `run -f --storage` starts and waits for its own). Each is a session of
 * its own, its output in `worker-<i>.out` under the log folder; the pids are recorded beside it.
 */
export class LocalExecutor implements Executor {
  readonly name = 'local';

  async submit(spec: WorkerSpec): Promise<Submission> {
    if (!(Number.isInteger(spec.workers) && spec.workers >= 1)) throw new UserError(`workers must be a positive integer, got ${spec.workers}`);
    mkdirp(spec.logDir);
    const id = `local-${Date.now().toString(36)}`;
    const workers: LocalWorker[] = [];
    for (let index = 0; index < spec.workers; index++) {
      const out = openSync(join(spec.logDir, `worker-${index}.out`), 'a');
      const child = spawn(process.execPath, [CLI, ...spec.args], { detached: true, stdio: ['ignore', out, out], env: { ...process.env, ...spec.secretEnv }, cwd: spec.logDir });
      closeSync(out);
      child.unref();
      workers.push({ index, pid: child.pid!, startTime: procStat(child.pid!)?.startTime });
    }
    writeFileSync(join(spec.logDir, `${id}.pids.json`), JSON.stringify(workers));
    return { executor: this.name, id, workers: spec.workers, logDir: spec.logDir, submittedAt: new Date().toISOString() };
  }

  private workers(submission: Submission): LocalWorker[] {
    const file = join(submission.logDir, `${submission.id}.pids.json`);
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as LocalWorker[]) : [];
  }

  /** Still the process that was started (same pid and start time). */
  private alive(w: LocalWorker): boolean {
    const stat = procStat(w.pid);
    return w.startTime !== undefined && stat !== undefined && !stat.zombie && stat.startTime === w.startTime;
  }

  async list(submission: Submission): Promise<WorkerInfo[]> {
    // an ended process leaves no exit status to read: the worker's last line says how it ended
    return Promise.all(
      this.workers(submission).map(async (w) => {
        if (this.alive(w)) return { index: w.index, id: String(w.pid), state: 'running' as const };
        const last = (await this.output(submission, w.index)).toString('utf8').trimEnd().split('\n').pop() ?? '';
        const ended = /ended: (\w+)/.exec(last)?.[1];
        const state = ended === 'failures' ? ('failed' as const) : ended === 'signal' ? ('cancelled' as const) : ended ? ('succeeded' as const) : ('failed' as const);
        return { index: w.index, id: String(w.pid), state, reason: ended ? `ended: ${ended}` : 'ended without its last line' };
      }),
    );
  }

  async output(submission: Submission, index: number, from = 0): Promise<Buffer> {
    return readFrom(join(submission.logDir, `worker-${index}.out`), from);
  }

  async stop(submission: Submission): Promise<void> {
    for (const w of this.workers(submission)) {
      if (!this.alive(w)) continue;
      try {
        process.kill(w.pid, 'SIGTERM');
      } catch {
        // ended in between
      }
    }
  }
}
