import { Redis, type RedisOptions } from '../../peers/ioredis.js';
import { loadPeer } from '../../peers/peer.js';
import { BusUnavailableError, QueueFullError } from '../../errors/index.js';
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
import { ACK, DEAD_LETTER, EXTEND, NACK_RETRY, PROMOTE, PUBLISH, PURGE_DEAD, RECLAIM, RETRY_DEAD } from './lua.js';
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
   * Most entries a topic stream holds. Work is never trimmed while unread or
   * pending: at this length `publish` rejects with `QueueFullError` (QUEUE_FULL)
   * until consumers catch up and the acked entries are trimmed (see
   * `housekeepingMs`). 0 = no limit. Default 1,000,000.
   */
  maxLen?: number;
  /**
   * Told when a publish finds a topic stream at 80 % of `maxLen` or more (at
   * most once per topic every 10 s): the time to add consumers before
   * publishes are refused.
   */
  onNearLimit?: (info: { topic: string; length: number; maxLen: number }) => void;
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
   * concurrency). Read-ahead entries are pending for this consumer from the
   * moment they are read; one script renews them all every `leaseMs / 3`
   * until they run, so they are never taken over while their consumer lives.
   * Unrun read-ahead entries are handed back on close.
   */
  prefetch?: number;
  /** Bound on connecting (ms). Default 5,000. */
  connectTimeoutMs?: number;
  /**
   * Bound on each publish, ack and admin call (ms). Default 10,000. A publish
   * not confirmed within it rejects with BUS_UNAVAILABLE, and Redis refuses it
   * if the driver sends it later (say, queued while disconnected): the
   * publish script checks a deadline against the server clock.
   */
  commandTimeoutMs?: number;
  /**
   * `false` (default): `createRedisMessageBus` waits up to `connectTimeoutMs`
   * for Redis and then returns the bus even if Redis is still unreachable; it
   * keeps connecting in the background (every ≤ 2 s) and every call fails
   * with BUS_UNAVAILABLE within its bound until Redis answers — `consume()`
   * after `connectTimeoutMs` (a worker retries it), `publish` after
   * `commandTimeoutMs`. So a worker started before Redis does not exit.
   * `true`: reject with BUS_UNAVAILABLE instead when Redis is unreachable.
   */
  failFast?: boolean;
}

const PIPELINE_MAX = 500;
const NEAR_LIMIT = 0.8;
const NEAR_LIMIT_EVERY_MS = 10_000;

interface PendingPublish {
  topic: string;
  key: string;
  bytes: Uint8Array;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * A {@link ConsumableBus} on Redis Streams: one stream per topic, a consumer
 * group per group, `XCLAIM` (in Lua) to take over entries whose lease expired
 * (dead consumers), delivery counts from the pending-entries list, acks,
 * nacks and renewals fenced by the owner in Lua, a dead-letter stream per
 * topic, trimming of what every group acked (never of unread or pending
 * work) and pipelined publishes (all publishes of one tick go in one round trip).
 *
 * Create it with {@link createRedisMessageBus}, which waits (bounded) for the
 * connection.
 */
export class RedisMessageBus implements ConsumableBus {
  private readonly internals: RedisBusInternals;
  private readonly ownsClient: boolean;
  private readonly host: string;
  private readonly consumers = new Set<RedisConsumer>();
  private readonly inflight = new Set<Promise<void>>();
  private batch: PendingPublish[] = [];
  private closed = false;
  private closing: Promise<void> | undefined;
  private crashed = false;
  /** Server clock minus local clock (ms), for publish deadlines; measured on every (re)connect. */
  private clockOffset: number | undefined;
  private measuring: Promise<void> | undefined;
  private readonly nearLimitAt = new Map<string, number>();
  private readonly maxLen: number;
  private readonly connectTimeoutMs: number;
  private readonly onNearLimit: RedisMessageBusOptions['onNearLimit'];
  private readonly readyWaiters = new Set<() => void>();
  readonly prefix: string;

