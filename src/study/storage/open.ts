import { isAbsolute, join, resolve } from 'node:path';
import { resultsRoot } from '../../results/layout.js';
import { UserError } from '../../util/errors.js';
import { StoreVersionError, type StudyStore } from './store.js';

/** The default store: one SQLite file under the results root, for studies on one machine. */
export const defaultStorage = (root?: string) => join(resultsRoot(root), 'studies.db');

export const STORAGE_FORMS = 'a SQLite file (path, or sqlite:///abs/path) or postgresql://user:password@host:port/database';

export type StorageLocation = { kind: 'sqlite'; file: string; url: string } | { kind: 'postgresql'; connectionString: string; url: string };

/**
 * The URL with its password replaced, for every message and listing: everything between the user's
 * `:` and the LAST `@` of the authority, so that a password holding an unencoded `@` or `/` is
 * masked whole (`postgresql://user:***@host/db`); a `password=` query parameter too.
 */
export function redactUrl(url: string): string {
  // libpq also takes the password as a query parameter
  const masked = url.replace(/([?&]password=)[^&]*/gi, '$1***');
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(.*)@/i.exec(masked);
  const colon = m ? m[2].indexOf(':') : -1;
  return m && colon >= 0 ? `${m[1]}${m[2].slice(0, colon)}:***${masked.slice(m[0].length - 1)}` : masked;
}

/**
 * The environment variable a store's URL can be given in instead of --storage: argv is readable by
 * every local user (`ps`), the environment only by the user; workers started by `run --storage` get
 * the URL this way.
 */
export const STORAGE_ENV = 'TUNELAB_STORAGE';

