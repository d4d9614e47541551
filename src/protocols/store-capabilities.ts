import type { StateStore, TenantScope } from './state-store.js';
import type { TraceStatus } from '../core/events.js';

/*
 * Optional StateStore capabilities. Each is a small interface plus a type
 * guard; a store declares what it supports by implementing the methods.
 * Every read MUST be scoped by tenant inside the query itself.
 */

// ---------- trace listing and retention ----------

export interface TraceSummary {
  traceId: string;
  tenant: string;
  status: TraceStatus;
  firstTs: number;
  lastTs: number;
  eventCount: number;
  /** Node names seen in the trace, in first-seen order. */
  nodes: string[];
}

export interface TraceListQuery extends TenantScope {
  status?: TraceStatus;
  /** Only traces whose last event is at or after this epoch ms. */
  since?: number;
  limit?: number;
  /** Opaque; from a previous page's `nextCursor`. */
  cursor?: string;
}

export interface TraceListing {
  listTraces(query: TraceListQuery): Promise<{ traces: TraceSummary[]; nextCursor?: string }>;
  /** Deletes events (and finished bindings) older than `olderThan` epoch ms; returns how many events went. */
  prune(options: { olderThan: number }): Promise<number>;
}

export function hasTraceListing(store: StateStore): store is StateStore & TraceListing {
  return typeof (store as Partial<TraceListing>).listTraces === 'function';
}

// ---------- A2A tasks ----------

export type TaskState =
  | 'submitted'
  | 'working'
  | 'input-required'
  | 'auth-required'
  | 'completed'
  | 'failed'
  | 'canceled'
  | 'rejected';

export const TERMINAL_TASK_STATES: readonly TaskState[] = ['completed', 'failed', 'canceled', 'rejected'];

/** A task as stored; `artifacts`, `history` and `statusMessage` are JSON values owned by the A2A layer. */
export interface TaskRecord {
  id: string;
  tenant: string;
  contextId: string;
  state: TaskState;
  statusMessage?: unknown;
  /** Epoch ms of the last status change. */
  statusTs: number;
  artifacts: unknown[];
  history: unknown[];
  metadata: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export interface TaskListQuery {
  tenant: string;
  contextId?: string;
  state?: TaskState;
  /** Only tasks updated at or after this epoch ms. */
  updatedAfter?: number;
  /** Default 50, max 100. */
  pageSize?: number;
  pageToken?: string;
}

export interface TaskPage {
  tasks: TaskRecord[];
  /** Empty string when there is no next page. */
  nextPageToken: string;
  totalSize: number;
}

export interface TaskEventRecord {
  /** 1, 2, 3, … per task, without gaps. */
  seq: number;
  ts: number;
  event: unknown;
}

export interface TaskStore {
  /** Rejects with STORE_CONFLICT when the id exists. */
  createTask(task: TaskRecord): Promise<void>;
  getTask(id: string, scope: { tenant: string }): Promise<TaskRecord | undefined>;
  listTasks(query: TaskListQuery): Promise<TaskPage>;
  /** Applies a patch (state, statusMessage, metadata, …) and returns the new record; NOT_FOUND when absent. */
  updateTask(
    id: string,
    scope: { tenant: string },
    patch: Partial<Pick<TaskRecord, 'state' | 'statusMessage' | 'statusTs' | 'metadata'>>,
  ): Promise<TaskRecord>;
  appendTaskArtifact(id: string, scope: { tenant: string }, artifact: unknown): Promise<void>;
  appendTaskHistory(id: string, scope: { tenant: string }, message: unknown): Promise<void>;
  /** Appends to the per-task event log and returns its `seq`. Concurrent appends get distinct seqs. */
  appendTaskEvent(taskId: string, scope: { tenant: string }, event: unknown): Promise<number>;
  loadTaskEvents(taskId: string, query: { tenant: string; afterSeq?: number; limit?: number }): Promise<TaskEventRecord[]>;
  /**
   * Claims an idempotency key (an A2A messageId) for a task. Returns the task id
   * that owns the key: `taskId` when this call won, the earlier owner otherwise.
   */
  claimIdempotencyKey(scope: { tenant: string }, key: string, taskId: string): Promise<string>;
}

export function hasTaskStore(store: StateStore): store is StateStore & TaskStore {
  return typeof (store as Partial<TaskStore>).createTask === 'function';
}

// ---------- leases ----------

export interface Lease {
  key: string;
  owner: string;
  expiresAt: number;
  /** Free-form data the owner keeps with the lease (e.g. a worker's nodes and load). */
  data?: Record<string, unknown>;
}

/**
 * Single-owner leases with TTL, for worker heartbeats and single-owner work.
 * An expired lease may be taken over by anyone.
 */
export interface LeaseStore {
  /** True when `owner` holds the lease afterwards (new, already its own and renewed, or taken over after expiry). */
  acquireLease(key: string, owner: string, ttlMs: number, data?: Record<string, unknown>): Promise<boolean>;
  /** False when the lease expired and someone else took it, or it does not exist. */
  renewLease(key: string, owner: string, ttlMs: number, data?: Record<string, unknown>): Promise<boolean>;
  releaseLease(key: string, owner: string): Promise<boolean>;
  getLease(key: string): Promise<Lease | undefined>;
  /** Live (unexpired) leases whose key starts with `prefix`. */
  listLeases(prefix: string): Promise<Lease[]>;
}

export function hasLeaseStore(store: StateStore): store is StateStore & LeaseStore {
  return typeof (store as Partial<LeaseStore>).acquireLease === 'function';
}
