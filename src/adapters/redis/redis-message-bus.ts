import { Redis, type RedisOptions } from '../../peers/ioredis.js';
import { loadPeer } from '../../peers/peer.js';
import { BusUnavailableError } from '../../errors/index.js';
import type {
  BusEnvelope,
  ConsumableBus,
  ConsumeOptions,
  DeadLetter,
  Delivery,
  Subscription,
} from '../../protocols/message-bus.js';
import type { Serializer } from '../../protocols/serializer.js';
import { bytesToBase64, decodeEnvelope, jsonSerializer } from '../../distributed/codec.js';
import { busUnavailable, resolveConsumeOptions, safeHost, startConsumer, withTimeout } from '../../distributed/bus-consumer.js';
import { DEAD_LETTER, NACK_RETRY, PROMOTE, RETRY_DEAD } from './lua.js';
import { RedisConsumer } from './redis-consumer.js';
import { fieldMap, type RedisBusInternals, type RedisScripts, type RedisTopicKeys } from './redis-internals.js';

export interface RedisMessageBusOptions {
  /** `redis://[:password@]host:port[/db]`; default `redis://127.0.0.1:6379`. Ignored when `client` is given. */
  url?: string;
  /** An existing ioredis client; the bus uses it (and `duplicate()`s of it) and does not quit it on close. */
  client?: Redis;
  /** Key prefix; every key is `<prefix>:{<topic>}:…`. Default `pf`. */
  prefix?: string;
  /**
   * Hard cap on a topic stream's length (`XADD MAXLEN ~`): entries past it are
   * trimmed even if unread, so it must exceed the largest backlog you expect.
   * Entries every group is done with are trimmed anyway (see `housekeepingMs`).
   * Default 1,000,000.
   */
  maxLen?: number;
  /**
   * How often each consumer trims entries all groups have acked (`XTRIM MINID`),
   * renews its ephemeral group and destroys ephemeral groups of dead processes (ms). Default 5,000.
   */
  housekeepingMs?: number;
  /** Approximate length of each dead-letter stream. Default 100,000. */
  deadLetterMaxLen?: number;
  serializer?: Serializer;
  /** Longest XREADGROUP BLOCK (ms); also bounds how late a remote consumer's delayed retry can be. Default 1,000. */
  blockMs?: number;
  /** CLIENT SETNAME of every connection (shows in `CLIENT LIST`). Default `penguiflow:<prefix>`. */
  connectionName?: string;
  /**
   * Entries each consumer reads ahead beyond its concurrency (default: its
   * concurrency). Read-ahead entries are pending (leased) from the moment they
   * are read, so keep `(concurrency + prefetch) / concurrency × handler time`
   * well under `leaseMs`. Unrun read-ahead entries are handed back on close.
   */
  prefetch?: number;
  /** Bound on connecting (ms). Default 5,000. */
  connectTimeoutMs?: number;
  /** Bound on each publish, ack and admin call (ms). Default 10,000. */
  commandTimeoutMs?: number;
}

const PIPELINE_MAX = 500;

interface PendingPublish {
  key: string;
  bytes: Uint8Array;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * A {@link ConsumableBus} on Redis Streams: one stream per topic, a consumer
 * group per group, `XAUTOCLAIM` to take over entries whose lease expired
 * (dead consumers), delivery counts from the pending-entries list, a
 * dead-letter stream per topic, `MAXLEN ~` trimming and pipelined publishes
 * (all publishes of one tick go in one round trip).
 *
 * Create it with {@link createRedisMessageBus}, which checks the connection.
 */
export class RedisMessageBus implements ConsumableBus {
  private readonly internals: RedisBusInternals;
  private readonly ownsClient: boolean;
  private readonly host: string;
  private readonly consumers = new Set<RedisConsumer>();
  private readonly inflight = new Set<Promise<void>>();
  private batch: PendingPublish[] = [];
  private closed = false;
  readonly prefix: string;

