import { createHash } from 'node:crypto';
import type { FlowEvent } from '../../core/events.js';
import { InvalidOptionsError, LoadShedError, NotFoundError, PayloadTooLargeError, StoreConflictError } from '../../errors/index.js';
import type {
  BindingQuery,
  HistoryQuery,
  RemoteBinding,
  StateStore,
  StoredEvent,
} from '../../protocols/state-store.js';
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

export interface InMemoryStateStoreOptions {
  /** Largest serialized event in bytes; default 1 MiB + 64 KiB. */
  maxEventBytes?: number;
  /** Largest artifact in bytes; default 16 MiB. */
  maxArtifactBytes?: number;
  /** Clock for leases and timestamps (tests). Default `Date.now`. */
  now?: () => number;
  /**
   * Most A2A tasks kept (with their event logs and idempotency keys). Past it
   * the least recently updated settled task is evicted; when every task is
   * still running, creating one more fails with LOAD_SHED. Default 10,000.
   */
  maxTasks?: number;
  /** Approximate bytes (JSON) of every task, event log and idempotency key together; same eviction. Default 256 MiB. */
  maxTaskBytes?: number;
  /** A task not updated for this long is evicted, whatever its state. Default 24 h. */
  taskTtlMs?: number;
}

export const DEFAULT_MAX_TASKS = 10_000;
export const DEFAULT_MAX_TASK_BYTES = 256 * 1024 * 1024;
export const DEFAULT_TASK_TTL_MS = 24 * 60 * 60 * 1000;
const SETTLED: ReadonlySet<string> = new Set(['completed', 'failed', 'canceled', 'rejected', 'input-required', 'auth-required']);

export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024 + 64 * 1024;
export const DEFAULT_MAX_ARTIFACT_BYTES = 16 * 1024 * 1024;

interface Row {
  id: string;
  seq: number;
  ts: number;
  tenant: string;
  /** The event's flat fields (all primitives), copied. */
  flat: FlowEvent;
  /** JSON of `{ extra, error }` when either is present: the only nested parts, copied through JSON. */
  nested: string | undefined;
}

interface TraceRow extends TraceSummary {
  rank: number;
}

const key = (...parts: string[]): string => parts.join('\u0000');
const sizeOf = (value: unknown): number => (value === undefined ? 0 : (JSON.stringify(value)?.length ?? 0));
const clone = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

/**
 * The reference StateStore: everything in process memory, every capability,
 * same semantics as the SQL stores (nested values are copied through JSON, so
 * what you read back is what SQLite or Postgres would give). Nothing survives the
 * process; `durability` is reported as `batched`.
 *
 * A2A tasks are bounded (`maxTasks`, `maxTaskBytes`, `taskTtlMs`): the least
 * recently updated settled tasks are evicted with their event logs and
 * idempotency keys, so a long-running server's memory stays flat. An evicted
 * task is gone (TASK_NOT_FOUND); use SQLite or Postgres where tasks must be
 * kept (docs/a2a.md, "Task stores").
 *
 * @example
 * const store = new InMemoryStateStore();
 * await store.saveEvent(event);
 * const events = await store.loadHistory(event.traceId, { tenant: event.tenant });
 */
