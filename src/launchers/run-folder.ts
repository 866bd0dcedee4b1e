import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TrialBackend } from '../backends/types.js';
import { parseExperimentFolderName } from '../results/layout.js';
import { type ExperimentMetadata, METADATA_FILE, readMetadata, writeFinalMetadata, writeMetadata } from '../results/metadata.js';
import { readExperimentMetadata } from '../results/read.js';
import { reconcileResults } from '../results/writer.js';
import { CHECKPOINT_FILE, type TunerCheckpoint, checkCheckpointStates, checkpointIdentity } from '../tuner/checkpoint.js';
import type { Tuner } from '../tuner/tuner.js';
import type { TunerSummary } from '../tuner/types.js';
import { UserError } from '../util/errors.js';
import { isDiskFull, mkdirp } from '../util/fs.js';
import { hashSeed } from '../util/rng.js';

/*
 * What every run in an experiment folder shares, hpo-main's (a benchmark on the simulator) and run's
 * (an experiment file on this machine): seeds, earlier runs, resuming, and recording how a run ended.
 * Kept apart from experiment.ts so that `run -f` does not load the blackboxes and the simulator.
 */

export interface ExperimentOutcome {
  folder: string;
  metadata: ExperimentMetadata;
  summary?: TunerSummary;
  /** The run failed because its disk is full: the experiments after it would fail the same way. */
  diskFull?: boolean;
}

/**
 * Tuner settings for trials that run for real (LocalBackend): they cannot be replayed, so rows and
 * checkpoint go to disk together every 2 s at most, also while no event comes, and tuner.json is
 * written whenever a trial starts or resumes (TunerOptions.checkpointOnLaunch).
 */
export const REAL_TRIAL_TUNING = { flushInterval: 2, checkpointInterval: 2, flushWhileIdle: true, checkpointOnLaunch: true } as const;

/** The seed of run `seed` in a study with master seed `masterSeed`: a function of those two alone. */
export const runSeed = (masterSeed: number, seed: number) => hashSeed('tunelab-run', masterSeed, seed);

export function seedRange(numSeeds: number, startSeed: number): number[] {
  if (!Number.isInteger(numSeeds) || numSeeds < 1) throw new UserError(`--num_seeds must be a positive integer, got ${numSeeds}`);
  if (!Number.isInteger(startSeed) || startSeed < 0) throw new UserError(`--start_seed must be a non-negative integer, got ${startSeed}`);
  if (startSeed >= numSeeds) {
    throw new UserError(`--start_seed ${startSeed} must be below --num_seeds ${numSeeds} (the seeds run are start_seed .. num_seeds-1)`);
  }
  return Array.from({ length: numSeeds - startSeed }, (_, i) => startSeed + i);
}

/**
 * The master seed of the runs that `--resume` continues (a study keeps one seed: a fresh one would
 * give its new runs other random streams than the old), undefined when there is none to continue.
 */
export function resumedMasterSeed(root: string, tag: string, methods: readonly string[], benchmarks: readonly string[], seeds: readonly number[]): number | undefined {
  const found = new Map<number, string>();
  for (const m of methods) {
    for (const b of benchmarks) {
      for (const s of seeds) {
        const [latest] = previousRuns(root, tag, m, b, s);
        if (latest) found.set(readMetadata(latest.folder).random_seed, latest.folder);
      }
    }
  }
  if (found.size > 1) {
    throw new UserError(`--resume: the runs of '${tag}' have different random seeds (${[...found].map(([seed, folder]) => `${seed} in ${folder}`).join(', ')}); pass the one to continue with --random_seed`);
  }
  return [...found.keys()][0];
}

/** Throws a UserError unless results can be written under `root/tag`. */
export function checkWritableRoot(root: string, tag: string): void {
  const dir = join(root, tag);
  try {
    mkdirp(dir);
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new UserError(`cannot write results under ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (set --results_root or $TUNELAB_ROOT to a writable folder)`);
  }
}

/**
 * Folders of earlier runs of (tag, method, benchmark, seed), newest first. A folder of that
 * benchmark and seed whose metadata.json is unreadable is a UserError, unless its tuner.json names
 * another method: it may be this run's, and passing it over would start anew without a word.
 */
