import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { Config } from '../../config-space/index.js';
import { mkdirp } from '../../util/fs.js';
import { STUDY_ROW_TABLES, logFromRow, observationFromRow, reportFromRow, levelsReached, reasonColumns, reportReason, rungKeep, rungReason, studyFromRow, suggestionFromRow, tellRefusal, workerFromRow } from './rows.js';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.js';
import type { RungReason } from '../../results/decisions.js';
import {
  type BufferLimits,
  type Cursor,
  type FreeClaim,
  type FreeRefusal,
  type LogLine,
  type LogRecord,
  type NewObservation,
  type NewRows,
  type NewReport,
  type ObservationRecord,
  type Page,
  type RenewOutcome,
  type ReportRecord,
  type RungRule,
  type StopMode,
  type StoredDefinition,
  type StudyRecord,
  type StudyStatus,
  type StudyStore,
  type StudySummary,
  type StudyView,
  type SuggestionChanges,
  type SuggestionLimits,
  type SuggestionOutcome,
  type SuggestionRecord,
  type SuggestionState,
  type TellAndClaim,
  type TellOutcome,
  type WorkerIdentity,
  type WorkerRecord,
  StoreVersionError,
} from './store.js';

type Db = BetterSqlite3.Database;
type Row = Record<string, unknown>;

export const SQLITE_SCHEMA_VERSION = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1].version;

/**
 * SQLite's clock in ms since the epoch (julianday works in every SQLite, unixepoch('subsec') in
 * 3.42+ only): the clock of the machine the file is on, never a worker's notion of the time.
 */
const CLOCK = "round((julianday('now') - 2440587.5) * 86400000.0)";

/** How long a write waits for another process's lock before failing (ms). */
const BUSY_TIMEOUT = 30_000;

/**
 * Brings the database to `target` (default: the newest version), or refuses one that another
 * tunelab made: a newer schema, or tables that are not a study store.
 */
export function migrateSqlite(db: Db, file: string, target = SQLITE_SCHEMA_VERSION): number {
  const migrate = db.transaction(() => {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
    let version = 0;
    if (tables.includes('tunelab_schema')) version = (db.prepare('SELECT version FROM tunelab_schema').get() as { version: number } | undefined)?.version ?? 0;
    else if (tables.length > 0) throw new StoreVersionError(`${file} is an SQLite database but not a tunelab study store (it has tables ${tables.slice(0, 5).join(', ')} and no tunelab_schema); give another --storage file`);
    else db.exec('CREATE TABLE tunelab_schema (version INTEGER NOT NULL); INSERT INTO tunelab_schema VALUES (0)');
    if (version > SQLITE_SCHEMA_VERSION) {
      throw new StoreVersionError(`${file} has study-store schema version ${version}, newer than this tunelab's ${SQLITE_SCHEMA_VERSION}; upgrade tunelab to use it`);
    }
    for (const step of SQLITE_MIGRATIONS) {
      if (step.version <= version || step.version > target) continue;
      for (const s of step.statements) db.exec(s);
      db.prepare('UPDATE tunelab_schema SET version = ?').run(step.version);
      version = step.version;
    }
    return version;
  });
  return migrate.immediate();
}

/** Opens (creating if needed) an SQLite study store: WAL, a busy timeout, and write transactions that take the lock up front. */
export async function openSqliteStore(file: string, url: string, options: { schemaVersion?: number; readOnly?: boolean } = {}): Promise<SqliteStore> {
  // loaded here, not at start-up: `tunelab --help` must not load a native module
  const { default: Database } = await import('better-sqlite3');
  if (options.readOnly) return new SqliteStore(openSqliteReadOnly(Database, file), url);
  if (!existsSync(dirname(file))) mkdirp(dirname(file));
  const db = new Database(file, { timeout: BUSY_TIMEOUT });
  try {
    db.pragma('journal_mode = WAL');
    // WAL with NORMAL sync is durable across process crashes (not power loss), at a fraction of FULL's cost
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrateSqlite(db, file, options.schemaVersion);
  } catch (e) {
    db.close();
    throw e;
  }
  return new SqliteStore(db, url);
}

