import { lstatSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { UserError } from './errors.js';

/** What a name that becomes a folder or file name may hold; every refusal says it. */
export const ACCEPTED_NAME_CHARACTERS = "letters, digits, spaces and punctuation except '/' and '\\' (no control characters; not '.' or '..')";

// control (C0, DEL, C1), format (bidi overrides, zero-width) and line/paragraph separators: they
// make a folder name that a listing shows as something else, or splits over lines
export const CONTROL = /[\p{Cc}\p{Cf}\u2028\u2029]/u;

/** A name quoted for a message, its control characters escaped (a newline would forge a line). */
export const quoteName = (value: string) => JSON.stringify(value);

/** Whether checkPathPart accepts the name. */
export const isPathPart = (value: string | undefined): value is string => !!value && value !== '.' && value !== '..' && !/[/\\]/.test(value) && !CONTROL.test(value);

/**
 * Checks a name that becomes one component of a path (a tag, a study, method or benchmark name):
 * a separator, `.`/`..`, an empty name or a control character would put the results elsewhere than
 * under the results root, or under a name that prints as another.
 */
export function checkPathPart(what: string, value: string | undefined): string {
  if (!isPathPart(value)) {
    throw new UserError(`${what} must be a name usable as one folder name, of ${ACCEPTED_NAME_CHARACTERS}; got ${quoteName(value ?? '')}`);
  }
  return value;
}

const isInside = (root: string, path: string) => {
  const rel = relative(root, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
};

/**
 * The one way a name from a user or a remote (an S3 key's file part, a study name read from a
 * store, a folder given on the command line) becomes a path: `parts` resolved under `root`, refused
 * with a UserError naming `what` and the name unless the result lies strictly inside `root`, also
 * once symbolic links already on disk are followed, and holds no control character.
 */
export function resolveInside(root: string, parts: string | readonly string[], what: string): string {
  const list = typeof parts === 'string' ? [parts] : parts;
  const name = list.join('/');
  const base = resolve(root);
  const path = resolve(base, ...list);
  const refuse = (why: string) => new UserError(`${what} ${quoteName(name)} ${why}`);
  if (CONTROL.test(name)) throw refuse(`holds a control character; accepted: ${ACCEPTED_NAME_CHARACTERS}`);
  if (!isInside(base, path)) throw refuse(`leads outside ${base}`);
  // a link on the way (a folder replaced by a link to ~/.ssh) would take a write elsewhere:
  // the nearest part of the path that exists must still be inside once links are followed
  let existing = path;
  for (;;) {
    try {
      lstatSync(existing);
      break;
    } catch {
      existing = dirname(existing);
    }
  }
  if (existing !== base && isInside(base, existing)) {
    let real: string;
    try {
      real = realpathSync(existing);
    } catch {
      throw refuse(`goes through a broken symbolic link (${existing})`);
    }
    if (!isInside(realpathSync(base), real)) throw refuse(`leads outside ${base} through the symbolic link ${existing} (to ${real})`);
  }
  return path;
}