  /** @internal Use {@link createRedisMessageBus}. */
  constructor(client: Redis, ownsClient: boolean, host: string, options: RedisMessageBusOptions) {
    this.prefix = options.prefix ?? 'pf';
    this.ownsClient = ownsClient;
    this.host = host;
    this.maxLen = Math.max(0, options.maxLen ?? 1_000_000);
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.onNearLimit = options.onNearLimit;
    client.on('ready', () => {
      this.clockOffset = undefined; // maybe another server (failover): measure again
      for (const wake of [...this.readyWaiters]) wake();
    });
    for (const [name, lua, numberOfKeys] of [
      ['pfPublish', PUBLISH, 1],
      ['pfAck', ACK, 2],
      ['pfExtend', EXTEND, 2],
      ['pfNackRetry', NACK_RETRY, 3],
      ['pfDeadLetter', DEAD_LETTER, 3],
      ['pfReclaim', RECLAIM, 2],
      ['pfPromote', PROMOTE, 2],
      ['pfRetryDead', RETRY_DEAD, 3],
      ['pfPurgeDead', PURGE_DEAD, 1],
    ] as const) {
      if (!(name in client)) client.defineCommand(name, { lua, numberOfKeys });
    }
    const prefix = this.prefix;
    this.internals = {
      client,
      scripts: client as unknown as RedisScripts,
      serializer: options.serializer ?? jsonSerializer,
      deadLetterMaxLen: options.deadLetterMaxLen ?? 100_000,
      blockMs: options.blockMs ?? 1_000,
      housekeepingMs: options.housekeepingMs ?? 5_000,
      prefetch: options.prefetch,
      commandTimeoutMs: options.commandTimeoutMs ?? 10_000,
      whenReady: (signal) => this.whenReady(signal),
      keys(topic: string): RedisTopicKeys {
        const base = `${prefix}:{${topic}}`;
        return {
          stream: `${base}:s`,
          deadLetters: `${base}:dlq`,
          retryPrefix: `${base}:r:`,
          ephemeral: `${base}:eph`,
          retry: (group) => `${base}:r:${group}`,
          delayed: (group) => `${base}:z:${group}`,
          leases: (group) => `${base}:l:${group}`,
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
    return this.enqueue(envelope.topic, this.internals.serializer.encode(envelope));
  }

  /** Appends raw bytes to a topic as a foreign producer would (tests of undecodable input). */
  async publishRaw(topic: string, bytes: Uint8Array): Promise<void> {
    return this.enqueue(topic, bytes);
  }

  private enqueue(topic: string, bytes: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new BusUnavailableError('The Redis bus is closed'));
    const key = this.keys(topic).stream;
    return new Promise<void>((resolve, reject) => {
      if (this.batch.length === 0) queueMicrotask(() => this.trackFlush());
      this.batch.push({ topic, key, bytes, resolve, reject });
      // big bursts go out in pipelines of PIPELINE_MAX so consumers start while the rest is sent
      if (this.batch.length >= PIPELINE_MAX) this.trackFlush();
    });
  }

  private trackFlush(): void {
    const p = this.flush();
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  /** Measures the server clock against ours (TIME), so publish deadlines are in server time. */
  private measureClock(): Promise<void> {
    this.measuring ??= (async () => {
      try {
        const sent = Date.now();
        const [seconds, micros] = await this.internals.client.time();
        const now = Date.now();
        this.clockOffset = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - (sent + now) / 2;
      } finally {
        this.measuring = undefined;
      }
    })();
    return this.measuring;
  }

  /**
   * Sends every publish queued in this tick as one pipeline of publish
   * scripts. Each carries a deadline in server time a little before our own
   * bound, so a command the driver sends after we gave up (queued offline,
   * resent after a reconnect) is refused by Redis instead of running.
   */
  private async flush(): Promise<void> {
    const items = this.batch;
    this.batch = [];
    if (items.length === 0) return;
    const { client, commandTimeoutMs } = this.internals;
    const started = Date.now();
    const margin = Math.min(1_000, Math.floor(commandTimeoutMs / 5));
    try {
      const results = await withTimeout(
        (async () => {
          if (this.clockOffset === undefined) await this.measureClock();
          // measured late (Redis was down): we have given up on these already, never send them
          if (Date.now() - started > commandTimeoutMs - margin) throw busUnavailable('Redis', this.host);
          const deadline = Math.floor(started + this.clockOffset! + commandTimeoutMs - margin);
          const pipeline = client.pipeline() as unknown as { pfPublish(...args: unknown[]): void; exec(): ReturnType<ReturnType<Redis['pipeline']>['exec']> };
          for (const item of items) {
            pipeline.pfPublish(item.key, deadline, this.maxLen, Buffer.from(item.bytes.buffer, item.bytes.byteOffset, item.bytes.byteLength));
          }
          return pipeline.exec();
        })(),
        commandTimeoutMs,
        () => busUnavailable('Redis', this.host),
      );
      items.forEach((item, i) => {
        const [error, length] = results?.[i] ?? [new Error('no reply')];
        if (error) item.reject(this.publishError(item.topic, error));
        else {
          this.checkNearLimit(item.topic, Number(length));
          item.resolve();
        }
      });
    } catch (error) {
      const wrapped = error instanceof BusUnavailableError ? error : busUnavailable('Redis', this.host, error);
      for (const item of items) item.reject(wrapped);
    }
  }

  private publishError(topic: string, error: Error): Error {
    const text = String(error.message);
    if (text.includes('PFFULL')) {
      const length = Number(/PFFULL (\d+)/.exec(text)?.[1] ?? this.maxLen);
      return new QueueFullError(`Topic ${topic} holds ${length} entries (maxLen ${this.maxLen}): the publish was refused, nothing unread is ever trimmed; add consumers or raise maxLen`, {
        details: { topic, length, maxLen: this.maxLen },
      });
    }
    if (text.includes('PFLATE')) return new BusUnavailableError('Redis received the publish after its bound; it was refused', { cause: error });
    return new BusUnavailableError('Redis rejected the publish', { cause: error });
  }

  private checkNearLimit(topic: string, length: number): void {
    if (this.maxLen === 0 || length < this.maxLen * NEAR_LIMIT || !this.onNearLimit) return;
    const now = Date.now();
    if (now - (this.nearLimitAt.get(topic) ?? -Infinity) < NEAR_LIMIT_EVERY_MS) return;
    this.nearLimitAt.set(topic, now);
    try {
      this.onNearLimit({ topic, length, maxLen: this.maxLen });
    } catch {
      /* a listener's failure is not the publisher's */
    }
  }

  /** Resolves once the client is connected; rejects when `signal` aborts or the bus closes. */
  whenReady(signal?: AbortSignal): Promise<void> {
    const client = this.internals.client;
    if (client.status === 'ready') return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        this.readyWaiters.delete(check);
        signal?.removeEventListener('abort', abort);
        clearInterval(poll);
        if (error) reject(error);
        else resolve();
      };
      const check = () => {
        if (this.closed) done(new BusUnavailableError('The Redis bus is closed'));
        else if (client.status === 'ready') done();
      };
      const abort = () => done(new BusUnavailableError('consume() was aborted while waiting for Redis'));
      this.readyWaiters.add(check);
      signal?.addEventListener('abort', abort, { once: true });
      const poll = setInterval(check, 100); // also notices close() and an externally given client
      poll.unref?.();
      check();
    });
  }

