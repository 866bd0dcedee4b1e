import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { parseExperimentFolderName } from '../results/layout.js';
import { readLock, lockIsStale } from '../results/lock.js';
import { type ExperimentMetadata, METADATA_FILE, readMetadata } from '../results/metadata.js';
import { type S3Location, deleteObjects, getObjectBytes, listObjects } from '../results/s3.js';
import { checkPathPart } from '../util/path-part.js';

export interface CleanFilter {
  tag: string;
  /** Only these methods (default: any). */
  methods?: string[];
  /** Only these seeds (default: any). */
  seeds?: number[];
  /** Only experiments with this status (default: any). */
  status?: ExperimentMetadata['status'];
}

/** An experiment folder that matches, locally or in S3. */
export interface CleanTarget {
  where: 'local' | 's3';
  /** A local path, or an S3 URI ending in '/'. */
  path: string;
  method: string;
  seed: number;
  status: string;
  /** Local: the folder's files are deleted with it; S3: its keys. */
  keys: string[];
  /** Why it is left alone although it matches (a live process owns it). */
  skip?: string;
}

const matches = (f: CleanFilter, m: { method: string; seed: number; status: string }) =>
  (!f.methods?.length || f.methods.includes(m.method)) && (!f.seeds?.length || f.seeds.includes(m.seed)) && (!f.status || f.status === m.status);

/** The local experiment folders of the tag that match; a folder a live process owns is listed with `skip`. */
export function localTargets(root: string, filter: CleanFilter): CleanTarget[] {
  const dir = join(root, checkPathPart('--experiment_tag', filter.tag));
  if (!existsSync(dir)) return [];
  const out: CleanTarget[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!parseExperimentFolderName(filter.tag, name)) continue;
    const folder = join(dir, name);
    let meta: ExperimentMetadata;
    try {
      meta = readMetadata(folder);
    } catch {
      continue; // not an experiment we can tell the method or status of: never deleted by a filter
    }
    if (!matches(filter, meta)) continue;
    const owner = readLock(folder);
    const skip = owner && !lockIsStale(owner) ? `in use by ${owner.command} (pid ${owner.pid} on ${owner.host}); stop it first` : undefined;
    out.push({ where: 'local', path: folder, method: meta.method, seed: meta.seed, status: meta.status, keys: [], skip });
  }
  return out;
}

/** The tag's experiment folders in S3 (`<prefix>/<tag>/<job>/<folder>/`) that match, by their metadata.json. */
export async function s3Targets(client: S3Client, location: S3Location, filter: CleanFilter): Promise<CleanTarget[]> {
  const base = `${location.prefix ?? 'tunelab'}/${filter.tag}/`;
  const folders = new Map<string, string[]>();
  for (const o of await listObjects(client, location.bucket, base)) {
    const parts = o.key.slice(base.length).split('/');
    if (parts.length < 3) continue;
    const folder = `${base}${parts[0]}/${parts[1]}/`;
    folders.set(folder, [...(folders.get(folder) ?? []), o.key]);
  }
  const out: CleanTarget[] = [];
  for (const [folder, keys] of [...folders].sort(([a], [b]) => a.localeCompare(b))) {
    if (!keys.includes(`${folder}${METADATA_FILE}`)) continue;
    let meta: ExperimentMetadata;
    try {
      meta = JSON.parse((await getObjectBytes(client, location.bucket, `${folder}${METADATA_FILE}`)).toString('utf8'));
    } catch {
      continue;
    }
    if (matches(filter, meta)) out.push({ where: 's3', path: `s3://${location.bucket}/${folder}`, method: meta.method, seed: meta.seed, status: meta.status, keys });
  }
  return out;
}

/** Deletes the targets that are not skipped. */
export async function deleteTargets(targets: CleanTarget[], s3?: { client: S3Client; bucket: string }): Promise<number> {
  const doomed = targets.filter((t) => !t.skip);
  for (const t of doomed.filter((t) => t.where === 'local')) rmSync(t.path, { recursive: true, force: true });
  const keys = doomed.filter((t) => t.where === 's3').flatMap((t) => t.keys);
  if (keys.length && s3) await deleteObjects(s3.client, s3.bucket, keys);
  return doomed.length;
}
