import { UserError } from './errors.js';

/**
 * Checks a name that becomes one component of a results path (a tag, a method or benchmark name):
 * a separator, `.`/`..` or an empty name would put the results elsewhere than under the results root.
 */
export function checkPathPart(what: string, value: string | undefined): string {
  if (!value || value === '.' || value === '..' || /[/\\\0]/.test(value)) {
    throw new UserError(`${what} must be a non-empty name usable as one folder name (no '/', '\\', not '.' or '..'), got '${value ?? ''}'`);
  }
  return value;
}