export function previousRuns(root: string, tag: string, method: string, benchmark: string, seed: number): { folder: string; status: string }[] {
  const dir = join(root, tag);
  if (!existsSync(dir)) return [];
  const out: { folder: string; status: string; datetime: string }[] = [];
  for (const name of readdirSync(dir)) {
    const parsed = parseExperimentFolderName(tag, name);
    if (!parsed || parsed.benchmark !== benchmark || parsed.seed !== seed) continue;
    const folder = join(dir, name);
    // created, then gone before writing a thing: nothing to continue
    if (!existsSync(join(folder, METADATA_FILE)) && !existsSync(join(folder, CHECKPOINT_FILE))) continue;
    let meta: ExperimentMetadata;
    try {
      meta = readExperimentMetadata(folder);
    } catch (e) {
      const owner = checkpointIdentity(folder)?.method;
      if (owner !== undefined && owner !== method) continue;
      throw new UserError(
        `${(e as Error).message}; it may be an unfinished run of ${method} on ${benchmark} seed ${seed}${owner ? ` (its ${CHECKPOINT_FILE} says so)` : ''}: repair ${join(folder, METADATA_FILE)} or move the folder away, then run again`,
      );
    }
    if (meta.method === method) out.push({ folder, status: meta.status, datetime: parsed.datetime });
  }
  return out.sort((a, b) => (a.datetime < b.datetime ? 1 : -1));
}

/** metadata.json of a folder to resume; unreadable, it is a UserError naming it. */
export function resumedMetadata(folder: string): ExperimentMetadata {
  try {
    return readExperimentMetadata(folder);
  } catch (e) {
    throw new UserError(`cannot resume ${folder}: ${(e as Error).message.replace(`${folder}: `, '')}`);
  }
}

/**
 * What a resumed run (hpo-main's or run's) does before it writes a thing: its checkpoint's scheduler
 * and backend states checked against fresh ones, then the rows on disk made to agree with the
 * checkpoint (a torn tail cut off, rows after it discarded), each said aloud through `log`. A file
 * that cannot be continued is a UserError naming it, and the folder is left as it was.
 */
export function prepareResume(folder: string, checkpoint: TunerCheckpoint, fresh: { scheduler: unknown; backend: unknown }, columns: readonly string[], log: (line: string) => void): void {
  checkCheckpointStates(folder, checkpoint, fresh);
  for (const note of reconcileResults(folder, columns, checkpoint.rowsWritten)) log(note);
}

/** Why a run stopped on a full disk, and how to continue it. */
export function diskFullReason(e: unknown, folder: string): string {
  const err = e as NodeJS.ErrnoException;
  return `the disk is full (${err.code}${err.syscall ? ` in ${err.syscall}` : ''}${err.path ? ` of ${err.path}` : ''}) under ${folder}; its rows up to the last checkpoint are kept: free space, then continue it with --resume`;
}

/**
 * Runs a tuner in its experiment folder and records how it ended in metadata.json: `completed`;
 * `stopped` when asked to stop (SIGINT, SIGTERM, `tunelab stop`: resumable with --resume); or
 * `failed` with the error (a full disk: `diskFull`, the temporary files removed, resumable once
 * there is space). The backend is closed in every case, so no trial outlives the run.
 */
export async function runInFolder(tuner: Tuner, backend: TrialBackend, folder: string, metadata: ExperimentMetadata, checkpoint?: TunerCheckpoint): Promise<ExperimentOutcome> {
  // model-based searchers say where their configs came from (random draws until the model is ready)
  const recordSuggestions = () => {
    const counts = tuner.scheduler.suggestionCounts?.();
    if (counts) metadata.suggestions = counts;
  };
  try {
    const summary = await tuner.run(checkpoint);
    recordSuggestions();
    metadata.end_time = new Date().toISOString();
    if (summary.status === 'completed') metadata.status = 'completed';
    else {
      metadata.status = 'stopped';
      metadata.stop_reason = `${tuner.stopRequested}; continue it with --resume (checkpoint ${join(folder, CHECKPOINT_FILE)})`;
    }
    writeMetadata(folder, metadata);
    return { folder, metadata, summary };
  } catch (e) {
    const diskFull = isDiskFull(e);
    recordSuggestions();
    metadata.status = 'failed';
    metadata.end_time = new Date().toISOString();
    metadata.error = diskFull ? diskFullReason(e, folder) : (e as Error).message;
    writeFinalMetadata(folder, metadata);
    return { folder, metadata, diskFull };
  } finally {
    await backend.close();
  }
}