export class InMemoryStateStore
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
  readonly durability: Durability = 'batched';
  readonly stats: StoreStats = { written: 0, rejected: 0 };
  readonly maxEventBytes: number;
  readonly maxArtifactBytes: number;
  private readonly now: () => number;
  private seq = 0;
  private readonly ids = new Set<string>();
  private readonly byTrace = new Map<string, Row[]>();
  /** traceId -> keys (tenant + traceId) of the traces with that id. */
  private readonly traceKeys = new Map<string, Set<string>>();
  private readonly traces = new Map<string, TraceRow>();
  private readonly bindings = new Map<string, RemoteBinding>();
  private readonly tasks = new Map<string, TaskRecord>();
  private readonly taskEvents = new Map<string, TaskEventRecord[]>();
  private readonly idempotency = new Map<string, string>();
  /** Approximate JSON bytes per task (record + log + its idempotency keys), in least-recently-updated order. */
  private readonly taskSizes = new Map<string, number>();
  /** Idempotency keys that point at each task (evicted with it). */
  private readonly taskKeys = new Map<string, string[]>();
  /** Claimed task ids whose task does not exist (yet): dropped after the TTL, or when over the bound. */
  private readonly pendingClaims = new Map<string, number>();
  private taskBytesTotal = 0;
  readonly maxTasks: number;
  readonly maxTaskBytes: number;
  readonly taskTtlMs: number;
  private readonly leases = new Map<string, Lease>();
  private readonly planner = new Map<string, string>();
  private readonly memory = new Map<string, string>();
  private readonly artifacts = new Map<string, Artifact>();
  private readonly steering = new Map<string, string[]>();

  constructor(options: InMemoryStateStoreOptions = {}) {
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.maxArtifactBytes = options.maxArtifactBytes ?? DEFAULT_MAX_ARTIFACT_BYTES;
    this.now = options.now ?? Date.now;
    this.maxTasks = options.maxTasks ?? DEFAULT_MAX_TASKS;
    this.maxTaskBytes = options.maxTaskBytes ?? DEFAULT_MAX_TASK_BYTES;
    this.taskTtlMs = options.taskTtlMs ?? DEFAULT_TASK_TTL_MS;
    if (!(this.maxTasks >= 1) || !(this.maxTaskBytes >= 1) || !(this.taskTtlMs >= 1)) throw new InvalidOptionsError('maxTasks, maxTaskBytes and taskTtlMs must be positive');
  }

  private sweepClaims(): void {
    const cutoff = this.now() - Math.min(this.taskTtlMs, 10 * 60_000);
    for (const [id, at] of this.pendingClaims) {
      if (this.tasks.has(id)) {
        this.pendingClaims.delete(id);
        continue;
      }
      if (at >= cutoff && this.pendingClaims.size <= this.maxTasks) break;
      this.pendingClaims.delete(id);
      this.evictTask(id);
    }
  }

  /** Tasks held and their approximate bytes (tests, metrics). */
  taskUsage(): { tasks: number; bytes: number } {
    return { tasks: this.tasks.size, bytes: this.taskBytesTotal };
  }

  /** Adds `bytes` to a task's size and marks it most recently updated. */
  private touchTask(id: string, bytes: number): void {
    const size = (this.taskSizes.get(id) ?? 0) + bytes;
    this.taskSizes.delete(id);
    this.taskSizes.set(id, size);
    this.taskBytesTotal += bytes;
  }

  private evictTask(id: string): void {
    this.taskBytesTotal -= this.taskSizes.get(id) ?? 0;
    this.taskSizes.delete(id);
    this.tasks.delete(id);
    this.taskEvents.delete(id);
    for (const k of this.taskKeys.get(id) ?? []) this.idempotency.delete(k);
    this.taskKeys.delete(id);
  }

  /** TTL first, then least recently updated settled tasks until under both bounds. */
  private enforceTaskBounds(roomTasks = 0, roomBytes = 0): void {
    const cutoff = this.now() - this.taskTtlMs;
    for (const id of this.taskSizes.keys()) {
      const t = this.tasks.get(id);
      if (!t) continue; // a claim whose task is being created: sweepClaims decides
      if (t.updatedAt >= cutoff) break; // LRU order: the rest are newer
      this.evictTask(id);
    }
    const fits = () => this.tasks.size + roomTasks <= this.maxTasks && this.taskBytesTotal + roomBytes <= this.maxTaskBytes;
    if (fits()) return;
    for (const id of this.taskSizes.keys()) {
      if (fits()) return;
      const t = this.tasks.get(id);
      if (t && SETTLED.has(t.state)) this.evictTask(id);
    }
  }

  // ---------- events ----------

  async saveEvent(event: FlowEvent): Promise<void> {
    return this.saveEvents([event]);
  }

  async saveEvents(events: readonly FlowEvent[]): Promise<void> {
    const rejected: string[] = [];
    for (const event of events) {
      if (this.ids.has(event.id)) continue;
      const { extra, error, ...rest } = event;
      const nested = extra === undefined && error === undefined ? undefined : JSON.stringify({ extra, error });
      if (nested !== undefined && byteLengthOver(nested, this.maxEventBytes)) {
        rejected.push(event.id);
        continue;
      }
      this.ids.add(event.id);
      const flat = rest as FlowEvent;
      for (const k in flat) if (flat[k as keyof FlowEvent] === undefined) delete flat[k as keyof FlowEvent];
      const row: Row = { id: event.id, seq: ++this.seq, ts: event.ts, tenant: event.tenant, flat, nested };
      const k = key(event.tenant, event.traceId);
      let rows = this.byTrace.get(k);
      if (!rows) {
        this.byTrace.set(k, (rows = []));
        let keys = this.traceKeys.get(event.traceId);
        if (!keys) this.traceKeys.set(event.traceId, (keys = new Set()));
        keys.add(k);
      }
      rows.push(row);
      this.stats.written++;
      this.touchTrace(k, event);
    }
    if (rejected.length > 0) {
      this.stats.rejected += rejected.length;
      throw new PayloadTooLargeError(`${rejected.length} event(s) over maxEventBytes (${this.maxEventBytes}) were rejected`, {
        details: { rejectedIds: rejected, maxEventBytes: this.maxEventBytes },
      });
    }
  }

  private touchTrace(k: string, event: FlowEvent): void {
    const { status, rank } = traceStatusOf(event);
    let t = this.traces.get(k);
    if (!t) {
      t = { traceId: event.traceId, tenant: event.tenant, status, rank, firstTs: event.ts, lastTs: event.ts, eventCount: 0, nodes: [] };
      this.traces.set(k, t);
    }
    t.eventCount++;
    t.firstTs = Math.min(t.firstTs, event.ts);
    t.lastTs = Math.max(t.lastTs, event.ts);
    if (rank >= t.rank) {
      t.rank = rank;
      t.status = status;
    }
    if (event.node !== undefined && !t.nodes.includes(event.node)) t.nodes.push(event.node);
  }

  async loadHistory(traceId: string, query: HistoryQuery): Promise<StoredEvent[]> {
    const rows: Row[] = [];
    for (const k of this.traceKeys.get(traceId) ?? []) {
      const list = this.byTrace.get(k) ?? [];
      if (query.tenant === null || list[0]?.tenant === query.tenant) rows.push(...list);
    }
    const after = query.afterSeq ?? 0;
    const sorted = rows.filter((r) => r.seq > after).sort((a, b) => a.ts - b.ts || a.seq - b.seq);
    const page = query.limit === undefined ? sorted : sorted.slice(0, Math.max(0, query.limit));
    return page.map((r) => ({ ...r.flat, ...(r.nested === undefined ? {} : (JSON.parse(r.nested) as Partial<FlowEvent>)), seq: r.seq }));
  }

  async listTraces(query: TraceListQuery): Promise<{ traces: TraceSummary[]; nextCursor?: string }> {
    const limit = Math.max(1, query.limit ?? 50);
    const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const rows = [...this.traces.values()]
      .filter((t) => query.tenant === null || t.tenant === query.tenant)
      .filter((t) => query.status === undefined || t.status === query.status)
      .filter((t) => query.since === undefined || t.lastTs >= query.since)
      .sort(compareTraces)
      .filter((t) => cursor === undefined || compareTraces(t, cursor) > 0);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const traces = page.map(({ rank: _rank, ...t }) => ({ ...t, nodes: [...t.nodes] }));
    return rows.length > limit && last ? { traces, nextCursor: encodeCursor(last) } : { traces };
  }

  async prune(options: { olderThan: number }): Promise<number> {
    let removed = 0;
    for (const [k, t] of this.traces) {
      if (t.lastTs >= options.olderThan) continue;
      for (const row of this.byTrace.get(k) ?? []) this.ids.delete(row.id);
      removed += t.eventCount;
      this.byTrace.delete(k);
      this.traces.delete(k);
      const keys = this.traceKeys.get(t.traceId);
      keys?.delete(k);
      if (keys?.size === 0) this.traceKeys.delete(t.traceId);
    }
    for (const [k, b] of this.bindings) if (b.status !== 'running' && b.updatedAt < options.olderThan) this.bindings.delete(k);
    return removed;
  }

  // ---------- remote bindings ----------

  async saveRemoteBinding(binding: RemoteBinding): Promise<void> {
    const k = key(binding.tenant, binding.traceId, binding.node, binding.taskId);
    const existing = this.bindings.get(k);
    this.bindings.set(k, { ...clone(binding), createdAt: existing?.createdAt ?? binding.createdAt });
  }

  async findRemoteBindings(query: BindingQuery): Promise<RemoteBinding[]> {
    const cutoff = query.unfinishedOlderThanMs === undefined ? undefined : this.now() - query.unfinishedOlderThanMs;
    return [...this.bindings.values()]
      .filter((b) => query.tenant === null || b.tenant === query.tenant)
      .filter((b) => query.traceId === undefined || b.traceId === query.traceId)
      .filter((b) => query.taskId === undefined || b.taskId === query.taskId)
      .filter((b) => cutoff === undefined || (b.status === 'running' && b.updatedAt < cutoff))
      .sort((a, b) => a.createdAt - b.createdAt)
      .map(clone);
  }

  // ---------- tasks ----------

  async createTask(task: TaskRecord): Promise<void> {
    if (this.tasks.has(task.id)) throw new StoreConflictError(`Task ${task.id} already exists`, { details: { taskId: task.id } });
    const json = JSON.stringify(task);
    this.enforceTaskBounds(1, json.length);
    if (this.tasks.size >= this.maxTasks || this.taskBytesTotal + json.length > this.maxTaskBytes) {
      this.stats.rejected++;
      throw new LoadShedError('The in-memory task store is full of running tasks', {
        details: { reason: 'TASK_STORE_FULL', tasks: this.tasks.size, maxTasks: this.maxTasks, bytes: this.taskBytesTotal, maxTaskBytes: this.maxTaskBytes },
      });
    }
    this.tasks.set(task.id, JSON.parse(json) as TaskRecord);
    this.touchTask(task.id, json.length);
  }

  private task(id: string, scope: TenantOnly): TaskRecord {
    const t = this.tasks.get(id);
    if (!t || t.tenant !== scope.tenant) throw new NotFoundError(`Task ${id} not found`, { details: { taskId: id } });
    return t;
  }

  async getTask(id: string, scope: TenantOnly): Promise<TaskRecord | undefined> {
    const t = this.tasks.get(id);
    return t && t.tenant === scope.tenant ? clone(t) : undefined;
  }

  async listTasks(query: TaskListQuery): Promise<TaskPage> {
    const pageSize = Math.min(100, Math.max(1, query.pageSize ?? 50));
    const after = query.pageToken ? decodeCursor(query.pageToken) : undefined;
    const all = [...this.tasks.values()]
      .filter((t) => t.tenant === query.tenant)
      .filter((t) => query.contextId === undefined || t.contextId === query.contextId)
      .filter((t) => query.state === undefined || t.state === query.state)
      .filter((t) => query.updatedAfter === undefined || t.updatedAt >= query.updatedAfter)
      .sort(compareTasks);
    const rest = after === undefined ? all : all.filter((t) => compareTasks(t, { updatedAt: after.lastTs, id: after.traceId }) > 0);
    const page = rest.slice(0, pageSize);
    const last = page[page.length - 1];
    const nextPageToken =
      rest.length > pageSize && last ? encodeCursor({ lastTs: last.updatedAt, tenant: '', traceId: last.id }) : '';
    return { tasks: page.map(clone), nextPageToken, totalSize: all.length };
  }

  async updateTask(
    id: string,
    scope: TenantOnly,
    patch: Partial<Pick<TaskRecord, 'state' | 'statusMessage' | 'statusTs' | 'metadata'>>,
  ): Promise<TaskRecord> {
    const t = this.task(id, scope);
    const now = this.now();
    if (patch.state !== undefined) t.state = patch.state;
    if ('statusMessage' in patch) t.statusMessage = clone(patch.statusMessage);
    if (patch.statusTs !== undefined) t.statusTs = patch.statusTs;
    else if (patch.state !== undefined) t.statusTs = now;
    if (patch.metadata !== undefined) t.metadata = clone(patch.metadata);
    t.updatedAt = now;
    this.touchTask(id, sizeOf(patch.statusMessage) + sizeOf(patch.metadata) + 64);
    this.enforceTaskBounds();
    return clone(t);
  }

  async appendTaskArtifact(id: string, scope: TenantOnly, artifact: unknown): Promise<void> {
    const t = this.task(id, scope);
    const json = JSON.stringify(artifact);
    t.artifacts.push(json === undefined ? undefined : JSON.parse(json));
    t.updatedAt = this.now();
    this.touchTask(id, json?.length ?? 0);
    this.enforceTaskBounds();
  }

  async appendTaskHistory(id: string, scope: TenantOnly, message: unknown): Promise<void> {
    const t = this.task(id, scope);
    const json = JSON.stringify(message);
    t.history.push(json === undefined ? undefined : JSON.parse(json));
    t.updatedAt = this.now();
    this.touchTask(id, json?.length ?? 0);
    this.enforceTaskBounds();
  }

  async appendTaskEvent(taskId: string, scope: TenantOnly, event: unknown): Promise<number> {
    this.task(taskId, scope);
    let log = this.taskEvents.get(taskId);
    if (!log) this.taskEvents.set(taskId, (log = []));
    const seq = log.length + 1;
    const json = JSON.stringify(event);
    log.push({ seq, ts: this.now(), event: json === undefined ? undefined : JSON.parse(json) });
    this.touchTask(taskId, (json?.length ?? 0) + 32);
    this.enforceTaskBounds();
    return seq;
  }

  async loadTaskEvents(taskId: string, query: { tenant: string; afterSeq?: number; limit?: number }): Promise<TaskEventRecord[]> {
    const t = this.tasks.get(taskId);
    if (!t || t.tenant !== query.tenant) return [];
    const log = (this.taskEvents.get(taskId) ?? []).filter((e) => e.seq > (query.afterSeq ?? 0));
    return (query.limit === undefined ? log : log.slice(0, Math.max(0, query.limit))).map(clone);
  }

  async claimIdempotencyKey(scope: TenantOnly, idempotencyKey: string, taskId: string): Promise<string> {
    const k = key(scope.tenant, idempotencyKey);
    const owner = this.idempotency.get(k);
    if (owner !== undefined) return owner;
    this.idempotency.set(k, taskId);
    // the key lives as long as its task (a claim whose task was never created expires with the TTL sweep below)
    const task = taskId.split('/', 1)[0]!;
    let keys = this.taskKeys.get(task);
    if (!keys) this.taskKeys.set(task, (keys = []));
    keys.push(k);
    this.touchTask(task, k.length + taskId.length);
    if (!this.tasks.has(task)) this.pendingClaims.set(task, this.now());
    this.sweepClaims();
    return taskId;
  }

  // ---------- leases ----------

  async acquireLease(leaseKey: string, owner: string, ttlMs: number, data?: Record<string, unknown>): Promise<boolean> {
    const now = this.now();
    const current = this.leases.get(leaseKey);
    if (current && current.owner !== owner && current.expiresAt > now) return false;
    const keep = current?.owner === owner ? current.data : undefined;
    this.leases.set(leaseKey, withData({ key: leaseKey, owner, expiresAt: now + ttlMs }, data === undefined ? keep : clone(data)));
    return true;
  }

  async renewLease(leaseKey: string, owner: string, ttlMs: number, data?: Record<string, unknown>): Promise<boolean> {
    const current = this.leases.get(leaseKey);
    if (current?.owner !== owner) return false;
    this.leases.set(leaseKey, withData({ key: leaseKey, owner, expiresAt: this.now() + ttlMs }, data === undefined ? current.data : clone(data)));
    return true;
  }

  async releaseLease(leaseKey: string, owner: string): Promise<boolean> {
    if (this.leases.get(leaseKey)?.owner !== owner) return false;
    return this.leases.delete(leaseKey);
  }

  async getLease(leaseKey: string): Promise<Lease | undefined> {
    const lease = this.leases.get(leaseKey);
    return lease && lease.expiresAt > this.now() ? clone(lease) : undefined;
  }

  async listLeases(prefix: string): Promise<Lease[]> {
    const now = this.now();
    return [...this.leases.values()]
      .filter((l) => l.key.startsWith(prefix) && l.expiresAt > now)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map(clone);
  }

  // ---------- planner, memory, steering ----------

  async savePlannerState(token: string, scope: TenantOnly, state: unknown): Promise<void> {
    this.planner.set(key(scope.tenant, token), JSON.stringify(state ?? null));
  }

  async consumePlannerState(token: string, scope: TenantOnly): Promise<unknown> {
    const k = key(scope.tenant, token);
    const json = this.planner.get(k);
    this.planner.delete(k);
    return json === undefined ? undefined : JSON.parse(json);
  }

  async saveMemoryState(sessionId: string, scope: TenantOnly, state: unknown): Promise<void> {
    this.memory.set(key(scope.tenant, sessionId), JSON.stringify(state ?? null));
  }

  async loadMemoryState(sessionId: string, scope: TenantOnly): Promise<unknown> {
    const json = this.memory.get(key(scope.tenant, sessionId));
    return json === undefined ? undefined : JSON.parse(json);
  }

  async pushSteering(sessionId: string, scope: TenantOnly, message: unknown): Promise<void> {
    const k = key(scope.tenant, sessionId);
    let inbox = this.steering.get(k);
    if (!inbox) this.steering.set(k, (inbox = []));
    inbox.push(JSON.stringify(message ?? null));
  }

  async drainSteering(sessionId: string, scope: TenantOnly): Promise<unknown[]> {
    const k = key(scope.tenant, sessionId);
    const inbox = this.steering.get(k) ?? [];
    this.steering.delete(k);
    return inbox.map((json) => JSON.parse(json) as unknown);
  }

  // ---------- artifacts ----------

  async putArtifact(scope: TenantOnly, input: ArtifactInput): Promise<ArtifactRef> {
    if (input.data.byteLength > this.maxArtifactBytes) {
      this.stats.rejected++;
      throw new PayloadTooLargeError(`Artifact of ${input.data.byteLength} bytes is over maxArtifactBytes (${this.maxArtifactBytes})`, {
        details: { size: input.data.byteLength, maxArtifactBytes: this.maxArtifactBytes },
      });
    }
    const sha256 = createHash('sha256').update(input.data).digest('hex');
    const k = key(scope.tenant, sha256);
    let stored = this.artifacts.get(k);
    if (!stored) {
      stored = { id: sha256, tenant: scope.tenant, sha256, size: input.data.byteLength, createdAt: this.now(), data: new Uint8Array(input.data) };
      if (input.mimeType !== undefined) stored.mimeType = input.mimeType;
      if (input.name !== undefined) stored.name = input.name;
      this.artifacts.set(k, stored);
    }
    const { data: _data, ...ref } = stored;
    return ref;
  }

  async getArtifact(id: string, scope: TenantOnly): Promise<Artifact | undefined> {
    const stored = this.artifacts.get(key(scope.tenant, id));
    return stored && { ...stored, data: new Uint8Array(stored.data) };
  }

  async deleteArtifact(id: string, scope: TenantOnly): Promise<boolean> {
    return this.artifacts.delete(key(scope.tenant, id));
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}

