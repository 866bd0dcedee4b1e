import { didYouMeanText } from './did-you-mean.js';

/**
 * An error caused by the user's input (a flag, a file, a name). The CLI prints its message
 * without a stack trace and exits with `exitCode` (2 = bad usage, as yargs does).
 */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'UserError';
  }
}

/** "methods", "studies". */
const plural = (noun: string) => (/[^aeiou]y$/.test(noun) ? `${noun.slice(0, -1)}ies` : `${noun}s`);

/** "unknown method 'X'; valid methods: A, B, C" */
export function unknownName(kind: string, value: string, valid: readonly string[]): UserError {
  return new UserError(`unknown ${kind} '${value}'; valid ${plural(kind)}: ${valid.join(', ')}${didYouMeanText(value, valid, (c) => `'${c}'`)}`);
}
