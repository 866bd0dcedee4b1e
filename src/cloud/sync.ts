import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readdirSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { methodDefinitions } from '../methods/registry.js';
import { parseExperimentFolderName } from '../results/layout.js';
import { LOCK_FILE } from '../results/lock.js';
import { METADATA_FILE, readMetadata } from '../results/metadata.js';
import { type S3Location, type S3Object, getObjectBytes, listObjects, putObject, s3JobName } from '../results/s3.js';
import { RESULTS_FILE } from '../results/writer.js';
import { filesUnder, mkdirp } from '../util/fs.js';
import { checkPathPart, resolveInside } from '../util/path-part.js';

export interface SyncOptions {
  client: S3Client;
  location: S3Location;
  tags: string[];
  /** Local results root: `<root>/<tag>/<folder>/` mirrors `<prefix>/<tag>/<job>/<folder>/`. */
  root: string;
  /** Local → S3 instead of S3 → local. */
  upload?: boolean;
  /** Only files whose path inside the experiment folder passes (default: all; plot takes metadata and results). */
  only?: (file: string) => boolean;
  /** Transfers at once (default 8). */
  concurrency?: number;
  /** Upload: follow a symbolic link whose target stays inside its experiment folder (default: links are skipped). */
  followSymlinks?: boolean;
  /** Told of every object or file left out: a key leading outside its folder, a link not followed (default: stderr). */
  warn?: (message: string) => void;
}

export interface SyncReport {
  transferred: number;
  skipped: number;
  bytes: number;
  /** Objects or files left out, each named in a warning. */
  refused: number;
  /** S3 URI of every local experiment folder synced (so that warnings can name S3 keys). */
  origin: Map<string, string>;
}

const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

/**
 * Whether a local file holds the object. Size and time first (a file this sync downloaded carries the
 * object's LastModified); otherwise the content's MD5 against the ETag (which is the MD5 of an
 * object uploaded in one part; a multipart ETag, with '-', cannot be compared and counts as changed).
 */
function unchanged(file: string, o: S3Object): boolean {
  if (!existsSync(file)) return false;
  const st = statSync(file);
  if (st.size !== o.size) return false;
  if (Math.abs(st.mtimeMs - o.lastModified.getTime()) < 1) return true;
  return !o.etag.includes('-') && md5(readFileSync(file)) === o.etag;
}

/** `<prefix>/<tag>/<job>/<folder>/<file…>` → its parts, or undefined for a key outside the layout. */
function parseKey(prefix: string, tag: string, key: string) {
  const parts = key.slice(`${prefix}/${tag}/`.length).split('/');
  if (parts.length < 3 || !parseExperimentFolderName(tag, parts[1])) return undefined;
  return { job: parts[0], folder: parts[1], file: parts.slice(2).join('/') };
}

/**
 * Downloads a study's experiment folders from S3 (or uploads them with `upload`), in parallel,
 * skipping every file already on the other side and unchanged: running it twice transfers nothing
 * the second time, and after a change only what changed.
 */