  /** @internal Use {@link createRedisMessageBus}. */
  constructor(client: Redis, ownsClient: boolean, host: string, options: RedisMessageBusOptions) {
    this.prefix = options.prefix ?? 'pf';
    this.ownsClient = ownsClient;
    this.host = host;
    for (const [name, lua, numberOfKeys] of [
      ['pfNackRetry', NACK_RETRY, 3],
      ['pfDeadLetter', DEAD_LETTER, 3],
      ['pfPromote', PROMOTE, 2],
      ['pfRetryDead', RETRY_DEAD, 2],
    ] as const) {
      if (!(name in client)) client.defineCommand(name, { lua, numberOfKeys });
    }
    const prefix = this.prefix;
    this.internals = {
      client,
      scripts: client as unknown as RedisScripts,
      serializer: options.serializer ?? jsonSerializer,
      maxLen: options.maxLen ?? 1_000_000,
      deadLetterMaxLen: options.deadLetterMaxLen ?? 100_000,
      blockMs: options.blockMs ?? 1_000,
      housekeepingMs: options.housekeepingMs ?? 5_000,
      prefetch: options.prefetch,
      commandTimeoutMs: options.commandTimeoutMs ?? 10_000,
      keys(topic: string): RedisTopicKeys {
        const base = `${prefix}:{${topic}}`;
        return {
          stream: `${base}:s`,
          deadLetters: `${base}:dlq`,
          retryPrefix: `${base}:r:`,
          ephemeral: `${base}:eph`,
          retry: (group) => `${base}:r:${group}`,
          delayed: (group) => `${base}:z:${group}`,
        };
      },
    };
  }

  /** Key names used for `topic`. */
  keys(topic: string): RedisTopicKeys {
    return this.internals.keys(topic);
  }

  /** The ioredis client used for publishes and acks. */
  get client(): Redis {
    return this.internals.client;
  }

  async publish(envelope: BusEnvelope): Promise<void> {
    return this.enqueue(this.keys(envelope.topic).stream, this.internals.serializer.encode(envelope));
  }

  /** Appends raw bytes to a topic as a foreign producer would (tests of undecodable input). */
  async publishRaw(topic: string, bytes: Uint8Array): Promise<void> {
    return this.enqueue(this.keys(topic).stream, bytes);
  }

  private enqueue(key: string, bytes: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new BusUnavailableError('The Redis bus is closed'));
    return new Promise<void>((resolve, reject) => {
      if (this.batch.length === 0) queueMicrotask(() => this.trackFlush());
      this.batch.push({ key, bytes, resolve, reject });
      // big bursts go out in pipelines of PIPELINE_MAX so consumers start while the rest is sent
      if (this.batch.length >= PIPELINE_MAX) this.trackFlush();
    });
  }

