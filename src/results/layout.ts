import { mkdirp } from '../util/fs.js';
import { checkPathPart } from '../util/path-part.js';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `YYYY-MM-DD-HH-MM-SS-mmm` in UTC. */
export function datetimeStamp(date: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${date.getUTCFullYear()}-${p(date.getUTCMonth() + 1)}-${p(date.getUTCDate())}-${p(date.getUTCHours())}-${p(date.getUTCMinutes())}-${p(date.getUTCSeconds())}-${p(date.getUTCMilliseconds(), 3)}`;
}

/** `--results_root`, else `$TUNELAB_ROOT`, else `~/tunelab`. */
export function resultsRoot(explicit?: string): string {
  return explicit ?? process.env.TUNELAB_ROOT ?? join(homedir(), 'tunelab');
}

export function experimentFolderName(tag: string, benchmark: string, seed: number, date: Date): string {
  return `${tag}-${benchmark}-${seed}-${datetimeStamp(date)}`;
}

/** Parses `<tag>-<benchmark>-<seed>-<datetime>` given the tag (benchmark names may contain dashes). */
export function parseExperimentFolderName(tag: string, name: string): { benchmark: string; seed: number; datetime: string } | undefined {
  if (!name.startsWith(`${tag}-`)) return undefined;
  const m = /^(.+)-(\d+)-(\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{3})$/.exec(name.slice(tag.length + 1));
  return m ? { benchmark: m[1], seed: Number(m[2]), datetime: m[3] } : undefined;
}

/**
 * Creates `<root>/<tag>/<tag>-<benchmark>-<seed>-<datetime>/` and returns its path. The folder is
 * created exclusively: if another run took that millisecond, the next free one is used, so two runs
 * never share a folder, even across processes. The tag and benchmark (a study's name, from a store)
 * must each be one folder name.
 */
export function createExperimentFolder(root: string, tag: string, benchmark: string, seed: number, now = new Date()): string {
  checkPathPart('the experiment tag', tag);
  checkPathPart('the benchmark name', benchmark);
  const tagDir = join(root, tag);
  mkdirp(tagDir);
  for (let bump = 0; bump < 10_000; bump++) {
    const dir = join(tagDir, experimentFolderName(tag, benchmark, seed, new Date(now.getTime() + bump)));
    try {
      mkdirSync(dir);
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new Error(`could not create a fresh experiment folder under ${tagDir}`);
}
