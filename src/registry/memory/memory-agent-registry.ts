/** The in-process reference AgentRegistry (tests, one-process setups). */
import type { AgentInstance, AgentLoad, AgentQuery, AgentRegistry, AgentRegistryChange, AgentWatchOptions, LiveAgentInstance } from '../../protocols/agent-registry.js';
import { assertAgentInstance, matchesQuery } from '../validate.js';
import { pollWatch } from '../watch.js';

export interface MemoryAgentRegistryOptions {
  /** Clock in epoch ms (tests move it). Default Date.now. */
  now?: () => number;
}

interface Entry {
  value: LiveAgentInstance;
  expiresAt: number;
}

/**
 * Entries in a Map with an expiry per entry; `watch` polls.
 *
 * @example
 * const registry = new MemoryAgentRegistry();
 * await registry.register({ id: 'r1', name: 'researcher', url: 'http://127.0.0.1:8081', skills: [], card: { name: 'researcher' }, capacity: 8, heartbeatMs: 1000 }, 3000);
 */
export class MemoryAgentRegistry implements AgentRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(options: MemoryAgentRegistryOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  async register(instance: AgentInstance, ttlMs: number): Promise<void> {
    assertAgentInstance(instance);
    const now = this.now();
    const value: LiveAgentInstance = { ...structuredClone(instance), load: { inflight: 0, queueDepth: 0 }, heartbeatAt: now, heartbeatSeq: 0, registeredAt: now, ttlMs };
    this.entries.set(instance.id, { value, expiresAt: now + ttlMs });
  }

  /** Writes an entry as is, bypassing validation (tests of malformed entries). */
  putRaw(id: string, value: unknown, ttlMs: number): void {
    this.entries.set(id, { value: value as LiveAgentInstance, expiresAt: this.now() + ttlMs });
  }

  async heartbeat(id: string, load: AgentLoad): Promise<boolean> {
    const entry = this.live(id);
    if (!entry) return false;
    const now = this.now();
    entry.value = { ...entry.value, load: { inflight: load.inflight, queueDepth: load.queueDepth }, heartbeatAt: now, heartbeatSeq: entry.value.heartbeatSeq + 1 };
    entry.expiresAt = now + entry.value.ttlMs;
    return true;
  }

  async deregister(id: string): Promise<void> {
    this.entries.delete(id);
  }

  async list(query?: AgentQuery): Promise<LiveAgentInstance[]> {
    const out: LiveAgentInstance[] = [];
    for (const id of [...this.entries.keys()].sort()) {
      const entry = this.live(id);
      if (entry && matchesQuery(entry.value, query)) out.push(structuredClone(entry.value));
    }
    return out;
  }

  watch(query?: AgentQuery, options?: AgentWatchOptions): AsyncIterable<AgentRegistryChange[]> {
    return pollWatch((q) => this.list(q), query, options);
  }

  async close(): Promise<void> {
    this.entries.clear();
  }

  private live(id: string): Entry | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(id);
      return undefined;
    }
    return entry;
  }
}
