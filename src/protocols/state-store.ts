import type { FlowEvent } from '../core/events.js';

/**
 * An event as stored. `seq` is assigned by the store: strictly increasing in
 * insertion order within one store, and the tie-breaker for events with equal `ts`.
 */
export interface StoredEvent extends FlowEvent {
  seq?: number;
}

/**
 * Records which remote task serves which trace, so a cancel or a cleanup can
 * reach the remote task after the calling process restarted.
 */
export interface RemoteBinding {
  traceId: string;
  tenant: string;
  /** The local node that made the call. */
  node: string;
  agentUrl: string;
  taskId: string;
  contextId?: string;
  skill?: string;
  /** The idempotency key every attempt carried (the A2A messageId). */
  idempotencyKey?: string;
  status: 'running' | 'completed' | 'failed' | 'cancelled';
  createdAt: number;
  updatedAt: number;
}

/** `tenant: null` is an explicit, unscoped (admin) read; servers MUST pass the caller's tenant. */
export interface TenantScope {
  tenant: string | null;
}

export interface HistoryQuery extends TenantScope {
  /** Only events with `seq` greater than this. */
  afterSeq?: number;
  limit?: number;
}

export interface BindingQuery extends TenantScope {
  traceId?: string;
  taskId?: string;
  /** Only bindings still `running` whose `updatedAt` is older than `now - olderThanMs`. */
  unfinishedOlderThanMs?: number;
}

/**
 * Durable history and remote bindings. The minimum every store implements.
 *
 * Invariants:
 * - `saveEvent`/`saveEvents` MUST be idempotent on `event.id`: a duplicate is ignored, never an error.
 * - `saveEvents` MUST write the batch atomically (all or nothing) when the backend supports transactions.
 * - `loadHistory` MUST return events in ascending (`ts`, `seq`) order, scoped by tenant in the query itself.
 * - `saveRemoteBinding` MUST upsert on (`tenant`, `traceId`, `node`, `taskId`).
 */
export interface StateStore {
  saveEvent(event: FlowEvent): Promise<void>;
  saveEvents(events: readonly FlowEvent[]): Promise<void>;
  loadHistory(traceId: string, query: HistoryQuery): Promise<StoredEvent[]>;
  saveRemoteBinding(binding: RemoteBinding): Promise<void>;
  findRemoteBindings(query: BindingQuery): Promise<RemoteBinding[]>;
  /** Waits for buffered writes, if the store buffers. */
  flush?(): Promise<void>;
  close?(): Promise<void>;
}
