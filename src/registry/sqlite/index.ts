/**
 * @module registry/sqlite — the AgentRegistry on a SQLite state store's leases
 * (one file shared by the processes of one machine).
 *
 * @example
 * const registry = createSqliteAgentRegistry({ path: './.penguiflow/state.db' });
 */
import { createSqliteStateStore, type SqliteStateStore } from '../../adapters/sqlite/index.js';
import { LeaseAgentRegistry } from '../lease/lease-agent-registry.js';

export interface SqliteAgentRegistryOptions {
  /** An open store (not closed by the registry), or a path to open one. */
  store?: SqliteStateStore;
  path?: string;
  /** Lease key prefix. Default `agent:`. */
  prefix?: string;
}

export function createSqliteAgentRegistry(options: SqliteAgentRegistryOptions): LeaseAgentRegistry {
  const owns = options.store === undefined;
  const store = options.store ?? createSqliteStateStore({ path: options.path ?? './.penguiflow/state.db' });
  return new LeaseAgentRegistry(store, { ownsStore: owns, ...(options.prefix ? { prefix: options.prefix } : {}) });
}
