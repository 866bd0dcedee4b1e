import { appendFileSync, existsSync, lstatSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { UserError } from './errors.js';
import { resolveInside } from './path-part.js';

/**
 * `mkdir -p`, one level at a time. Node's own recursive mkdir spins forever on some paths that
 * can never be created (e.g. under /proc); this one fails with the system's error instead.
 */
export function mkdirp(path: string): void {
  const missing: string[] = [];
  let dir = resolve(path);
  while (!existsSync(dir)) {
    missing.push(dir);
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/**
 * mkdirp of a folder the user chose (`what` names it, e.g. 'the --out folder'): failing, a UserError
 * naming the folder and why (a file in the way, no permission), with nothing created.
 */
export function mkdirpUser(path: string, what: string): void {
  let existing = resolve(path);
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  if (!statSync(existing).isDirectory()) throw new UserError(`cannot create ${what} ${path}: ${existing} is a file, not a folder`);
  try {
    mkdirp(path);
  } catch (e) {
    throw new UserError(`cannot create ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * Written to `<path>.tmp` and renamed, so a reader never sees half a file; a failed write (a full
 * disk) removes the temporary file.
 */
export function writeFileAtomic(path: string, data: string | NodeJS.ArrayBufferView): void {
  const tmp = `${path}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Appended whole or not at all: a failed append (a full disk) may have written a part, which would
 * glue the next append to it, so the file is cut back to its size before; the error is rethrown.
 */
export function appendWhole(path: string, data: string | Uint8Array): void {
  const size = statSync(path).size;
  try {
    appendFileSync(path, data);
  } catch (e) {
    try {
      truncateSync(path, size);
    } catch {
      // the append's error is the one to report
    }
    throw e;
  }
}

/** A full disk or quota: what no retry of the same write can fix until space is freed. */
export function isDiskFull(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** The bytes of `file` after its first `from` (none when it does not exist yet): a log followed from where it was left. */
export async function readFrom(file: string, from = 0): Promise<Buffer> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw e;
  }
  try {
    const { size } = await handle.stat();
    if (size <= from) return Buffer.alloc(0);
    const buf = Buffer.alloc(size - from);
    const { bytesRead } = await handle.read(buf, 0, buf.length, from);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

export interface FilesUnder {
  /** Regular files, as paths under the folder (a followed link keeps its own path). */
  files: string[];
  /** Everything else that was left out, each with why: links not followed, sockets, pipes. */
  skipped: { path: string; why: string }[];
}

/**
 * The regular files under `dir`, recursively, without following symbolic links: a link in a
 * checkpoint folder to ~/.aws/credentials is not a file of the folder, and a loop is not walked.
 * With `followLinksInside`, a link whose target lies inside `dir` is taken as what it points to; a
 * link that leads out, is broken, or loops back to a folder it is in is still left out.
 */
export function filesUnder(dir: string, options: { followLinksInside?: boolean } = {}): FilesUnder {
  const out: FilesUnder = { files: [], skipped: [] };
  const walk = (folder: string, ancestors: readonly string[]) => {
    for (const name of readdirSync(folder).sort()) {
      const path = join(folder, name);
      // a file a running writer renames away (its .tmp) between the listing and here is gone
      let st = lstatSync(path, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isSymbolicLink()) {
        if (!options.followLinksInside) {
          out.skipped.push({ path, why: 'a symbolic link (not followed)' });
          continue;
        }
        try {
          resolveInside(dir, relative(dir, path), 'the link');
        } catch (e) {
          out.skipped.push({ path, why: `a symbolic link not followed: ${(e as Error).message}` });
          continue;
        }
        st = statSync(path);
        if (st.isDirectory() && ancestors.includes(realpathSync(path))) {
          out.skipped.push({ path, why: `a symbolic link not followed: it loops back to ${realpathSync(path)}` });
          continue;
        }
      }
      if (st.isDirectory()) walk(path, [...ancestors, realpathSync(path)]);
      else if (st.isFile()) out.files.push(path);
      else out.skipped.push({ path, why: 'not a regular file' });
    }
  };
  walk(dir, [realpathSync(dir)]);
  return out;
}
