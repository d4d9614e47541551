import { NotFoundError, StoreConflictError, isPenguiflowError } from '../../errors/index.js';
import type { TaskEventRecord, TaskListQuery, TaskPage, TaskRecord } from '../../protocols/store-capabilities.js';
import { decodeCursor, encodeCursor, jsonOrNull, pageSizeOf, SqlWhere, taskFromRow, type TaskRow } from '../shared-sql/rows.js';
import type { PgRunner } from './pg-runner.js';

type TaskPatch = Partial<Pick<TaskRecord, 'state' | 'statusMessage' | 'statusTs' | 'metadata'>>;
type Row = TaskRow & Record<string, unknown>;

const notFound = (id: string) => new NotFoundError(`Task ${id} not found`, { details: { taskId: id } });

/** The TaskStore half of PostgresStateStore. Each operation is one statement (one implicit transaction). */
export class PgTasks {
  constructor(
    private readonly db: PgRunner,
    private readonly q: string,
  ) {}

  async create(t: TaskRecord): Promise<void> {
    try {
      await this.db.query(
        `INSERT INTO ${this.q}.tasks (id, tenant, context_id, state, status_message, status_ts, artifacts, history, metadata, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5::json, $6, $7::json, $8::json, $9::json, $10, $11)`,
        [t.id, t.tenant, t.contextId, t.state, jsonOrNull(t.statusMessage), t.statusTs, JSON.stringify(t.artifacts), JSON.stringify(t.history), JSON.stringify(t.metadata), t.createdAt, t.updatedAt],
        { idempotent: false },
      );
    } catch (error) {
      if (isPenguiflowError(error, 'STORE_CONFLICT')) throw new StoreConflictError(`Task ${t.id} already exists`, { cause: error, details: { taskId: t.id } });
      throw error;
    }
  }

  async get(id: string, tenant: string): Promise<TaskRecord | undefined> {
    const [row] = await this.db.query<Row>(`SELECT * FROM ${this.q}.tasks WHERE id = $1 AND tenant = $2`, [id, tenant], { idempotent: true });
    return row && taskFromRow(row);
  }

  async list(query: TaskListQuery): Promise<TaskPage> {
    const where = new SqlWhere(true).add('tenant = ?', query.tenant);
    if (query.contextId !== undefined) where.add('context_id = ?', query.contextId);
    if (query.state !== undefined) where.add('state = ?', query.state);
    if (query.updatedAfter !== undefined) where.add('updated_at >= ?', query.updatedAfter);
    const [count] = await this.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.q}.tasks ${where.toString()}`, where.params, { idempotent: true });
    if (query.pageToken) {
      const [updatedAt, id] = decodeCursor<[number, string]>(query.pageToken, ['number', 'string']);
      where.add('(updated_at < ? OR (updated_at = ? AND id > ?))', updatedAt, updatedAt, id);
    }
    const pageSize = pageSizeOf(query.pageSize);
    const sql = `SELECT * FROM ${this.q}.tasks ${where.toString()} ORDER BY updated_at DESC, id LIMIT ${where.next(pageSize + 1)}`;
    const rows = await this.db.query<Row>(sql, where.params, { idempotent: true });
    const tasks = rows.slice(0, pageSize).map(taskFromRow);
    const last = tasks[tasks.length - 1];
    return { tasks, totalSize: Number(count?.n ?? 0), nextPageToken: rows.length > pageSize && last ? encodeCursor([last.updatedAt, last.id]) : '' };
  }

  async update(id: string, tenant: string, patch: TaskPatch): Promise<TaskRecord> {
    const now = Date.now();
    const hasMessage = 'statusMessage' in patch;
    const statusTs = patch.statusTs ?? (patch.state !== undefined ? now : null);
    const [row] = await this.db.query<Row>(
      `UPDATE ${this.q}.tasks SET
         state = coalesce($3, state),
         status_message = CASE WHEN $4 THEN $5::json ELSE status_message END,
         status_ts = coalesce($6, status_ts),
         metadata = coalesce($7::json, metadata),
         updated_at = $8
       WHERE id = $1 AND tenant = $2 RETURNING *`,
      [id, tenant, patch.state ?? null, hasMessage, jsonOrNull(patch.statusMessage), statusTs, jsonOrNull(patch.metadata), now],
      { idempotent: true },
    );
    if (!row) throw notFound(id);
    return taskFromRow(row);
  }

  /** Appends to the JSON array text in place; the arrays are always written compact by this store. */
  async append(id: string, tenant: string, column: 'artifacts' | 'history', item: unknown): Promise<void> {
    const rows = await this.db.query(
      `UPDATE ${this.q}.tasks SET
         ${column} = (CASE WHEN ${column}::text = '[]' THEN '[' || $3 || ']' ELSE left(${column}::text, -1) || ',' || $3 || ']' END)::json,
         updated_at = $4
       WHERE id = $1 AND tenant = $2 RETURNING 1`,
      [id, tenant, JSON.stringify(item ?? null), Date.now()],
      { idempotent: false },
    );
    if (rows.length === 0) throw notFound(id);
  }

  async appendEvent(taskId: string, tenant: string, event: unknown): Promise<number> {
    const [row] = await this.db.query<{ seq: string }>(
      `WITH s AS (UPDATE ${this.q}.tasks SET event_seq = event_seq + 1 WHERE id = $1 AND tenant = $2 RETURNING event_seq)
       INSERT INTO ${this.q}.task_events (task_id, seq, ts, event) SELECT $1, event_seq, $3, $4::json FROM s RETURNING seq`,
      [taskId, tenant, Date.now(), JSON.stringify(event ?? null)],
      { idempotent: false },
    );
    if (!row) throw notFound(taskId);
    return Number(row.seq);
  }

  async loadEvents(taskId: string, query: { tenant: string; afterSeq?: number; limit?: number }): Promise<TaskEventRecord[]> {
    const limit = query.limit === undefined ? null : Math.max(0, Math.floor(query.limit));
    if (limit === 0) return [];
    const rows = await this.db.query<{ seq: string; ts: number; event: unknown }>(
      `SELECT e.seq, e.ts, e.event FROM ${this.q}.task_events e JOIN ${this.q}.tasks t ON t.id = e.task_id
       WHERE e.task_id = $1 AND t.tenant = $2 AND e.seq > $3 ORDER BY e.seq LIMIT $4`,
      [taskId, query.tenant, query.afterSeq ?? 0, limit],
      { idempotent: true },
    );
    return rows.map((r) => ({ seq: Number(r.seq), ts: r.ts, event: r.event }));
  }

  async claimKey(tenant: string, key: string, taskId: string): Promise<string> {
    const inserted = await this.db.query<{ task_id: string }>(
      `INSERT INTO ${this.q}.idempotency_keys (tenant, key, task_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant, key) DO NOTHING RETURNING task_id`,
      [tenant, key, taskId, Date.now()],
      { idempotent: true },
    );
    if (inserted[0]) return inserted[0].task_id;
    // Lost the race: read the winner with a fresh snapshot.
    const [owner] = await this.db.query<{ task_id: string }>(`SELECT task_id FROM ${this.q}.idempotency_keys WHERE tenant = $1 AND key = $2`, [tenant, key], {
      idempotent: true,
    });
    return owner?.task_id ?? taskId;
  }
}