  private trackFlush(): void {
    const p = this.flush();
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  /** Sends every publish queued in this tick as one pipeline. */
  private async flush(): Promise<void> {
    const items = this.batch;
    this.batch = [];
    if (items.length === 0) return;
    const { client, maxLen, commandTimeoutMs } = this.internals;
    const pipeline = client.pipeline();
    for (const item of items) {
      pipeline.xadd(item.key, 'MAXLEN', '~', maxLen, '*', 'd', Buffer.from(item.bytes.buffer, item.bytes.byteOffset, item.bytes.byteLength));
    }
    try {
      const results = await withTimeout(pipeline.exec(), commandTimeoutMs, () => busUnavailable('Redis', this.host));
      items.forEach((item, i) => {
        const error = results?.[i]?.[0];
        if (error) item.reject(new BusUnavailableError('Redis rejected the publish', { cause: error }));
        else item.resolve();
      });
    } catch (error) {
      const wrapped = error instanceof BusUnavailableError ? error : busUnavailable('Redis', this.host, error);
      for (const item of items) item.reject(wrapped);
    }
  }

  async consume(
    topic: string,
    group: string,
    handler: (delivery: Delivery) => Promise<void>,
    options?: ConsumeOptions,
  ): Promise<Subscription> {
    if (this.closed) throw new BusUnavailableError('The Redis bus is closed');
    const consumer = new RedisConsumer(this.internals, topic, group, handler, resolveConsumeOptions(options), () =>
      this.consumers.delete(consumer),
    );
    return startConsumer(this.consumers, consumer, this.internals.commandTimeoutMs, () => busUnavailable('Redis', this.host));
  }

  async listDeadLetters(topic: string, limit = 100): Promise<DeadLetter[]> {
    const { client, serializer, commandTimeoutMs } = this.internals;
    const reply = (await withTimeout(
      client.callBuffer('XRANGE', this.keys(topic).deadLetters, '-', '+', 'COUNT', limit),
      commandTimeoutMs,
      () => busUnavailable('Redis', this.host),
    )) as [Buffer, Buffer[]][];
    return reply.map(([id, flat]) => {
      const f = fieldMap(flat);
      const data = f.get('d') ?? Buffer.alloc(0);
      let envelope: BusEnvelope | null = null;
      try {
        envelope = decodeEnvelope(data, serializer);
      } catch {
        envelope = null;
      }
      const letter: DeadLetter = {
        id: id.toString(),
        topic,
        group: f.get('g')?.toString() ?? '',
        envelope,
        error: { code: f.get('c')?.toString() ?? 'UNKNOWN', message: f.get('m')?.toString() ?? '' },
        deliveryCount: Number(f.get('n')?.toString() ?? 0),
        deadAt: Number(f.get('t')?.toString() ?? 0),
      };
      if (envelope === null) letter.raw = bytesToBase64(data);
      return letter;
    });
  }

  async retryDeadLetter(topic: string, id: string): Promise<boolean> {
    if (!/^\d+-\d+$/.test(id)) return false;
    const k = this.keys(topic);
    const { scripts, maxLen, commandTimeoutMs } = this.internals;
    const done = await withTimeout(scripts.pfRetryDead(k.deadLetters, k.retryPrefix, id, maxLen), commandTimeoutMs, () =>
      busUnavailable('Redis', this.host),
    );
    return done === 1;
  }

  /**
   * Deletes every key under this bus's prefix (streams, groups, retries, dead
   * letters). For tests and teardown; never call it on a shared prefix.
   */
  async purge(): Promise<void> {
    const { client } = this.internals;
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${this.prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  }

  /** Stops all consumers (draining in-flight handlers), waits for in-flight publishes, then disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => c.close()));
    if (this.batch.length > 0) this.trackFlush();
    await Promise.allSettled([...this.inflight]);
    if (this.ownsClient) this.internals.client.disconnect();
  }
}

/**
 * Connects (bounded by `connectTimeoutMs`) and returns a Redis Streams bus.
 * An unreachable server gives one {@link BusUnavailableError} naming
 * `host:port` (never the password).
 *
 * @example
 * const bus = await createRedisMessageBus({ url: 'redis://127.0.0.1:6379', prefix: 'myapp' });
 * await bus.consume('summarize', 'workers', async (d) => work(d.envelope.message), { concurrency: 8 });
 * await bus.publish({ id: 'e1', topic: 'summarize', message });
 */
export async function createRedisMessageBus(options: RedisMessageBusOptions = {}): Promise<RedisMessageBus> {
  loadPeer('ioredis'); // MISSING_PEER here, not wrapped in a connect error
  if (options.client) {
    const host = `${options.client.options.host ?? '127.0.0.1'}:${options.client.options.port ?? 6379}`;
    return new RedisMessageBus(options.client, false, host, options);
  }
  const url = options.url ?? 'redis://127.0.0.1:6379';
  const host = safeHost(url, 6379);
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  const redisOptions: RedisOptions = {
    lazyConnect: true,
    connectionName: options.connectionName ?? `penguiflow:${options.prefix ?? 'pf'}`,
    connectTimeout: connectTimeoutMs,
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2_000),
  };
  const client = new Redis(url, redisOptions);
  client.on('error', () => {
    /* reconnects on its own; calls are time-bound and report BusUnavailableError */
  });
  try {
    await withTimeout(client.connect(), connectTimeoutMs, () => busUnavailable('Redis', host));
    await withTimeout(client.ping(), connectTimeoutMs, () => busUnavailable('Redis', host));
  } catch (error) {
    client.disconnect();
    throw error instanceof BusUnavailableError ? error : busUnavailable('Redis', host, error);
  }
  return new RedisMessageBus(client, true, host, options);
}
