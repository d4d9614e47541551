import { InvalidOptionsError } from '../errors/index.js';
import type { StateStore } from '../protocols/state-store.js';

/** Where `npm start` and the CLI keep history unless told otherwise. */
export const DEFAULT_STORE_URL = 'sqlite:./.penguiflow/state.db';

/**
 * Opens a StateStore from a URL. The adapter is imported on demand, so a
 * SQLite user needs no `pg` and a memory user needs neither driver.
 *
 * - `sqlite:<path>` (`sqlite:` alone is `./.penguiflow/state.db`; the folder is created);
 *   query `?durability=sync` for fsync per batch, `?writer=worker` to write events on a worker thread.
 * - `memory:` — in process, nothing survives.
 * - `postgres://user:pw@host:port/db?schema=penguiflow` (also `postgresql://`).
 *
 * @example
 * const store = await openStateStore(process.env.PENGUIFLOW_STORE ?? DEFAULT_STORE_URL);
 */
export async function openStateStore(url: string): Promise<StateStore> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'memory': {
      const { InMemoryStateStore } = await import('./memory/memory-state-store.js');
      return new InMemoryStateStore();
    }
    case 'sqlite': {
      const { path, params } = parseSqliteUrl(url);
      const durability = params.get('durability');
      if (durability !== null && durability !== 'sync' && durability !== 'batched') {
        throw new InvalidOptionsError(`Unknown durability ${JSON.stringify(durability)} in store URL (use sync or batched)`);
      }
      const writer = params.get('writer');
      if (writer !== null && writer !== 'worker' && writer !== 'inline') {
        throw new InvalidOptionsError(`Unknown writer ${JSON.stringify(writer)} in store URL (use inline or worker)`);
      }
      const { createSqliteStateStore } = await import('./sqlite/index.js');
      return createSqliteStateStore({ path, durability: durability ?? 'batched', writer: writer ?? 'inline' });
    }
    case 'postgres':
    case 'postgresql': {
      const u = new URL(url);
      const schema = u.searchParams.get('schema') ?? undefined;
      const durability = u.searchParams.get('durability');
      u.searchParams.delete('schema');
      u.searchParams.delete('durability');
      const { createPostgresStateStore } = await import('./postgres/index.js');
      return createPostgresStateStore({
        url: u.toString(),
        ...(schema ? { schema } : {}),
        ...(durability === 'sync' ? { durability: 'sync' as const } : {}),
      });
    }
    case undefined:
    default:
      throw new InvalidOptionsError(`Unknown store URL ${JSON.stringify(redactStoreUrl(url))}: use sqlite:<path>, memory: or postgres://…`);
  }
}

/** `sqlite:./a.db`, `sqlite:/abs/a.db`, `sqlite:///abs/a.db`, `sqlite://./a.db`, with an optional `?query`. */
export function parseSqliteUrl(url: string): { path: string; params: URLSearchParams } {
  const rest = url.slice(url.indexOf(':') + 1);
  const [rawPath = '', query = ''] = rest.split('?', 2);
  let path = rawPath.startsWith('//') ? rawPath.slice(2) : rawPath;
  path = decodeURIComponent(path);
  return { path: path === '' ? './.penguiflow/state.db' : path, params: new URLSearchParams(query) };
}

/** The URL with any password replaced by `***`, safe to print. */
export function redactStoreUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@?#]*):[^@/?#]*@/i, '$1:***@');
}