/**
 * A reader beside the writers: read-only (a reader never takes the write lock; under WAL its reads
 * are snapshots that neither wait for nor block a writer), of this tunelab's schema version only.
 */
function openSqliteReadOnly(Database: typeof BetterSqlite3, file: string): Db {
  if (!existsSync(file)) throw new StoreVersionError(`${file} does not exist; give the SQLite file of a study store (a study create or run --storage makes one)`);
  const db = new Database(file, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
    if (!tables.includes('tunelab_schema')) throw new StoreVersionError(`${file} is not a tunelab study store (it has no tunelab_schema table)`);
    const version = (db.prepare('SELECT version FROM tunelab_schema').get() as { version: number } | undefined)?.version ?? 0;
    if (version !== SQLITE_SCHEMA_VERSION) throw new StoreVersionError(`${file} has study-store schema version ${version}, this tunelab reads ${SQLITE_SCHEMA_VERSION}; ${version < SQLITE_SCHEMA_VERSION ? 'open it once with a writer (tunelab study status) to upgrade it' : 'upgrade tunelab'}`);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/** What a request id's first call answered: a tell's outcome, a claim, or both (tellAndClaim). */
interface StoredAnswer {
  told?: TellOutcome;
  claim?: FreeClaim;
}

interface PendingWrite {
  fn: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class SqliteStore implements StudyStore {
  private readonly statements = new Map<string, BetterSqlite3.Statement>();
  /** Writes asked for in this turn of the event loop: committed together (see write). */
  private pending: PendingWrite[] = [];
  /** One write of a batch, as a savepoint: a write that throws rolls back alone. */
  private readonly savepoint: (fn: () => unknown) => unknown;
  /** The store's clock, read once when a batch's transaction begins: every write of it has that time. */
  private batchNow: number | undefined;

  constructor(
    private readonly db: Db,
    readonly url: string,
  ) {
    this.savepoint = db.transaction((fn: () => unknown) => fn());
  }

  /** Prepared once per text: preparing costs more than running these small statements. */
  private q(sql: string): BetterSqlite3.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /**
   * A write transaction, committed with every other write asked for in the same turn of the event
   * loop (group commit: a busy server's concurrent requests share one BEGIN IMMEDIATE and one
   * COMMIT, the WAL's one write). Each write runs in its own savepoint, so one that throws is rolled
   * back alone; its caller's promise settles only once the batch is committed, so nothing is
   * answered that a kill -9 could still lose.
   */
  private write<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (this.pending.length === 1) setImmediate(() => this.settle());
    });
  }

  /** Commits the pending writes now (a read first sees every write asked for before it). */
  private settle(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      this.db
        .transaction(() => {
          this.batchNow = this.readClock();
          for (const w of batch) {
            try {
              outcomes.push({ ok: true, value: this.savepoint(w.fn) });
            } catch (error) {
              outcomes.push({ ok: false, error });
            }
          }
        })
        .immediate();
    } catch (error) {
      // no lock (busy past the timeout), or the commit failed (disk full): nothing of the batch was written
      for (const w of batch) w.reject(error);
      return;
    } finally {
      this.batchNow = undefined;
    }
    batch.forEach((w, i) => {
      const o = outcomes[i];
      if (o.ok) w.resolve(o.value);
      else w.reject(o.error);
    });
  }

  /** The store's clock (see CLOCK); inside a batch of writes, read once for all its times. */
  private clock(): number {
    return this.batchNow ?? this.readClock();
  }

  private readClock(): number {
    return (this.q(`SELECT ${CLOCK} AS now`).get() as { now: number }).now;
  }

  async now(): Promise<number> {
    this.settle();
    return this.clock();
  }

  private study(studyId: number): StudyRecord {
    const row = this.q('SELECT * FROM studies WHERE id = ?').get(studyId) as Row | undefined;
    if (!row) throw new Error(`study ${studyId} is not in ${this.url}`);
    return studyFromRow(row);
  }

  async createStudy(name: string, definition: StoredDefinition): Promise<StudyRecord> {
    return this.write(() => {
      const info = this.q("INSERT INTO studies (name, status, definition, created_at) VALUES (?, 'running', ?, ?)").run(name, JSON.stringify(definition), this.clock());
      return this.study(Number(info.lastInsertRowid));
    });
  }

  async findStudy(idOrName: string): Promise<StudyRecord | undefined> {
    this.settle();
    const row = (/^\d+$/.test(idOrName) ? this.q('SELECT * FROM studies WHERE id = ?').get(Number(idOrName)) : this.q('SELECT * FROM studies WHERE name = ?').get(idOrName)) as Row | undefined;
    return row && studyFromRow(row);
  }

  async listStudies(): Promise<StudySummary[]> {
    this.settle();
    const rows = this.q(
      `SELECT s.*, s.observed AS n_obs,
              (SELECT count(*) FROM suggestions g WHERE g.study_id = s.id AND g.state = 'open') AS n_open
       FROM studies s ORDER BY s.id`,
    ).all() as Row[];
    return rows.map((r) => {
      const s = studyFromRow(r);
      return { id: s.id, name: s.name, status: s.status, method: s.definition.method, createdAt: s.createdAt, observations: Number(r.n_obs), open: Number(r.n_open), budget: s.definition.source.budget.max_trials ?? null };
    });
  }

  async setStatus(studyId: number, status: StudyStatus, stopMode: StopMode | null): Promise<void> {
    await this.write(() => this.q('UPDATE studies SET status = ?, stop_mode = ? WHERE id = ?').run(status, stopMode, studyId));
  }

  async deleteStudy(studyId: number): Promise<boolean> {
    return this.write(() => {
      for (const table of STUDY_ROW_TABLES) this.q(`DELETE FROM ${table} WHERE study_id = ?`).run(studyId);
      return this.q('DELETE FROM studies WHERE id = ?').run(studyId).changes > 0;
    });
  }

  /** The view of a study's state (StudyView); inside a write transaction, under the lock. */
  private view(studyId: number, since: Cursor, now: number): StudyView {
    const active = (this.q("SELECT * FROM suggestions WHERE study_id = ? AND state IN ('open', 'ready') ORDER BY id").all(studyId) as Row[]).map(suggestionFromRow);
    const study = this.q('SELECT * FROM studies WHERE id = ?').get(studyId) as Row | undefined;
    if (!study) throw new Error(`study ${studyId} is not in ${this.url}`);
    return {
      study: studyFromRow(study),
      now,
      done: Number(study.observed),
      open: active.filter((s) => s.state === 'open'),
      ready: active.filter((s) => s.state === 'ready'),
      ...this.newRows(studyId, since),
    };
  }

  private newRows(studyId: number, since: Cursor): NewRows {
    return {
      newObservations: (this.q('SELECT * FROM observations WHERE study_id = ? AND id > ? ORDER BY id').all(studyId, since.observation) as Row[]).map(observationFromRow),
      newSuggestions: (this.q('SELECT id, config FROM suggestions WHERE study_id = ? AND id > ? ORDER BY id').all(studyId, since.suggestion) as { id: number; config: string }[]).map((r) => ({ id: r.id, config: JSON.parse(r.config) })),
    };
  }

  async readNew(studyId: number, since: Cursor): Promise<NewRows> {
    this.settle();
    return this.db.transaction(() => this.newRows(studyId, since))();
  }

  async addReady(studyId: number, configs: readonly Config[], limits: BufferLimits): Promise<number> {
    return this.write(() => {
      const now = this.clock();
      const study = this.q('SELECT status, observed FROM studies WHERE id = ?').get(studyId) as { status: string; observed: number } | undefined;
      if (study?.status !== 'running') return 0;
      const held = new Set((this.q("SELECT config FROM suggestions WHERE study_id = ? AND state IN ('open', 'ready')").all(studyId) as { config: string }[]).map((r) => r.config));
      const room = Math.min(limits.outstanding, limits.budget - study.observed) - held.size;
      const fresh = [...new Set(configs.map((c) => JSON.stringify(c)))].filter((c) => !held.has(c)).slice(0, Math.max(0, room));
      for (const config of fresh) this.q("INSERT INTO suggestions (study_id, config, state, created_at) VALUES (?, ?, 'ready', ?)").run(studyId, config, now);
      if (fresh.length > 0) this.q('UPDATE studies SET refill_at = ?, refill_observations = observed WHERE id = ?').run(now, studyId);
      return fresh.length;
    });
  }

  async readView(studyId: number, since: Cursor): Promise<StudyView> {
    this.settle();
    // a read transaction: one consistent snapshot, no write lock
    return this.db.transaction(() => this.view(studyId, since, this.clock()))();
  }

  async suggest(studyId: number, worker: WorkerIdentity, leaseSeconds: number, since: Cursor, plan: (view: StudyView) => SuggestionChanges, request?: string): Promise<SuggestionOutcome> {
    return this.write(() => {
      const now = this.clock();
      const view = this.view(studyId, since, now);
      const prior = this.recalled(studyId, request);
      if (prior?.claim) return { claimed: prior.claim.claimed, view };
      const changes = plan(view);
      const lease = now + leaseSeconds * 1000;
      const claim = (id: number) => {
        this.q("UPDATE suggestions SET state = 'open', worker_id = ?, host = ?, pid = ?, lease_expires_at = ?, attempts = attempts + 1, assigned_at = ? WHERE id = ?").run(worker.workerId, worker.host, worker.pid, lease, now, id);
        return suggestionFromRow(this.q('SELECT * FROM suggestions WHERE id = ?').get(id) as Row);
      };
      if (changes.abandon?.length) {
        this.q(`UPDATE suggestions SET state = 'abandoned', lease_expires_at = NULL, ended_at = ? WHERE id IN (${placeholders(changes.abandon.length)}) AND state IN ('open', 'ready')`).run(now, ...changes.abandon);
      }
      let claimed: SuggestionRecord | undefined;
      if (changes.claim !== undefined) claimed = claim(changes.claim);
      changes.create?.configs.forEach((config, i) => {
        const id = Number(this.q("INSERT INTO suggestions (study_id, config, state, created_at) VALUES (?, ?, 'ready', ?)").run(studyId, JSON.stringify(config), now).lastInsertRowid);
        if (i === 0 && changes.create!.claimFirst) claimed = claim(id);
      });
      if (changes.end) this.q("UPDATE studies SET status = ? WHERE id = ? AND status = 'running'").run(changes.end, studyId);
      if (claimed) this.remember(studyId, request, { claim: { claimed, done: view.done, open: view.open.length, ready: view.ready.length } });
      return { claimed, view };
    });
  }

  async claimIfFree(studyId: number, worker: WorkerIdentity, leaseSeconds: number, config: Config | undefined, limits: SuggestionLimits, request?: string): Promise<FreeClaim | FreeRefusal | undefined> {
    return this.write(() => {
      const prior = this.recalled(studyId, request);
      if (prior?.claim) return { ...prior.claim, replayed: true };
      const free = this.claimNow(studyId, worker, leaseSeconds, config, limits);
      if (free && 'claimed' in free) this.remember(studyId, request, { claim: free });
      return free;
    });
  }

  async tellAndClaim(studyId: number, suggestionId: number, worker: WorkerIdentity, o: NewObservation, leaseSeconds: number, config: Config | undefined, limits: SuggestionLimits, request?: string): Promise<TellAndClaim> {
    return this.write(() => {
      const prior = this.recalled(studyId, request);
      if (prior?.told) return { told: prior.told, next: prior.claim && { ...prior.claim, replayed: true } };
      const told = this.tellNow(studyId, suggestionId, worker, o, this.clock());
      const next = this.claimNow(studyId, worker, leaseSeconds, config, limits);
      this.remember(studyId, request, { told, ...(next && 'claimed' in next && { claim: next }) });
      return { told, next };
    });
  }

  /** The answer stored for a request id (StudyStore's request ids), inside a write transaction. */
  private recalled(studyId: number, request: string | undefined): StoredAnswer | undefined {
    if (request === undefined) return undefined;
    const row = this.q('SELECT answer FROM requests WHERE study_id = ? AND key = ?').get(studyId, request) as { answer: string } | undefined;
    return row && (JSON.parse(row.answer) as StoredAnswer);
  }

  private remember(studyId: number, request: string | undefined, answer: StoredAnswer): void {
    if (request === undefined) return;
    this.q('INSERT INTO requests (study_id, key, answer, created_at) VALUES (?, ?, ?, ?)').run(studyId, request, JSON.stringify(answer), this.clock());
  }

  /** claimIfFree's work, inside a write transaction. */
  private claimNow(studyId: number, worker: WorkerIdentity, leaseSeconds: number, config: Config | undefined, limits: SuggestionLimits): FreeClaim | FreeRefusal | undefined {
    const now = this.clock();
    if (limits.deadline !== null && now >= limits.deadline) return undefined;
    // one pass over the study's active suggestions (the index of open and ready ones)
    const c = this.q(
      `SELECT s.status, s.observed AS done, a.open, a.expired, a.n_ready, a.ready FROM studies s,
              (SELECT count(*) FILTER (WHERE state = 'open') AS open,
                      count(*) FILTER (WHERE state = 'open' AND lease_expires_at <= @now) AS expired,
                      count(*) FILTER (WHERE state = 'ready') AS n_ready,
                      min(id) FILTER (WHERE state = 'ready') AS ready
               FROM suggestions WHERE study_id = @study AND state IN ('open', 'ready')) a
       WHERE s.id = @study`,
    ).get({ study: studyId, now }) as { status: string; done: number; open: number; expired: number; n_ready: number; ready: number | null } | undefined;
    // the planner's answers where they need no view: not running; every slot held by a live suggestion
    if (c?.status !== 'running') return { none: 'stopped' };
    if (c.expired > 0 || c.done >= limits.budget) return undefined;
    if (c.open >= limits.bandwidth || c.done + c.open >= limits.budget) return { none: 'wait' };
    const lease = now + leaseSeconds * 1000;
    let id: number;
    if (c.ready !== null) {
      id = c.ready;
      this.q("UPDATE suggestions SET state = 'open', worker_id = ?, host = ?, pid = ?, lease_expires_at = ?, attempts = attempts + 1, assigned_at = ? WHERE id = ?").run(worker.workerId, worker.host, worker.pid, lease, now, id);
    } else if (config) {
      id = Number(
        this.q("INSERT INTO suggestions (study_id, config, state, worker_id, host, pid, lease_expires_at, attempts, created_at, assigned_at) VALUES (?, ?, 'open', ?, ?, ?, ?, 1, ?, ?)").run(
          studyId,
          JSON.stringify(config),
          worker.workerId,
          worker.host,
          worker.pid,
          lease,
          now,
          now,
        ).lastInsertRowid,
      );
    } else return undefined;
    return { claimed: suggestionFromRow(this.q('SELECT * FROM suggestions WHERE id = ?').get(id) as Row), done: c.done, open: c.open, ready: c.n_ready };
  }

  async renew(studyId: number, worker: WorkerIdentity, suggestionIds: readonly number[], leaseSeconds: number): Promise<RenewOutcome> {
    return this.write(() => {
      const now = this.clock();
      const lease = now + leaseSeconds * 1000;
      const held = new Set<number>();
      for (const id of suggestionIds) {
        const info = this.q("UPDATE suggestions SET lease_expires_at = ? WHERE id = ? AND study_id = ? AND state = 'open' AND worker_id = ?").run(lease, id, studyId, worker.workerId);
        if (info.changes > 0) held.add(id);
      }
      this.q('UPDATE workers SET last_seen = ? WHERE study_id = ? AND worker_id = ?').run(now, studyId, worker.workerId);
      const s = this.study(studyId);
      return { lost: suggestionIds.filter((id) => !held.has(id)), status: s.status, stopMode: s.stopMode };
    });
  }

  async report(studyId: number, suggestionId: number, worker: WorkerIdentity, report: NewReport, rule: RungRule | undefined): Promise<'continue' | 'stop'> {
    return this.write(() => {
      const reasons: RungReason[] = [];
      if (rule) {
        const recorded = (this.q('SELECT level FROM rungs WHERE study_id = ? AND suggestion_id = ?').all(studyId, suggestionId) as { level: number }[]).map((r) => r.level);
        const [better, order] = rule.mode === 'min' ? ['value < ?', 'ASC'] : ['value > ?', 'DESC'];
        for (const level of levelsReached(rule, report.resource, recorded)) {
          this.q('INSERT INTO rungs (study_id, level, suggestion_id, value) VALUES (?, ?, ?, ?)').run(studyId, level, suggestionId, report.value);
          const c = this.q(`SELECT count(*) AS size, sum(CASE WHEN ${better} THEN 1 ELSE 0 END) AS better FROM rungs WHERE study_id = ? AND level = ?`).get(report.value, studyId, level) as { size: number; better: number };
          const keep = rungKeep(c.size, rule.reductionFactor);
          const threshold = this.q(`SELECT value FROM rungs WHERE study_id = ? AND level = ? ORDER BY value ${order} LIMIT 1 OFFSET ?`).get(studyId, level, keep - 1) as { value: number };
          reasons.push(rungReason(level, c.better, c.size, rule.reductionFactor, threshold.value));
        }
      }
      const reason = reportReason(reasons);
      const decision = reasons.some((r) => r.decision === 'stop') ? 'stop' : 'continue';
      this.q('INSERT INTO reports (study_id, suggestion_id, resource, value, metrics, decision, worker_id, created_at, rung_level, rung_rank, rung_size, rung_keep, rung_threshold) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
        studyId,
        suggestionId,
        report.resource,
        report.value,
        JSON.stringify(report.metrics),
        decision,
        worker.workerId,
        this.clock(),
        ...reasonColumns(reason),
      );
      return decision;
    });
  }

  async tell(studyId: number, suggestionId: number, worker: WorkerIdentity, o: NewObservation): Promise<TellOutcome> {
    return this.write(() => this.tellNow(studyId, suggestionId, worker, o, this.clock()));
  }

  /** tell's work, inside a write transaction. */
  private tellNow(studyId: number, suggestionId: number, worker: WorkerIdentity, o: NewObservation, now: number): TellOutcome {
    const row = this.q('SELECT * FROM suggestions WHERE id = ? AND study_id = ?').get(suggestionId, studyId) as Row | undefined;
    const s = row && suggestionFromRow(row);
    if (s && (s.state === 'completed' || s.state === 'failed') && s.workerId === worker.workerId) return { recorded: true }; // a retried tell
    const refusal = tellRefusal(s, suggestionId, worker.workerId, now);
    if (refusal) return { recorded: false, reason: refusal };
    this.q('UPDATE suggestions SET state = ?, worker_id = ?, host = ?, pid = ?, lease_expires_at = NULL, ended_at = ? WHERE id = ?').run(o.failed ? 'failed' : 'completed', worker.workerId, worker.host, worker.pid, now, suggestionId);
    this.q('INSERT INTO observations (study_id, suggestion_id, value, objective_values, metrics, failed, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
      studyId,
      suggestionId,
      o.value,
      o.objectiveValues && JSON.stringify(o.objectiveValues),
      JSON.stringify(o.values),
      o.failed ? 1 : 0,
      JSON.stringify(o.metadata),
      now,
    );
    this.q('UPDATE studies SET observed = observed + 1 WHERE id = ?').run(studyId);
    return { recorded: true };
  }

  async abandon(studyId: number, suggestionIds: readonly number[]): Promise<number[]> {
    return this.write(() => {
      const now = this.clock();
      return suggestionIds.filter((id) => this.q("UPDATE suggestions SET state = 'abandoned', lease_expires_at = NULL, ended_at = ? WHERE id = ? AND study_id = ? AND state IN ('open', 'ready')").run(now, id, studyId).changes > 0);
    });
  }

  async release(studyId: number, suggestionIds: readonly number[]): Promise<number[]> {
    return this.write(() => suggestionIds.filter((id) => this.q("UPDATE suggestions SET state = 'ready', lease_expires_at = NULL WHERE id = ? AND study_id = ? AND state = 'open'").run(id, studyId).changes > 0));
  }

  async listSuggestions(studyId: number, states?: readonly SuggestionState[], page?: Page): Promise<SuggestionRecord[]> {
    this.settle();
    // LIMIT -1: every row
    const [after, limit] = page ? [page.afterId, page.limit] : [0, -1];
    const rows = states
      ? this.db.prepare(`SELECT * FROM suggestions WHERE study_id = ? AND id > ? AND state IN (${placeholders(states.length)}) ORDER BY id LIMIT ?`).all(studyId, after, ...states, limit)
      : this.q('SELECT * FROM suggestions WHERE study_id = ? AND id > ? ORDER BY id LIMIT ?').all(studyId, after, limit);
    return (rows as Row[]).map(suggestionFromRow);
  }

  async listObservations(studyId: number, afterId = 0, limit = -1): Promise<ObservationRecord[]> {
    this.settle();
    return (this.q('SELECT * FROM observations WHERE study_id = ? AND id > ? ORDER BY id LIMIT ?').all(studyId, afterId, limit) as Row[]).map(observationFromRow);
  }

  async listReports(studyId: number, afterId = 0, limit = -1): Promise<ReportRecord[]> {
    this.settle();
    return (this.q('SELECT * FROM reports WHERE study_id = ? AND id > ? ORDER BY id LIMIT ?').all(studyId, afterId, limit) as Row[]).map(reportFromRow);
  }

  async registerWorker(studyId: number, worker: WorkerIdentity): Promise<void> {
    await this.write(() => {
      const now = this.clock();
      this.q('INSERT OR REPLACE INTO workers (study_id, worker_id, host, pid, started_at, last_seen) VALUES (?, ?, ?, ?, ?, ?)').run(studyId, worker.workerId, worker.host, worker.pid, now, now);
    });
  }

  async workerExited(studyId: number, workerId: string): Promise<void> {
    await this.write(() => {
      const now = this.clock();
      this.q('UPDATE workers SET ended_at = ?, last_seen = ? WHERE study_id = ? AND worker_id = ?').run(now, now, studyId, workerId);
    });
  }

  async listWorkers(studyId: number): Promise<WorkerRecord[]> {
    this.settle();
    return (this.q('SELECT * FROM workers WHERE study_id = ? ORDER BY started_at').all(studyId) as Row[]).map(workerFromRow);
  }

  async appendLogs(studyId: number, lines: readonly LogLine[]): Promise<void> {
    if (lines.length === 0) return;
    await this.write(() => {
      const insert = this.q('INSERT INTO trial_logs (study_id, suggestion_id, worker_id, stream, line, time) VALUES (?, ?, ?, ?, ?, ?)');
      for (const l of lines) insert.run(studyId, l.suggestionId, l.workerId, l.stream, l.line, l.time);
    });
  }

  async readLogs(studyId: number, afterId: number, limit: number): Promise<LogRecord[]> {
    this.settle();
    return (this.q('SELECT * FROM trial_logs WHERE study_id = ? AND id > ? ORDER BY id LIMIT ?').all(studyId, afterId, limit) as Row[]).map(logFromRow);
  }

  async close(): Promise<void> {
    this.settle();
    this.db.close();
  }
}
