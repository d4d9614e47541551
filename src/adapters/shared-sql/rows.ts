/**
 * Row mapping shared by the SQLite and Postgres stores: how a FlowEvent is
 * split into queried columns plus a JSON body, how rows come back, page
 * cursors, and the per-batch trace summary. Pure functions, no driver code.
 */
import type { FlowEvent, TraceStatus } from '../../core/events.js';
import { InvalidOptionsError, PayloadTooLargeError } from '../../errors/index.js';
import type { RemoteBinding, StoredEvent } from '../../protocols/state-store.js';
import type { Lease, TaskRecord, TaskState, TraceSummary } from '../../protocols/store-capabilities.js';
import { traceStatusOf } from '../../protocols/store-extras.js';

/** 1 MiB of payload plus headroom for the event's own fields. */
export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024 + 64 * 1024;
export const DEFAULT_MAX_ARTIFACT_BYTES = 16 * 1024 * 1024;

/** An event split for storage: the queried columns and the JSON of everything else. */
export interface EventColumns {
  id: string;
  tenant: string;
  traceId: string;
  type: string;
  ts: number;
  node: string | null;
  body: string;
}

export function eventColumns(event: FlowEvent): EventColumns {
  const { id, tenant, traceId, type, ts, node, ...rest } = event;
  return { id, tenant, traceId, type, ts, node: node ?? null, body: JSON.stringify(rest) };
}

export interface EventRow {
  seq: number | string;
  id: string;
  tenant: string;
  trace_id: string;
  type: string;
  ts: number;
  node: string | null;
  body: string | Record<string, unknown>;
}

export function eventFromRow(row: EventRow): StoredEvent {
  const rest = (typeof row.body === 'string' ? JSON.parse(row.body) : row.body) as Partial<FlowEvent>;
  const event = { ...rest, id: row.id, tenant: row.tenant, traceId: row.trace_id, type: row.type, ts: Number(row.ts), seq: Number(row.seq) } as StoredEvent;
  if (row.node !== null) event.node = row.node;
  return event;
}

/** True when the UTF-8 size of `s` is over `max`, computing the exact size only when it could matter. */
export function byteLengthOver(s: string, max: number): boolean {
  if (s.length > max) return true; // UTF-8 bytes >= UTF-16 units
  if (s.length * 3 <= max) return false; // UTF-8 bytes <= 3 x UTF-16 units
  return Buffer.byteLength(s, 'utf8') > max;
}

/** Splits a batch into unique, size-checked rows (first copy of an id wins) and the ids it rejected. */
export function prepareBatch(events: readonly FlowEvent[], maxEventBytes: number): { rows: EventColumns[]; rejected: string[] } {
  const rows: EventColumns[] = [];
  const rejected: string[] = [];
  const seen = new Set<string>();
  for (const event of events) {
    if (seen.has(event.id)) continue;
    seen.add(event.id);
    const row = eventColumns(event);
    if (byteLengthOver(row.body, maxEventBytes)) rejected.push(event.id);
    else rows.push(row);
  }
  return { rows, rejected };
}

export function tooLarge(rejected: string[], maxEventBytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`${rejected.length} event(s) over maxEventBytes (${maxEventBytes}) were rejected; the rest of the batch was written`, {
    details: { rejectedIds: rejected, maxEventBytes },
  });
}

/** What a batch adds to one trace's summary row. */
export interface TraceDelta {
  tenant: string;
  traceId: string;
  firstTs: number;
  lastTs: number;
  count: number;
  nodes: string[];
  status: TraceStatus;
  rank: number;
}

/** Folds newly inserted events (in insertion order) into one delta per (tenant, trace). */
export function traceDeltas(inserted: readonly { row: EventColumns; event: Pick<FlowEvent, 'type' | 'extra'> }[]): TraceDelta[] {
  const byKey = new Map<string, TraceDelta>();
  for (const { row, event } of inserted) {
    const key = row.tenant + '\u0000' + row.traceId;
    const { status, rank } = traceStatusOf(event);
    let d = byKey.get(key);
    if (!d) {
      d = { tenant: row.tenant, traceId: row.traceId, firstTs: row.ts, lastTs: row.ts, count: 0, nodes: [], status, rank };
      byKey.set(key, d);
    }
    d.count++;
    if (row.ts < d.firstTs) d.firstTs = row.ts;
    if (row.ts > d.lastTs) d.lastTs = row.ts;
    if (rank >= d.rank) {
      d.rank = rank;
      d.status = status;
    }
    if (row.node !== null && !d.nodes.includes(row.node)) d.nodes.push(row.node);
  }
  return [...byKey.values()];
}

