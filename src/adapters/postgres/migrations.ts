import type { PoolClient } from 'pg';
import { StoreCorruptError } from '../../errors/index.js';

/** Schema migrations for schema `q` (already quoted), applied in order. Never edit a shipped entry; append. */
export const POSTGRES_MIGRATIONS: readonly ((q: string) => string)[] = [
  /* 1: initial schema */ (q) => `
  CREATE TABLE ${q}.events (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text NOT NULL UNIQUE,
    tenant text NOT NULL,
    trace_id text NOT NULL,
    type text NOT NULL,
    ts double precision NOT NULL,
    node text,
    body json NOT NULL
  );
  CREATE INDEX events_trace ON ${q}.events (trace_id, tenant, ts, seq);

  CREATE TABLE ${q}.traces (
    tenant text COLLATE "C" NOT NULL,
    trace_id text COLLATE "C" NOT NULL,
    status text NOT NULL,
    status_rank int NOT NULL,
    first_ts double precision NOT NULL,
    last_ts double precision NOT NULL,
    event_count bigint NOT NULL,
    nodes text[] NOT NULL,
    PRIMARY KEY (tenant, trace_id)
  );
  CREATE INDEX traces_recent ON ${q}.traces (last_ts DESC, tenant, trace_id);

  CREATE TABLE ${q}.bindings (
    tenant text NOT NULL,
    trace_id text NOT NULL,
    node text NOT NULL,
    task_id text NOT NULL,
    agent_url text NOT NULL,
    context_id text,
    skill text,
    idempotency_key text,
    status text NOT NULL,
    created_at double precision NOT NULL,
    updated_at double precision NOT NULL,
    ord bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (tenant, trace_id, node, task_id)
  );
  CREATE INDEX bindings_task ON ${q}.bindings (task_id);
  CREATE INDEX bindings_unfinished ON ${q}.bindings (updated_at) WHERE status = 'running';

  CREATE TABLE ${q}.tasks (
    id text COLLATE "C" PRIMARY KEY,
    tenant text NOT NULL,
    context_id text NOT NULL,
    state text NOT NULL,
    status_message json,
    status_ts double precision NOT NULL,
    artifacts json NOT NULL,
    history json NOT NULL,
    metadata json NOT NULL,
    created_at double precision NOT NULL,
    updated_at double precision NOT NULL,
    event_seq bigint NOT NULL DEFAULT 0
  );
  CREATE INDEX tasks_recent ON ${q}.tasks (tenant, updated_at DESC, id);

  CREATE TABLE ${q}.task_events (
    task_id text NOT NULL,
    seq bigint NOT NULL,
    ts double precision NOT NULL,
    event json NOT NULL,
    PRIMARY KEY (task_id, seq)
  );

  CREATE TABLE ${q}.idempotency_keys (
    tenant text NOT NULL,
    key text NOT NULL,
    task_id text NOT NULL,
    created_at double precision NOT NULL,
    PRIMARY KEY (tenant, key)
  );

  CREATE TABLE ${q}.leases (
    key text COLLATE "C" PRIMARY KEY,
    owner text NOT NULL,
    expires_at double precision NOT NULL,
    data json
  );

  CREATE TABLE ${q}.planner_state (
    tenant text NOT NULL,
    token text NOT NULL,
    state json NOT NULL,
    created_at double precision NOT NULL,
    PRIMARY KEY (tenant, token)
  );

  CREATE TABLE ${q}.memory_state (
    tenant text NOT NULL,
    session_id text NOT NULL,
    state json NOT NULL,
    updated_at double precision NOT NULL,
    PRIMARY KEY (tenant, session_id)
  );

  CREATE TABLE ${q}.artifacts (
    tenant text NOT NULL,
    id text NOT NULL,
    size bigint NOT NULL,
    mime_type text,
    name text,
    data bytea NOT NULL,
    created_at double precision NOT NULL,
    PRIMARY KEY (tenant, id)
  );

  CREATE TABLE ${q}.steering (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant text NOT NULL,
    session_id text NOT NULL,
    message json NOT NULL,
    ts double precision NOT NULL
  );
  CREATE INDEX steering_session ON ${q}.steering (tenant, session_id, seq);
  `,
];

export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS.length;

/**
 * Creates or upgrades the schema in one transaction under an advisory lock
 * keyed on the schema name, so processes starting together migrate once.
 * Returns the version found before migrating (0 for a new schema).
 */
export async function migrate(client: PoolClient, schema: string, q: string): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`penguiflow:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${q}`);
    // penguiflow's own queue (createPostgresQueue) may share the schema.
    const tables = (await client.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, [schema])).rows
      .map((r) => r.table_name)
      .filter((name) => !name.startsWith('pf_queue_'));
    let version = 0;
    if (tables.includes('penguiflow_meta')) {
      const row = await client.query<{ value: string }>(`SELECT value FROM ${q}.penguiflow_meta WHERE key = 'schema_version'`);
      version = Number(row.rows[0]?.value);
      if (!Number.isInteger(version) || version < 1) throw new StoreCorruptError(`Schema ${schema}: penguiflow_meta has no valid schema_version`);
    } else if (tables.length > 0) {
      throw new StoreCorruptError(`Schema ${schema} exists but is not a penguiflow store (it has tables ${tables.slice(0, 5).join(', ')})`, {
        details: { schema },
      });
    } else {
      await client.query(`CREATE TABLE ${q}.penguiflow_meta (key text PRIMARY KEY, value text NOT NULL)`);
    }
    if (version > POSTGRES_SCHEMA_VERSION) {
      throw new StoreCorruptError(
        `Schema ${schema} has version ${version}, newer than this penguiflow understands (${POSTGRES_SCHEMA_VERSION}); upgrade penguiflow`,
        { details: { schema, version } },
      );
    }
    for (let v = version; v < POSTGRES_SCHEMA_VERSION; v++) await client.query(POSTGRES_MIGRATIONS[v]!(q));
    await client.query(
      `INSERT INTO ${q}.penguiflow_meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [String(POSTGRES_SCHEMA_VERSION)],
    );
    await client.query('COMMIT');
    return version;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
