import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from './errors.js';

/** The tunelab package root (works from src/ under vitest and from dist/ when built). */
export const packageRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = join(dir, 'package.json');
    if (existsSync(p) && JSON.parse(readFileSync(p, 'utf8')).name === 'tunelab') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('tunelab package.json not found');
    dir = up;
  }
})();

const packageJson = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string; peerDependencies?: Record<string, string> };

export const tunelabVersion: string = packageJson.version;

/**
 * The HEAD commit of the git checkout whose top level is `root`, else null. Installed as a dependency,
 * tunelab sits inside the host project's repository (node_modules/tunelab): that repository's HEAD is
 * not tunelab's commit, so a root without its own `.git` has none. Read from the files (HEAD, the
 * ref, packed-refs; a worktree's `.git` file names its git dir) rather than by running git, which cost
 * every run's start-up 30 ms of CPU.
 */
export function gitCommitOf(root: string): string | null {
  try {
    let gitDir = join(root, '.git');
    if (statSync(gitDir).isFile()) {
      const named = /^gitdir: (.+)$/m.exec(readFileSync(gitDir, 'utf8'));
      if (!named) return null;
      gitDir = resolve(root, named[1].trim());
    }
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    const isHash = (x: string) => /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(x);
    if (!head.startsWith('ref: ')) return isHash(head) ? head : null;
    const ref = head.slice('ref: '.length);
    // a worktree keeps its HEAD; branches live in the common dir
    const commonFile = join(gitDir, 'commondir');
    const common = existsSync(commonFile) ? resolve(gitDir, readFileSync(commonFile, 'utf8').trim()) : gitDir;
    for (const dir of [gitDir, common]) {
      const file = join(dir, ref);
      if (existsSync(file)) {
        const hash = readFileSync(file, 'utf8').trim();
        return isHash(hash) ? hash : null;
      }
    }
    const packed = existsSync(join(common, 'packed-refs')) ? readFileSync(join(common, 'packed-refs'), 'utf8') : '';
    for (const line of packed.split('\n')) {
      const [hash, name] = line.trim().split(' ');
      if (name === ref && isHash(hash)) return hash;
    }
    return null;
  } catch {
    return null;
  }
}

let commit: string | null | undefined;
/** The git commit of the tunelab checkout, or null when tunelab does not run from its own git checkout. */
export function gitCommit(): string | null {
  if (commit === undefined) commit = gitCommitOf(packageRoot);
  return commit;
}

function isMissing(e: unknown, pkg: string): boolean {
  const err = e as { code?: string; message?: string };
  return (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') && String(err.message).includes(`'${pkg}'`);
}

function missingPackage(pkg: string, purpose: string): UserError {
  const range = packageJson.peerDependencies?.[pkg];
  return new UserError(`${purpose} needs the optional package '${pkg}', which is not installed: npm install ${range ? `${pkg}@${range}` : pkg}`);
}

/**
 * Imports an optional peer dependency (heavy packages that only some features use are not installed
 * with tunelab); a missing one is a UserError naming the package and how to install it.
 */
export async function importOptional<T>(pkg: string, purpose: string): Promise<T> {
  try {
    return (await import(pkg)) as T;
  } catch (e) {
    throw isMissing(e, pkg) ? missingPackage(pkg, purpose) : e;
  }
}

/** `require.resolve` of an optional peer dependency, with the same message as importOptional when it is missing. */
export function resolveOptional(resolve: (pkg: string) => string, pkg: string, purpose: string): string {
  try {
    return resolve(pkg);
  } catch (e) {
    throw isMissing(e, pkg) ? missingPackage(pkg, purpose) : e;
  }
}
