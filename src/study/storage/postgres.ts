import type { Pool, PoolClient, QueryResult } from 'pg';
import type { Config } from '../../config-space/index.js';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.js';
import type { RungReason } from '../../results/decisions.js';
import { STUDY_ROW_TABLES, logFromRow, observationFromRow, reportFromRow, levelsReached, reasonColumns, reportReason, rungReason, studyFromRow, suggestionFromRow, tellRefusal, workerFromRow } from './rows.js';
import {
  type BufferLimits,
  type Cursor,
  type FreeClaim,
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

/** The largest id of a SERIAL column (studies.id). */
const MAX_SERIAL = 2 ** 31 - 1;

type Row = Record<string, unknown>;

export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1].version;

/**
 * Advisory-lock keys (first half): one for migrations; per study, one serialising its suggestions
 * and one its ASHA rungs. An advisory lock writes nothing (a row lock by FOR UPDATE writes the row),
 * and the suggestion lock's holding time is what bounds the store's throughput.
 */
const MIGRATION_LOCK = 7_290_001;
const RUNG_LOCK = 7_290_002;
const SUGGESTION_LOCK = 7_290_003;

export interface PostgresOptions {
  /** Seconds to wait for a connection (default 10). */
  connectTimeout?: number;
  /** Seconds a statement may run, lock waits included (default 60). */
  statementTimeout?: number;
  /** Connections per process (default 2: a worker's loop and its lease renewals). */
  maxConnections?: number;
  schemaVersion?: number;
  /** Read-only transactions, no migration: a store of another schema version is refused. */
  readOnly?: boolean;
}

/** The tables of a tunelab store: one of them without tunelab_schema means the database holds something else. */
const OUR_TABLES = ['studies', 'suggestions', 'observations', 'reports', 'rungs', 'workers', 'trial_logs', 'requests'];

