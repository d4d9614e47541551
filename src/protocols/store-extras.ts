import type { StateStore } from './state-store.js';
import type { FlowEvent, TraceStatus } from '../core/events.js';

/*
 * More optional StateStore capabilities (issue 3): planner pause/resume state,
 * memory state per session, binary artifacts, a steering inbox per session,
 * plus the durability and rejection counters a store reports to the recorder.
 * Each is a small interface with a type guard, like store-capabilities.ts.
 * Every read MUST be scoped by tenant inside the query itself.
 */

/** Scope of a per-tenant read or write. Unlike `TenantScope`, there is no admin (`null`) form here. */
export interface TenantOnly {
  tenant: string;
}

// ---------- durability and counters ----------

/**
 * How much a store can lose on a crash.
 * - `batched`: a committed batch survives a process crash; the last batches may be lost on power loss / OS crash.
 * - `sync`: every acknowledged write is on stable storage (fsync per commit). The recorder awaits each write.
 */
export type Durability = 'batched' | 'sync';

export interface StoreStats {
  /** Events written (duplicates ignored on their id are not counted). */
  written: number;
  /** Events rejected, e.g. over `maxEventBytes`. */
  rejected: number;
}

/**
 * A store that reports its durability mode and counters. A store without it is
 * treated as `batched`.
 */
export interface StoreInfo {
  readonly durability: Durability;
  readonly stats: Readonly<StoreStats>;
  /** Largest accepted serialized event (bytes of JSON); larger events get PAYLOAD_TOO_LARGE. */
  readonly maxEventBytes?: number;
}

export function hasStoreInfo(store: StateStore): store is StateStore & StoreInfo {
  const s = store as Partial<StoreInfo>;
  return (s.durability === 'batched' || s.durability === 'sync') && typeof s.stats === 'object';
}

/** The store's durability, `batched` when it does not say. */
export function storeDurability(store: StateStore): Durability {
  return hasStoreInfo(store) ? store.durability : 'batched';
}

/**
 * The status an event implies for its trace and how strongly it says so
 * (higher rank wins): `trace_complete` (its `extra.status`) > `trace_cancel_finish`
 * (cancelled) > `node_failed` (failed) > anything else (running).
 * Stores keep the highest-ranked status seen as the trace's status.
 */
export function traceStatusOf(event: Pick<FlowEvent, 'type' | 'extra'>): { status: TraceStatus; rank: number } {
  if (event.type === 'trace_complete') {
    const s = event.extra?.status;
    const status: TraceStatus = s === 'failed' || s === 'cancelled' ? s : 'succeeded';
    return { status, rank: 3 };
  }
  if (event.type === 'trace_cancel_finish') return { status: 'cancelled', rank: 2 };
  if (event.type === 'node_failed') return { status: 'failed', rank: 1 };
  return { status: 'running', rank: 0 };
}

// ---------- planner pause / resume ----------

/**
 * State a planner saves when it pauses (e.g. waiting for a human) and loads
 * once when it resumes.
 * - `savePlannerState` MUST overwrite an earlier state under the same token.
 * - `consumePlannerState` MUST return the state at most once: concurrent
 *   consumers of one token get it in exactly one call, `undefined` in the others.
 */
export interface PlannerStateStore {
  savePlannerState(token: string, scope: TenantOnly, state: unknown): Promise<void>;
  consumePlannerState(token: string, scope: TenantOnly): Promise<unknown>;
}

export function hasPlannerStateStore(store: StateStore): store is StateStore & PlannerStateStore {
  return typeof (store as Partial<PlannerStateStore>).consumePlannerState === 'function';
}

// ---------- memory state per session ----------

/** A session's memory (conversation summary, facts, …) as one JSON value; last write wins. */
export interface SessionMemoryStore {
  saveMemoryState(sessionId: string, scope: TenantOnly, state: unknown): Promise<void>;
  loadMemoryState(sessionId: string, scope: TenantOnly): Promise<unknown>;
}

export function hasSessionMemoryStore(store: StateStore): store is StateStore & SessionMemoryStore {
  return typeof (store as Partial<SessionMemoryStore>).loadMemoryState === 'function';
}

// ---------- artifacts ----------

export interface ArtifactInput {
  data: Uint8Array;
  mimeType?: string;
  name?: string;
}

export interface ArtifactRef {
  /** Content address: the lower-case hex sha-256 of `data`. Equal content in one tenant is stored once. */
  id: string;
  tenant: string;
  sha256: string;
  /** Bytes. */
  size: number;
  mimeType?: string;
  name?: string;
  createdAt: number;
}

export interface Artifact extends ArtifactRef {
  data: Uint8Array;
}

/**
 * Binary artifacts, content-addressed per tenant.
 * - `putArtifact` MUST reject data over `maxArtifactBytes` with PAYLOAD_TOO_LARGE and store nothing.
 * - Putting equal content twice MUST return the same id (the first ref's name and type are kept).
 */
export interface ArtifactStore {
  readonly maxArtifactBytes: number;
  putArtifact(scope: TenantOnly, input: ArtifactInput): Promise<ArtifactRef>;
  getArtifact(id: string, scope: TenantOnly): Promise<Artifact | undefined>;
  /** True when something was deleted. */
  deleteArtifact(id: string, scope: TenantOnly): Promise<boolean>;
}

export function hasArtifactStore(store: StateStore): store is StateStore & ArtifactStore {
  return typeof (store as Partial<ArtifactStore>).putArtifact === 'function';
}

// ---------- steering inbox ----------

/**
 * Messages sent to a running session (steer, pause, add context) that the
 * session drains at its next step.
 * - `drainSteering` MUST return messages in push order and remove exactly
 *   those it returns; a message is returned by one drain only.
 */
export interface SteeringInbox {
  pushSteering(sessionId: string, scope: TenantOnly, message: unknown): Promise<void>;
  drainSteering(sessionId: string, scope: TenantOnly): Promise<unknown[]>;
}

export function hasSteeringInbox(store: StateStore): store is StateStore & SteeringInbox {
  return typeof (store as Partial<SteeringInbox>).drainSteering === 'function';
}
