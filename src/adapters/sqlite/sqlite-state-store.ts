import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from '../../peers/better-sqlite3.js';
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
import type {
  Artifact,
  ArtifactInput,
  ArtifactRef,
  ArtifactStore,
  Durability,
  PlannerStateStore,
  SessionMemoryStore,
  SteeringInbox,
  StoreInfo,
  StoreStats,
  TenantOnly,
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
import { mapSqliteError } from './errors.js';
import { WorkerEventWriter } from './event-writer.js';
import { completionsOf, createEventInserter, type CompletionMap } from './insert-events.js';
import { migrate } from './migrations.js';
import { SqliteExtras } from './sqlite-extras.js';
import { SqliteTasks } from './sqlite-tasks.js';

export type SqliteSynchronous = 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';

export interface SqliteStateStoreOptions {
  /** Database file; `:memory:` for a private in-memory database. Parent folders are created. */
  path: string;
  /**
   * `batched` (default): `synchronous = NORMAL` in WAL mode; a committed batch survives a process
   * crash, the last batches may be lost on power loss. `sync`: `synchronous = FULL`; every
   * committed batch is fsynced before `saveEvents` returns.
   */
  durability?: Durability;
  /** Overrides the pragma chosen by `durability` (FULL/EXTRA report `sync`, others `batched`). */
  synchronous?: SqliteSynchronous;
  /** Largest serialized event in bytes; default 1 MiB + 64 KiB. */
  maxEventBytes?: number;
  /** Largest artifact in bytes; default 16 MiB. */
  maxArtifactBytes?: number;
  /** How long a write waits for another process's transaction, ms; default 5000. */
  busyTimeoutMs?: number;
  /**
   * `inline` (default): events are written on the calling thread (better-sqlite3 is synchronous,
   * so a batch blocks the event loop while it commits). `worker`: a worker thread with its own
   * connection writes event batches, leaving the flow's thread free; other calls stay inline.
   */
  writer?: 'inline' | 'worker';
}

/**
 * Creates a {@link SqliteStateStore}: opens (or creates) the file in WAL mode
 * and migrates it. Synchronous: errors are thrown here, typed —
 * STORE_CORRUPT for a corrupt or foreign file, STORE_UNAVAILABLE when it
 * cannot be opened.
 *
 * @example
 * import { createSqliteStateStore } from 'penguiflow/sqlite';
 * const store = createSqliteStateStore({ path: './.penguiflow/state.db', durability: 'batched' });
 */
export function createSqliteStateStore(options: SqliteStateStoreOptions): SqliteStateStore {
  return new SqliteStateStore(options);
}

/**
 * The embedded durable StateStore: one SQLite file per application, every
 * capability, safe for several processes on one machine (WAL, IMMEDIATE
 * transactions, busy timeout). `saveEvents` writes the batch in one
 * transaction; duplicates are ignored on the event id.
 */
export class SqliteStateStore
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
  readonly path: string;
  readonly durability: Durability;
  readonly stats: StoreStats = { written: 0, rejected: 0 };
  readonly maxEventBytes: number;
  readonly maxArtifactBytes: number;
  /** Schema version the file had before this open (0 for a new file). */
  readonly openedAtVersion: number;
  private readonly db: Database.Database;
  private readonly tasks: SqliteTasks;
  private readonly extras: SqliteExtras;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly insertEvents: (rows: EventColumns[], completions: CompletionMap) => number;
  private readonly eventWriter: WorkerEventWriter | undefined;

  constructor(options: SqliteStateStoreOptions) {
    if (!options.path) throw new InvalidOptionsError('createSqliteStateStore: `path` is required');
    if (options.writer === 'worker' && options.path === ':memory:') {
      throw new InvalidOptionsError("createSqliteStateStore: writer 'worker' needs a file, not :memory:");
    }
    this.path = options.path;
    const synchronous = options.synchronous ?? (options.durability === 'sync' ? 'FULL' : 'NORMAL');
    this.durability = options.durability ?? (synchronous === 'FULL' || synchronous === 'EXTRA' ? 'sync' : 'batched');
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.maxArtifactBytes = options.maxArtifactBytes ?? DEFAULT_MAX_ARTIFACT_BYTES;
    try {
      if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
      this.db = new Database(this.path, { timeout: options.busyTimeoutMs ?? 5000 });
    } catch (error) {
      throw mapSqliteError(error, this.path);
    }
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${synchronous}`);
      this.openedAtVersion = migrate(this.db, this.path);
    } catch (error) {
      this.db.close();
      throw mapSqliteError(error, this.path);
    }
    const stmt = (sql: string) => this.stmt(sql);
    this.tasks = new SqliteTasks(this.db, stmt);
    this.extras = new SqliteExtras(this.db, stmt, this.maxArtifactBytes, this.stats);
    this.insertEvents = createEventInserter(this.db);
    this.eventWriter =
      options.writer === 'worker'
        ? new WorkerEventWriter({ path: this.path, synchronous, busyTimeoutMs: options.busyTimeoutMs ?? 5000 }, (e) => mapSqliteError(e, this.path))
        : undefined;
  }

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) this.statements.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  /** Runs `fn` and maps driver errors to typed store errors. */
  private guard<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(mapSqliteError(error, this.path));
    }
  }

  // ---------- events ----------

  async saveEvent(event: FlowEvent): Promise<void> {
    return this.saveEvents([event]);
  }

  async saveEvents(events: readonly FlowEvent[]): Promise<void> {
    if (events.length === 0) return;
    const { rows, rejected } = prepareBatch(events, this.maxEventBytes);
    if (rows.length > 0) {
      const completions = completionsOf(events);
      // Read the count first: `written += await …` would add to a stale value when writes overlap.
      // better-sqlite3 blocks the thread while it commits. Yielding one macrotask first lets the flow
      // run and buffer more events, so the recorder's next batch is larger (group commit) instead of
      // a stream of tiny transactions whose commit cost dominates. In 'sync' mode latency wins: no yield.
      if (!this.eventWriter && this.durability === 'batched') await new Promise((resolve) => setImmediate(resolve));
      const inserted = this.eventWriter ? await this.eventWriter.write(rows, completions) : await this.guard(() => this.insertEvents(rows, completions));
      this.stats.written += inserted;
    }
    if (rejected.length > 0) {
      this.stats.rejected += rejected.length;
      throw tooLarge(rejected, this.maxEventBytes);
    }
  }

  async loadHistory(traceId: string, query: HistoryQuery): Promise<StoredEvent[]> {
    const cols = 'SELECT seq, id, tenant, trace_id, type, ts, node, body FROM events';
    return this.guard(() => {
      const after = query.afterSeq ?? 0;
      const limit = query.limit === undefined ? -1 : Math.max(0, Math.floor(query.limit));
      if (limit === 0) return [];
      const rows = (
        query.tenant === null
          ? this.stmt(`${cols} WHERE trace_id = ? AND seq > ? ORDER BY ts, seq LIMIT ?`).all(traceId, after, limit)
          : this.stmt(`${cols} WHERE trace_id = ? AND tenant = ? AND seq > ? ORDER BY ts, seq LIMIT ?`).all(traceId, query.tenant, after, limit)
      ) as EventRow[];
      return rows.map(eventFromRow);
    });
  }

  async listTraces(query: TraceListQuery): Promise<{ traces: TraceSummary[]; nextCursor?: string }> {
    return this.guard(() => {
      const where = new SqlWhere();
      if (query.tenant !== null) where.add('tenant = ?', query.tenant);
      if (query.status !== undefined) where.add('status = ?', query.status);
      if (query.since !== undefined) where.add('last_ts >= ?', query.since);
      if (query.cursor !== undefined) {
        const [ts, tenant, traceId] = decodeCursor<[number, string, string]>(query.cursor, ['number', 'string', 'string']);
        where.add('(last_ts < ? OR (last_ts = ? AND (tenant > ? OR (tenant = ? AND trace_id > ?))))', ts, ts, tenant, tenant, traceId);
      }
      const limit = Math.max(1, Math.floor(query.limit ?? 50));
      const sql = `SELECT tenant, trace_id, status, first_ts, last_ts, event_count, nodes FROM traces
        ${where.toString()} ORDER BY last_ts DESC, tenant, trace_id LIMIT ?`;
      const rows = this.stmt(sql).all(...where.params, limit + 1) as TraceRow[];
      const traces = rows.slice(0, limit).map(traceFromRow);
      const last = traces[traces.length - 1];
      return rows.length > limit && last ? { traces, nextCursor: encodeCursor([last.lastTs, last.tenant, last.traceId]) } : { traces };
    });
  }

  async prune(options: { olderThan: number }): Promise<number> {
    return this.guard(() =>
      this.db
        .transaction(() => {
          const removed = this.stmt(
            'DELETE FROM events WHERE (trace_id, tenant) IN (SELECT trace_id, tenant FROM traces WHERE last_ts < ?)',
          ).run(options.olderThan).changes;
          this.stmt('DELETE FROM traces WHERE last_ts < ?').run(options.olderThan);
          this.stmt(`DELETE FROM bindings WHERE status <> 'running' AND updated_at < ?`).run(options.olderThan);
          return removed;
        })
        .immediate(),
    );
  }

  // ---------- remote bindings ----------

  async saveRemoteBinding(b: RemoteBinding): Promise<void> {
    await this.guard(() =>
      this.stmt(`INSERT INTO bindings (tenant, trace_id, node, task_id, agent_url, context_id, skill, idempotency_key, status, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (tenant, trace_id, node, task_id) DO UPDATE SET agent_url = excluded.agent_url, context_id = excluded.context_id,
          skill = excluded.skill, idempotency_key = excluded.idempotency_key, status = excluded.status, updated_at = excluded.updated_at`).run(
        b.tenant,
        b.traceId,
        b.node,
        b.taskId,
        b.agentUrl,
        b.contextId ?? null,
        b.skill ?? null,
        b.idempotencyKey ?? null,
        b.status,
        b.createdAt,
        b.updatedAt,
      ),
    );
  }

  async findRemoteBindings(query: BindingQuery): Promise<RemoteBinding[]> {
    return this.guard(() => {
      const where = new SqlWhere();
      if (query.tenant !== null) where.add('tenant = ?', query.tenant);
      if (query.traceId !== undefined) where.add('trace_id = ?', query.traceId);
      if (query.taskId !== undefined) where.add('task_id = ?', query.taskId);
      if (query.unfinishedOlderThanMs !== undefined) where.add(`status = 'running' AND updated_at < ?`, Date.now() - query.unfinishedOlderThanMs);
      const sql = `SELECT * FROM bindings ${where.toString()} ORDER BY created_at, rowid`;
      return (this.stmt(sql).all(...where.params) as BindingRow[]).map(bindingFromRow);
    });
  }

  // ---------- tasks (sqlite-tasks.ts) ----------

  createTask(task: TaskRecord): Promise<void> {
    return this.guard(() => this.tasks.create(task));
  }
  getTask(id: string, scope: TenantOnly): Promise<TaskRecord | undefined> {
    return this.guard(() => this.tasks.get(id, scope.tenant));
  }
  listTasks(query: TaskListQuery): Promise<TaskPage> {
    return this.guard(() => this.tasks.list(query));
  }
  updateTask(id: string, scope: TenantOnly, patch: Partial<Pick<TaskRecord, 'state' | 'statusMessage' | 'statusTs' | 'metadata'>>): Promise<TaskRecord> {
    return this.guard(() => this.tasks.update(id, scope.tenant, patch));
  }
  appendTaskArtifact(id: string, scope: TenantOnly, artifact: unknown): Promise<void> {
    return this.guard(() => this.tasks.append(id, scope.tenant, 'artifacts', artifact));
  }
  appendTaskHistory(id: string, scope: TenantOnly, message: unknown): Promise<void> {
    return this.guard(() => this.tasks.append(id, scope.tenant, 'history', message));
  }
  appendTaskEvent(taskId: string, scope: TenantOnly, event: unknown): Promise<number> {
    return this.guard(() => this.tasks.appendEvent(taskId, scope.tenant, event));
  }
  loadTaskEvents(taskId: string, query: { tenant: string; afterSeq?: number; limit?: number }): Promise<TaskEventRecord[]> {
    return this.guard(() => this.tasks.loadEvents(taskId, query));
  }
  claimIdempotencyKey(scope: TenantOnly, key: string, taskId: string): Promise<string> {
    return this.guard(() => this.tasks.claimKey(scope.tenant, key, taskId));
  }

  // ---------- leases, planner, memory, artifacts, steering (sqlite-extras.ts) ----------

  acquireLease(key: string, owner: string, ttlMs: number, data?: Record<string, unknown>): Promise<boolean> {
    return this.guard(() => this.extras.acquireLease(key, owner, ttlMs, data));
  }
  renewLease(key: string, owner: string, ttlMs: number, data?: Record<string, unknown>): Promise<boolean> {
    return this.guard(() => this.extras.renewLease(key, owner, ttlMs, data));
  }
  releaseLease(key: string, owner: string): Promise<boolean> {
    return this.guard(() => this.extras.releaseLease(key, owner));
  }
  getLease(key: string): Promise<Lease | undefined> {
    return this.guard(() => this.extras.getLease(key));
  }
  listLeases(prefix: string): Promise<Lease[]> {
    return this.guard(() => this.extras.listLeases(prefix));
  }
  savePlannerState(token: string, scope: TenantOnly, state: unknown): Promise<void> {
    return this.guard(() => this.extras.savePlannerState(token, scope.tenant, state));
  }
  consumePlannerState(token: string, scope: TenantOnly): Promise<unknown> {
    return this.guard(() => this.extras.consumePlannerState(token, scope.tenant));
  }
  saveMemoryState(sessionId: string, scope: TenantOnly, state: unknown): Promise<void> {
    return this.guard(() => this.extras.saveMemoryState(sessionId, scope.tenant, state));
  }
  loadMemoryState(sessionId: string, scope: TenantOnly): Promise<unknown> {
    return this.guard(() => this.extras.loadMemoryState(sessionId, scope.tenant));
  }
  putArtifact(scope: TenantOnly, input: ArtifactInput): Promise<ArtifactRef> {
    return this.guard(() => this.extras.putArtifact(scope.tenant, input));
  }
  getArtifact(id: string, scope: TenantOnly): Promise<Artifact | undefined> {
    return this.guard(() => this.extras.getArtifact(id, scope.tenant));
  }
  deleteArtifact(id: string, scope: TenantOnly): Promise<boolean> {
    return this.guard(() => this.extras.deleteArtifact(id, scope.tenant));
  }
  pushSteering(sessionId: string, scope: TenantOnly, message: unknown): Promise<void> {
    return this.guard(() => this.extras.pushSteering(sessionId, scope.tenant, message));
  }
  drainSteering(sessionId: string, scope: TenantOnly): Promise<unknown[]> {
    return this.guard(() => this.extras.drainSteering(sessionId, scope.tenant));
  }

  // ---------- lifecycle ----------

  /** Writes are synchronous and committed when `saveEvents` resolves: nothing to flush. */
  async flush(): Promise<void> {}

  /** Waits for batches in flight, then closes the file (checkpointing the WAL). Idempotent. */
  async close(): Promise<void> {
    await this.eventWriter?.close();
    if (this.db.open) this.db.close();
  }
}
