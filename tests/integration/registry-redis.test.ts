import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisAgentRegistry, type RedisAgentRegistry } from '../../src/registry/redis/index.js';
import { describeAgentRegistry } from '../../src/testing/index.js';
import { serviceUrl } from '../helpers/services.js';

const url = await serviceUrl('redis');
const prefix = `pf-reg-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

afterAll(async () => {
  if (!url) return;
  const r = new Redis(url);
  const keys = await r.keys(`${prefix}:*`);
  if (keys.length > 0) await r.del(...keys);
  await r.quit();
});

describeAgentRegistry<RedisAgentRegistry>({
  name: 'RedisAgentRegistry',
  skip: url ? undefined : 'redis is not reachable (see tests/helpers/services.ts)',
  create: () => createRedisAgentRegistry({ url: url!, prefix }),
  writeRaw: (r, id, json, ttl) => r.putRaw(id, json, ttl),
});

describe.skipIf(!url)('RedisAgentRegistry specifics', () => {
  it('lets the key expire in Redis itself (no reader needed) and prunes the id set on the next list', async () => {
    const registry = await createRedisAgentRegistry({ url: url!, prefix });
    const r = new Redis(url!);
    try {
      await registry.register({ id: 'exp-1', name: 'exp', url: 'http://127.0.0.1:9/', skills: [], card: { name: 'exp' }, capacity: 1, heartbeatMs: 50 }, 150);
      expect(await r.pttl(`${prefix}:agent:exp-1`)).toBeGreaterThan(0);
      await new Promise((res) => setTimeout(res, 300));
      expect(await r.exists(`${prefix}:agent:exp-1`)).toBe(0);
      expect(await registry.list({ name: 'exp' })).toEqual([]);
      expect(await r.sismember(`${prefix}:agents`, 'exp-1')).toBe(0);
    } finally {
      await r.quit();
      await registry.close();
    }
  });
});