export async function syncStudy(options: SyncOptions): Promise<SyncReport> {
  const { client, location } = options;
  const prefix = location.prefix ?? 'tunelab';
  const only = options.only ?? (() => true);
  const limit = pLimit(options.concurrency ?? 8);
  const report: SyncReport = { transferred: 0, skipped: 0, bytes: 0, refused: 0, origin: new Map() };
  const warn = options.warn ?? ((m: string) => console.error(`tunelab: ${m}`));
  const refuse = (m: string) => {
    report.refused++;
    warn(m);
  };
  const tasks: Promise<void>[] = [];
  for (const tag of options.tags) checkPathPart('--experiment_tag', tag);
  for (const tag of options.tags) {
    const remote = await listObjects(client, location.bucket, `${prefix}/${tag}/`);
    // each remote folder's job, so an upload goes where the folder already is
    const jobOf = new Map<string, string>();
    const byKey = new Map(remote.map((o) => [o.key, o]));
    for (const o of remote) {
      const k = parseKey(prefix, tag, o.key);
      if (!k) continue;
      jobOf.set(k.folder, k.job);
      // a folder marker (`…/checkpoints/`, as the S3 console makes them) is no file
      if (options.upload || k.file.endsWith('/') || !only(k.file)) continue;
      const uri = `s3://${location.bucket}/${o.key}`;
      let localFolder: string;
      let file: string;
      try {
        // whoever can write to the bucket must not write outside the experiment folder (`../../.ssh/…`)
        localFolder = resolveInside(options.root, [tag, k.folder], `skipping ${uri}: its folder`);
        file = resolveInside(localFolder, k.file, `skipping ${uri}: its file part`);
      } catch (e) {
        refuse((e as Error).message);
        continue;
      }
      report.origin.set(localFolder, `s3://${location.bucket}/${prefix}/${tag}/${k.job}/${k.folder}/`);
      if (unchanged(file, o)) {
        report.skipped++;
        continue;
      }
      tasks.push(
        limit(async () => {
          const body = await getObjectBytes(client, location.bucket, o.key);
          mkdirp(dirname(file));
          // whole or not at all: a reader never sees half a download
          writeFileSync(`${file}.tmp`, body);
          renameSync(`${file}.tmp`, file);
          utimesSync(file, o.lastModified, o.lastModified);
          report.transferred++;
          report.bytes += body.length;
        }),
      );
    }
    if (!options.upload) continue;
    const tagDir = join(options.root, tag);
    if (!existsSync(tagDir)) continue;
    for (const name of readdirSync(tagDir)) {
      const parsed = parseExperimentFolderName(tag, name);
      const folder = join(tagDir, name);
      if (!parsed || !existsSync(join(folder, 'metadata.json'))) continue;
      if (lstatSync(folder).isSymbolicLink()) {
        refuse(`not uploaded: ${folder}: a symbolic link to an experiment folder elsewhere (upload it from where it is)`);
        continue;
      }
      let job = jobOf.get(name);
      if (!job) {
        const { method } = readMetadata(folder);
        job = s3JobName(method, parsed.seed, methodDefinitions[method]?.expensive ?? false);
      }
      const base = `${prefix}/${tag}/${job}/${name}`;
      report.origin.set(folder, `s3://${location.bucket}/${base}/`);
      const { files, skipped } = filesUnder(folder, { followLinksInside: options.followSymlinks });
      for (const s of skipped) refuse(`not uploaded: ${s.path}: ${s.why}${options.followSymlinks ? '' : '; --follow_symlinks uploads what a link inside the folder points to'}`);
      for (const file of files) {
        const rel = relative(folder, file);
        if (rel === LOCK_FILE || !only(rel)) continue;
        const body = readFileSync(file);
        const there = byKey.get(`${base}/${rel}`);
        if (there && there.size === body.length && there.etag === md5(body)) {
          report.skipped++;
          continue;
        }
        tasks.push(
          limit(async () => {
            await putObject(client, location.bucket, `${base}/${rel}`, body);
            report.transferred++;
            report.bytes += body.length;
          }),
        );
      }
    }
  }
  await Promise.all(tasks);
  return report;
}

/**
 * Downloads what plotting needs (metadata.json and results.csv.gz of every experiment under the tags)
 * into `<cacheDir>/<tag>/<folder>/` with `tunelab sync` (files already there and unchanged are
 * skipped). Returns the S3 URI of every local folder, so that warnings can name S3 keys.
 */
export async function downloadStudy(client: S3Client, location: S3Location, tags: string[], cacheDir: string, warn?: (message: string) => void): Promise<Map<string, string>> {
  const plotted: string[] = [METADATA_FILE, RESULTS_FILE];
  return (await syncStudy({ client, location, tags, root: cacheDir, only: (f) => plotted.includes(f), warn })).origin;
}
