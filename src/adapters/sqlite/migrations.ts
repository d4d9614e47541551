import type Database from 'better-sqlite3';
import { StoreCorruptError } from '../../errors/index.js';

/** Schema migrations, applied in order on open. Never edit a shipped entry; append a new one. */
export const SQLITE_MIGRATIONS: readonly string[] = [
  /* 1: initial schema */ `
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    type TEXT NOT NULL,
    ts REAL NOT NULL,
    node TEXT,
    body TEXT NOT NULL
  );
  CREATE INDEX events_trace ON events (trace_id, tenant, ts, seq);

  CREATE TABLE traces (
    tenant TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    status TEXT NOT NULL,
    status_rank INTEGER NOT NULL,
    first_ts REAL NOT NULL,
    last_ts REAL NOT NULL,
    event_count INTEGER NOT NULL,
    nodes TEXT NOT NULL,
    PRIMARY KEY (tenant, trace_id)
  ) WITHOUT ROWID;
  CREATE INDEX traces_recent ON traces (last_ts DESC, tenant, trace_id);

  CREATE TABLE bindings (
    tenant TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    node TEXT NOT NULL,
    task_id TEXT NOT NULL,
    agent_url TEXT NOT NULL,
    context_id TEXT,
    skill TEXT,
    idempotency_key TEXT,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (tenant, trace_id, node, task_id)
  );
  CREATE INDEX bindings_task ON bindings (task_id);
  CREATE INDEX bindings_unfinished ON bindings (status, updated_at);

  CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    context_id TEXT NOT NULL,
    state TEXT NOT NULL,
    status_message TEXT,
    status_ts REAL NOT NULL,
    artifacts TEXT NOT NULL,
    history TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    event_seq INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX tasks_recent ON tasks (tenant, updated_at DESC, id);

  CREATE TABLE task_events (
    task_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts REAL NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (task_id, seq)
  ) WITHOUT ROWID;

  CREATE TABLE idempotency_keys (
    tenant TEXT NOT NULL,
    key TEXT NOT NULL,
    task_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (tenant, key)
  ) WITHOUT ROWID;

  CREATE TABLE leases (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL,
    data TEXT
  );

  CREATE TABLE planner_state (
    tenant TEXT NOT NULL,
    token TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (tenant, token)
  );

  CREATE TABLE memory_state (
    tenant TEXT NOT NULL,
    session_id TEXT NOT NULL,
    state TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (tenant, session_id)
  );

  CREATE TABLE artifacts (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    size INTEGER NOT NULL,
    mime_type TEXT,
    name TEXT,
    data BLOB NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (tenant, id)
  );

  CREATE TABLE steering (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    session_id TEXT NOT NULL,
    message TEXT NOT NULL,
    ts REAL NOT NULL
  );
  CREATE INDEX steering_session ON steering (tenant, session_id, seq);
  `,
];

export const SQLITE_SCHEMA_VERSION = SQLITE_MIGRATIONS.length;

/**
 * Brings the file to the current schema inside one IMMEDIATE transaction, so
 * two processes opening a new file at once migrate it once. A file with
 * tables but no `penguiflow_meta` is someone else's database: StoreCorruptError.
 */
export function migrate(db: Database.Database, path: string): number {
  return db
    .transaction(() => {
      // penguiflow's own queue (penguiflow/sqlite createSqliteQueue) may share the file.
      const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).pluck().all() as string[]).filter(
        (name) => !name.startsWith('pf_queue_'),
      );
      let version = 0;
      if (tables.includes('penguiflow_meta')) {
        const row = db.prepare(`SELECT value FROM penguiflow_meta WHERE key = 'schema_version'`).pluck().get() as string | undefined;
        version = Number(row);
        if (!Number.isInteger(version) || version < 1) {
          throw new StoreCorruptError(`${path}: penguiflow_meta has no valid schema_version`, { details: { path } });
        }
      } else if (tables.length > 0) {
        throw new StoreCorruptError(`${path} is a SQLite database but not a penguiflow store (it has tables ${tables.slice(0, 5).join(', ')})`, {
          details: { path },
        });
      } else {
        db.exec(`CREATE TABLE penguiflow_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
      }
      if (version > SQLITE_SCHEMA_VERSION) {
        throw new StoreCorruptError(
          `${path} has schema version ${version}, newer than this penguiflow understands (${SQLITE_SCHEMA_VERSION}); upgrade penguiflow`,
          { details: { path, version } },
        );
      }
      for (let v = version; v < SQLITE_SCHEMA_VERSION; v++) db.exec(SQLITE_MIGRATIONS[v]!);
      db.prepare(`INSERT INTO penguiflow_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`).run(
        String(SQLITE_SCHEMA_VERSION),
      );
      return version;
    })
    .immediate();
}