async function migratePostgres(client: PoolClient, url: string, target: number): Promise<number> {
  await client.query('BEGIN');
  try {
    // two workers starting at once on a fresh database: one migrates, the other waits and finds it done
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    const tables = (await client.query("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")).rows.map((r) => String(r.table_name));
    let version = 0;
    if (tables.includes('tunelab_schema')) version = Number((await client.query('SELECT version FROM tunelab_schema')).rows[0]?.version ?? 0);
    else {
      const clash = OUR_TABLES.filter((t) => tables.includes(t));
      if (clash.length > 0) throw new StoreVersionError(`${url} has tables ${clash.join(', ')} but no tunelab_schema: it is not a tunelab study store; give another database`);
      await client.query('CREATE TABLE tunelab_schema (version INTEGER NOT NULL); INSERT INTO tunelab_schema VALUES (0)');
    }
    if (version > POSTGRES_SCHEMA_VERSION) {
      throw new StoreVersionError(`${url} has study-store schema version ${version}, newer than this tunelab's ${POSTGRES_SCHEMA_VERSION}; upgrade tunelab to use it`);
    }
    for (const step of POSTGRES_MIGRATIONS) {
      if (step.version <= version || step.version > target) continue;
      for (const s of step.statements) await client.query(s);
      await client.query('UPDATE tunelab_schema SET version = $1', [step.version]);
      version = step.version;
    }
    await client.query('COMMIT');
    return version;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** A reader's check: the store is one of this tunelab's schema version (a reader never migrates). */
async function checkPostgresVersion(client: PoolClient, url: string): Promise<void> {
  const tables = (await client.query("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'tunelab_schema'")).rows;
  if (tables.length === 0) throw new StoreVersionError(`${url} is not a tunelab study store (it has no tunelab_schema table)`);
  const version = Number((await client.query('SELECT version FROM tunelab_schema')).rows[0]?.version ?? 0);
  if (version !== POSTGRES_SCHEMA_VERSION) throw new StoreVersionError(`${url} has study-store schema version ${version}, this tunelab reads ${POSTGRES_SCHEMA_VERSION}; ${version < POSTGRES_SCHEMA_VERSION ? 'open it once with a writer to upgrade it' : 'upgrade tunelab'}`);
}

/** Connects to a PostgreSQL study store (creating or upgrading its tables). `url` is the redacted form, for messages. */
export async function openPostgresStore(connectionString: string, url: string, options: PostgresOptions = {}): Promise<PostgresStore> {
  // loaded here, not at start-up: `tunelab --help` must not load the driver
  const { default: pg } = await import('pg');
  const statementTimeout = (options.statementTimeout ?? 60) * 1000;
  const pool = new pg.Pool({
    connectionString,
    max: options.maxConnections ?? 2,
    connectionTimeoutMillis: (options.connectTimeout ?? 10) * 1000,
    statement_timeout: statementTimeout,
    query_timeout: statementTimeout + 5000,
    idle_in_transaction_session_timeout: statementTimeout,
    keepAlive: true,
    application_name: 'tunelab',
    // as SQLite's synchronous=NORMAL: a server crash may lose the last fraction of a second of
    // commits (never corrupt anything); a flush per suggestion and per observation would cap the
    // store at a few dozen commits a second on a plain disk (measured: 33 cycles/s with one worker)
    options: options.readOnly ? '-c default_transaction_read_only=on' : '-c synchronous_commit=off',
  });
  // an idle connection that breaks (server restart) must not crash the process: the next query reconnects
  pool.on('error', () => undefined);
  // nor one that breaks while checked out (a reset between a transaction's statements): pg emits
  // 'error' on the client, which without a listener ends the process; its query fails anyway, and
  // the pool drops a client that is no longer queryable when it is released
  pool.on('connect', (client) => client.on('error', () => undefined));
  try {
    const client = await pool.connect();
    try {
      if (options.readOnly) await checkPostgresVersion(client, url);
      else await migratePostgres(client, url, options.schemaVersion ?? POSTGRES_SCHEMA_VERSION);
    } finally {
      client.release();
    }
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw e;
  }
  return new PostgresStore(pool, url);
}

/** A literal for simple-protocol batches (several statements in one round trip take no parameters). */
function lit(client: PoolClient, v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') {
    if (Number.isFinite(v)) return String(v);
    return `'${Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity'}'::float8`;
  }
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  return client.escapeLiteral(String(v));
}

const results = (r: QueryResult | QueryResult[]): QueryResult[] => (Array.isArray(r) ? r : [r]);

/** The server's clock in ms (as migration 4's functions read it): every time the store writes or compares, never a worker's. */
const CLOCK = '(extract(epoch FROM clock_timestamp()) * 1000)::float8';

/** A claim function's row (no suggestion: nothing was claimed); a stored one (a request id's) is marked replayed. */
const freeClaim = (row: Row): FreeClaim | undefined =>
  row.suggestion ? { claimed: suggestionFromRow(row.suggestion as Row), done: Number(row.done), open: Number(row.n_open), ready: Number(row.n_ready), ...(row.replayed === true && { replayed: true }) } : undefined;

/** A tell function's answer: the suggestion as it was before (null: no such suggestion) and whether the observation was stored. */
function tellOutcome(before: Row | null, recorded: boolean, suggestionId: number, worker: WorkerIdentity, at: unknown): TellOutcome {
  if (recorded) return { recorded: true };
  const s = before ? suggestionFromRow(before) : undefined;
  if (s && (s.state === 'completed' || s.state === 'failed') && s.workerId === worker.workerId) return { recorded: true }; // a retried tell
  return { recorded: false, reason: tellRefusal(s, suggestionId, worker.workerId, Number(at)) ?? `suggestion ${suggestionId} could not be told` };
}

export class PostgresStore implements StudyStore {
  constructor(
    private readonly pool: Pool,
    readonly url: string,
  ) {}

  /** With a name, a prepared statement (planned once per connection): for the statements of every cycle. */
  private async rows(sql: string, params: unknown[] = [], name?: string): Promise<Row[]> {
    return (await this.pool.query(name ? { name, text: sql, values: params } : { text: sql, values: params })).rows;
  }

  /** A transaction on one connection; rolled back if `fn` throws. */
  private async transaction<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    let broken = false;
    try {
      return await fn(c);
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw e;
    } finally {
      c.release(broken);
    }
  }

  async now(): Promise<number> {
    const [row] = await this.rows(`SELECT ${CLOCK} AS now`);
    return Number(row.now);
  }

  async createStudy(name: string, definition: StoredDefinition): Promise<StudyRecord> {
    const [row] = await this.rows(`INSERT INTO studies (name, status, definition, created_at) VALUES ($1, 'running', $2, ${CLOCK}) RETURNING *`, [name, JSON.stringify(definition)]);
    return studyFromRow(row);
  }

  async findStudy(idOrName: string): Promise<StudyRecord | undefined> {
    if (/^\d+$/.test(idOrName)) {
      // past a SERIAL's range PostgreSQL fails the query ("out of range for type integer"): no such study
      if (Number(idOrName) > MAX_SERIAL) return undefined;
      const [row] = await this.rows('SELECT * FROM studies WHERE id = $1', [Number(idOrName)]);
      return row && studyFromRow(row);
    }
    const [row] = await this.rows('SELECT * FROM studies WHERE name = $1', [idOrName]);
    return row && studyFromRow(row);
  }

  async listStudies(): Promise<StudySummary[]> {
    const rows = await this.rows(
      `SELECT s.*, s.observed AS n_obs,
              (SELECT count(*)::int FROM suggestions g WHERE g.study_id = s.id AND g.state = 'open') AS n_open
       FROM studies s ORDER BY s.id`,
    );
    return rows.map((r) => {
      const s = studyFromRow(r);
      return { id: s.id, name: s.name, status: s.status, method: s.definition.method, createdAt: s.createdAt, observations: Number(r.n_obs), open: Number(r.n_open), budget: s.definition.source.budget.max_trials ?? null };
    });
  }

  async setStatus(studyId: number, status: StudyStatus, stopMode: StopMode | null): Promise<void> {
    await this.pool.query('UPDATE studies SET status = $1, stop_mode = $2 WHERE id = $3', [status, stopMode, studyId]);
  }

  async deleteStudy(studyId: number): Promise<boolean> {
    return this.transaction(async (c) => {
      await c.query('BEGIN');
      // a row inserted into a study's table holds a key-share lock on the study's row: locking it first
      // makes writers still flushing (workers after scancel) wait, then fail on the missing study,
      // instead of committing a row between the deletes below and breaking the last one
      await c.query('SELECT 1 FROM studies WHERE id = $1 FOR UPDATE', [studyId]);
      for (const table of STUDY_ROW_TABLES) await c.query(`DELETE FROM ${table} WHERE study_id = $1`, [studyId]);
      const { rowCount } = await c.query('DELETE FROM studies WHERE id = $1', [studyId]);
      await c.query('COMMIT');
      return (rowCount ?? 0) > 0;
    });
  }

  /** The view's statements (StudyView): with `lock`, after taking the study's suggestion lock in a transaction. */
  private async view(c: PoolClient, studyId: number, since: Cursor, lock: boolean): Promise<StudyView> {
    const id = lit(c, studyId);
    const res = results(
      await c.query(
        `${lock ? `BEGIN; SELECT pg_advisory_xact_lock(${SUGGESTION_LOCK}, ${id});` : ''}
         SELECT * FROM studies WHERE id = ${id};
         SELECT (SELECT observed FROM studies WHERE id = ${id}) AS done, ${CLOCK} AS now,
                (SELECT coalesce(json_agg(g ORDER BY g.id), '[]') FROM suggestions g WHERE g.study_id = ${id} AND g.state IN ('open', 'ready')) AS active;
         SELECT * FROM observations WHERE study_id = ${id} AND id > ${lit(c, since.observation)} ORDER BY id;
         SELECT id, config FROM suggestions WHERE study_id = ${id} AND id > ${lit(c, since.suggestion)} ORDER BY id`,
      ),
    );
    const [studyRes, countsRes, obsRes, newRes] = res.slice(lock ? 2 : 0);
    if (studyRes.rows.length === 0) throw new Error(`study ${studyId} is not in ${this.url}`);
    // done and the active suggestions come from one statement, hence one snapshot: a tell committing
    // in between cannot make its suggestion count neither as open nor as done
    const active = (countsRes.rows[0].active as Row[]).map(suggestionFromRow);
    return {
      study: studyFromRow(studyRes.rows[0]),
      now: Number(countsRes.rows[0].now),
      done: Number(countsRes.rows[0].done),
      open: active.filter((s) => s.state === 'open'),
      ready: active.filter((s) => s.state === 'ready'),
      newObservations: obsRes.rows.map(observationFromRow),
      newSuggestions: newRes.rows.map((r) => ({ id: Number(r.id), config: JSON.parse(String(r.config)) })),
    };
  }

  async addReady(studyId: number, configs: readonly Config[], limits: BufferLimits): Promise<number> {
    if (configs.length === 0) return 0;
    return this.transaction(async (c) => {
      const id = lit(c, studyId);
      const budget = Number.isFinite(limits.budget) ? lit(c, limits.budget) : 'NULL';
      const texts = configs.map((config) => lit(c, JSON.stringify(config))).join(', ');
      // one round trip, so that the lock is held inside the server only (LEAST ignores a NULL budget)
      const [, , added] = results(
        await c.query(
          `BEGIN;
           SELECT pg_advisory_xact_lock(${SUGGESTION_LOCK}, ${id});
           WITH active AS (SELECT config FROM suggestions WHERE study_id = ${id} AND state IN ('open', 'ready')),
           room AS (SELECT LEAST(${lit(c, limits.outstanding)}, ${budget} - s.observed) - (SELECT count(*) FROM active) AS k FROM studies s WHERE s.id = ${id} AND s.status = 'running'),
           fresh AS (SELECT v.config, row_number() OVER (ORDER BY min(v.ord)) AS n FROM unnest(ARRAY[${texts}]::text[]) WITH ORDINALITY v(config, ord) WHERE v.config NOT IN (SELECT config FROM active) GROUP BY v.config),
           added AS (INSERT INTO suggestions (study_id, config, state, created_at) SELECT ${id}, f.config, 'ready', ${CLOCK} FROM fresh f, room WHERE f.n <= room.k RETURNING id),
           recorded AS (UPDATE studies SET refill_at = ${CLOCK}, refill_observations = observed WHERE id = ${id} AND EXISTS (SELECT 1 FROM added))
           SELECT count(*)::int AS n FROM added;
           COMMIT`,
        ),
      );
      return Number(added.rows[0].n);
    });
  }

  async readView(studyId: number, since: Cursor): Promise<StudyView> {
    const c = await this.pool.connect();
    try {
      return await this.view(c, studyId, since, false);
    } finally {
      c.release();
    }
  }

  async readNew(studyId: number, since: Cursor): Promise<NewRows> {
    const c = await this.pool.connect();
    try {
      const id = lit(c, studyId);
      // observations first: a suggestion is older than its observation, so every observation read has its config
      const [obsRes, newRes] = results(
        await c.query(
          `SELECT * FROM observations WHERE study_id = ${id} AND id > ${lit(c, since.observation)} ORDER BY id;
           SELECT id, config FROM suggestions WHERE study_id = ${id} AND id > ${lit(c, since.suggestion)} ORDER BY id`,
        ),
      );
      return { newObservations: obsRes.rows.map(observationFromRow), newSuggestions: newRes.rows.map((r) => ({ id: Number(r.id), config: JSON.parse(String(r.config)) })) };
    } finally {
      c.release();
    }
  }

  async suggest(studyId: number, worker: WorkerIdentity, leaseSeconds: number, since: Cursor, plan: (view: StudyView) => SuggestionChanges, request?: string): Promise<SuggestionOutcome> {
    return this.transaction(async (c) => {
      const id = lit(c, studyId);
      // one round trip under the lock for reading, one for writing and committing: the lock
      // serialises the study's suggestions, so its holding time bounds the store's throughput
      const view = await this.view(c, studyId, since, true);
      if (request !== undefined) {
        // a request id's answer (one more round trip, for a keyed ask only)
        const [prior] = (await c.query(`SELECT answer FROM requests WHERE study_id = ${id} AND key = ${lit(c, request)}`)).rows;
        if (prior) {
          await c.query('COMMIT');
          return { claimed: suggestionFromRow((JSON.parse(String(prior.answer)) as Row).suggestion as Row), view };
        }
      }
      // the claim's row kept as the request id's answer, as the claim functions' rows are (see once)
      const remembered = (statement: string) =>
        request === undefined
          ? statement
          : `WITH claimed AS (${statement}),
             saved AS (INSERT INTO requests (study_id, key, answer, created_at)
                       SELECT ${id}, ${lit(c, request)}, json_build_object('suggestion', row_to_json(claimed), 'done', ${lit(c, view.done)}, 'n_open', ${lit(c, view.open.length)}, 'n_ready', ${lit(c, view.ready.length)})::text, ${CLOCK} FROM claimed)
             SELECT * FROM claimed`;
      const now = view.now;
      const changes = plan(view);
      const lease = now + leaseSeconds * 1000;
      const statements: string[] = [];
      let claimAt = -1;
      if (changes.abandon?.length) {
        statements.push(`UPDATE suggestions SET state = 'abandoned', lease_expires_at = NULL, ended_at = ${lit(c, now)} WHERE id IN (${changes.abandon.map((a) => lit(c, a)).join(', ')}) AND state IN ('open', 'ready')`);
      }
      if (changes.claim !== undefined) {
        claimAt = statements.length;
        statements.push(
          remembered(`UPDATE suggestions SET state = 'open', worker_id = ${lit(c, worker.workerId)}, host = ${lit(c, worker.host)}, pid = ${lit(c, worker.pid)}, lease_expires_at = ${lit(c, lease)}, attempts = attempts + 1, assigned_at = ${lit(c, now)}
           WHERE id = ${lit(c, changes.claim)} AND state IN ('open', 'ready') RETURNING *`),
        );
      }
      const configs = [...(changes.create?.configs ?? [])];
      if (changes.create?.claimFirst && configs.length > 0) {
        // inserted open, for this worker: a claim by UPDATE would not see a row inserted by the same statement
        claimAt = statements.length;
        statements.push(
          remembered(`INSERT INTO suggestions (study_id, config, state, worker_id, host, pid, lease_expires_at, attempts, created_at, assigned_at)
           VALUES (${id}, ${lit(c, JSON.stringify(configs.shift()))}, 'open', ${lit(c, worker.workerId)}, ${lit(c, worker.host)}, ${lit(c, worker.pid)}, ${lit(c, lease)}, 1, ${lit(c, now)}, ${lit(c, now)}) RETURNING *`),
        );
      }
      if (configs.length > 0) statements.push(`INSERT INTO suggestions (study_id, config, state, created_at) VALUES ${configs.map((config) => `(${id}, ${lit(c, JSON.stringify(config))}, 'ready', ${lit(c, now)})`).join(', ')}`);
      if (changes.end) statements.push(`UPDATE studies SET status = ${lit(c, changes.end)} WHERE id = ${id} AND status = 'running'`);
      statements.push('COMMIT');
      const written = results(await c.query(statements.join(';\n')));
      // a suggestion told between the read and the claim is not claimed (the caller asks again)
      const claimedRow = claimAt >= 0 ? written[claimAt].rows[0] : undefined;
      const claimed = claimedRow ? suggestionFromRow(claimedRow) : undefined;
      return { claimed, view };
    });
  }

  async claimIfFree(studyId: number, worker: WorkerIdentity, leaseSeconds: number, config: Config | undefined, limits: SuggestionLimits, request?: string): Promise<FreeClaim | undefined> {
    // one statement in its own transaction: the function (migration 4; keyed, migration 6) takes the
    // study's lock, checks the limits and claims or creates, so the lock is held inside the server
    // only (a round trip under it would cost a scheduler wake-up on a busy machine), by plans made
    // once per connection
    const values = [studyId, worker.workerId, worker.host, worker.pid, leaseSeconds, limits.deadline, Number.isFinite(limits.budget) ? limits.budget : null, limits.bandwidth, config ? JSON.stringify(config) : null];
    const row = await this.call('tunelab_claim_free', values, request);
    return row && freeClaim(row);
  }

  async renew(studyId: number, worker: WorkerIdentity, suggestionIds: readonly number[], leaseSeconds: number): Promise<RenewOutcome> {
    const rows = await this.rows(
      `WITH clock AS (SELECT ${CLOCK} AS now), renewed AS (
         UPDATE suggestions SET lease_expires_at = (SELECT now FROM clock) + $1::float8 * 1000 WHERE id = ANY($2::int[]) AND study_id = $3 AND state = 'open' AND worker_id = $4 RETURNING id
       ), seen AS (
         UPDATE workers SET last_seen = (SELECT now FROM clock) WHERE study_id = $3 AND worker_id = $4
       )
       SELECT s.status, s.stop_mode, (SELECT coalesce(array_agg(id), '{}') FROM renewed) AS held FROM studies s WHERE s.id = $3`,
      [leaseSeconds, suggestionIds, studyId, worker.workerId],
    );
    const held = new Set((rows[0].held as number[]).map(Number));
    return { lost: suggestionIds.filter((id) => !held.has(id)), status: rows[0].status as StudyStatus, stopMode: (rows[0].stop_mode ?? null) as StopMode | null };
  }

  async report(studyId: number, suggestionId: number, worker: WorkerIdentity, report: NewReport, rule: RungRule | undefined): Promise<'continue' | 'stop'> {
    const insert = (decision: string) =>
      `INSERT INTO reports (study_id, suggestion_id, resource, value, metrics, decision, worker_id, created_at, rung_level, rung_rank, rung_size, rung_keep, rung_threshold)
       VALUES ($1, $2, $3, $4, $5, '${decision}', $6, ${CLOCK}, $7, $8, $9, $10, $11)`;
    const params = [studyId, suggestionId, report.resource, report.value, JSON.stringify(report.metrics), worker.workerId];
    if (!rule) {
      await this.pool.query(insert('continue'), [...params, ...reasonColumns(null)]);
      return 'continue';
    }
    return this.transaction(async (c) => {
      // reports of one study are serialised by their own lock (not the study row's), so ASHA decides
      // in the order they are stored, without holding up suggestions
      const [, , recordedRes] = results(
        await c.query(`BEGIN; SELECT pg_advisory_xact_lock(${RUNG_LOCK}, ${lit(c, studyId)}); SELECT level FROM rungs WHERE study_id = ${lit(c, studyId)} AND suggestion_id = ${lit(c, suggestionId)}`),
      );
      const reasons: RungReason[] = [];
      const levels = levelsReached(rule, report.resource, recordedRes.rows.map((r) => Number(r.level)));
      if (levels.length > 0) {
        const [op, order] = rule.mode === 'min' ? ['<', 'ASC'] : ['>', 'DESC'];
        const value = lit(c, report.value);
        const study = lit(c, studyId);
        const eta = lit(c, rule.reductionFactor);
        const counted = results(
          await c.query(
            levels
              .map((level) => {
                const at = `study_id = ${study} AND level = ${lit(c, level)}`;
                // the threshold: the ⌈size/η⌉-th best value at the rung (rows.ts rungKeep), through the rungs_by_value index
                return `INSERT INTO rungs (study_id, level, suggestion_id, value) VALUES (${study}, ${lit(c, level)}, ${lit(c, suggestionId)}, ${value});
                   SELECT n.size, n.better, (SELECT value FROM rungs WHERE ${at} ORDER BY value ${order} OFFSET ceil(n.size / ${eta}::float8)::int - 1 LIMIT 1) AS threshold
                   FROM (SELECT count(*)::int AS size, count(*) FILTER (WHERE value ${op} ${value})::int AS better FROM rungs WHERE ${at}) n`;
              })
              .join(';\n'),
          ),
        ).filter((r) => r.command === 'SELECT');
        counted.forEach((r, i) => reasons.push(rungReason(levels[i], Number(r.rows[0].better), Number(r.rows[0].size), rule.reductionFactor, Number(r.rows[0].threshold))));
      }
      const decision = reasons.some((r) => r.decision === 'stop') ? 'stop' : 'continue';
      await c.query(insert(decision), [...params, ...reasonColumns(reportReason(reasons))]);
      await c.query('COMMIT');
      return decision;
    });
  }

  async tell(studyId: number, suggestionId: number, worker: WorkerIdentity, o: NewObservation): Promise<TellOutcome> {
    // one statement (the function of migration 6), hence one round trip and one atomic change: the
    // budget counts open + observed, which a tell leaves unchanged, so it needs no study lock
    const [row] = await this.rows('SELECT * FROM tunelab_tell($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)', this.tellParams(studyId, suggestionId, worker, o), 'tunelab_tell');
    return tellOutcome(row.suggestion as Row | null, Boolean(row.recorded), suggestionId, worker, row.at);
  }

  async tellAndClaim(studyId: number, suggestionId: number, worker: WorkerIdentity, o: NewObservation, leaseSeconds: number, config: Config | undefined, limits: SuggestionLimits, request?: string): Promise<TellAndClaim> {
    const values = [...this.tellParams(studyId, suggestionId, worker, o), leaseSeconds, limits.deadline, Number.isFinite(limits.budget) ? limits.budget : null, limits.bandwidth, config ? JSON.stringify(config) : null];
    const row = (await this.call('tunelab_tell_claim', values, request))!;
    return { told: tellOutcome(row.told as Row | null, Boolean(row.told_recorded), suggestionId, worker, row.told_at), next: freeClaim(row) };
  }

  /**
   * A claim function's row, by a prepared statement; with a request id (StudyStore's request ids),
   * its keyed twin (migration 6), which under the study's lock answers with the row stored for the
   * id if there is one (marked replayed), else calls the function and stores its row. Undefined
   * when the function returned none.
   */
  private async call(fn: 'tunelab_claim_free' | 'tunelab_tell_claim', values: unknown[], request: string | undefined): Promise<(Row & { replayed?: boolean }) | undefined> {
    const name = request === undefined ? fn : `${fn}_once`;
    const params = request === undefined ? values : [request, ...values];
    const [row] = await this.rows(`SELECT * FROM ${name}(${params.map((_, i) => `$${i + 1}`).join(', ')})`, params, name);
    if (row?.prior) return { ...(JSON.parse(String(row.prior)) as Row), replayed: true };
    return row;
  }

  private tellParams(studyId: number, suggestionId: number, worker: WorkerIdentity, o: NewObservation): unknown[] {
    return [studyId, suggestionId, o.failed ? 'failed' : 'completed', worker.workerId, worker.host, worker.pid, o.value, o.objectiveValues && JSON.stringify(o.objectiveValues), JSON.stringify(o.values), o.failed, JSON.stringify(o.metadata)];
  }

  async abandon(studyId: number, suggestionIds: readonly number[]): Promise<number[]> {
    const rows = await this.rows(`UPDATE suggestions SET state = 'abandoned', lease_expires_at = NULL, ended_at = ${CLOCK} WHERE id = ANY($1::int[]) AND study_id = $2 AND state IN ('open', 'ready') RETURNING id`, [suggestionIds, studyId]);
    return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
  }

  async release(studyId: number, suggestionIds: readonly number[]): Promise<number[]> {
    const rows = await this.rows(`UPDATE suggestions SET state = 'ready', lease_expires_at = NULL WHERE id = ANY($1::int[]) AND study_id = $2 AND state = 'open' RETURNING id`, [suggestionIds, studyId]);
    return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
  }

  async listSuggestions(studyId: number, states?: readonly SuggestionState[], page?: Page): Promise<SuggestionRecord[]> {
    // LIMIT NULL: every row
    const [after, limit] = page ? [page.afterId, page.limit] : [0, null];
    const rows = states ? await this.rows('SELECT * FROM suggestions WHERE study_id = $1 AND id > $2 AND state = ANY($3::text[]) ORDER BY id LIMIT $4', [studyId, after, states, limit]) : await this.rows('SELECT * FROM suggestions WHERE study_id = $1 AND id > $2 ORDER BY id LIMIT $3', [studyId, after, limit]);
    return rows.map(suggestionFromRow);
  }

  async listObservations(studyId: number, afterId = 0, limit?: number): Promise<ObservationRecord[]> {
    return (await this.rows('SELECT * FROM observations WHERE study_id = $1 AND id > $2 ORDER BY id LIMIT $3', [studyId, afterId, limit ?? null])).map(observationFromRow);
  }

  async listReports(studyId: number, afterId = 0, limit?: number): Promise<ReportRecord[]> {
    return (await this.rows('SELECT * FROM reports WHERE study_id = $1 AND id > $2 ORDER BY id LIMIT $3', [studyId, afterId, limit ?? null])).map(reportFromRow);
  }

  async registerWorker(studyId: number, worker: WorkerIdentity): Promise<void> {
    await this.pool.query(
      `INSERT INTO workers (study_id, worker_id, host, pid, started_at, last_seen) SELECT $1::int, $2::text, $3::text, $4::int, t.now, t.now FROM (SELECT ${CLOCK} AS now) t
       ON CONFLICT (study_id, worker_id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid, started_at = EXCLUDED.started_at, last_seen = EXCLUDED.last_seen, ended_at = NULL`,
      [studyId, worker.workerId, worker.host, worker.pid],
    );
  }

  async workerExited(studyId: number, workerId: string): Promise<void> {
    await this.pool.query(`WITH t AS (SELECT ${CLOCK} AS now) UPDATE workers SET ended_at = t.now, last_seen = t.now FROM t WHERE study_id = $1 AND worker_id = $2`, [studyId, workerId]);
  }

  async listWorkers(studyId: number): Promise<WorkerRecord[]> {
    return (await this.rows('SELECT * FROM workers WHERE study_id = $1 ORDER BY started_at', [studyId])).map(workerFromRow);
  }

  async appendLogs(studyId: number, lines: readonly LogLine[]): Promise<void> {
    if (lines.length === 0) return;
    await this.pool.query(
      `INSERT INTO trial_logs (study_id, suggestion_id, worker_id, stream, line, time)
       SELECT $1::int, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::float8[])`,
      [studyId, lines.map((l) => l.suggestionId), lines.map((l) => l.workerId), lines.map((l) => l.stream), lines.map((l) => l.line), lines.map((l) => l.time)],
    );
  }

  async readLogs(studyId: number, afterId: number, limit: number): Promise<LogRecord[]> {
    return (await this.rows('SELECT * FROM trial_logs WHERE study_id = $1 AND id > $2 ORDER BY id LIMIT $3', [studyId, afterId, limit])).map(logFromRow);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
