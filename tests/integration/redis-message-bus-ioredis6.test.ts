/**
 * The conformance suite again, on a bus built on an ioredis 6 client (what
 * `npm i ioredis` installs today: RESP3 by default, so XREADGROUP through
 * `callBuffer` answers `[key, entries, …]` instead of `[[key, entries], …]`).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Redis as Redis6 } from 'ioredis6';
import { expect, it } from 'vitest';
import { createRedisMessageBus, type RedisMessageBus } from '../../src/adapters/redis/index.js';
import { describeMessageBus } from '../../src/testing/message-bus-suite.js';
import { serviceUrl } from '../helpers/services.js';

const url = await serviceUrl('redis');

function client6(): Redis {
  const client = new Redis6(url!, { maxRetriesPerRequest: null });
  client.on('error', () => {});
  return client as unknown as Redis;
}

async function purge(bus: RedisMessageBus): Promise<void> {
  const client = client6();
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${bus.prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== '0');
  client.disconnect();
}

const open = (prefix: string) => createRedisMessageBus({ client: client6(), prefix, blockMs: 500 });

describeMessageBus<RedisMessageBus>({
  name: 'Redis Streams on ioredis 6',
  skip: url ? false : 'Redis is not reachable',
  create: () => open(`pft6-${randomBytes(4).toString('hex')}`),
  connect: (bus) => open(bus.prefix),
  destroy: async (bus) => {
    bus.client.disconnect(); // a given client is the caller's to close
    await purge(bus);
  },
  capabilities: {
    crash: (bus) => bus.simulateCrash(),
    rawPublish: (bus, topic, bytes) => bus.publishRaw(topic, bytes),
    orderedPerKey: true,
    retainsBeforeGroup: true,
    leaseMs: 400,
  },
  additionalTests: (ctx) => {
    it('the client really is ioredis 6 speaking RESP3 (the reply shape the parser must accept)', async () => {
      const bus = ctx.bus();
      const { stream } = bus.keys(ctx.topic());
      await bus.client.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
      await bus.client.xadd(stream, '*', 'd', 'x');
      const reply = (await bus.client.callBuffer('XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', stream, '>')) as unknown[];
      expect(Buffer.isBuffer(reply[0])).toBe(true); // [key, entries], not [[key, entries]]
      expect(reply.length).toBe(2);
    });
  },
});
