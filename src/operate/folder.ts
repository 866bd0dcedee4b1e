import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parseExperimentFolderName, resultsRoot } from '../results/layout.js';
import { type LockOwner, lockIsStale, readLock } from '../results/lock.js';
import { type ExperimentMetadata, METADATA_FILE } from '../results/metadata.js';
import { type ResultRow, readExperiment, readExperimentMetadata } from '../results/read.js';
import { RESULTS_FILE } from '../results/writer.js';
import { type TrialEnd, TRIAL_ENDS_FILE, readTrialEnds } from '../results/trial-ends.js';
import { DECISIONS_FILE } from '../results/decisions.js';
import type { Constraint } from '../schedulers/constraints.js';
import { CHECKPOINT_FILE, CHECKPOINT_FORMAT, type TunerCheckpoint } from '../tuner/checkpoint.js';
import { UserError } from '../util/errors.js';
import { isPathPart, resolveInside } from '../util/path-part.js';

/** What an operator sees; 'failed' with an "interrupted" error (hpo-main's way of saying stopped) reads as 'stopped'. */
export type RunStatus = 'running' | 'completed' | 'failed' | 'stopped';

/** The metadata fields that `tunelab run` adds to the ones hpo-main writes. */
export interface OperatedMetadata extends ExperimentMetadata {
  max_resource?: number;
  constraints?: Constraint[];
  budget?: { max_trials?: number; max_wallclock_time?: number; max_results?: number };
  failed_trials?: { trial_id: number; error: string }[];
}

export function runStatus(meta: Pick<ExperimentMetadata, 'status' | 'error'>): RunStatus {
  const status = meta.status as string;
  if (status === 'failed' && typeof meta.error === 'string' && meta.error.startsWith('interrupted')) return 'stopped';
  return status === 'running' || status === 'completed' || status === 'failed' || status === 'stopped' ? status : 'failed';
}

/** The lock's owner, and whether it lives: a lock of another host is trusted (its pid cannot be checked from here). */
export interface OwnerInfo extends LockOwner {
  alive: boolean;
  sameHost: boolean;
}

export interface Liveness {
  status: RunStatus;
  owner?: OwnerInfo;
  /** Recorded as running, but the lock is stale or missing: nothing is writing the folder. */
  ownerGone: boolean;
}

/**
 * The folder's status and its owner. The lock is read before metadata.json: an owner that ends
 * writes its final status first and removes the lock after, so this order never mistakes a run that
 * just finished for one whose owner died.
 */
export function liveness(folder: string): Liveness {
  const lock = readLock(folder);
  const owner = lock && { ...lock, alive: !lockIsStale(lock), sameHost: lock.host === hostname() };
  const status = runStatus(loadMetadata(folder));
  return { status, owner, ownerGone: status === 'running' && !owner?.alive };
}

/** "pid 12 on host h" */
export function describeOwner(owner: LockOwner): string {
  return `pid ${owner.pid} on host ${owner.host}`;
}

