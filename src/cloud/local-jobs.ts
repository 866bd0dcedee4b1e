import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { processAlive } from '../results/lock.js';
import { writeJsonAtomic } from '../results/metadata.js';
import { checkPathPart, resolveInside } from '../util/path-part.js';

/** A job's state, in SageMaker's words so that `tunelab jobs` reads the same for both job runners. */
export type JobState = 'InProgress' | 'Completed' | 'Failed' | 'Stopped';

/**
 * What the local pool records of a job in `<root>/.jobs/<tag>/<launch>/<job>.json`, next to its
 * log, rewritten (atomically) when the job starts and ends: the record `tunelab jobs` lists.
 */
export interface LocalJobRecord {
  name: string;
  method: string;
  seeds: number[];
  state: JobState;
  /** The job's process (the leader of its own process group) and host, while it runs. */
  pid: number;
  host: string;
  log: string;
  /** Where its results go: an S3 URI or the local tag folder. */
  destination: string;
  started: string;
  ended?: string;
  failureReason?: string;
}

/** `<root>/.jobs/<tag>/`: job logs stay out of `<root>/<tag>/`, which holds experiment folders only. */
export const jobsDir = (root: string, tag: string) => join(root, '.jobs', checkPathPart('--experiment_tag', tag));

export const writeJobRecord = (dir: string, record: LocalJobRecord) => writeJsonAtomic(resolveInside(dir, `${record.name}.json`, 'a job name'), record);

/**
 * Every job record of the tag's launches, oldest launch first. A job recorded as running whose
 * process is gone from this host (its launcher was killed with it) is shown as failed.
 */
export function readLocalJobs(root: string, tag: string): (LocalJobRecord & { launch: string })[] {
  const dir = jobsDir(root, tag);
  if (!existsSync(dir)) return [];
  const out: (LocalJobRecord & { launch: string })[] = [];
  for (const launch of readdirSync(dir).sort()) {
    for (const file of readdirSync(join(dir, launch)).filter((f) => f.endsWith('.json')).sort()) {
      const r = JSON.parse(readFileSync(join(dir, launch, file), 'utf8')) as LocalJobRecord;
      if (r.state === 'InProgress' && r.host === hostname() && !processAlive(r.pid)) {
        Object.assign(r, { state: 'Failed', failureReason: `its process ${r.pid} is gone without a word (the launcher was killed with it?)` });
      }
      out.push({ ...r, launch });
    }
  }
  return out;
}