export function parseStorage(storage: string | undefined): StorageLocation {
  const s = storage ?? process.env[STORAGE_ENV] ?? defaultStorage();
  if (/^postgres(ql)?:\/\//.test(s)) {
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      throw new UserError(`--storage '${redactUrl(s)}' is not a valid URL; expected ${STORAGE_FORMS}`);
    }
    // an unencoded '/' or '@' in the password moves the host into it (the driver would then name
    // part of the password as the host it cannot find): the host must be what follows the last '@'
    const authority = s.split(/[?#]/)[0];
    const at = authority.lastIndexOf('@');
    if (at >= 0 && authority.slice(at + 1).split('/')[0].toLowerCase() !== u.host.toLowerCase()) {
      throw new UserError(`--storage '${redactUrl(s)}': its password holds a character a URL needs percent-encoded ('@' as %40, '/' as %2F, ':' as %3A, '#' as %23); encode it, or leave the password out of the URL and set PGPASSWORD`);
    }
    return { kind: 'postgresql', connectionString: s, url: redactUrl(s) };
  }
  if (/^sqlite:/.test(s)) {
    const path = s.replace(/^sqlite:(\/\/)?/, '');
    if (!path) throw new UserError(`--storage '${s}' names no file; expected ${STORAGE_FORMS}`);
    const file = resolve(path);
    return { kind: 'sqlite', file, url: `sqlite://${file}` };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) throw new UserError(`--storage '${redactUrl(s)}': unsupported kind of store; expected ${STORAGE_FORMS}`);
  const file = isAbsolute(s) ? s : resolve(s);
  return { kind: 'sqlite', file, url: `sqlite://${file}` };
}

export interface OpenStoreOptions {
  /** Seconds to keep retrying an unreachable store, with backoff, before giving up (default 30). */
  storageTimeout?: number;
  /** Told about each retry (the CLI prints it on stderr). */
  onRetry?: (line: string) => void;
  /** Create (or upgrade to) this schema version instead of the newest (tests build old stores with it). */
  schemaVersion?: number;
  /** PostgreSQL connections per process (default 2). */
  maxConnections?: number;
  /**
   * Only read (the dashboard): SQLite opened read-only (no migration, no WAL switch: a writer set
   * WAL up), PostgreSQL with read-only transactions; a store of another schema version is refused.
   */
  readOnly?: boolean;
}

const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE', 'SQLITE_BUSY', 'SQLITE_LOCKED']);

/** Worth trying again: the store is unreachable, restarting, full or busy, not refusing us. */
export function isTransient(e: unknown): boolean {
  const err = e as { code?: string; message?: string; errors?: unknown[] };
  if (err?.code && TRANSIENT_CODES.has(err.code)) return true;
  // PostgreSQL: connection exceptions (08...), shutting down or starting up (57P01-03), too many connections
  if (err?.code && /^(08|57P0[123]|53300)/.test(err.code)) return true;
  if (Array.isArray(err?.errors) && err.errors.some(isTransient)) return true;
  return /Connection terminated|timeout exceeded when trying to connect|connect ETIMEDOUT|Client has encountered a connection error/i.test(err?.message ?? '');
}

function describe(e: unknown): string {
  const err = e as { code?: string; message?: string; errors?: { message?: string }[] };
  const message = err?.message || err?.errors?.map((x) => x.message).join('; ') || String(e);
  return err?.code && !message.includes(err.code) ? `${err.code}: ${message}` : message;
}

/**
 * Exponential backoff with full jitter, so that many workers that lost the store do not return in
 * step. `limit` (ms) overrides --storage_timeout (0: one attempt).
 */
export async function withRetry<T>(what: string, fn: () => Promise<T>, options: OpenStoreOptions & { url: string }, limit = (options.storageTimeout ?? 30) * 1000): Promise<T> {
  const start = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const elapsed = Date.now() - start;
      if (!isTransient(e)) throw e;
      if (elapsed >= limit) {
        throw new UserError(`cannot reach the study store ${options.url}: ${describe(e)} (${attempt} attempt${attempt > 1 ? 's' : ''} over ${Math.round(elapsed / 1000)} s; --storage_timeout sets how long to keep trying)`, 1);
      }
      const delay = Math.min(limit - elapsed, Math.random() * Math.min(5000, 100 * 2 ** attempt));
      options.onRetry?.(`study store ${options.url} unreachable while trying to ${what} (${describe(e)}); retrying in ${(delay / 1000).toFixed(1)} s`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/**
 * Every call of the store retried while the store is unreachable (a wrapper: the backends know
 * nothing of it), and a call that fails for good said in one line naming the store (a UserError,
 * exit 1: no stack trace for a full disk or a lost server). Once a call has waited out
 * --storage_timeout, later ones try once until one succeeds: a worker ending because the store is
 * gone records what it can without waiting the timeout again for each step.
 */
function retrying(store: StudyStore, options: OpenStoreOptions & { url: string }): StudyStore {
  let down = false;
  return new Proxy(store, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      if (typeof v !== 'function' || key === 'close') return v;
      return async (...args: unknown[]) => {
        try {
          const result = await withRetry(String(key), () => v.apply(target, args), options, down ? 0 : undefined);
          down = false;
          return result;
        } catch (e) {
          if (isTransient(e) || (e instanceof UserError && e.exitCode === 1)) down = true;
          throw storeFailure(e, String(key), options.url);
        }
      };
    },
  });
}

/** A store call's failure as the CLI says it: the store named (its password masked), what failed, and why. */
function storeFailure(e: unknown, what: string, url: string): unknown {
  if (e instanceof UserError) return e;
  // the backends' own errors of a call (a study id not in the store) carry the store's name already
  const message = describe(e);
  return new UserError(message.includes(url) ? message : `study store ${url}: ${what} failed: ${message}`, 1);
}

/**
 * Opens the store a `--storage` value names (default: the SQLite file under the results root),
 * creating or upgrading its tables. An unreachable store is retried for `storageTimeout` seconds;
 * a store of another schema version, wrong credentials or a bad URL are errors at once.
 */
export async function openStore(storage: string | undefined, options: OpenStoreOptions = {}): Promise<StudyStore> {
  const location = parseStorage(storage);
  const retryOptions = { ...options, url: location.url };
  try {
    const store = await withRetry(
      'connect',
      async () => {
        if (location.kind === 'sqlite') {
          const { openSqliteStore } = await import('./sqlite.js');
          return openSqliteStore(location.file, location.url, { schemaVersion: options.schemaVersion, readOnly: options.readOnly });
        }
        const { openPostgresStore } = await import('./postgres.js');
        return openPostgresStore(location.connectionString, location.url, { schemaVersion: options.schemaVersion, connectTimeout: Math.min(10, options.storageTimeout ?? 10), maxConnections: options.maxConnections, readOnly: options.readOnly });
      },
      retryOptions,
    );
    return retrying(store, retryOptions);
  } catch (e) {
    if (e instanceof UserError) throw e;
    if (e instanceof StoreVersionError) throw new UserError(e.message);
    throw new UserError(`cannot open the study store ${location.url}: ${describe(e)}`);
  }
}
