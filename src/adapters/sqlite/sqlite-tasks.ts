import type Database from 'better-sqlite3';
import { NotFoundError, StoreConflictError } from '../../errors/index.js';
import type { TaskEventRecord, TaskListQuery, TaskPage, TaskRecord } from '../../protocols/store-capabilities.js';
import { decodeCursor, encodeCursor, jsonOrNull, pageSizeOf, SqlWhere, taskFromRow, type TaskRow } from '../shared-sql/rows.js';

type Stmt = (sql: string) => Database.Statement;
type TaskPatch = Partial<Pick<TaskRecord, 'state' | 'statusMessage' | 'statusTs' | 'metadata'>>;

const notFound = (id: string) => new NotFoundError(`Task ${id} not found`, { details: { taskId: id } });

/** The TaskStore half of SqliteStateStore (synchronous; the store wraps it). */
export class SqliteTasks {
  constructor(
    private readonly db: Database.Database,
    private readonly stmt: Stmt,
  ) {}

  create(t: TaskRecord): void {
    try {
      this.stmt(`INSERT INTO tasks (id, tenant, context_id, state, status_message, status_ts, artifacts, history, metadata, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
        t.id,
        t.tenant,
        t.contextId,
        t.state,
        jsonOrNull(t.statusMessage),
        t.statusTs,
        JSON.stringify(t.artifacts),
        JSON.stringify(t.history),
        JSON.stringify(t.metadata),
        t.createdAt,
        t.updatedAt,
      );
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new StoreConflictError(`Task ${t.id} already exists`, { cause: error, details: { taskId: t.id } });
      }
      throw error;
    }
  }

  get(id: string, tenant: string): TaskRecord | undefined {
    const row = this.stmt('SELECT * FROM tasks WHERE id = ? AND tenant = ?').get(id, tenant) as TaskRow | undefined;
    return row && taskFromRow(row);
  }

  list(query: TaskListQuery): TaskPage {
    const where = new SqlWhere().add('tenant = ?', query.tenant);
    if (query.contextId !== undefined) where.add('context_id = ?', query.contextId);
    if (query.state !== undefined) where.add('state = ?', query.state);
    if (query.updatedAfter !== undefined) where.add('updated_at >= ?', query.updatedAfter);
    const totalSize = this.stmt(`SELECT count(*) FROM tasks ${where.toString()}`).pluck().get(...where.params) as number;
    if (query.pageToken) {
      const [updatedAt, id] = decodeCursor<[number, string]>(query.pageToken, ['number', 'string']);
      where.add('(updated_at < ? OR (updated_at = ? AND id > ?))', updatedAt, updatedAt, id);
    }
    const pageSize = pageSizeOf(query.pageSize);
    const rows = this.stmt(`SELECT * FROM tasks ${where.toString()} ORDER BY updated_at DESC, id LIMIT ?`).all(...where.params, pageSize + 1) as TaskRow[];
    const tasks = rows.slice(0, pageSize).map(taskFromRow);
    const last = tasks[tasks.length - 1];
    return { tasks, totalSize, nextPageToken: rows.length > pageSize && last ? encodeCursor([last.updatedAt, last.id]) : '' };
  }

  update(id: string, tenant: string, patch: TaskPatch): TaskRecord {
    return this.db
      .transaction(() => {
        const current = this.get(id, tenant);
        if (!current) throw notFound(id);
        const now = Date.now();
        const next: TaskRecord = { ...current, updatedAt: now };
        if (patch.state !== undefined) next.state = patch.state;
        if ('statusMessage' in patch) {
          if (patch.statusMessage === undefined) delete next.statusMessage;
          else next.statusMessage = patch.statusMessage;
        }
        if (patch.statusTs !== undefined) next.statusTs = patch.statusTs;
        else if (patch.state !== undefined) next.statusTs = now;
        if (patch.metadata !== undefined) next.metadata = patch.metadata;
        this.stmt('UPDATE tasks SET state = ?, status_message = ?, status_ts = ?, metadata = ?, updated_at = ? WHERE id = ? AND tenant = ?').run(
          next.state,
          jsonOrNull(next.statusMessage),
          next.statusTs,
          JSON.stringify(next.metadata),
          next.updatedAt,
          id,
          tenant,
        );
        return this.get(id, tenant)!;
      })
      .immediate();
  }

  append(id: string, tenant: string, column: 'artifacts' | 'history', item: unknown): void {
    this.db
      .transaction(() => {
        const json = this.stmt(`SELECT ${column} FROM tasks WHERE id = ? AND tenant = ?`).pluck().get(id, tenant) as string | undefined;
        if (json === undefined) throw notFound(id);
        const list = JSON.parse(json) as unknown[];
        list.push(item ?? null);
        this.stmt(`UPDATE tasks SET ${column} = ?, updated_at = ? WHERE id = ? AND tenant = ?`).run(JSON.stringify(list), Date.now(), id, tenant);
      })
      .immediate();
  }

  appendEvent(taskId: string, tenant: string, event: unknown): number {
    return this.db
      .transaction(() => {
        const seq = this.stmt('UPDATE tasks SET event_seq = event_seq + 1 WHERE id = ? AND tenant = ? RETURNING event_seq')
          .pluck()
          .get(taskId, tenant) as number | undefined;
        if (seq === undefined) throw notFound(taskId);
        this.stmt('INSERT INTO task_events (task_id, seq, ts, event) VALUES (?, ?, ?, ?)').run(taskId, seq, Date.now(), JSON.stringify(event ?? null));
        return seq;
      })
      .immediate();
  }

  loadEvents(taskId: string, query: { tenant: string; afterSeq?: number; limit?: number }): TaskEventRecord[] {
    const limit = query.limit === undefined ? -1 : Math.max(0, Math.floor(query.limit));
    if (limit === 0) return [];
    const rows = this.stmt(
      `SELECT e.seq, e.ts, e.event FROM task_events e JOIN tasks t ON t.id = e.task_id
       WHERE e.task_id = ? AND t.tenant = ? AND e.seq > ? ORDER BY e.seq LIMIT ?`,
    ).all(taskId, query.tenant, query.afterSeq ?? 0, limit) as { seq: number; ts: number; event: string }[];
    return rows.map((r) => ({ seq: r.seq, ts: r.ts, event: JSON.parse(r.event) as unknown }));
  }

  claimKey(tenant: string, key: string, taskId: string): string {
    return this.db
      .transaction(() => {
        this.stmt('INSERT OR IGNORE INTO idempotency_keys (tenant, key, task_id, created_at) VALUES (?, ?, ?, ?)').run(tenant, key, taskId, Date.now());
        return this.stmt('SELECT task_id FROM idempotency_keys WHERE tenant = ? AND key = ?').pluck().get(tenant, key) as string;
      })
      .immediate();
  }
}
