/**
 * @module registry/postgres — the AgentRegistry on a PostgreSQL state store's
 * leases (expiry by the server's clock, so callers' clock skew does not matter).
 *
 * @example
 * const registry = await createPostgresAgentRegistry({ url: 'postgres://app@db/app', schema: 'penguiflow' });
 */
import { createPostgresStateStore, type PostgresStateStore } from '../../adapters/postgres/index.js';
import { LeaseAgentRegistry } from '../lease/lease-agent-registry.js';

export interface PostgresAgentRegistryOptions {
  /** An open store (not closed by the registry), or a URL (+ schema) to open one. */
  store?: PostgresStateStore;
  url?: string;
  schema?: string;
  /** Lease key prefix. Default `agent:`. */
  prefix?: string;
}

export async function createPostgresAgentRegistry(options: PostgresAgentRegistryOptions): Promise<LeaseAgentRegistry> {
  const owns = options.store === undefined;
  const store = options.store ?? (await createPostgresStateStore({ url: options.url, poolSize: 2, ...(options.schema ? { schema: options.schema } : {}) }));
  return new LeaseAgentRegistry(store, { ownsStore: owns, ...(options.prefix ? { prefix: options.prefix } : {}) });
}
