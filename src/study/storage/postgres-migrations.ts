/**
 * The PostgreSQL store's schema, as numbered versions: a store is brought from the version it records
 * to the last one here, one step at a time, inside one write transaction. Never edit a released
 * step; add the next one.
 */
export const POSTGRES_MIGRATIONS: readonly { version: number; statements: readonly string[] }[] = [
  {
    version: 1,
    statements: [
      `CREATE TABLE studies (
        id SERIAL PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL,
        stop_mode TEXT,
        definition TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        refill_at DOUBLE PRECISION NOT NULL DEFAULT 0,
        refill_observations INTEGER NOT NULL DEFAULT 0
      )`,
      `CREATE TABLE suggestions (
        id SERIAL PRIMARY KEY,
        study_id INTEGER NOT NULL REFERENCES studies(id),
        config TEXT NOT NULL,
        state TEXT NOT NULL,
        worker_id TEXT,
        host TEXT,
        pid INTEGER,
        lease_expires_at DOUBLE PRECISION,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at DOUBLE PRECISION NOT NULL,
        assigned_at DOUBLE PRECISION,
        ended_at DOUBLE PRECISION
      )`,
      'CREATE INDEX suggestions_by_state ON suggestions (study_id, state)',
      `CREATE TABLE observations (
        id SERIAL PRIMARY KEY,
        study_id INTEGER NOT NULL REFERENCES studies(id),
        suggestion_id INTEGER NOT NULL UNIQUE REFERENCES suggestions(id),
        value DOUBLE PRECISION,
        metrics TEXT NOT NULL,
        failed BOOLEAN NOT NULL,
        metadata TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
      )`,
      'CREATE INDEX observations_by_study ON observations (study_id, id)',
      `CREATE TABLE reports (
        id SERIAL PRIMARY KEY,
        study_id INTEGER NOT NULL REFERENCES studies(id),
        suggestion_id INTEGER NOT NULL REFERENCES suggestions(id),
        resource DOUBLE PRECISION NOT NULL,
        value DOUBLE PRECISION NOT NULL,
        metrics TEXT NOT NULL,
        decision TEXT NOT NULL,
        worker_id TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
      )`,
      'CREATE INDEX reports_by_study ON reports (study_id, id)',
      `CREATE TABLE rungs (
        study_id INTEGER NOT NULL,
        level DOUBLE PRECISION NOT NULL,
        suggestion_id INTEGER NOT NULL,
        value DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (study_id, level, suggestion_id)
      )`,
      'CREATE INDEX rungs_by_value ON rungs (study_id, level, value)',
    ],
  },
  {
    // workers and the trials' output, so that status and logs work from any machine
    version: 2,
    statements: [
      `CREATE TABLE workers (
        study_id INTEGER NOT NULL REFERENCES studies(id),
        worker_id TEXT NOT NULL,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_at DOUBLE PRECISION NOT NULL,
        last_seen DOUBLE PRECISION NOT NULL,
        ended_at DOUBLE PRECISION,
        PRIMARY KEY (study_id, worker_id)
      )`,
      `CREATE TABLE trial_logs (
        id SERIAL PRIMARY KEY,
        study_id INTEGER NOT NULL REFERENCES studies(id),
        suggestion_id INTEGER NOT NULL,
        worker_id TEXT NOT NULL,
        stream TEXT NOT NULL,
        line TEXT NOT NULL,
        time DOUBLE PRECISION NOT NULL
      )`,
      'CREATE INDEX trial_logs_by_study ON trial_logs (study_id, id)',
    ],
  },
  {
    // Cost per cycle independent of the study's size: the observation count is kept on the study's
    // row by every tell (a count(*) under the study's lock grew with every observation), and the
    // common claim is one server-side function, whose statements are planned once per connection
    // (a multi-statement query is parsed and planned on every call, under the lock) and which holds
    // the lock for its own run only, never across a round trip.
    version: 3,
    statements: [
      'ALTER TABLE studies ADD COLUMN observed INTEGER NOT NULL DEFAULT 0',
      'UPDATE studies s SET observed = (SELECT count(*) FROM observations o WHERE o.study_id = s.id)',
      // the open and ready suggestions, without the dead index entries of every ended one
      "CREATE INDEX suggestions_active ON suggestions (study_id, id) WHERE state IN ('open', 'ready')",
      `CREATE FUNCTION tunelab_claim_free(p_study INTEGER, p_worker TEXT, p_host TEXT, p_pid INTEGER, p_lease DOUBLE PRECISION, p_at DOUBLE PRECISION, p_budget BIGINT, p_bandwidth BIGINT, p_config TEXT)
       RETURNS TABLE (suggestion JSON, done BIGINT, n_open BIGINT, n_ready BIGINT)
       LANGUAGE plpgsql AS $$
       DECLARE
         v_status TEXT;
         v_done BIGINT;
         v_open BIGINT;
         v_expired BOOLEAN;
         v_ready BIGINT;
         v_first INTEGER;
         v_row suggestions;
       BEGIN
         PERFORM pg_advisory_xact_lock(7290003, p_study);
         -- one statement, hence one snapshot: a tell committing meanwhile cannot make its suggestion
         -- count neither as open nor as observed
         SELECT s.status, s.observed, a.n_open, a.expired, a.n_ready, a.first_ready
           INTO v_status, v_done, v_open, v_expired, v_ready, v_first
           FROM studies s,
                LATERAL (SELECT count(*) FILTER (WHERE g.state = 'open') AS n_open,
                                coalesce(bool_or(g.state = 'open' AND g.lease_expires_at <= p_at), FALSE) AS expired,
                                count(*) FILTER (WHERE g.state = 'ready') AS n_ready,
                                min(g.id) FILTER (WHERE g.state = 'ready') AS first_ready
                         FROM suggestions g WHERE g.study_id = p_study AND g.state IN ('open', 'ready')) a
           WHERE s.id = p_study;
         IF v_status IS DISTINCT FROM 'running' OR v_expired OR v_open >= p_bandwidth OR (p_budget IS NOT NULL AND v_done + v_open >= p_budget) THEN
           RETURN;
         END IF;
         IF v_first IS NOT NULL THEN
           UPDATE suggestions g SET state = 'open', worker_id = p_worker, host = p_host, pid = p_pid, lease_expires_at = p_lease, attempts = g.attempts + 1, assigned_at = p_at
             WHERE g.id = v_first RETURNING g.* INTO v_row;
         ELSIF p_config IS NOT NULL THEN
           INSERT INTO suggestions (study_id, config, state, worker_id, host, pid, lease_expires_at, attempts, created_at, assigned_at)
             VALUES (p_study, p_config, 'open', p_worker, p_host, p_pid, p_lease, 1, p_at, p_at) RETURNING * INTO v_row;
         ELSE
           RETURN;
         END IF;
         RETURN QUERY SELECT row_to_json(v_row), v_done, v_open, v_ready;
       END
       $$`,
      // a tell: the suggestion ends (from the worker holding it, or anyone once its lease expired),
      // its observation is stored and counted; returns the suggestion as it was, and whether it was told
      `CREATE FUNCTION tunelab_tell(p_study INTEGER, p_suggestion INTEGER, p_state TEXT, p_worker TEXT, p_host TEXT, p_pid INTEGER, p_at DOUBLE PRECISION, p_value DOUBLE PRECISION, p_metrics TEXT, p_failed BOOLEAN, p_metadata TEXT)
       RETURNS TABLE (suggestion JSON, recorded BOOLEAN)
       LANGUAGE plpgsql AS $$
       DECLARE
         v_row suggestions;
       BEGIN
         SELECT g.* INTO v_row FROM suggestions g WHERE g.id = p_suggestion AND g.study_id = p_study FOR UPDATE;
         IF NOT FOUND THEN
           RETURN QUERY SELECT NULL::JSON, FALSE;
           RETURN;
         END IF;
         IF v_row.state <> 'open' OR NOT (v_row.worker_id = p_worker OR v_row.lease_expires_at <= p_at) THEN
           RETURN QUERY SELECT row_to_json(v_row), FALSE;
           RETURN;
         END IF;
         UPDATE suggestions g SET state = p_state, worker_id = p_worker, host = p_host, pid = p_pid, lease_expires_at = NULL, ended_at = p_at WHERE g.id = p_suggestion;
         INSERT INTO observations (study_id, suggestion_id, value, metrics, failed, metadata, created_at) VALUES (p_study, p_suggestion, p_value, p_metrics, p_failed, p_metadata, p_at);
         UPDATE studies s SET observed = s.observed + 1 WHERE s.id = p_study;
         RETURN QUERY SELECT row_to_json(v_row), TRUE;
       END
       $$`,
      // a worker's step between two evaluations: the tell and the next claim in one transaction.
      // The study's lock is taken first, so that the study's row (locked by the tell's count) is
      // only ever waited for while holding it, never the other way round: no deadlock with suggest
      `CREATE FUNCTION tunelab_tell_claim(p_study INTEGER, p_suggestion INTEGER, p_state TEXT, p_worker TEXT, p_host TEXT, p_pid INTEGER, p_at DOUBLE PRECISION, p_value DOUBLE PRECISION, p_metrics TEXT, p_failed BOOLEAN, p_metadata TEXT,
                                          p_lease DOUBLE PRECISION, p_budget BIGINT, p_bandwidth BIGINT, p_config TEXT)
       RETURNS TABLE (told JSON, told_recorded BOOLEAN, suggestion JSON, done BIGINT, n_open BIGINT, n_ready BIGINT)
       LANGUAGE plpgsql AS $$
       DECLARE
         v_told JSON;
         v_recorded BOOLEAN;
       BEGIN
         PERFORM pg_advisory_xact_lock(7290003, p_study);
         SELECT t.suggestion, t.recorded INTO v_told, v_recorded FROM tunelab_tell(p_study, p_suggestion, p_state, p_worker, p_host, p_pid, p_at, p_value, p_metrics, p_failed, p_metadata) t;
         RETURN QUERY SELECT v_told, v_recorded, c.suggestion, c.done, c.n_open, c.n_ready
           FROM (SELECT NULL) one LEFT JOIN tunelab_claim_free(p_study, p_worker, p_host, p_pid, p_lease, p_at, p_budget, p_bandwidth, p_config) c ON TRUE;
       END
       $$`,
    ],
  },
  {
    // Leases on the server's clock: migration 3's functions took the times (now, lease expiry) from
    // each worker's clock, so a worker two minutes ahead saw live leases as expired and took their
    // suggestions. These take the lease's length and read clock_timestamp() once the study's lock is
    // held; the wall-clock deadline is judged there too. (Dropped, not kept beside: a store at
    // version 4 is refused by the tunelab versions that called them.)
    version: 4,
    statements: [
      'DROP FUNCTION tunelab_tell_claim(INTEGER, INTEGER, TEXT, TEXT, TEXT, INTEGER, DOUBLE PRECISION, DOUBLE PRECISION, TEXT, BOOLEAN, TEXT, DOUBLE PRECISION, BIGINT, BIGINT, TEXT)',
      'DROP FUNCTION tunelab_claim_free(INTEGER, TEXT, TEXT, INTEGER, DOUBLE PRECISION, DOUBLE PRECISION, BIGINT, BIGINT, TEXT)',
      'DROP FUNCTION tunelab_tell(INTEGER, INTEGER, TEXT, TEXT, TEXT, INTEGER, DOUBLE PRECISION, DOUBLE PRECISION, TEXT, BOOLEAN, TEXT)',
      `CREATE FUNCTION tunelab_claim_free(p_study INTEGER, p_worker TEXT, p_host TEXT, p_pid INTEGER, p_lease_seconds DOUBLE PRECISION, p_deadline DOUBLE PRECISION, p_budget BIGINT, p_bandwidth BIGINT, p_config TEXT)
       RETURNS TABLE (suggestion JSON, done BIGINT, n_open BIGINT, n_ready BIGINT)
       LANGUAGE plpgsql AS $$
       DECLARE
         v_now DOUBLE PRECISION;
         v_status TEXT;
         v_done BIGINT;
         v_open BIGINT;
         v_expired BOOLEAN;
         v_ready BIGINT;
         v_first INTEGER;
         v_row suggestions;
       BEGIN
         PERFORM pg_advisory_xact_lock(7290003, p_study);
         v_now := (extract(epoch FROM clock_timestamp()) * 1000)::float8;
         IF p_deadline IS NOT NULL AND v_now >= p_deadline THEN
           RETURN;
         END IF;
         -- one statement, hence one snapshot: a tell committing meanwhile cannot make its suggestion
         -- count neither as open nor as observed
         SELECT s.status, s.observed, a.n_open, a.expired, a.n_ready, a.first_ready
           INTO v_status, v_done, v_open, v_expired, v_ready, v_first
           FROM studies s,
                LATERAL (SELECT count(*) FILTER (WHERE g.state = 'open') AS n_open,
                                coalesce(bool_or(g.state = 'open' AND g.lease_expires_at <= v_now), FALSE) AS expired,
                                count(*) FILTER (WHERE g.state = 'ready') AS n_ready,
                                min(g.id) FILTER (WHERE g.state = 'ready') AS first_ready
                         FROM suggestions g WHERE g.study_id = p_study AND g.state IN ('open', 'ready')) a
           WHERE s.id = p_study;
         IF v_status IS DISTINCT FROM 'running' OR v_expired OR v_open >= p_bandwidth OR (p_budget IS NOT NULL AND v_done + v_open >= p_budget) THEN
           RETURN;
         END IF;
         IF v_first IS NOT NULL THEN
           UPDATE suggestions g SET state = 'open', worker_id = p_worker, host = p_host, pid = p_pid, lease_expires_at = v_now + p_lease_seconds * 1000, attempts = g.attempts + 1, assigned_at = v_now
             WHERE g.id = v_first RETURNING g.* INTO v_row;
         ELSIF p_config IS NOT NULL THEN
           INSERT INTO suggestions (study_id, config, state, worker_id, host, pid, lease_expires_at, attempts, created_at, assigned_at)
             VALUES (p_study, p_config, 'open', p_worker, p_host, p_pid, v_now + p_lease_seconds * 1000, 1, v_now, v_now) RETURNING * INTO v_row;
         ELSE
           RETURN;
         END IF;
         RETURN QUERY SELECT row_to_json(v_row), v_done, v_open, v_ready;
       END
       $$`,
      // returns the server's time of the tell too, by which a refusal is explained
      `CREATE FUNCTION tunelab_tell(p_study INTEGER, p_suggestion INTEGER, p_state TEXT, p_worker TEXT, p_host TEXT, p_pid INTEGER, p_value DOUBLE PRECISION, p_metrics TEXT, p_failed BOOLEAN, p_metadata TEXT)
       RETURNS TABLE (suggestion JSON, recorded BOOLEAN, at DOUBLE PRECISION)
       LANGUAGE plpgsql AS $$
       DECLARE
         v_row suggestions;
         v_now DOUBLE PRECISION;
       BEGIN
         v_now := (extract(epoch FROM clock_timestamp()) * 1000)::float8;
         SELECT g.* INTO v_row FROM suggestions g WHERE g.id = p_suggestion AND g.study_id = p_study FOR UPDATE;
         IF NOT FOUND THEN
           RETURN QUERY SELECT NULL::JSON, FALSE, v_now;
           RETURN;
         END IF;
         IF v_row.state <> 'open' OR NOT (v_row.worker_id = p_worker OR v_row.lease_expires_at <= v_now) THEN
           RETURN QUERY SELECT row_to_json(v_row), FALSE, v_now;
           RETURN;
         END IF;
         UPDATE suggestions g SET state = p_state, worker_id = p_worker, host = p_host, pid = p_pid, lease_expires_at = NULL, ended_at = v_now WHERE g.id = p_suggestion;
         INSERT INTO observations (study_id, suggestion_id, value, metrics, failed, metadata, created_at) VALUES (p_study, p_suggestion, p_value, p_metrics, p_failed, p_metadata, v_now);
         UPDATE studies s SET observed = s.observed + 1 WHERE s.id = p_study;
         RETURN QUERY SELECT row_to_json(v_row), TRUE, v_now;
       END
       $$`,
      `CREATE FUNCTION tunelab_tell_claim(p_study INTEGER, p_suggestion INTEGER, p_state TEXT, p_worker TEXT, p_host TEXT, p_pid INTEGER, p_value DOUBLE PRECISION, p_metrics TEXT, p_failed BOOLEAN, p_metadata TEXT,
                                          p_lease_seconds DOUBLE PRECISION, p_deadline DOUBLE PRECISION, p_budget BIGINT, p_bandwidth BIGINT, p_config TEXT)
       RETURNS TABLE (told JSON, told_recorded BOOLEAN, told_at DOUBLE PRECISION, suggestion JSON, done BIGINT, n_open BIGINT, n_ready BIGINT)
       LANGUAGE plpgsql AS $$
       DECLARE
         v_told JSON;
         v_recorded BOOLEAN;
         v_at DOUBLE PRECISION;
       BEGIN
         PERFORM pg_advisory_xact_lock(7290003, p_study);
         SELECT t.suggestion, t.recorded, t.at INTO v_told, v_recorded, v_at FROM tunelab_tell(p_study, p_suggestion, p_state, p_worker, p_host, p_pid, p_value, p_metrics, p_failed, p_metadata) t;
         RETURN QUERY SELECT v_told, v_recorded, v_at, c.suggestion, c.done, c.n_open, c.n_ready
           FROM (SELECT NULL) one LEFT JOIN tunelab_claim_free(p_study, p_worker, p_host, p_pid, p_lease_seconds, p_deadline, p_budget, p_bandwidth, p_config) c ON TRUE;
       END
       $$`,
    ],
  },
  {
    // a client's request id with the answer it got (see the SQLite store's version 4)
    version: 5,
    statements: [
      `CREATE TABLE requests (
        study_id INTEGER NOT NULL REFERENCES studies(id),
        key TEXT NOT NULL,
        answer TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (study_id, key)
      )`,
      // the study's row locked before the observation's id is drawn: ids then commit in their order,
      // so that a reader's cursor (the largest id read) never passes one that commits later
      `CREATE OR REPLACE FUNCTION tunelab_tell(p_study INTEGER, p_suggestion INTEGER, p_state TEXT, p_worker TEXT, p_host TEXT, p_pid INTEGER, p_value DOUBLE PRECISION, p_metrics TEXT, p_failed BOOLEAN, p_metadata TEXT)
       RETURNS TABLE (suggestion JSON, recorded BOOLEAN, at DOUBLE PRECISION)
       LANGUAGE plpgsql AS $$
       DECLARE
         v_row suggestions;
         v_now DOUBLE PRECISION;
       BEGIN
         v_now := (extract(epoch FROM clock_timestamp()) * 1000)::float8;
         SELECT g.* INTO v_row FROM suggestions g WHERE g.id = p_suggestion AND g.study_id = p_study FOR UPDATE;
         IF NOT FOUND THEN
           RETURN QUERY SELECT NULL::JSON, FALSE, v_now;
           RETURN;
         END IF;
         IF v_row.state <> 'open' OR NOT (v_row.worker_id = p_worker OR v_row.lease_expires_at <= v_now) THEN
           RETURN QUERY SELECT row_to_json(v_row), FALSE, v_now;
           RETURN;
         END IF;
         UPDATE studies s SET observed = s.observed + 1 WHERE s.id = p_study;
         UPDATE suggestions g SET state = p_state, worker_id = p_worker, host = p_host, pid = p_pid, lease_expires_at = NULL, ended_at = v_now WHERE g.id = p_suggestion;
         INSERT INTO observations (study_id, suggestion_id, value, metrics, failed, metadata, created_at) VALUES (p_study, p_suggestion, p_value, p_metrics, p_failed, p_metadata, v_now);
         RETURN QUERY SELECT row_to_json(v_row), TRUE, v_now;
       END
       $$`,
    ],
  },
  {
    // a keyed call (a request id, StudyStore's) in one prepared statement: these functions take the
    // study's lock, answer from the stored answer when there is one, else call the claim function and
    // store its row (as version 5's statement batch did, which PostgreSQL parsed and planned anew for
    // each call: half of its CPU per cycle at the study server's load)
    version: 6,
    statements: [
      `CREATE FUNCTION tunelab_claim_free_once(p_key TEXT, p_study INTEGER, p_worker TEXT, p_host TEXT, p_pid INTEGER, p_lease_seconds DOUBLE PRECISION, p_deadline DOUBLE PRECISION, p_budget BIGINT, p_bandwidth BIGINT, p_config TEXT)
       RETURNS TABLE (prior TEXT, suggestion JSON, done BIGINT, n_open BIGINT, n_ready BIGINT)
       LANGUAGE plpgsql AS $$
       DECLARE
         v_prior TEXT;
         r RECORD;
       BEGIN
         PERFORM pg_advisory_xact_lock(7290003, p_study);
         SELECT q.answer INTO v_prior FROM requests q WHERE q.study_id = p_study AND q.key = p_key;
         IF FOUND THEN
           RETURN QUERY SELECT v_prior, NULL::JSON, NULL::BIGINT, NULL::BIGINT, NULL::BIGINT;
           RETURN;
         END IF;
         SELECT * INTO r FROM tunelab_claim_free(p_study, p_worker, p_host, p_pid, p_lease_seconds, p_deadline, p_budget, p_bandwidth, p_config);
         IF NOT FOUND THEN
           RETURN;
         END IF;
         IF r.suggestion IS NOT NULL THEN
           INSERT INTO requests (study_id, key, answer, created_at) VALUES (p_study, p_key, row_to_json(r)::text, (extract(epoch FROM clock_timestamp()) * 1000)::float8);
         END IF;
         RETURN QUERY SELECT NULL::TEXT, r.suggestion, r.done, r.n_open, r.n_ready;
       END
       $$`,
      `CREATE FUNCTION tunelab_tell_claim_once(p_key TEXT, p_study INTEGER, p_suggestion INTEGER, p_state TEXT, p_worker TEXT, p_host TEXT, p_pid INTEGER, p_value DOUBLE PRECISION, p_metrics TEXT, p_failed BOOLEAN, p_metadata TEXT,
                                               p_lease_seconds DOUBLE PRECISION, p_deadline DOUBLE PRECISION, p_budget BIGINT, p_bandwidth BIGINT, p_config TEXT)
       RETURNS TABLE (prior TEXT, told JSON, told_recorded BOOLEAN, told_at DOUBLE PRECISION, suggestion JSON, done BIGINT, n_open BIGINT, n_ready BIGINT)
       LANGUAGE plpgsql AS $$
       DECLARE
         v_prior TEXT;
         r RECORD;
       BEGIN
         PERFORM pg_advisory_xact_lock(7290003, p_study);
         SELECT q.answer INTO v_prior FROM requests q WHERE q.study_id = p_study AND q.key = p_key;
         IF FOUND THEN
           RETURN QUERY SELECT v_prior, NULL::JSON, NULL::BOOLEAN, NULL::DOUBLE PRECISION, NULL::JSON, NULL::BIGINT, NULL::BIGINT, NULL::BIGINT;
           RETURN;
         END IF;
         SELECT * INTO r FROM tunelab_tell_claim(p_study, p_suggestion, p_state, p_worker, p_host, p_pid, p_value, p_metrics, p_failed, p_metadata, p_lease_seconds, p_deadline, p_budget, p_bandwidth, p_config);
         INSERT INTO requests (study_id, key, answer, created_at) VALUES (p_study, p_key, row_to_json(r)::text, (extract(epoch FROM clock_timestamp()) * 1000)::float8);
         RETURN QUERY SELECT NULL::TEXT, r.told, r.told_recorded, r.told_at, r.suggestion, r.done, r.n_open, r.n_ready;
         END
         $$`,
    ],
  },
  {
    // several objectives: every objective's value of an observation, as a JSON array in the study's
    // objective order (null when failed; see the SQLite store's version 5). Observations of an older
    // store had one objective, `value`. The tell functions take the array (dropped and made again:
    // their argument lists change), with version 6's keyed tunelab_tell_claim_once that passes them on.
    version: 7,
    statements: [
      'ALTER TABLE observations ADD COLUMN objective_values TEXT',
      // a float8 printed in full (the shortest exact form), whatever the server's setting
      'SET LOCAL extra_float_digits = 3',
      'UPDATE observations SET objective_values = json_build_array(value)::text WHERE value IS NOT NULL',
      'DROP FUNCTION tunelab_tell_claim_once(TEXT, INTEGER, INTEGER, TEXT, TEXT, TEXT, INTEGER, DOUBLE PRECISION, TEXT, BOOLEAN, TEXT, DOUBLE PRECISION, DOUBLE PRECISION, BIGINT, BIGINT, TEXT)',
      'DROP FUNCTION tunelab_tell_claim(INTEGER, INTEGER, TEXT, TEXT, TEXT, INTEGER, DOUBLE PRECISION, TEXT, BOOLEAN, TEXT, DOUBLE PRECISION, DOUBLE PRECISION, BIGINT, BIGINT, TEXT)',
      'DROP FUNCTION tunelab_tell(INTEGER, INTEGER, TEXT, TEXT, TEXT, INTEGER, DOUBLE PRECISION, TEXT, BOOLEAN, TEXT)',
      `CREATE FUNCTION tunelab_tell(p_study INTEGER, p_suggestion INTEGER, p_state TEXT, p_worker TEXT, p_host TEXT, p_pid INTEGER, p_value DOUBLE PRECISION, p_objectives TEXT, p_metrics TEXT, p_failed BOOLEAN, p_metadata TEXT)
       RETURNS TABLE (suggestion JSON, recorded BOOLEAN, at DOUBLE PRECISION)
       LANGUAGE plpgsql AS $$
       DECLARE
         v_row suggestions;
         v_now DOUBLE PRECISION;
       BEGIN
         v_now := (extract(epoch FROM clock_timestamp()) * 1000)::float8;
         SELECT g.* INTO v_row FROM suggestions g WHERE g.id = p_suggestion AND g.study_id = p_study FOR UPDATE;
         IF NOT FOUND THEN
           RETURN QUERY SELECT NULL::JSON, FALSE, v_now;
           RETURN;
         END IF;
         IF v_row.state <> 'open' OR NOT (v_row.worker_id = p_worker OR v_row.lease_expires_at <= v_now) THEN
           RETURN QUERY SELECT row_to_json(v_row), FALSE, v_now;
           RETURN;
         END IF;
         UPDATE studies s SET observed = s.observed + 1 WHERE s.id = p_study;
         UPDATE suggestions g SET state = p_state, worker_id = p_worker, host = p_host, pid = p_pid, lease_expires_at = NULL, ended_at = v_now WHERE g.id = p_suggestion;
         INSERT INTO observations (study_id, suggestion_id, value, objective_values, metrics, failed, metadata, created_at) VALUES (p_study, p_suggestion, p_value, p_objectives, p_metrics, p_failed, p_metadata, v_now);
         RETURN QUERY SELECT row_to_json(v_row), TRUE, v_now;
       END
       $$`,
      `CREATE FUNCTION tunelab_tell_claim(p_study INTEGER, p_suggestion INTEGER, p_state TEXT, p_worker TEXT, p_host TEXT, p_pid INTEGER, p_value DOUBLE PRECISION, p_objectives TEXT, p_metrics TEXT, p_failed BOOLEAN, p_metadata TEXT,
                                          p_lease_seconds DOUBLE PRECISION, p_deadline DOUBLE PRECISION, p_budget BIGINT, p_bandwidth BIGINT, p_config TEXT)
       RETURNS TABLE (told JSON, told_recorded BOOLEAN, told_at DOUBLE PRECISION, suggestion JSON, done BIGINT, n_open BIGINT, n_ready BIGINT)
       LANGUAGE plpgsql AS $$
       DECLARE
         v_told JSON;
         v_recorded BOOLEAN;
         v_at DOUBLE PRECISION;
       BEGIN
         PERFORM pg_advisory_xact_lock(7290003, p_study);
         SELECT t.suggestion, t.recorded, t.at INTO v_told, v_recorded, v_at FROM tunelab_tell(p_study, p_suggestion, p_state, p_worker, p_host, p_pid, p_value, p_objectives, p_metrics, p_failed, p_metadata) t;
         RETURN QUERY SELECT v_told, v_recorded, v_at, c.suggestion, c.done, c.n_open, c.n_ready
           FROM (SELECT NULL) one LEFT JOIN tunelab_claim_free(p_study, p_worker, p_host, p_pid, p_lease_seconds, p_deadline, p_budget, p_bandwidth, p_config) c ON TRUE;
       END
       $$`,
      `CREATE FUNCTION tunelab_tell_claim_once(p_key TEXT, p_study INTEGER, p_suggestion INTEGER, p_state TEXT, p_worker TEXT, p_host TEXT, p_pid INTEGER, p_value DOUBLE PRECISION, p_objectives TEXT, p_metrics TEXT, p_failed BOOLEAN, p_metadata TEXT,
                                               p_lease_seconds DOUBLE PRECISION, p_deadline DOUBLE PRECISION, p_budget BIGINT, p_bandwidth BIGINT, p_config TEXT)
       RETURNS TABLE (prior TEXT, told JSON, told_recorded BOOLEAN, told_at DOUBLE PRECISION, suggestion JSON, done BIGINT, n_open BIGINT, n_ready BIGINT)
       LANGUAGE plpgsql AS $$
       DECLARE
         v_prior TEXT;
         r RECORD;
       BEGIN
         PERFORM pg_advisory_xact_lock(7290003, p_study);
         SELECT q.answer INTO v_prior FROM requests q WHERE q.study_id = p_study AND q.key = p_key;
         IF FOUND THEN
           RETURN QUERY SELECT v_prior, NULL::JSON, NULL::BOOLEAN, NULL::DOUBLE PRECISION, NULL::JSON, NULL::BIGINT, NULL::BIGINT, NULL::BIGINT;
           RETURN;
         END IF;
         SELECT * INTO r FROM tunelab_tell_claim(p_study, p_suggestion, p_state, p_worker, p_host, p_pid, p_value, p_objectives, p_metrics, p_failed, p_metadata, p_lease_seconds, p_deadline, p_budget, p_bandwidth, p_config);
         INSERT INTO requests (study_id, key, answer, created_at) VALUES (p_study, p_key, row_to_json(r)::text, (extract(epoch FROM clock_timestamp()) * 1000)::float8);
         RETURN QUERY SELECT NULL::TEXT, r.told, r.told_recorded, r.told_at, r.suggestion, r.done, r.n_open, r.n_ready;
       END
       $$`,
    ],
  },
  {
    // why ASHA decided each report, recorded when it decided: the rung, the rank there, the rung's
    // size, how many go on and the threshold (NULL: a report that reached no new rung, or an older one)
    version: 8,
    statements: [
      `ALTER TABLE reports ADD COLUMN rung_level DOUBLE PRECISION, ADD COLUMN rung_rank INTEGER, ADD COLUMN rung_size INTEGER,
        ADD COLUMN rung_keep INTEGER, ADD COLUMN rung_threshold DOUBLE PRECISION`,
    ],
  },
];
