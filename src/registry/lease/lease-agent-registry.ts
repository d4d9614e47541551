/**
 * An AgentRegistry on any StateStore with the LeaseStore capability (SQLite,
 * Postgres, memory): one lease per instance, key `<prefix><id>`, owner = id,
 * the entry in the lease's data. The lease's TTL is the entry's TTL and the
 * store's clock decides expiry (Postgres: the server's clock).
 */
import type { AgentInstance, AgentLoad, AgentQuery, AgentRegistry, AgentRegistryChange, AgentWatchOptions, LiveAgentInstance } from '../../protocols/agent-registry.js';
import type { LeaseStore } from '../../protocols/store-capabilities.js';
import { assertAgentInstance, matchesQuery } from '../validate.js';
import { pollWatch } from '../watch.js';

export interface LeaseAgentRegistryOptions {
  /** Key prefix of the leases. Default `agent:`. */
  prefix?: string;
  /** Closes the store on `close()` (when the registry opened it). Default false. */
  ownsStore?: boolean;
}

/**
 * @example
 * const store = createSqliteStateStore({ path: './state.db' });
 * const registry = new LeaseAgentRegistry(store);
 */
export class LeaseAgentRegistry implements AgentRegistry {
  private readonly prefix: string;

  constructor(
    readonly store: LeaseStore & { close?(): Promise<void> | void },
    private readonly options: LeaseAgentRegistryOptions = {},
  ) {
    this.prefix = options.prefix ?? 'agent:';
  }

  async register(instance: AgentInstance, ttlMs: number): Promise<void> {
    assertAgentInstance(instance);
    const now = Date.now();
    const value: LiveAgentInstance = { ...instance, load: { inflight: 0, queueDepth: 0 }, heartbeatAt: now, heartbeatSeq: 0, registeredAt: now, ttlMs };
    const key = this.prefix + instance.id;
    // Same id again (a restart): drop the old entry first so the new one owns the key.
    await this.store.releaseLease(key, instance.id);
    await this.store.acquireLease(key, instance.id, ttlMs, value as unknown as Record<string, unknown>);
  }

  async heartbeat(id: string, load: AgentLoad): Promise<boolean> {
    const key = this.prefix + id;
    const lease = await this.store.getLease(key);
    if (!lease || lease.owner !== id || !lease.data) return false;
    const old = lease.data as unknown as LiveAgentInstance;
    const value: LiveAgentInstance = { ...old, load: { inflight: load.inflight, queueDepth: load.queueDepth }, heartbeatAt: Date.now(), heartbeatSeq: (old.heartbeatSeq ?? 0) + 1 };
    return this.store.renewLease(key, id, old.ttlMs, value as unknown as Record<string, unknown>);
  }

  async deregister(id: string): Promise<void> {
    await this.store.releaseLease(this.prefix + id, id);
  }

  async list(query?: AgentQuery): Promise<LiveAgentInstance[]> {
    const leases = await this.store.listLeases(this.prefix);
    return leases
      .map((l) => ({ ...(l.data ?? { malformed: true }), id: l.key.slice(this.prefix.length) }) as unknown as LiveAgentInstance)
      .filter((e) => matchesQuery(e, query));
  }

  watch(query?: AgentQuery, options?: AgentWatchOptions): AsyncIterable<AgentRegistryChange[]> {
    return pollWatch((q) => this.list(q), query, options);
  }

  async close(): Promise<void> {
    if (this.options.ownsStore) await this.store.close?.();
  }
}
