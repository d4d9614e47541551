/*
 * AgentRegistry: where A2A agent instances announce themselves and where
 * callers find live ones. Interfaces only, no I/O.
 */

/** What an instance announces when it registers. */
export interface AgentInstance {
  /** Unique per running instance (e.g. `<name>-<host>-<pid>-<random>`); the key of its entry. */
  id: string;
  /** The agent's name (usually its card's `name`); `agent://<name>` resolves to these instances. */
  name: string;
  /** Base URL of the instance (its card is at `<url>/.well-known/agent-card.json`). http or https. */
  url: string;
  /** Skill ids it serves; `skill://<id>` resolves to these instances. */
  skills: string[];
  /** The agent card as JSON (what `/.well-known/agent-card.json` serves). */
  card: Record<string, unknown>;
  /** How many calls it runs at once before it queues; least-loaded and load shedding divide by it. */
  capacity: number;
  /** Expected time between heartbeats; callers mark an instance down after missing them. */
  heartbeatMs: number;
  /** Free-form labels (e.g. `{ tier: 0, zone: 'a' }`); priority tiers read `tier`. */
  labels?: Record<string, string | number | boolean>;
}

/** Load reported in each heartbeat. */
export interface AgentLoad {
  /** Calls running now. */
  inflight: number;
  /** Calls waiting to run. */
  queueDepth: number;
}

/** An entry as read back: the announcement plus its liveness. */
export interface LiveAgentInstance extends AgentInstance {
  load: AgentLoad;
  /** Epoch ms of the last heartbeat (the writer's clock; compare `heartbeatSeq` changes, not clocks). */
  heartbeatAt: number;
  /** Increases by one at every heartbeat. */
  heartbeatSeq: number;
  /** Epoch ms of the registration. */
  registeredAt: number;
  ttlMs: number;
}

export interface AgentQuery {
  name?: string;
  skill?: string;
}

/** One change seen by `watch`. `updated` is a heartbeat (new load or seq). */
export interface AgentRegistryChange {
  type: 'added' | 'updated' | 'removed';
  instance: LiveAgentInstance;
}

export interface AgentWatchOptions {
  signal?: AbortSignal;
  /** For polling adapters: how often to look. Default 250 ms. */
  intervalMs?: number;
}

/**
 * Live agent instances with heartbeats and a TTL.
 *
 * - `register` MUST make the entry visible to `list` on return, and replace an
 *   earlier entry with the same id. The entry lives `ttlMs` unless a heartbeat renews it.
 * - `heartbeat` MUST renew the TTL, store the load and increase `heartbeatSeq`;
 *   it returns false when the entry is gone (expired or deregistered), and the
 *   instance SHOULD then register again.
 * - `deregister` MUST remove the entry at once; unknown ids are not an error.
 * - `list` MUST NOT return entries past their TTL. Entries are returned as
 *   stored: a reader MUST validate them (`checkAgentInstance`) before use, so
 *   a malformed entry written by someone else is skipped, never chosen.
 * - `watch` yields batches of changes until `signal` aborts; the first batch
 *   holds every live entry as `added`. Expiry shows as `removed`.
 */
export interface AgentRegistry {
  register(instance: AgentInstance, ttlMs: number): Promise<void>;
  heartbeat(id: string, load: AgentLoad): Promise<boolean>;
  deregister(id: string): Promise<void>;
  list(query?: AgentQuery): Promise<LiveAgentInstance[]>;
  watch(query?: AgentQuery, options?: AgentWatchOptions): AsyncIterable<AgentRegistryChange[]>;
  close?(): Promise<void>;
}
