import pg from '../../peers/pg.js';
import { loadPeer } from '../../peers/peer.js';
import type { FlowEvent } from '../../core/events.js';
import { InvalidOptionsError } from '../../errors/index.js';
import type { BindingQuery, HistoryQuery, RemoteBinding, StateStore, StoredEvent } from '../../protocols/state-store.js';
import type {
  Lease,
  LeaseStore,
  TaskEventRecord,
  TaskListQuery,
  TaskPage,
  TaskRecord,
  TaskStore,
  TraceListQuery,
  TraceListing,
  TraceSummary,
} from '../../protocols/store-capabilities.js';
import {
  traceStatusOf,
  type Artifact,
  type ArtifactInput,
  type ArtifactRef,
  type ArtifactStore,
  type Durability,
  type PlannerStateStore,
  type SessionMemoryStore,
  type SteeringInbox,
  type StoreInfo,
  type StoreStats,
  type TenantOnly,
} from '../../protocols/store-extras.js';
import {
  DEFAULT_MAX_ARTIFACT_BYTES,
  DEFAULT_MAX_EVENT_BYTES,
  bindingFromRow,
  decodeCursor,
  encodeCursor,
  eventFromRow,
  prepareBatch,
  SqlWhere,
  tooLarge,
  traceFromRow,
  type BindingRow,
  type EventColumns,
  type EventRow,
  type TraceRow,
} from '../shared-sql/rows.js';
import { mapPgError, type PgTarget } from './errors.js';
import { migrate } from './migrations.js';
import { PgRunner, singleClientPool, type PoolLike, type Queryable } from './pg-runner.js';
import { PgExtras } from './postgres-extras.js';
import { PgTasks } from './postgres-tasks.js';

