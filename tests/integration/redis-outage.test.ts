/**
 * Redis outages, against a Redis server each test starts itself (never the
 * shared one): down at start, stopped, paused, restarted with and without
 * persistence.
 */
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createRedisMessageBus, type RedisMessageBus } from '../../src/adapters/redis/index.js';
import { InMemoryStateStore } from '../../src/adapters/memory/memory-state-store.js';
import { createFlow } from '../../src/core/flow.js';
import { message, type Message } from '../../src/core/message.js';
import { node } from '../../src/core/node.js';
import { runWorker } from '../../src/distributed/worker.js';
import { isPenguiflowError } from '../../src/errors/index.js';
import type { BusEnvelope, Delivery } from '../../src/protocols/message-bus.js';
import { startOwnRedis, type OwnRedis } from '../helpers/own-redis.js';

const hasRedisServer = (() => {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error('redis-server is required under CI=true');
    console.warn('\n!!! redis-server is not installed: the Redis outage tests are SKIPPED.\n');
    return false;
  }
})();

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await pause(20);
  }
}

let seq = 0;
function envelope(topic: string, payload: unknown = { n: 0 }): BusEnvelope {
  return { id: `e-${Date.now().toString(36)}-${seq++}`, topic, message: message(payload, { tenant: 't' }) };
}

