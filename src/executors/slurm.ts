import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { mkdirp, readFrom } from '../util/fs.js';
import { packageRoot } from '../util/package-info.js';
import type { Executor, Submission, WorkerInfo, WorkerResources, WorkerSpec, WorkerState } from './types.js';

/**
 * Workers as the tasks of one Slurm job array, through the commands every Slurm site has (`sbatch
 * --parsable`, `scontrol show job`, `sacct` where accounting is on, `scancel`), run where those
 * commands work (a login node). Slurm's REST API is not used: few sites enable it.
 */
export interface SlurmOptions {
  partition?: string;
  /** `--time`, e.g. `2:00:00`. */
  time?: string;
  account?: string;
  /** Further sbatch flags, split at white space (e.g. `--qos=low --constraint=a100`). */
  extra?: string;
  /** Seconds each Slurm command may take (default 30). */
  commandTimeout?: number;
  /** How a compute node starts tunelab (default: this node and this install, on the shared file system). */
  tunelab?: string[];
}

/** The built CLI of this install. */
const CLI = join(packageRoot, 'dist', 'src', 'cli.js');

/** One job array: a tunelab command line per task. */
export interface ArraySpec {
  jobName: string;
  /** tunelab's arguments of each task, by array index (all alike for a study's workers). */
  tasks: string[][];
  /** At most this many tasks at once (`%P`). */
  parallelism?: number;
  resources?: WorkerResources;
  /** The script, and each task's output as `<output>-<index>.out`. */
  logDir: string;
  output: string;
  /** Variables the tasks get by the environment only. */
  env?: Record<string, string>;
  /** `--signal`, e.g. `B:USR1@120` (none: Slurm's SIGTERM at the time limit). */
  signal?: string;
}

/** Slurm's job states (squeue/scontrol/sacct spell them alike) as a worker's state. */
export function workerState(slurmState: string): WorkerState {
  const s = slurmState.replace(/\+$/, '').split(' ')[0];
  if (['PENDING', 'CONFIGURING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESV_DEL_HOLD', 'SUSPENDED'].includes(s)) return 'pending';
  if (['RUNNING', 'COMPLETING', 'STAGE_OUT', 'SIGNALING', 'RESIZING'].includes(s)) return 'running';
  if (s === 'COMPLETED') return 'succeeded';
  if (['CANCELLED', 'PREEMPTED', 'TIMEOUT', 'DEADLINE'].includes(s)) return 'cancelled';
  return 'failed';
}

/** scontrol's ArrayTaskId of an array record not split into tasks (Slurm's NO_VAL - 1). */
const NO_TASK = '4294967294';

/** A word a POSIX shell takes literally. */
const shellQuote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** `0`, `2-3%2`, `2,4-5` (scontrol's ArrayTaskId of a task, or of the tasks still pending) → indices. */
export function arrayIndices(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.split('%')[0].split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (!Number.isInteger(a)) continue;
    for (let i = a; i <= (Number.isInteger(b) ? b : a); i++) out.push(i);
  }
  return out;
}

/** `Key=Value Key=Value …` of one `scontrol -o show job` line (values without spaces, as the fields read here are). */
function scontrolFields(line: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const m of line.matchAll(/(\w+)=(\S*)/g)) if (!fields.has(m[1])) fields.set(m[1], m[2]);
  return fields;
}

export class SlurmExecutor implements Executor {
  readonly name = 'slurm';
  constructor(private readonly options: SlurmOptions = {}) {}

  private run(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
    const timeout = (this.options.commandTimeout ?? 30) * 1000;
    return new Promise((resolve, reject) => {
      execFile(command, args, { timeout, env: env ?? process.env, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
        if (error) {
          const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? `${command} not found: run this where Slurm's commands are (a login node)` : stderr.trim() || error.message;
          reject(Object.assign(new UserError(`${command} ${args[0] ?? ''}: ${why}`, 1), { stderr }));
        } else resolve(stdout);
      });
    });
  }

  async submit(spec: WorkerSpec): Promise<Submission> {
    if (!(Number.isInteger(spec.workers) && spec.workers >= 1)) throw new UserError(`workers must be a positive integer, got ${spec.workers}`);
    const id = await this.submitArray({
      jobName: `tunelab-study-${spec.studyId}`,
      tasks: Array.from({ length: spec.workers }, () => spec.args),
      parallelism: spec.parallelism,
      resources: spec.resources,
      logDir: spec.logDir,
      output: 'worker',
      env: spec.secretEnv,
      // two minutes before the time limit, and on preemption or scancel --signal: the worker gives its trial back
      signal: 'B:USR1@120',
    });
    return { executor: this.name, id, workers: spec.workers, logDir: spec.logDir, submittedAt: new Date().toISOString() };
  }

