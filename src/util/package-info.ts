import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

export const tunelabVersion: string = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')).version;

let commit: string | null | undefined;
/** The git commit of the tunelab checkout, or null when not in a git checkout. */
export function gitCommit(): string | null {
  if (commit === undefined) {
    try {
      commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: packageRoot, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    } catch {
      commit = null;
    }
  }
  return commit;
}