export interface PostgresStateStoreOptions {
  /** `postgres://user:password@host:port/db`. Give `url`, `pool` or `client`. */
  url?: string;
  /** An existing pool (e.g. `new pg.Pool(...)`); the store does not end it on `close()`. */
  pool?: pg.Pool | PoolLike;
  /** One existing client; the store serializes its work on it and does not end it. */
  client?: pg.Client | Queryable;
  /** Schema holding the tables; created on connect. Default `penguiflow`. */
  schema?: string;
  /**
   * Tells the flow recorder how to write: `batched` (default) buffers events and
   * writes them in groups; `sync` awaits every write. Each committed write is
   * durable per the server's `synchronous_commit` either way.
   */
  durability?: Durability;
  /** Largest serialized event in bytes; default 1 MiB + 64 KiB. */
  maxEventBytes?: number;
  /** Largest artifact in bytes; default 16 MiB. */
  maxArtifactBytes?: number;
  /** Pool size when the store creates the pool; default 10. */
  poolSize?: number;
  /** Connect timeout per attempt, ms; default 5000. */
  connectTimeoutMs?: number;
  /** How long a write keeps retrying after the server went away (restart, failover), ms; default 30000. */
  retryForMs?: number;
  /** Rows per INSERT statement when a batch is large; default 2000. */
  insertChunkSize?: number;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function targetOf(options: PostgresStateStoreOptions): PgTarget {
  if (options.url) {
    const u = new URL(options.url);
    const target: PgTarget = { host: u.hostname || 'localhost', port: Number(u.port) || 5432, database: decodeURIComponent(u.pathname.slice(1)) };
    if (u.password) target.password = decodeURIComponent(u.password);
    return target;
  }
  const o = ((options.pool ?? options.client) as { options?: pg.PoolConfig; host?: string; port?: number; database?: string }) ?? {};
  const cfg = o.options ?? o;
  const target: PgTarget = { host: cfg.host ?? 'localhost', port: Number(cfg.port ?? 5432) };
  if (cfg.database) target.database = cfg.database;
  if (typeof (cfg as pg.PoolConfig).password === 'string') target.password = (cfg as pg.PoolConfig).password as string;
  return target;
}

/**
 * Connects, creates or migrates the schema (under an advisory lock, so several
 * processes may start at once) and returns the store. An unreachable server
 * rejects with one STORE_UNAVAILABLE naming host:port (never the password);
 * a schema that belongs to something else rejects with STORE_CORRUPT.
 *
 * @example
 * import { createPostgresStateStore } from 'penguiflow/postgres';
 * const store = await createPostgresStateStore({ url: process.env.DATABASE_URL, schema: 'penguiflow' });
 */
export async function createPostgresStateStore(options: PostgresStateStoreOptions): Promise<PostgresStateStore> {
  if (options.pool === undefined && options.client === undefined) loadPeer('pg'); // MISSING_PEER, not a connect error
  const store = new PostgresStateStore(options);
  await store.open();
  return store;
}

/**
 * The production StateStore on PostgreSQL: schema-qualified tables, a pool
 * (owned or injected), multi-row `ON CONFLICT DO NOTHING` inserts, every
 * capability. Retries idempotent work across a server restart.
 */
export class PostgresStateStore
  implements
    StateStore,
    StoreInfo,
    TraceListing,
    TaskStore,
    LeaseStore,
    PlannerStateStore,
    SessionMemoryStore,
    ArtifactStore,
    SteeringInbox
{
  readonly schema: string;
  readonly durability: Durability;
  readonly stats: StoreStats = { written: 0, rejected: 0 };
  readonly maxEventBytes: number;
  readonly maxArtifactBytes: number;
  /** Schema version found before this store migrated (0 for a new schema); set by `open()`. */
  openedAtVersion = 0;
  private readonly runner: PgRunner;
  private readonly pool: PoolLike;
  private readonly ownsPool: boolean;
  private readonly q: string;
  private readonly chunk: number;
  private readonly tasks: PgTasks;
  private readonly extras: PgExtras;

  constructor(options: PostgresStateStoreOptions) {
    const given = [options.url, options.pool, options.client].filter((x) => x !== undefined).length;
    if (given !== 1) throw new InvalidOptionsError('createPostgresStateStore: give exactly one of `url`, `pool` or `client`');
    this.schema = options.schema ?? 'penguiflow';
    if (!SCHEMA_NAME.test(this.schema)) throw new InvalidOptionsError(`Invalid schema name ${JSON.stringify(this.schema)}: use letters, digits and _`);
    this.q = `"${this.schema}"`;
    this.durability = options.durability ?? 'batched';
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.maxArtifactBytes = options.maxArtifactBytes ?? DEFAULT_MAX_ARTIFACT_BYTES;
    this.chunk = Math.max(1, options.insertChunkSize ?? 2000);
    const target = targetOf(options);
    if (options.url) {
      const pool = new pg.Pool({
        connectionString: options.url,
        max: options.poolSize ?? 10,
        connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
        application_name: 'penguiflow',
      });
      // Idle clients error when the server restarts; the pool drops them and the next query reconnects.
      pool.on('error', () => undefined);
      this.pool = pool;
      this.ownsPool = true;
    } else {
      this.pool = options.pool ?? singleClientPool(options.client!);
      this.ownsPool = false;
    }
    this.runner = new PgRunner(this.pool, target, options.retryForMs ?? 30_000);
    this.tasks = new PgTasks(this.runner, this.q);
    this.extras = new PgExtras(this.runner, this.q, this.maxArtifactBytes, this.stats);
  }

  /** Connects and migrates; called by {@link createPostgresStateStore}. Fails fast (no retries). */
  async open(): Promise<void> {
    try {
      this.openedAtVersion = await this.runner.run((c) => migrate(c as pg.PoolClient, this.schema, this.q), { idempotent: false }, 0);
    } catch (error) {
      this.runner.closed = true;
      if (this.ownsPool) await this.pool.end?.().catch(() => undefined);
      throw mapPgError(error, this.runner.target);
    }
  }

  /** Connection failures seen since start (each was retried or reported). */
  get connectionErrors(): number {
    return this.runner.connectionErrors;
  }

  // ---------- events ----------

  async saveEvent(event: FlowEvent): Promise<void> {
    return this.saveEvents([event]);
  }

  async saveEvents(events: readonly FlowEvent[]): Promise<void> {
    if (events.length === 0) return;
    const { rows, rejected } = prepareBatch(events, this.maxEventBytes);
    const statusById = new Map<string, { status: string; rank: number }>();
    for (const e of events) if (e.type === 'trace_complete') statusById.set(e.id, traceStatusOf(e));
    for (let i = 0; i < rows.length; i += this.chunk) {
      const part = rows.slice(i, i + this.chunk);
      const [result] = await this.runner.query<{ inserted: string }>(this.insertSql, this.insertParams(part, statusById), {
        idempotent: true,
        name: `pf_insert_events_${this.schema}`.slice(0, 63),
      });
      this.stats.written += Number(result?.inserted ?? 0);
    }
    if (rejected.length > 0) {
      this.stats.rejected += rejected.length;
      throw tooLarge(rejected, this.maxEventBytes);
    }
  }

  private insertParams(rows: EventColumns[], statusById: Map<string, { status: string; rank: number }>): unknown[] {
    const cols: unknown[][] = [[], [], [], [], [], [], [], [], []];
    for (const r of rows) {
      const s = statusById.get(r.id) ?? traceStatusOf({ type: r.type as FlowEvent['type'] });
      cols[0]!.push(r.id);
      cols[1]!.push(r.tenant);
      cols[2]!.push(r.traceId);
      cols[3]!.push(r.type);
      cols[4]!.push(r.ts);
      cols[5]!.push(r.node);
      cols[6]!.push(r.body);
      cols[7]!.push(s.rank);
      cols[8]!.push(s.status);
    }
    return cols;
  }

  /**
   * One statement, so one implicit transaction: insert the new events, then
   * fold exactly the rows that were inserted into the trace summaries.
   * Retrying it after a lost connection cannot double count.
   */
  private get insertSql(): string {
    const q = this.q;
    return `WITH input AS (
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::text[], $7::text[], $8::int[], $9::text[])
        WITH ORDINALITY AS t(id, tenant, trace_id, type, ts, node, body, rank, status, ord)
    ), ins AS (
      INSERT INTO ${q}.events (id, tenant, trace_id, type, ts, node, body)
      SELECT id, tenant, trace_id, type, ts, node, body::json FROM input ORDER BY ord
      ON CONFLICT (id) DO NOTHING
      RETURNING id
    ), fresh AS (
      SELECT input.* FROM input JOIN ins USING (id)
    ), node_order AS (
      SELECT tenant, trace_id, node, min(ord) AS o FROM fresh WHERE node IS NOT NULL GROUP BY tenant, trace_id, node
    ), agg AS (
      SELECT f.tenant, f.trace_id, min(f.ts) AS first_ts, max(f.ts) AS last_ts, count(*) AS n, max(f.rank) AS rank,
        (array_agg(f.status ORDER BY f.rank DESC, f.ord DESC))[1] AS status,
        coalesce((SELECT array_agg(n.node ORDER BY n.o) FROM node_order n WHERE n.tenant = f.tenant AND n.trace_id = f.trace_id), '{}') AS nodes
      FROM fresh f GROUP BY f.tenant, f.trace_id
    ), up AS (
      INSERT INTO ${q}.traces AS t (tenant, trace_id, status, status_rank, first_ts, last_ts, event_count, nodes)
      SELECT tenant, trace_id, status, rank, first_ts, last_ts, n, nodes FROM agg ORDER BY tenant, trace_id
      ON CONFLICT (tenant, trace_id) DO UPDATE SET
        first_ts = least(t.first_ts, EXCLUDED.first_ts),
        last_ts = greatest(t.last_ts, EXCLUDED.last_ts),
        event_count = t.event_count + EXCLUDED.event_count,
        status = CASE WHEN EXCLUDED.status_rank >= t.status_rank THEN EXCLUDED.status ELSE t.status END,
        status_rank = greatest(t.status_rank, EXCLUDED.status_rank),
        nodes = t.nodes || ARRAY(SELECT x FROM unnest(EXCLUDED.nodes) WITH ORDINALITY u(x, o) WHERE x <> ALL(t.nodes) ORDER BY o)
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM ins) AS inserted, (SELECT count(*) FROM up) AS traces`;
  }

  async loadHistory(traceId: string, query: HistoryQuery): Promise<StoredEvent[]> {
    const limit = query.limit === undefined ? null : Math.max(0, Math.floor(query.limit));
    if (limit === 0) return [];
    const where = new SqlWhere(true).add('trace_id = ?', traceId);
    if (query.tenant !== null) where.add('tenant = ?', query.tenant);
    where.add('seq > ?', query.afterSeq ?? 0);
    const sql = `SELECT seq, id, tenant, trace_id, type, ts, node, body FROM ${this.q}.events ${where.toString()} ORDER BY ts, seq LIMIT ${where.next(limit)}`;
    return (await this.runner.query<EventRow & QueryRow>(sql, where.params, { idempotent: true })).map(eventFromRow);
  }

  async listTraces(query: TraceListQuery): Promise<{ traces: TraceSummary[]; nextCursor?: string }> {
    const where = new SqlWhere(true);
    if (query.tenant !== null) where.add('tenant = ?', query.tenant);
    if (query.status !== undefined) where.add('status = ?', query.status);
    if (query.since !== undefined) where.add('last_ts >= ?', query.since);
    if (query.cursor !== undefined) {
      const [ts, tenant, traceId] = decodeCursor<[number, string, string]>(query.cursor, ['number', 'string', 'string']);
      where.add('(last_ts < ? OR (last_ts = ? AND (tenant > ? OR (tenant = ? AND trace_id > ?))))', ts, ts, tenant, tenant, traceId);
    }
    const limit = Math.max(1, Math.floor(query.limit ?? 50));
    const sql = `SELECT tenant, trace_id, status, first_ts, last_ts, event_count, nodes FROM ${this.q}.traces ${where.toString()}
      ORDER BY last_ts DESC, tenant, trace_id LIMIT ${where.next(limit + 1)}`;
    const rows = await this.runner.query<TraceRow & QueryRow>(sql, where.params, { idempotent: true });
    const traces = rows.slice(0, limit).map(traceFromRow);
    const last = traces[traces.length - 1];
    return rows.length > limit && last ? { traces, nextCursor: encodeCursor([last.lastTs, last.tenant, last.traceId]) } : { traces };
  }

  async prune(options: { olderThan: number }): Promise<number> {
    const q = this.q;
    return this.runner.tx(
      async (c) => {
        const removed = await c.query<{ n: string }>(
          `WITH old AS (DELETE FROM ${q}.traces WHERE last_ts < $1 RETURNING tenant, trace_id),
           gone AS (DELETE FROM ${q}.events e USING old WHERE e.trace_id = old.trace_id AND e.tenant = old.tenant RETURNING 1)
           SELECT count(*) AS n FROM gone`,
          [options.olderThan],
        );
        await c.query(`DELETE FROM ${q}.bindings WHERE status <> 'running' AND updated_at < $1`, [options.olderThan]);
        return Number(removed.rows[0]?.n ?? 0);
      },
      { idempotent: true },
    );
  }

  // ---------- remote bindings ----------

  async saveRemoteBinding(b: RemoteBinding): Promise<void> {
    await this.runner.query(
      `INSERT INTO ${this.q}.bindings (tenant, trace_id, node, task_id, agent_url, context_id, skill, idempotency_key, status, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (tenant, trace_id, node, task_id) DO UPDATE SET agent_url = EXCLUDED.agent_url, context_id = EXCLUDED.context_id,
         skill = EXCLUDED.skill, idempotency_key = EXCLUDED.idempotency_key, status = EXCLUDED.status, updated_at = EXCLUDED.updated_at`,
      [b.tenant, b.traceId, b.node, b.taskId, b.agentUrl, b.contextId ?? null, b.skill ?? null, b.idempotencyKey ?? null, b.status, b.createdAt, b.updatedAt],
      { idempotent: true },
    );
  }

  async findRemoteBindings(query: BindingQuery): Promise<RemoteBinding[]> {
    const where = new SqlWhere(true);
    if (query.tenant !== null) where.add('tenant = ?', query.tenant);
    if (query.traceId !== undefined) where.add('trace_id = ?', query.traceId);
    if (query.taskId !== undefined) where.add('task_id = ?', query.taskId);
    if (query.unfinishedOlderThanMs !== undefined) where.add(`status = 'running' AND updated_at < ?`, Date.now() - query.unfinishedOlderThanMs);
    const rows = await this.runner.query<BindingRow & QueryRow>(`SELECT * FROM ${this.q}.bindings ${where.toString()} ORDER BY created_at, ord`, where.params, {
      idempotent: true,
    });
    return rows.map(bindingFromRow);
  }

  // ---------- tasks (postgres-tasks.ts) ----------

  createTask(task: TaskRecord): Promise<void> {
    return this.tasks.create(task);
  }
  getTask(id: string, scope: TenantOnly): Promise<TaskRecord | undefined> {
    return this.tasks.get(id, scope.tenant);
  }
  listTasks(query: TaskListQuery): Promise<TaskPage> {
    return this.tasks.list(query);
  }
  updateTask(id: string, scope: TenantOnly, patch: Partial<Pick<TaskRecord, 'state' | 'statusMessage' | 'statusTs' | 'metadata'>>): Promise<TaskRecord> {
    return this.tasks.update(id, scope.tenant, patch);
  }
  appendTaskArtifact(id: string, scope: TenantOnly, artifact: unknown): Promise<void> {
    return this.tasks.append(id, scope.tenant, 'artifacts', artifact);
  }
  appendTaskHistory(id: string, scope: TenantOnly, message: unknown): Promise<void> {
    return this.tasks.append(id, scope.tenant, 'history', message);
  }
  appendTaskEvent(taskId: string, scope: TenantOnly, event: unknown): Promise<number> {
    return this.tasks.appendEvent(taskId, scope.tenant, event);
  }
  loadTaskEvents(taskId: string, query: { tenant: string; afterSeq?: number; limit?: number }): Promise<TaskEventRecord[]> {
    return this.tasks.loadEvents(taskId, query);
  }
  claimIdempotencyKey(scope: TenantOnly, key: string, taskId: string): Promise<string> {
    return this.tasks.claimKey(scope.tenant, key, taskId);
  }

  // ---------- leases, planner, memory, artifacts, steering (postgres-extras.ts) ----------

  acquireLease(key: string, owner: string, ttlMs: number, data?: Record<string, unknown>): Promise<boolean> {
    return this.extras.acquireLease(key, owner, ttlMs, data);
  }
  renewLease(key: string, owner: string, ttlMs: number, data?: Record<string, unknown>): Promise<boolean> {
    return this.extras.renewLease(key, owner, ttlMs, data);
  }
  releaseLease(key: string, owner: string): Promise<boolean> {
    return this.extras.releaseLease(key, owner);
  }
  getLease(key: string): Promise<Lease | undefined> {
    return this.extras.getLease(key);
  }
  listLeases(prefix: string): Promise<Lease[]> {
    return this.extras.listLeases(prefix);
  }
  savePlannerState(token: string, scope: TenantOnly, state: unknown): Promise<void> {
    return this.extras.savePlannerState(token, scope.tenant, state);
  }
  consumePlannerState(token: string, scope: TenantOnly): Promise<unknown> {
    return this.extras.consumePlannerState(token, scope.tenant);
  }
  saveMemoryState(sessionId: string, scope: TenantOnly, state: unknown): Promise<void> {
    return this.extras.saveMemoryState(sessionId, scope.tenant, state);
  }
  loadMemoryState(sessionId: string, scope: TenantOnly): Promise<unknown> {
    return this.extras.loadMemoryState(sessionId, scope.tenant);
  }
  putArtifact(scope: TenantOnly, input: ArtifactInput): Promise<ArtifactRef> {
    return this.extras.putArtifact(scope.tenant, input);
  }
  getArtifact(id: string, scope: TenantOnly): Promise<Artifact | undefined> {
    return this.extras.getArtifact(id, scope.tenant);
  }
  deleteArtifact(id: string, scope: TenantOnly): Promise<boolean> {
    return this.extras.deleteArtifact(id, scope.tenant);
  }
  pushSteering(sessionId: string, scope: TenantOnly, message: unknown): Promise<void> {
    return this.extras.pushSteering(sessionId, scope.tenant, message);
  }
  drainSteering(sessionId: string, scope: TenantOnly): Promise<unknown[]> {
    return this.extras.drainSteering(sessionId, scope.tenant);
  }

  // ---------- lifecycle ----------

  /** Every `saveEvents` is committed when it resolves: nothing to flush. */
  async flush(): Promise<void> {}

  /** Ends the pool if the store created it; an injected pool or client is left open. Idempotent. */
  async close(): Promise<void> {
    if (this.runner.closed) return;
    this.runner.closed = true;
    if (this.ownsPool) await this.pool.end?.();
  }
}

type QueryRow = Record<string, unknown>;
