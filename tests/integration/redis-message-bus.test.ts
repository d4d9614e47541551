import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { expect, it, vi } from 'vitest';
import { createRedisMessageBus, type RedisMessageBus } from '../../src/adapters/redis/index.js';
import { isPenguiflowError } from '../../src/errors/index.js';
import { describeMessageBus } from '../../src/testing/message-bus-suite.js';
import { serviceUrl } from '../helpers/services.js';

const url = await serviceUrl('redis');

async function purge(prefix: string): Promise<void> {
  const client = new Redis(url!, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== '0');
  client.disconnect();
}

describeMessageBus<RedisMessageBus>({
  name: 'Redis Streams',
  skip: url ? false : 'Redis is not reachable',
  create: () => createRedisMessageBus({ url: url!, prefix: `pft-${randomBytes(4).toString('hex')}`, blockMs: 500 }),
  // a second process on the same Redis and prefix
  connect: (bus) => createRedisMessageBus({ url: url!, prefix: bus.prefix, blockMs: 500 }),
  destroy: (bus) => purge(bus.prefix),
  capabilities: {
    crash: (bus) => bus.simulateCrash(),
    rawPublish: (bus, topic, bytes) => bus.publishRaw(topic, bytes),
    orderedPerKey: true,
    retainsBeforeGroup: true,
    leaseMs: 400,
  },
  additionalTests: (ctx) => {
    it('reclaims what a dead consumer read and never acked (by the lease of the consumer that held it)', async () => {
      const bus = ctx.bus();
      const topic = ctx.topic();
      const group = ctx.group();
      const { stream } = bus.keys(topic);
      const envelope = ctx.envelope(topic);
      await bus.client.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
      await bus.publish(envelope);
      // a consumer in another process reads the entry, then dies (never acks)
      const read = (await bus.client.xreadgroup('GROUP', group, 'ghost', 'COUNT', 1, 'STREAMS', stream, '>'));
      expect(read).toHaveLength(1);
      const got: { id: string; count: number; at: number }[] = [];
      const start = Date.now();
      const sub = await bus.consume(topic, group, async (d) => void got.push({ id: d.envelope.id, count: d.deliveryCount, at: Date.now() }), {
        leaseMs: 300,
        consumer: 'survivor',
      });
      await ctx.waitFor(() => got.length === 1, 10_000, 'the reclaimed entry');
      expect(got[0]).toMatchObject({ id: envelope.id, count: 2 });
      expect(got[0]!.at - start).toBeGreaterThanOrEqual(200);
      await sub.close();
      const pending = (await bus.client.xpending(stream, group)) as [number, ...unknown[]];
      expect(pending[0]).toBe(0);
    });

    it('sends the publishes of one tick in one pipeline', async () => {
      const bus = ctx.bus();
      const topic = ctx.topic();
      const spy = vi.spyOn(bus.client, 'pipeline');
      await Promise.all(Array.from({ length: 200 }, (_, n) => bus.publish(ctx.envelope(topic, { n }))));
      expect(spy).toHaveBeenCalledTimes(1);
      spy.mockRestore();
      expect(await bus.client.xlen(bus.keys(topic).stream)).toBe(200);
    });

    it('a topic at maxLen refuses publishes with QUEUE_FULL instead of trimming unread work; onNearLimit warns first', async () => {
      const prefix = `pft-${randomBytes(4).toString('hex')}`;
      const warnings: { topic: string; length: number; maxLen: number }[] = [];
      const small = await createRedisMessageBus({ url: url!, prefix, maxLen: 100, onNearLimit: (w) => void warnings.push(w) });
      try {
        const topic = ctx.topic();
        const results = await Promise.allSettled(Array.from({ length: 150 }, (_, n) => small.publish(ctx.envelope(topic, { n }))));
        expect(results.filter((r) => r.status === 'fulfilled').length).toBe(100);
        const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(refused.length).toBe(50);
        for (const r of refused) expect(isPenguiflowError(r.reason, 'QUEUE_FULL')).toBe(true);
        expect(String((refused[0]!.reason as Error).message)).toContain('maxLen 100');
        expect(await small.client.xlen(small.keys(topic).stream)).toBe(100);
        expect(warnings).toEqual([{ topic, length: 80, maxLen: 100 }]);
        // every one of the 100 accepted entries is still there for the group that comes
        const got = new Set<number>();
        await small.consume(topic, 'late', async (d) => void got.add((d.envelope.message.payload as { n: number }).n), { concurrency: 10 });
        await ctx.waitFor(() => got.size === 100, 10_000, 'the 100 accepted entries');
        expect([...got].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, n) => n));
      } finally {
        await small.close();
        await purge(prefix);
      }
    });

    it('keeps consuming after its connections are killed (ioredis reconnects)', async () => {
      const bus = ctx.bus();
      const topic = ctx.topic();
      const got: string[] = [];
      await bus.consume(topic, ctx.group(), async (d) => void got.push(d.envelope.id));
      const first = ctx.envelope(topic);
      await bus.publish(first);
      await ctx.waitFor(() => got.length === 1, 10_000, 'the first delivery');
      const admin = new Redis(url!);
      const list = await admin.client('LIST');
      const ids = String(list)
        .split('\n')
        .filter((line) => line.includes(`name=penguiflow:${bus.prefix} `))
        .map((line) => /id=(\d+)/.exec(line)![1]!);
      expect(ids.length).toBeGreaterThanOrEqual(2);
      for (const id of ids) await admin.client('KILL', 'ID', id);
      admin.disconnect();
      const second = ctx.envelope(topic);
      await bus.publish(second);
      await ctx.waitFor(() => got.includes(second.id), 15_000, 'the delivery after reconnect');
    });

    it('an ephemeral group is created at the stream end and destroyed on close', async () => {
      const bus = ctx.bus();
      const topic = ctx.topic();
      const group = ctx.group();
      const sub = await bus.consume(topic, group, async () => {}, { ephemeral: true });
      const groups = async () => ((await bus.client.xinfo('GROUPS', bus.keys(topic).stream)) as unknown[][]).map((g) => String(g[1]));
      expect(await groups()).toContain(group);
      await sub.close();
      expect(await groups()).not.toContain(group);
      expect(await bus.client.exists(bus.keys(topic).retry(group))).toBe(0);
    });

    it('trims entries every group has acked, never unread ones', async () => {
      const prefix = `pft-${randomBytes(4).toString('hex')}`;
      const bus2 = await createRedisMessageBus({ url: url!, prefix, housekeepingMs: 100 });
      try {
        const topic = ctx.topic();
        const { stream } = bus2.keys(topic);
        let fast = 0;
        await bus2.consume(topic, 'fast', async () => void fast++, { concurrency: 20 });
        await Promise.all(Array.from({ length: 1_500 }, (_, n) => bus2.publish(ctx.envelope(topic, { n }))));
        await ctx.waitFor(() => fast === 1_500, 20_000, 'all deliveries');
        await ctx.waitFor(async () => (await bus2.client.xlen(stream)) < 1_500, 5_000, 'the trim');
        // a second group that has read nothing pins everything still in the stream
        await bus2.client.xgroup('CREATE', stream, 'slow', '$');
        await Promise.all(Array.from({ length: 300 }, (_, n) => bus2.publish(ctx.envelope(topic, { n }))));
        await ctx.waitFor(() => fast === 1_800, 20_000, 'the new deliveries');
        await new Promise((r) => setTimeout(r, 400));
        const slow: unknown[] = [];
        await bus2.consume(topic, 'slow', async (d) => void slow.push(d), { concurrency: 20 });
        await ctx.waitFor(() => slow.length === 300, 10_000, 'the slow group to get every unread entry');
      } finally {
        await bus2.close();
        await purge(prefix);
      }
    });

    it('failFast: an unreachable Redis gives one clear BusUnavailableError naming host:port, not the password', async () => {
      const start = Date.now();
      const error = await createRedisMessageBus({ url: 'redis://:s3cret@127.0.0.1:1', connectTimeoutMs: 2_000, failFast: true }).catch((e: unknown) => e);
      expect(Date.now() - start).toBeLessThan(5_000);
      expect(isPenguiflowError(error, 'BUS_UNAVAILABLE')).toBe(true);
      expect((error as Error).message).toContain('127.0.0.1:1');
      expect(JSON.stringify(error) + String((error as Error).message)).not.toContain('s3cret');
    });
  },
});
