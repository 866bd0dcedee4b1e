import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UserError } from '../util/errors.js';

/** Tokens shorter than this are refused: a token is a secret, not a password to remember. */
export const MIN_TOKEN_LENGTH = 16;

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * The server's API tokens, kept only as SHA-256 hashes. A request's token is hashed and compared
 * with every stored hash in constant time (no early exit), so that neither the comparison nor the
 * number of tokens checked tells an attacker how close a guess was.
 */
export class TokenSet {
  private readonly hashes: Buffer[];

  constructor(tokens: readonly string[]) {
    this.hashes = tokens.map(sha256);
  }

  get size(): number {
    return this.hashes.length;
  }

  accepts(token: string): boolean {
    const h = sha256(token);
    let ok = false;
    for (const stored of this.hashes) ok = timingSafeEqual(h, stored) || ok;
    return ok;
  }
}

/** `--token_file`: one token a line (blank lines and lines starting with # skipped); the file's content never appears in a message. */
export function readTokenFile(file: string): TokenSet {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`--token_file ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const tokens = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (tokens.length === 0) throw new UserError(`--token_file ${file}: no token in it; write one token a line (e.g. the output of: openssl rand -hex 32)`);
  const short = tokens.findIndex((t) => t.length < MIN_TOKEN_LENGTH || /\s/.test(t));
  if (short >= 0) throw new UserError(`--token_file ${file}: token ${short + 1} is shorter than ${MIN_TOKEN_LENGTH} characters or holds white space; use e.g. the output of: openssl rand -hex 32`);
  return new TokenSet(tokens);
}

/**
 * The token a request carries, as SigOpt's clients send it (HTTP basic auth, the token as the user
 * name) or as a bearer token; undefined without one.
 */
export function requestToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const m = /^(\w+)\s+(.+)$/.exec(authorization.trim());
  if (!m) return undefined;
  const scheme = m[1].toLowerCase();
  if (scheme === 'bearer') return m[2].trim();
  if (scheme === 'basic') {
    const decoded = Buffer.from(m[2].trim(), 'base64').toString('utf8');
    const user = decoded.includes(':') ? decoded.slice(0, decoded.indexOf(':')) : decoded;
    return user || undefined;
  }
  return undefined;
}

/** Hosts that only this machine reaches: the server binds them without a token. */
export const isLoopback = (host: string) => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

/**
 * The check every server of tokens makes before reading a body: the request's token, or the reason
 * it is refused (401; a browser is asked for basic auth, the token as the user name).
 */
export function tokenRefusal(tokens: TokenSet, authorization: string | undefined): string | undefined {
  const token = requestToken(authorization);
  if (token === undefined) return 'No API token provided: send it as the HTTP basic-auth user name, or as Authorization: Bearer <token>';
  if (!tokens.accepts(token)) return 'This endpoint requires a valid API token';
  return undefined;
}

/** What a 401 says to a browser: ask for the token as a basic-auth user name. */
export const BASIC_CHALLENGE = 'Basic realm="tunelab", charset="UTF-8"';
