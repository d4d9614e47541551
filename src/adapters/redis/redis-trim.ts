import type { Redis } from 'ioredis';
import type { RedisTopicKeys } from './redis-internals.js';

/** Compares stream ids `ms-seq` numerically. */
function idLess(a: string, b: string): boolean {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am < bm || (am === bm && as < bs);
}

function field(flat: unknown[], name: string): unknown {
  for (let i = 0; i + 1 < flat.length; i += 2) if (String(flat[i]) === name) return flat[i + 1];
  return undefined;
}

/**
 * Drops stream entries every group is done with: below the lowest
 * "oldest pending, else last delivered" id over all groups (`XTRIM MINID ~`,
 * so only whole nodes go and never an unread or pending entry). A topic with no
 * group keeps everything (up to `maxLen`) for the first group to come.
 */
export async function trimConsumed(client: Redis, keys: RedisTopicKeys): Promise<void> {
  const groups = (await client.xinfo('GROUPS', keys.stream)) as unknown[][];
  if (groups.length === 0) return;
  let floor: string | undefined;
  for (const g of groups) {
    let groupFloor = String(field(g, 'last-delivered-id') ?? '0-0');
    if (Number(field(g, 'pending') ?? 0) > 0) {
      const summary = (await client.xpending(keys.stream, String(field(g, 'name')))) as [number, string | null, ...unknown[]];
      if (summary[1]) groupFloor = summary[1];
    }
    if (floor === undefined || idLess(groupFloor, floor)) floor = groupFloor;
  }
  if (floor === undefined || floor === '0-0') return;
  await client.xtrim(keys.stream, 'MINID', '~', floor);
}

/** Renews this process's ephemeral group and destroys ephemeral groups whose process stopped renewing. */
export async function renewEphemeral(client: Redis, keys: RedisTopicKeys, group: string, ttlMs: number): Promise<void> {
  await client.hset(keys.ephemeral, group, String(Date.now() + ttlMs));
}

export async function sweepEphemeral(client: Redis, keys: RedisTopicKeys): Promise<void> {
  const all = await client.hgetall(keys.ephemeral);
  const now = Date.now();
  for (const [group, expiresAt] of Object.entries(all)) {
    if (Number(expiresAt) >= now) continue;
    const pipeline = client.pipeline();
    pipeline.xgroup('DESTROY', keys.stream, group);
    pipeline.del(keys.retry(group), keys.delayed(group), keys.leases(group));
    pipeline.hdel(keys.ephemeral, group);
    await pipeline.exec();
  }
}