describe.skipIf(!hasRedisServer)('Redis outages (own redis-server)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  async function own(options?: Parameters<typeof startOwnRedis>[0]): Promise<OwnRedis> {
    const redis = await startOwnRedis(options);
    cleanups.push(() => redis.stop());
    return redis;
  }

  async function bus(url: string, options: Parameters<typeof createRedisMessageBus>[0] = {}): Promise<RedisMessageBus> {
    const b = await createRedisMessageBus({ url, blockMs: 200, connectTimeoutMs: 1_000, commandTimeoutMs: 2_000, ...options });
    cleanups.push(() => b.close());
    return b;
  }

  it('a bus created while Redis is down: consume and publish fail with BUS_UNAVAILABLE within their bounds, then work once it is up', async () => {
    const redis = await own({ started: false });
    const start = Date.now();
    const b = await bus(redis.url);
    expect(Date.now() - start).toBeLessThan(3_000); // waited connectTimeoutMs (1 s), did not throw
    const t0 = Date.now();
    const consumeError = await b.consume('t', 'g', async () => {}).catch((e: unknown) => e);
    expect(isPenguiflowError(consumeError, 'BUS_UNAVAILABLE')).toBe(true);
    expect(Date.now() - t0).toBeLessThan(3_000);
    const t1 = Date.now();
    const publishError = await b.publish(envelope('t')).catch((e: unknown) => e);
    expect(isPenguiflowError(publishError, 'BUS_UNAVAILABLE')).toBe(true);
    expect(Date.now() - t1).toBeLessThan(4_000);
    await redis.start();
    const got: string[] = [];
    await waitFor(async () => (await b.consume('t', 'g', async (d) => void got.push(d.envelope.id)).then(() => true, () => false)), 10_000, 'consume');
    const e = envelope('t');
    await b.publish(e);
    await waitFor(() => got.length === 1, 10_000, 'the delivery');
    expect(got).toEqual([e.id]); // the publish that failed during the outage never arrives
    await pause(500);
    expect(got).toEqual([e.id]);
  });

  it('a publish that timed out while Redis was stopped is refused by Redis when the driver sends it after reconnecting', async () => {
    const redis = await own();
    const b = await bus(redis.url, { commandTimeoutMs: 1_000 });
    await b.publish(envelope('late')); // clock offset measured, connection up
    await redis.halt();
    const t0 = Date.now();
    const error = await b.publish(envelope('late', { n: 1 })).catch((e: unknown) => e);
    expect(isPenguiflowError(error, 'BUS_UNAVAILABLE')).toBe(true);
    expect(Date.now() - t0).toBeLessThan(2_500);
    await redis.start(); // ioredis reconnects and flushes its offline queue, our late publish included
    const admin = new Redis(redis.url);
    cleanups.push(async () => admin.disconnect());
    await waitFor(() => b.client.status === 'ready', 10_000, 'the reconnect');
    await pause(500);
    expect(await admin.xlen(b.keys('late').stream)).toBe(1); // only the first one
  });

  it('a publish written to a paused Redis (connection open, no answer) times out and is refused when Redis resumes', async () => {
    const redis = await own();
    const b = await bus(redis.url, { commandTimeoutMs: 1_000 });
    await b.publish(envelope('paused'));
    redis.pause();
    const error = await b.publish(envelope('paused', { n: 1 })).catch((e: unknown) => e);
    expect(isPenguiflowError(error, 'BUS_UNAVAILABLE')).toBe(true);
    redis.resume(); // Redis now reads the command we gave up on
    const admin = new Redis(redis.url);
    cleanups.push(async () => admin.disconnect());
    await pause(500);
    expect(await admin.xlen(b.keys('paused').stream)).toBe(1);
  });

  it('a running consumer keeps its in-flight work across a restart (AOF): acked once, nothing lost or run twice', async () => {
    const redis = await own();
    const b = await bus(redis.url);
    const runs = new Map<string, number>();
    let slow = true;
    await b.consume(
      'work',
      'g',
      async (d: Delivery) => {
        runs.set(d.envelope.id, (runs.get(d.envelope.id) ?? 0) + 1);
        if (slow) await pause(2_500); // still running while Redis restarts; its ack goes to the new server
      },
      { leaseMs: 1_500, concurrency: 4 },
    );
    const before = [envelope('work'), envelope('work')];
    for (const e of before) await b.publish(e);
    await waitFor(() => runs.size === 2, 10_000, 'both running');
    await redis.restart(500);
    slow = false;
    const after = envelope('work');
    await waitFor(async () => (await b.publish(after).then(() => true, () => false)), 10_000, 'a publish after the restart');
    await waitFor(() => runs.has(after.id), 10_000, 'the delivery after the restart');
    await pause(3_000); // past the lease: nothing comes back
    expect([...runs.values()]).toEqual([1, 1, 1]);
    const admin = new Redis(redis.url);
    cleanups.push(async () => admin.disconnect());
    const pending = (await admin.xpending(b.keys('work').stream, 'g')) as [number, ...unknown[]];
    expect(pending[0]).toBe(0);
  });

  it('a restart that loses everything (no persistence): consumers recreate their groups, durable and ephemeral, and get what is published next', async () => {
    const redis = await own({ persistence: false });
    const b = await bus(redis.url);
    const durable: string[] = [];
    const ephemeral: string[] = [];
    await b.consume('lost', 'workers', async (d) => void durable.push(d.envelope.id));
    await b.consume('lost', 'replies', async (d) => void ephemeral.push(d.envelope.id), { ephemeral: true });
    const first = envelope('lost');
    await b.publish(first);
    await waitFor(() => durable.length === 1 && ephemeral.length === 1, 10_000, 'the first deliveries');
    await redis.restart(300);
    const second = envelope('lost');
    await waitFor(async () => (await b.publish(second).then(() => true, () => false)), 10_000, 'a publish after the restart');
    await waitFor(() => durable.length === 2 && ephemeral.length === 2, 15_000, 'deliveries after the groups were recreated');
    expect(durable).toEqual([first.id, second.id]);
    expect(ephemeral).toEqual([first.id, second.id]);
  });

  it('a worker started (runWorker) while Redis is down serves once Redis is up', async () => {
    const redis = await own({ started: false });
    const name = `outage${Date.now().toString(36)}`;
    const make = () => createFlow(node('double', (m: Message<number>) => m.payload * 2, { placement: 'distributed' }), { name });
    const workerBus = await bus(redis.url);
    const warnings: string[] = [];
    const started = runWorker({
      flow: make(),
      bus: workerBus,
      store: new InMemoryStateStore(),
      leaseMs: 2_000,
      logger: { info: () => {}, warn: (_f: Record<string, unknown>, m: string) => void warnings.push(m) },
    });
    let worker: Awaited<typeof started> | undefined;
    void started.then((w) => (worker = w), () => {});
    await pause(2_500);
    expect(worker).toBeUndefined(); // still waiting for Redis, not failed
    expect(warnings.length).toBeGreaterThan(0);
    await redis.start();
    worker = await started;
    cleanups.push(() => worker!.stop());
    const controllerBus = await bus(redis.url);
    const flow = make();
    flow.run({ distributed: { bus: controllerBus } });
    await flow.ready();
    cleanups.push(() => flow.stop({ timeoutMs: 2_000 }));
    const out = await flow.call(message(21, { tenant: 't' }), { timeoutMs: 15_000 });
    expect(out.payload).toBe(42);
  });
});