export function loadMetadata(folder: string): OperatedMetadata {
  try {
    return readExperimentMetadata(folder) as OperatedMetadata;
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}

export interface FolderContents {
  metadata: OperatedMetadata;
  rows: ResultRow[];
  /** The results header (empty before the first flush). */
  columns: string[];
  /** tuner.json when present and readable. */
  checkpoint?: TunerCheckpoint;
  /** How each ended trial ended (trials.jsonl; empty for a run written before it existed). */
  ends: Map<number, TrialEnd>;
}

/**
 * metadata.json, the results rows and tuner.json of a folder that may be written as we read:
 * results.csv.gz grows by whole gzip members, so a member caught half-appended is read again a moment later.
 */
export function loadFolder(folder: string, warn?: (message: string) => void): FolderContents {
  const metadata = loadMetadata(folder);
  let rows: ResultRow[] = [];
  if (existsSync(join(folder, RESULTS_FILE))) {
    for (let attempt = 0; ; attempt++) {
      try {
        rows = readExperiment(folder, warn).rows;
        break;
      } catch (e) {
        if (attempt === 4) throw new UserError((e as Error).message);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      }
    }
  }
  return { metadata, rows, columns: rows.length ? Object.keys(rows[0]) : [], checkpoint: loadCheckpoint(folder), ends: readTrialEnds(folder) };
}

function loadCheckpoint(folder: string): TunerCheckpoint | undefined {
  try {
    const c = JSON.parse(readFileSync(join(folder, CHECKPOINT_FILE), 'utf8')) as TunerCheckpoint;
    return c?.format === CHECKPOINT_FORMAT && Array.isArray(c.tuner?.trials) ? c : undefined;
  } catch {
    // absent (--save_tuner false) or foreign: the results rows tell the trial states instead
    return undefined;
  }
}

/** Seconds since the epoch of the folder's last write (a dead run's end). */
export function lastWriteTime(folder: string): number {
  let t = 0;
  for (const f of [METADATA_FILE, RESULTS_FILE, CHECKPOINT_FILE, TRIAL_ENDS_FILE, DECISIONS_FILE]) {
    try {
      t = Math.max(t, statSync(join(folder, f)).mtimeMs);
    } catch {
      // not written (yet)
    }
  }
  return t;
}

export interface ResolvedExperiment {
  /** Experiment folders, newest first (one when a folder was named). */
  folders: string[];
  /** Set when a tag was named. */
  tag?: string;
  root: string;
}

const hasMetadata = (dir: string) => existsSync(join(dir, METADATA_FILE));

/**
 * A folder tunelab wrote: its metadata.json carries tunelab_version (every version wrote it). A
 * metadata.json of another tool is not enough: stop would signal whatever pid its `lock` names.
 */
export function isTunelabFolder(dir: string): boolean {
  try {
    const meta = JSON.parse(readFileSync(join(dir, METADATA_FILE), 'utf8')) as unknown;
    return typeof meta === 'object' && meta !== null && typeof (meta as { tunelab_version?: unknown }).tunelab_version === 'string';
  } catch {
    return false;
  }
}

/** Refuses (UserError, exit 2) a folder that tunelab did not write, before anything acts on its lock. */
export function assertTunelabFolder(dir: string): void {
  if (!isTunelabFolder(dir)) throw new UserError(`${dir} is not a tunelab experiment folder: its ${METADATA_FILE} was not written by tunelab (it has no tunelab_version)`);
}

/** When a folder was created: its name's datetime, else metadata's start time. */
function creationTime(tag: string, dir: string): number {
  const parsed = parseExperimentFolderName(tag, basename(dir));
  if (parsed) {
    const [y, mo, d, h, mi, s, ms] = parsed.datetime.split('-').map(Number);
    return Date.UTC(y, mo - 1, d, h, mi, s, ms);
  }
  try {
    return Date.parse(loadMetadata(dir).start_time) || 0;
  } catch {
    return 0;
  }
}

function tagFolders(tagDir: string, tag: string): string[] {
  let names: string[];
  try {
    names = readdirSync(tagDir);
  } catch {
    return [];
  }
  // a damaged member is kept here, so that the commands name it when they skip it
  return names
    .map((n) => join(tagDir, n))
    .filter(hasMetadata)
    .map((dir) => ({ dir, t: creationTime(tag, dir) }))
    .sort((a, b) => b.t - a.t || (a.dir < b.dir ? 1 : -1))
    .map((x) => x.dir);
}

/**
 * `<experiment>` of the operate commands: an experiment folder (it has metadata.json), a tag folder,
 * or a tag under the results root (`--results_root`, else $TUNELAB_ROOT, else ~/tunelab).
 */
export function resolveExperiment(target: string, explicitRoot?: string): ResolvedExperiment {
  const root = resultsRoot(explicitRoot);
  if (hasMetadata(target)) {
    assertTunelabFolder(target);
    return { folders: [resolve(target)], root };
  }
  // a tag: a folder holding experiment folders, one of them at least surely tunelab's
  const isTag = (folders: string[]) => folders.some(isTunelabFolder);
  const asTagDir = resolve(target);
  const direct = tagFolders(asTagDir, basename(asTagDir));
  if (isTag(direct)) return { folders: direct, tag: basename(asTagDir), root: dirname(asTagDir) };
  // a tag is one folder name under the root: `../..` or `/etc` is no tag of this root
  const folders = isPathPart(target) ? tagFolders(resolveInside(root, target, 'the tag'), target) : [];
  if (isTag(folders)) return { folders, tag: target, root };
  let tags: string[] = [];
  try {
    tags = readdirSync(root).filter((n) => !n.startsWith('.') && isTag(tagFolders(join(root, n), n)));
  } catch {
    // no root: said below
  }
  const known = existsSync(root) ? (tags.length ? `; tags there: ${tags.sort().join(', ')}` : '; it holds no experiments') : ' (it does not exist)';
  throw new UserError(`no experiment '${target}': not a tunelab experiment folder (with tunelab's ${METADATA_FILE}), nor a tag under the results root ${root}${known} (set --results_root or $TUNELAB_ROOT)`);
}

/** The folder logs/stop/best act on: the newest running one, else the newest. */
export function chooseFolder(r: ResolvedExperiment): { folder: string; reason: string } {
  if (r.folders.length === 1) return { folder: r.folders[0], reason: 'its only experiment folder' };
  const running = r.folders.find((f) => {
    try {
      return runStatus(loadMetadata(f)) === 'running';
    } catch {
      return false;
    }
  });
  return running
    ? { folder: running, reason: `the newest running one of ${r.folders.length}` }
    : { folder: r.folders[0], reason: `the newest of ${r.folders.length}, none running` };
}
