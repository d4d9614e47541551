/** Opens an AgentRegistry from a URL; the driver is imported on demand. */
import { InvalidOptionsError } from '../errors/index.js';
import type { AgentRegistry } from '../protocols/agent-registry.js';

/**
 * - `redis://host:port[/db]?prefix=pf`
 * - `postgres://user@host/db?schema=penguiflow` (also `postgresql://`)
 * - `sqlite:<path>`
 * - `memory:` (this process only)
 *
 * @example
 * const registry = await openAgentRegistry(process.env.PENGUIFLOW_REGISTRY ?? 'redis://127.0.0.1:6379');
 */
export async function openAgentRegistry(url: string): Promise<AgentRegistry> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'memory': {
      const { MemoryAgentRegistry } = await import('./memory/memory-agent-registry.js');
      return new MemoryAgentRegistry();
    }
    case 'redis':
    case 'rediss': {
      const u = new URL(url);
      const prefix = u.searchParams.get('prefix') ?? undefined;
      u.searchParams.delete('prefix');
      const { createRedisAgentRegistry } = await import('./redis/index.js');
      return createRedisAgentRegistry({ url: u.toString(), ...(prefix ? { prefix } : {}) });
    }
    case 'postgres':
    case 'postgresql': {
      const u = new URL(url);
      const schema = u.searchParams.get('schema') ?? undefined;
      u.searchParams.delete('schema');
      const { createPostgresAgentRegistry } = await import('./postgres/index.js');
      return createPostgresAgentRegistry({ url: u.toString(), ...(schema ? { schema } : {}) });
    }
    case 'sqlite': {
      const { parseSqliteUrl } = await import('../adapters/store-url.js');
      const { createSqliteAgentRegistry } = await import('./sqlite/index.js');
      return createSqliteAgentRegistry({ path: parseSqliteUrl(url).path });
    }
    case undefined:
    default:
      throw new InvalidOptionsError(`Unknown registry URL scheme ${JSON.stringify(scheme ?? '')}: use redis://, postgres://, sqlite: or memory:`);
  }
}