  async consume(
    topic: string,
    group: string,
    handler: (delivery: Delivery) => Promise<void>,
    options?: ConsumeOptions,
  ): Promise<Subscription> {
    if (this.closed) throw new BusUnavailableError('The Redis bus is closed');
    const resolved = resolveConsumeOptions(options);
    // Redis down (at start, or restarting): wait for it a bounded time, then BUS_UNAVAILABLE (the caller retries)
    await withTimeout(this.whenReady(resolved.signal), this.connectTimeoutMs, () => busUnavailable('Redis', this.host));
    if (this.closed) throw new BusUnavailableError('The Redis bus is closed');
    const consumer = new RedisConsumer(this.internals, topic, group, handler, resolved, () => this.consumers.delete(consumer));
    return startConsumer(this.consumers, consumer, this.internals.commandTimeoutMs, () => busUnavailable('Redis', this.host));
  }

  /** Creates `group` on `topic` (and its retry stream) from the oldest retained entry, if it does not exist yet. */
  async ensureGroup(topic: string, group: string): Promise<void> {
    if (this.closed) throw new BusUnavailableError('The Redis bus is closed');
    const k = this.keys(topic);
    const { client, commandTimeoutMs } = this.internals;
    for (const stream of [k.stream, k.retry(group)]) {
      try {
        await withTimeout(client.xgroup('CREATE', stream, group, '0', 'MKSTREAM'), commandTimeoutMs, () => busUnavailable('Redis', this.host));
      } catch (error) {
        if (!String((error as Error).message).includes('BUSYGROUP')) throw error instanceof BusUnavailableError ? error : busUnavailable('Redis', this.host, error);
      }
    }
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
    const { scripts, commandTimeoutMs } = this.internals;
    const done = await withTimeout(scripts.pfRetryDead(k.deadLetters, k.retryPrefix, k.stream, id), commandTimeoutMs, () =>
      busUnavailable('Redis', this.host),
    );
    return done === 1;
  }

