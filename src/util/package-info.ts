import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
 * not tunelab's commit, so a root that is not the top level of its own checkout has none.
 */
export function gitCommitOf(root: string): string | null {
  try {
    const [top, head] = execFileSync('git', ['rev-parse', '--show-toplevel', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).toString().trim().split('\n');
    return realpathSync(top) === realpathSync(root) ? head : null;
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