  /** Submits one array of `tasks.length` tasks with one sbatch; returns the array's job id. */
  async submitArray(spec: ArraySpec): Promise<string> {
    const n = spec.tasks.length;
    if (n < 1) throw new UserError('a job array needs at least one task');
    mkdirp(spec.logDir);
    const tunelab = this.options.tunelab ?? [process.execPath, CLI];
    const line = (args: string[]) => `exec ${[...tunelab, ...args].map(shellQuote).join(' ')}`;
    const alike = spec.tasks.every((t) => t.length === spec.tasks[0].length && t.every((a, i) => a === spec.tasks[0][i]));
    // exec: the task's shell becomes tunelab, so Slurm's signals reach it
    const body = alike
      ? `${line(spec.tasks[0])}\n`
      : `case "$SLURM_ARRAY_TASK_ID" in\n${spec.tasks.map((t, i) => `${i}) ${line(t)} ;;\n`).join('')}*) echo "no task $SLURM_ARRAY_TASK_ID in this array" >&2; exit 2 ;;\nesac\n`;
    const script = join(spec.logDir, `${spec.output}.sbatch`);
    writeFileSync(script, `#!/bin/sh\n# tunelab: ${n} task(s); any store URL or token arrives in the environment\n${body}`, { mode: 0o700 });
    const throttle = spec.parallelism !== undefined && spec.parallelism < n ? `%${spec.parallelism}` : '';
    const r = spec.resources ?? {};
    const args = [
      '--parsable',
      `--job-name=${spec.jobName}`,
      `--array=0-${n - 1}${throttle}`,
      `--output=${join(spec.logDir, `${spec.output}-%a.out`)}`,
      `--chdir=${spec.logDir}`,
      ...(spec.signal ? [`--signal=${spec.signal}`] : []),
      '--export=ALL',
      ...(r.cpus ? [`--cpus-per-task=${r.cpus}`] : []),
      ...(r.gpus ? [`--gres=gpu:${r.gpus}`] : []),
      ...(r.memory ? [`--mem=${r.memory}M`] : []),
      ...(this.options.partition ? [`--partition=${this.options.partition}`] : []),
      ...(this.options.time ? [`--time=${this.options.time}`] : []),
      ...(this.options.account ? [`--account=${this.options.account}`] : []),
      ...(this.options.extra ? this.options.extra.split(/\s+/).filter(Boolean) : []),
      script,
    ];
    const out = await this.run('sbatch', args, { ...process.env, ...spec.env });
    const id = out.trim().split(';')[0];
    if (!/^\d+$/.test(id)) throw new UserError(`sbatch --parsable printed '${out.trim()}', not a job id`, 1);
    return id;
  }

  async list(submission: Submission): Promise<WorkerInfo[]> {
    const byIndex = new Map<number, WorkerInfo>();
    const out = await this.run('scontrol', ['-o', 'show', 'job', submission.id]).catch((e: Error & { stderr?: string }) => {
      // the controller forgets ended jobs after MinJobAge: ask the accounting database, if there is one
      if (/Invalid job id/i.test(e.stderr ?? e.message)) return '';
      throw e;
    });
    // the array's own record when no task was split off it (an array cancelled while all pending): it stands for every task not listed
    let whole: Omit<WorkerInfo, 'index' | 'id'> | undefined;
    for (const line of out.split('\n')) {
      if (!line.trim()) continue;
      const f = scontrolFields(line);
      const state = workerState(f.get('JobState') ?? 'UNKNOWN');
      const reason = f.get('Reason') && f.get('Reason') !== 'None' ? f.get('Reason') : f.get('ExitCode') && f.get('ExitCode') !== '0:0' ? `exit code ${f.get('ExitCode')}` : undefined;
      const info = { state, ...(reason ? { reason } : {}) };
      const taskId = f.get('ArrayTaskId') ?? '';
      if (taskId === NO_TASK) whole = info;
      else for (const index of arrayIndices(taskId)) byIndex.set(index, { index, id: `${submission.id}_${index}`, ...info });
    }
    if (whole) for (let index = 0; index < submission.workers; index++) if (!byIndex.has(index)) byIndex.set(index, { index, id: `${submission.id}_${index}`, ...whole });
    if (byIndex.size < submission.workers) {
      const acct = await this.run('sacct', ['-n', '-P', '-X', '-j', submission.id, '-o', 'JobID,State,ExitCode']).catch(() => '');
      for (const line of acct.split('\n')) {
        const [jobId, state, exit] = line.split('|');
        const m = /_(\d+)$/.exec(jobId ?? '');
        if (!m || byIndex.has(Number(m[1]))) continue;
        const index = Number(m[1]);
        byIndex.set(index, { index, id: jobId, state: workerState(state), ...(exit && exit !== '0:0' ? { reason: `exit code ${exit}` } : {}) });
      }
    }
    return [...byIndex.values()].sort((a, b) => a.index - b.index);
  }

  /** Where a task writes its output (Slurm's --output, %a the task id). */
  outputFile(submission: Submission, index: number): string {
    return join(submission.logDir, `worker-${index}.out`);
  }

  async output(submission: Submission, index: number, from = 0): Promise<Buffer> {
    return readFrom(this.outputFile(submission, index), from);
  }

  /** scancel, where a job that has ended already (or that the controller forgot) is nothing left to cancel. */
  private async scancel(args: string[]): Promise<void> {
    await this.run('scancel', args).catch((e: Error & { stderr?: string }) => {
      if (!/Invalid job id|already completed|Job\/step already completing or completed/i.test(e.stderr ?? e.message)) throw e;
    });
  }

  async stop(submission: Submission): Promise<void> {
    await this.scancel([submission.id]);
  }

  /** Cancels jobs or array tasks by Slurm id (`123`, `123_4`). */
  async cancel(ids: string[]): Promise<void> {
    await this.scancel(ids);
  }

  async cancelPending(submission: Submission): Promise<void> {
    await this.scancel(['--state=PENDING', submission.id]);
  }
}
