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
  tuner: {
    nextTrialId: number;
    trials: TrialRecord[];
    numResults: number;
    numFailures: number;
    lastFlushTime: number;
    lastCheckpointTime: number;
    best?: { trialId: number; value: number };
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
  for (const [k, v] of Object.entries(identity)) {
    if (JSON.stringify(c.identity?.[k]) !== JSON.stringify(v)) {
      throw new UserError(`cannot resume from ${path}: it belongs to ${k}=${JSON.stringify(c.identity?.[k])}, not ${JSON.stringify(v)}`);
    }
  }
  return c as TunerCheckpoint;
}