  async purgeDeadLetters(topic: string, ids?: string[]): Promise<number> {
    const valid = ids?.filter((id) => /^\d+-\d+$/.test(id));
    if (valid !== undefined && valid.length === 0) return 0;
    const { scripts, commandTimeoutMs } = this.internals;
    const n = await withTimeout(scripts.pfPurgeDead(this.keys(topic).deadLetters, ...(valid ?? [])), commandTimeoutMs, () =>
      busUnavailable('Redis', this.host),
    );
    return Number(n);
  }

  /**
   * For fault tests: behave as if this process was SIGKILLed. Consumers stop
   * at once without acking, handing back or removing their groups; every
   * connection is dropped; what handlers still running do reaches nothing.
   * Their deliveries stay pending and go to another consumer after `leaseMs`.
   */
  simulateCrash(): void {
    this.crashed = true;
    this.closed = true;
    for (const c of this.consumers) c.crash();
    for (const item of this.batch.splice(0)) item.reject(new BusUnavailableError('The Redis bus was crashed'));
    this.internals.client.disconnect();
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
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      for (const wake of [...this.readyWaiters]) wake();
      await Promise.all([...this.consumers].map((c) => c.close()));
      if (this.batch.length > 0) this.trackFlush();
      await Promise.allSettled([...this.inflight]);
      if (this.ownsClient && !this.crashed) this.internals.client.disconnect();
    })();
    return this.closing;
  }
}

/**
 * Connects (waiting up to `connectTimeoutMs`) and returns a Redis Streams
 * bus. An unreachable server gives a bus that connects in the background, or,
 * with `failFast: true`, one {@link BusUnavailableError} naming `host:port`
 * (never the password).
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
  const failFast = options.failFast === true;
  const client = new Redis(url, { ...redisOptions, lazyConnect: failFast });
  client.on('error', () => {
    /* reconnects on its own; calls are time-bound and report BusUnavailableError */
  });
  if (!failFast) {
    const bus = new RedisMessageBus(client, true, host, options);
    await withTimeout(bus.whenReady(), connectTimeoutMs, () => new Error('not yet')).catch(() => {
      /* Redis not up yet: the bus connects when it is */
    });
    return bus;
  }
  try {
    await withTimeout(client.connect(), connectTimeoutMs, () => busUnavailable('Redis', host));
    await withTimeout(client.ping(), connectTimeoutMs, () => busUnavailable('Redis', host));
  } catch (error) {
    client.disconnect();
    throw error instanceof BusUnavailableError ? error : busUnavailable('Redis', host, error);
  }
  return new RedisMessageBus(client, true, host, options);
}
