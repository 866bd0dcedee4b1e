import type { PointReport, Report } from '../results/best.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { writeJsonAtomic } from '../results/metadata.js';
import type { TrialRecord } from './types.js';

export const CHECKPOINT_FILE = 'tuner.json';
export const CHECKPOINT_FORMAT = 'tunelab-tuner';
export const CHECKPOINT_VERSION = 1;

/** Plain JSON; everything needed to continue a run exactly where it stopped. */
export interface TunerCheckpoint {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  /** What run this is (method, benchmark, seed, ...): a resume must match it. */
  identity: Record<string, unknown>;
  rowsWritten: number;
  /** Lines of trials.jsonl on disk (src/results/trial-ends.ts); absent in a checkpoint of a tunelab that kept no such file. */
  trialEndsWritten?: number;
  /** Lines of decisions.jsonl on disk (src/results/decisions.ts), for a scheduler that gives its decisions' reasons. */
  decisionsWritten?: number;
  tuner: {
    nextTrialId: number;
    trials: TrialRecord[];
    numResults: number;
    numFailures: number;
    lastFlushTime: number;
    lastCheckpointTime: number;
    best?: { trialId: number; value: number };
    /** Each trial's value (src/results/best.ts: trial, value, feasible, row order). */
    trialValues?: Report<null>[];
    /** With several objectives: each trial's points (src/results/best.ts ParetoTracker). */
    trialPoints?: PointReport<null>[];
  };
  scheduler: unknown;
  backend: unknown;
}

export function writeCheckpoint(folder: string, checkpoint: TunerCheckpoint): void {
  // compact: a checkpoint of a long run is large and written often
  writeJsonAtomic(join(folder, CHECKPOINT_FILE), checkpoint, false);
}

/** Reads and checks tuner.json; a corrupt or foreign file is a UserError naming it. */
export function readCheckpoint(folder: string, identity: Record<string, unknown>): TunerCheckpoint {
  const path = join(folder, CHECKPOINT_FILE);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UserError(`cannot resume from ${path}: ${(e as Error).message}`);
  }
  const c = parsed as Partial<TunerCheckpoint>;
  if (!c || typeof c !== 'object' || c.format !== CHECKPOINT_FORMAT) {
    throw new UserError(`cannot resume from ${path}: not a tunelab tuner checkpoint`);
  }
  if (c.version !== CHECKPOINT_VERSION) {
    throw new UserError(`cannot resume from ${path}: checkpoint version ${c.version}, this tunelab reads version ${CHECKPOINT_VERSION}`);
  }
  if (!c.tuner || !Array.isArray(c.tuner.trials) || typeof c.rowsWritten !== 'number' || c.scheduler === undefined || c.backend === undefined) {
    throw new UserError(`cannot resume from ${path}: checkpoint is incomplete`);
  }
  // every checkpoint is taken right after a flush: a file where they differ was edited or damaged
  if (c.tuner.numResults !== c.rowsWritten) {
    throw new UserError(`cannot resume from ${path}: it counts ${c.tuner.numResults} results but ${c.rowsWritten} rows written; a checkpoint always has both equal`);
  }
  for (const [k, v] of Object.entries(identity)) {
    if (JSON.stringify(c.identity?.[k]) !== JSON.stringify(v)) {
      throw new UserError(`cannot resume from ${path}: it belongs to ${k}=${JSON.stringify(c.identity?.[k])}, not ${JSON.stringify(v)}`);
    }
  }
  return c as TunerCheckpoint;
}

/** The first place where `saved` lacks the shape (keys, kinds of value) of a fresh `template` state. */
function shapeMismatch(saved: unknown, template: unknown, where: string): string | undefined {
  if (template === null || template === undefined) return undefined;
  if (Array.isArray(template)) return Array.isArray(saved) ? undefined : `${where} is not an array`;
  if (typeof template === 'object') {
    if (!saved || typeof saved !== 'object' || Array.isArray(saved)) return `${where} is not an object`;
    for (const [k, v] of Object.entries(template)) {
      const m = shapeMismatch((saved as Record<string, unknown>)[k], v, `${where}.${k}`);
      if (m) return m;
    }
    return undefined;
  }
  // JSON writes NaN and ±Infinity as null
  if (typeof template === 'number' && saved === null) return undefined;
  return typeof saved === typeof template ? undefined : `${where} is not a ${typeof template}`;
}

/**
 * Checks a checkpoint's scheduler and backend states against fresh ones of the run resuming it
 * (same keys, same kinds of value), so that a damaged state is a UserError naming the file before
 * anything is written, not a TypeError in the middle of restoring it.
 */
export function checkCheckpointStates(folder: string, checkpoint: TunerCheckpoint, fresh: { scheduler: unknown; backend: unknown }): void {
  for (const part of ['scheduler', 'backend'] as const) {
    const m = shapeMismatch(checkpoint[part], fresh[part], part);
    if (m) throw new UserError(`cannot resume from ${join(folder, CHECKPOINT_FILE)}: ${m} as this run's ${part} saves it (the file was edited or damaged)`);
  }
}

/** The identity (method, benchmark, seed, ...) a folder's tuner.json names, if it is readable. */
export function checkpointIdentity(folder: string): Record<string, unknown> | undefined {
  try {
    const c = JSON.parse(readFileSync(join(folder, CHECKPOINT_FILE), 'utf8')) as Partial<TunerCheckpoint>;
    return c && typeof c.identity === 'object' && c.identity !== null ? c.identity : undefined;
  } catch {
    return undefined;
  }
}