function withData(lease: Lease, data: Record<string, unknown> | undefined): Lease {
  return data === undefined ? lease : { ...lease, data };
}

/** True when the UTF-8 size of `s` is over `max`, computing the exact size only when it could matter. */
export function byteLengthOver(s: string, max: number): boolean {
  if (s.length > max) return true; // UTF-8 bytes >= UTF-16 units
  if (s.length * 3 <= max) return false; // UTF-8 bytes <= 3 x UTF-16 units
  return new TextEncoder().encode(s).byteLength > max;
}

// Traces list newest first (lastTs desc), then tenant and trace id ascending; tasks likewise by updatedAt.
interface TraceKey {
  lastTs: number;
  tenant: string;
  traceId: string;
}

function compareTraces(a: TraceKey, b: TraceKey): number {
  return b.lastTs - a.lastTs || cmp(a.tenant, b.tenant) || cmp(a.traceId, b.traceId);
}

function compareTasks(a: { updatedAt: number; id: string }, b: { updatedAt: number; id: string }): number {
  return b.updatedAt - a.updatedAt || cmp(a.id, b.id);
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function encodeCursor(k: TraceKey): string {
  return Buffer.from(JSON.stringify([k.lastTs, k.tenant, k.traceId])).toString('base64url');
}

function decodeCursor(cursor: string): TraceKey {
  try {
    const [lastTs, tenant, traceId] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [number, string, string];
    if (typeof lastTs !== 'number' || typeof tenant !== 'string' || typeof traceId !== 'string') throw new Error('shape');
    return { lastTs, tenant, traceId };
  } catch (cause) {
    throw new InvalidOptionsError('Invalid page cursor', { cause });
  }
}

