/**
 * The SQLite store's schema, as numbered versions: a store is brought from the version it records
 * to the last one here, one step at a time, inside one write transaction. Never edit a released
 * step; add the next one.
 */
export const SQLITE_MIGRATIONS: readonly { version: number; statements: readonly string[] }[] = [
  {
    version: 1,
    statements: [
      `CREATE TABLE studies (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL,
        stop_mode TEXT,
        definition TEXT NOT NULL,
        created_at REAL NOT NULL,
        refill_at REAL NOT NULL DEFAULT 0,
        refill_observations INTEGER NOT NULL DEFAULT 0
      )`,
      `CREATE TABLE suggestions (
        id INTEGER PRIMARY KEY,
        study_id INTEGER NOT NULL REFERENCES studies(id),
        config TEXT NOT NULL,
        state TEXT NOT NULL,
        worker_id TEXT,
        host TEXT,
        pid INTEGER,
        lease_expires_at REAL,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        assigned_at REAL,
        ended_at REAL
      )`,
      'CREATE INDEX suggestions_by_state ON suggestions (study_id, state)',
      `CREATE TABLE observations (
        id INTEGER PRIMARY KEY,
        study_id INTEGER NOT NULL REFERENCES studies(id),
        suggestion_id INTEGER NOT NULL UNIQUE REFERENCES suggestions(id),
        value REAL,
        metrics TEXT NOT NULL,
        failed INTEGER NOT NULL,
        metadata TEXT NOT NULL,
        created_at REAL NOT NULL
      )`,
      'CREATE INDEX observations_by_study ON observations (study_id, id)',
      `CREATE TABLE reports (
        id INTEGER PRIMARY KEY,
        study_id INTEGER NOT NULL REFERENCES studies(id),
        suggestion_id INTEGER NOT NULL REFERENCES suggestions(id),
        resource REAL NOT NULL,
        value REAL NOT NULL,
        metrics TEXT NOT NULL,
        decision TEXT NOT NULL,
        worker_id TEXT NOT NULL,
        created_at REAL NOT NULL
      )`,
      'CREATE INDEX reports_by_study ON reports (study_id, id)',
      `CREATE TABLE rungs (
        study_id INTEGER NOT NULL,
        level REAL NOT NULL,
        suggestion_id INTEGER NOT NULL,
        value REAL NOT NULL,
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
        started_at REAL NOT NULL,
        last_seen REAL NOT NULL,
        ended_at REAL,
        PRIMARY KEY (study_id, worker_id)
      )`,
      `CREATE TABLE trial_logs (
        id INTEGER PRIMARY KEY,
        study_id INTEGER NOT NULL REFERENCES studies(id),
        suggestion_id INTEGER NOT NULL,
        worker_id TEXT NOT NULL,
        stream TEXT NOT NULL,
        line TEXT NOT NULL,
        time REAL NOT NULL
      )`,
      'CREATE INDEX trial_logs_by_study ON trial_logs (study_id, id)',
    ],
  },
  {
    // a cycle's cost independent of the study's size: the observation count kept on the study's row
    // by every tell (a count(*) in every claim grew with the observations), and an index of the
    // open and ready suggestions only
    version: 3,
    statements: [
      'ALTER TABLE studies ADD COLUMN observed INTEGER NOT NULL DEFAULT 0',
      'UPDATE studies SET observed = (SELECT count(*) FROM observations o WHERE o.study_id = studies.id)',
      "CREATE INDEX suggestions_active ON suggestions (study_id, id) WHERE state IN ('open', 'ready')",
    ],
  },
  {
    // a client's request id with the answer it got (a suggestion claimed, an observation told), so
    // that a retried request is answered again rather than done twice
    version: 4,
    statements: [
      `CREATE TABLE requests (
        study_id INTEGER NOT NULL REFERENCES studies(id),
        key TEXT NOT NULL,
        answer TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (study_id, key)
      )`,
    ],
  },
  {
    // several objectives: every objective's value of an observation, as a JSON array in the study's
    // objective order (null when failed). Observations of an older store had one objective, `value`.
    version: 5,
    statements: ['ALTER TABLE observations ADD COLUMN objective_values TEXT', 'UPDATE observations SET objective_values = json_array(value) WHERE value IS NOT NULL'],
  },
  {
    // why ASHA decided each report, recorded when it decided: the rung, the rank there, the rung's
    // size, how many go on and the threshold (NULL: a report that reached no new rung, or an older one)
    version: 6,
    statements: ['rung_level REAL', 'rung_rank INTEGER', 'rung_size INTEGER', 'rung_keep INTEGER', 'rung_threshold REAL'].map((c) => `ALTER TABLE reports ADD COLUMN ${c}`),
  },
];
