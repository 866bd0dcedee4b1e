import type { HypervolumeSetting, Objective } from './pareto.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDiskFull, writeFileAtomic } from '../util/fs.js';
import { gitCommit, tunelabVersion } from '../util/package-info.js';

export const METADATA_FILE = 'metadata.json';

/** `stopped`: interrupted (SIGINT, SIGTERM, `tunelab stop`) and resumable with --resume. */
export type ExperimentStatus = 'running' | 'completed' | 'failed' | 'stopped';

export interface ExperimentMetadata {
  tag: string;
  method: string;
  benchmark: string;
  seed: number;
  random_seed: number;
  n_workers: number;
  max_wallclock_time: number | null;
  metric: string;
  mode: 'min' | 'max';
  /** Several objectives (metric/mode are the first): the best is their Pareto front. */
  objectives?: Objective[];
  /** Their hypervolume's normalisation and reference point (src/results/pareto.ts), fixed per benchmark. */
  hypervolume?: HypervolumeSetting;
  resource_attr: string;
  scheduler: Record<string, unknown>;
  tunelab_version: string;
  git_commit: string | null;
  start_time: string;
  end_time: string | null;
  status: ExperimentStatus;
  error?: string;
  /** Model-based methods (BO, MOBSTER): how many configs came from the model and how many were random. */
  suggestions?: { model: number; random: number };
  [extra: string]: unknown;
}

/** The fields every new run's metadata.json starts with: who wrote it, when, and that it runs. */
export function runStamp(): Pick<ExperimentMetadata, 'tunelab_version' | 'git_commit' | 'start_time' | 'end_time' | 'status'> {
  return { tunelab_version: tunelabVersion, git_commit: gitCommit(), start_time: new Date().toISOString(), end_time: null, status: 'running' };
}

/** Written to a temporary file and renamed, so a reader never sees half a file. */
export function writeJsonAtomic(path: string, value: unknown, pretty = true): void {
  writeFileAtomic(path, (pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value)) + '\n');
}

export function writeMetadata(folder: string, meta: ExperimentMetadata): void {
  writeJsonAtomic(join(folder, METADATA_FILE), meta);
}

/**
 * writeMetadata for recording how a run ended when the disk may be full: with no room for a second
 * copy, the file is rewritten in place (its old text's space is reused), which a crash during that
 * write could tear; a failure the disk cannot record either is thrown.
 */
export function writeFinalMetadata(folder: string, meta: ExperimentMetadata): void {
  try {
    writeMetadata(folder, meta);
  } catch (e) {
    if (!isDiskFull(e)) throw e;
    writeFileSync(join(folder, METADATA_FILE), JSON.stringify(meta, null, 2) + '\n');
  }
}

export function readMetadata(folder: string): ExperimentMetadata {
  return JSON.parse(readFileSync(join(folder, METADATA_FILE), 'utf8')) as ExperimentMetadata;
}