export interface TraceRow {
  tenant: string;
  trace_id: string;
  status: string;
  first_ts: number;
  last_ts: number;
  event_count: number | string;
  nodes: string | string[];
}

export function traceFromRow(row: TraceRow): TraceSummary {
  return {
    traceId: row.trace_id,
    tenant: row.tenant,
    status: row.status as TraceStatus,
    firstTs: Number(row.first_ts),
    lastTs: Number(row.last_ts),
    eventCount: Number(row.event_count),
    nodes: typeof row.nodes === 'string' ? (JSON.parse(row.nodes) as string[]) : row.nodes,
  };
}

export interface BindingRow {
  tenant: string;
  trace_id: string;
  node: string;
  task_id: string;
  agent_url: string;
  context_id: string | null;
  skill: string | null;
  idempotency_key: string | null;
  status: string;
  created_at: number | string;
  updated_at: number | string;
}

export function bindingFromRow(row: BindingRow): RemoteBinding {
  const b: RemoteBinding = {
    traceId: row.trace_id,
    tenant: row.tenant,
    node: row.node,
    agentUrl: row.agent_url,
    taskId: row.task_id,
    status: row.status as RemoteBinding['status'],
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
  if (row.context_id !== null) b.contextId = row.context_id;
  if (row.skill !== null) b.skill = row.skill;
  if (row.idempotency_key !== null) b.idempotencyKey = row.idempotency_key;
  return b;
}

export interface TaskRow {
  id: string;
  tenant: string;
  context_id: string;
  state: string;
  status_message: unknown;
  status_ts: number | string;
  artifacts: string | unknown[];
  history: string | unknown[];
  metadata: string | Record<string, unknown>;
  created_at: number | string;
  updated_at: number | string;
}

const parse = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));

export function taskFromRow(row: TaskRow): TaskRecord {
  const t: TaskRecord = {
    id: row.id,
    tenant: row.tenant,
    contextId: row.context_id,
    state: row.state as TaskState,
    statusTs: Number(row.status_ts),
    artifacts: parse<unknown[]>(row.artifacts),
    history: parse<unknown[]>(row.history),
    metadata: parse<Record<string, unknown>>(row.metadata),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
  if (row.status_message !== null && row.status_message !== undefined) t.statusMessage = parse(row.status_message);
  return t;
}

export interface LeaseRow {
  key: string;
  owner: string;
  expires_at: number | string;
  data: string | Record<string, unknown> | null;
}

export function leaseFromRow(row: LeaseRow): Lease {
  const lease: Lease = { key: row.key, owner: row.owner, expiresAt: Number(row.expires_at) };
  if (row.data !== null) lease.data = parse<Record<string, unknown>>(row.data);
  return lease;
}

/** JSON text of a value, `null` (SQL NULL) for undefined. */
export function jsonOrNull(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

/** Opaque page cursor over a few sort-key values. */
export function encodeCursor(values: (string | number)[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor<T extends (string | number)[]>(cursor: string, types: ('string' | 'number')[]): T {
  try {
    const values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(values) || values.length !== types.length || values.some((v, i) => typeof v !== types[i])) {
      throw new Error('unexpected cursor shape');
    }
    return values as T;
  } catch (cause) {
    throw new InvalidOptionsError('Invalid page cursor', { cause });
  }
}

export const TASK_PAGE_DEFAULT = 50;
export const TASK_PAGE_MAX = 100;

export function pageSizeOf(pageSize: number | undefined): number {
  return Math.min(TASK_PAGE_MAX, Math.max(1, Math.floor(pageSize ?? TASK_PAGE_DEFAULT)));
}

/**
 * Collects WHERE conditions and their parameters. Write `?` placeholders;
 * with `numbered` they become `$1, $2, …` (Postgres), continuing from `offset`.
 */
export class SqlWhere {
  readonly params: unknown[] = [];
  private readonly parts: string[] = [];

  constructor(
    private readonly numbered = false,
    private readonly offset = 0,
  ) {}

  add(condition: string, ...values: unknown[]): this {
    let i = 0;
    this.parts.push(
      this.numbered
        ? condition.replace(/\?/g, () => {
            i++;
            return `$${this.offset + this.params.length + i}`;
          })
        : condition,
    );
    this.params.push(...values);
    return this;
  }

  /** Placeholder for the next parameter (for LIMIT and the like). */
  next(value: unknown): string {
    this.params.push(value);
    return this.numbered ? `$${this.offset + this.params.length}` : '?';
  }

  toString(): string {
    return this.parts.length === 0 ? '' : 'WHERE ' + this.parts.join(' AND ');
  }
}
