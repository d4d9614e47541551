import { randomBytes } from 'node:crypto';
import amqp, { type Channel, type ChannelModel, type GetMessage } from '../../peers/amqplib.js';
import { loadPeer } from '../../peers/peer.js';
import { InvalidOptionsError, BusUnavailableError } from '../../errors/index.js';
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
import { RabbitConnection, UnroutableError } from './rabbitmq-connection.js';
import { copyHeaders, RabbitConsumer, type RabbitBusInternals } from './rabbitmq-consumer.js';
import {
  delayBucket,
  H_DEAD_AT,
  H_DEAD_ID,
  H_DELIVERIES,
  H_ERROR_CODE,
  H_ERROR_MESSAGE,
  H_GROUP,
  H_RAW,
  rabbitNames,
  type RabbitTopicNames,
} from './rabbitmq-names.js';

export interface RabbitMessageBusOptions {
  /** `amqp://user:pass@host:5672/vhost`. Default `amqp://guest:guest@127.0.0.1:5672`. */
  url?: string;
  /** Prefix of exchange and queue names. Default `pf`. */
  prefix?: string;
  serializer?: Serializer;
  /** Group queues as `quorum` (default; replicated, broker delivery count) or `classic`. */
  queueType?: 'quorum' | 'classic';
  /**
   * Priority queues: envelopes carry `message.headers.priority` to the broker
   * (higher is delivered first). Broker priority = priority + ⌊max/2⌋, clamped to
   * 0…max, so normal (0) sits in the middle and negative priorities below it.
   * Needs classic queues on RabbitMQ 3.x (quorum queues have no priorities there).
   */
  maxPriority?: number;
  /** Bound on connecting (ms). Default 5,000. */
  connectTimeoutMs?: number;
  /** Bound on each publish, including waiting for a lost connection to come back (ms). Default 10,000. */
  publishTimeoutMs?: number;
  /**
   * AMQP heartbeat (s), unless the URL sets `?heartbeat=`. A process that stops
   * answering (stalled event loop, SIGSTOP, a host gone without a FIN) loses
   * its connection, and so its deliveries, after about this long. Default 10.
   */
  heartbeatSeconds?: number;
  /**
   * Most envelopes a topic keeps while it has no group (its holding queue);
   * past it a publish to that topic rejects with BUS_UNAVAILABLE (never a
   * silent drop). Default 100,000.
   */
  holdLimit?: number;
  /**
   * A holding queue nobody published to or declared a group for in this long
   * is deleted by the broker, with what it held (`x-expires`). Default 7 days.
   */
  holdExpiresMs?: number;
  /**
   * RabbitMQ 3.12+: per-queue `x-consumer-timeout` (ms) on group queues: the
   * broker closes the channel of a delivery unacked for this long, renewed or
   * not — it bounds a run, so set it above the slowest node's `timeoutMs`.
   * Unset: the server's `consumer_timeout` applies (30 min by default; 3.10 and
   * 3.11 only have that server-wide setting).
   */
  consumerTimeoutMs?: number;
}

const DAY = 24 * 60 * 60 * 1000;

/**
 * A {@link ConsumableBus} on RabbitMQ (amqplib): a fanout exchange per topic,
 * a durable queue per group, publisher confirms with `mandatory`, manual acks
 * on channels that each hold one delivery, a dead-letter queue per topic,
 * delayed retries through TTL queues, and reconnect after connection loss.
 *
 * Envelopes published while a topic has no group go to the exchange's
 * alternate exchange and wait in a holding queue; the first group declared
 * on the topic (by `consume` or {@link ensureGroup}) takes them.
 */
export class RabbitMessageBus implements ConsumableBus {
  readonly prefix: string;
  private readonly internals: RabbitBusInternals;
  /** Topic → when its exchange and holding queue were declared by this process. */
  private readonly topics = new Map<string, { at: number; done: Promise<void> }>();
  private readonly delayQueues = new Map<string, number>();
  private readonly consumers = new Set<RabbitConsumer>();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly declared = { exchanges: new Set<string>(), queues: new Set<string>() };
  private closed = false;
  private readonly maxPriority: number | undefined;
  private readonly holdLimit: number;
  private readonly holdExpiresMs: number;
  private readonly consumerTimeoutMs: number | undefined;

  /** @internal Use {@link createRabbitMessageBus}. */
  constructor(
    private readonly conn: RabbitConnection,
    private readonly url: string,
    private readonly host: string,
    options: RabbitMessageBusOptions,
  ) {
    this.prefix = options.prefix ?? 'pf';
    if (options.maxPriority !== undefined) {
      if (!Number.isInteger(options.maxPriority) || options.maxPriority < 1 || options.maxPriority > 255) {
        throw new InvalidOptionsError('maxPriority must be an integer from 1 to 255');
      }
      if (options.queueType === 'quorum') throw new InvalidOptionsError('maxPriority needs queueType classic (quorum queues have no priorities)');
    }
    this.maxPriority = options.maxPriority;
    this.holdLimit = Math.max(1, Math.floor(options.holdLimit ?? 100_000));
    this.holdExpiresMs = Math.max(60_000, Math.floor(options.holdExpiresMs ?? 7 * DAY));
    this.consumerTimeoutMs = options.consumerTimeoutMs;
    this.internals = {
      conn,
      serializer: options.serializer ?? jsonSerializer,
      quorum: options.maxPriority === undefined && (options.queueType ?? 'quorum') === 'quorum',
      names: (topic) => rabbitNames(this.prefix, topic),
      assertGroup: (topic, group) => this.assertGroup(topic, group),
      assertEphemeral: (channel, topic) => this.assertEphemeral(channel, topic),
      toQueue: (queue, content, headers, expirationMs) =>
        conn.publish('', queue, content, {
          persistent: true,
          headers,
          ...(expirationMs === undefined ? {} : { expiration: String(expirationMs) }),
        }),
      toDelay: (topic, group, content, headers, delayMs) => this.toDelay(topic, group, content, headers, delayMs),
      deadLetter: (topic, group, content, count, error, raw) => this.deadLetter(topic, group, content, count, error, raw),
    };
  }

  names(topic: string): RabbitTopicNames {
    return this.internals.names(topic);
  }

  /** The live amqplib connection (undefined while reconnecting). */
  get connection(): ChannelModel | undefined {
    return this.conn.current;
  }

  /** Runs `fn` on a short-lived channel of its own (a refused declare closes that channel only). */
  private async withChannel<T>(fn: (channel: Channel) => Promise<T>): Promise<T> {
    const model = await this.conn.connected();
    const channel = await model.createChannel();
    channel.on('error', () => {});
    try {
      return await fn(channel);
    } finally {
      await channel.close().catch(() => {});
    }
  }

  /** The topic's exchange, its alternate exchange and the holding queue behind it. */
  private async declareTopic(channel: Channel, topic: string): Promise<void> {
    const n = this.names(topic);
    await channel.assertExchange(n.holdExchange, 'fanout', { durable: true });
    await channel.assertQueue(n.holdQueue, {
      durable: true,
      arguments: {
        'x-queue-type': 'classic',
        'x-max-length': this.holdLimit,
        'x-overflow': 'reject-publish',
        'x-expires': this.holdExpiresMs,
      },
    });
    await channel.bindQueue(n.holdQueue, n.holdExchange, '');
    await channel.assertExchange(n.exchange, 'fanout', { durable: true, alternateExchange: n.holdExchange });
    this.declared.exchanges.add(n.exchange);
    this.declared.exchanges.add(n.holdExchange);
    this.declared.queues.add(n.holdQueue);
  }

  /** Declares the topic once per process (again when half the holding queue's expiry has passed, or after a return). */
  private ensureTopic(topic: string): Promise<void> {
    const known = this.topics.get(topic);
    if (known && Date.now() - known.at < this.holdExpiresMs / 2) return known.done;
    const done = this.withChannel((channel) => this.declareTopic(channel, topic));
    const entry = { at: Date.now(), done };
    this.topics.set(topic, entry);
    done.catch(() => {
      if (this.topics.get(topic) === entry) this.topics.delete(topic);
    });
    return done;
  }

  private groupQueueArguments(deadLetterQueue: string): Record<string, unknown> {
    return {
      'x-queue-type': this.internals.quorum ? 'quorum' : 'classic',
      ...(this.maxPriority === undefined ? {} : { 'x-max-priority': this.maxPriority }),
      ...(this.consumerTimeoutMs === undefined ? {} : { 'x-consumer-timeout': this.consumerTimeoutMs }),
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': deadLetterQueue,
    };
  }

  private async assertGroup(topic: string, group: string): Promise<void> {
    const n = this.names(topic);
    const queue = n.queue(group);
    await this.withChannel(async (channel) => {
      await this.declareTopic(channel, topic);
      await channel.assertQueue(n.deadLetterQueue, { durable: true });
      await channel.assertQueue(queue, { durable: true, arguments: this.groupQueueArguments(n.deadLetterQueue) });
      await channel.bindQueue(queue, n.exchange, '');
    });
    this.topics.set(topic, { at: Date.now(), done: Promise.resolve() });
    for (const q of [queue, n.deadLetterQueue]) this.declared.queues.add(q);
    await this.drainHeld(topic, queue);
  }

  /**
   * Moves what the topic held while it had no group into `queue`: each held
   * envelope is acked only after its copy was confirmed (a crash in between
   * leaves a duplicate, never a loss).
   */
  private async drainHeld(topic: string, queue: string): Promise<void> {
    const hold = this.names(topic).holdQueue;
    await this.withChannel(async (channel) => {
      for (;;) {
        const batch: GetMessage[] = [];
        for (let i = 0; i < 100; i++) {
          const msg = await channel.get(hold, { noAck: false });
          if (msg === false) break;
          batch.push(msg);
        }
        if (batch.length === 0) return;
        await Promise.all(
          batch.map(async (msg) => {
            await this.conn.publish('', queue, msg.content, {
              persistent: true,
              headers: copyHeaders(msg.properties.headers),
              ...(msg.properties.contentType ? { contentType: msg.properties.contentType as string } : {}),
              ...(msg.properties.messageId ? { messageId: msg.properties.messageId as string } : {}),
              ...(msg.properties.priority === undefined ? {} : { priority: msg.properties.priority as number }),
            });
            channel.ack(msg);
          }),
        );
      }
    });
  }

  private async assertEphemeral(channel: Channel, topic: string): Promise<{ queue: string; delayQueue: string }> {
    const n = this.names(topic);
    await this.declareTopic(channel, topic);
    await channel.assertQueue(n.deadLetterQueue, { durable: true });
    this.declared.queues.add(n.deadLetterQueue);
    const { queue } = await channel.assertQueue('', {
      exclusive: true,
      durable: false,
      arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': n.deadLetterQueue },
    });
    const delay = await channel.assertQueue('', {
      exclusive: true,
      durable: false,
      arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': queue },
    });
    await channel.bindQueue(queue, n.exchange, '');
    return { queue, delayQueue: delay.queue };
  }

  /**
   * Declares the group's durable queue and binds it (idempotent), so envelopes
   * published from now on are kept for it before any consumer started; it also
   * takes what the topic held while it had no group.
   */
  async ensureGroup(topic: string, group: string): Promise<void> {
    if (this.closed) throw new BusUnavailableError('The RabbitMQ bus is closed');
    await this.track(this.assertGroup(topic, group)).catch((error: unknown) => {
      throw error instanceof BusUnavailableError ? error : busUnavailable('RabbitMQ', this.host, error);
    });
  }

  /**
   * A delayed retry: a copy into the group's delay queue for this delay's
   * bucket (a queue-level TTL, so each queue expires in order), dead-lettered
   * by the broker back into the group queue when the TTL runs out.
   */
  private async toDelay(topic: string, group: string, content: Buffer, headers: Record<string, unknown>, delayMs: number): Promise<void> {
    const n = this.names(topic);
    const ttl = delayBucket(delayMs);
    const queue = n.delayQueue(group, ttl);
    const expires = ttl + 60_000;
    const last = this.delayQueues.get(queue);
    if (last === undefined || Date.now() - last > 20_000) {
      // redeclared at least every 20 s while used: x-expires counts from the last declare, never mid-delay
      await this.withChannel((channel) =>
        channel.assertQueue(queue, {
          durable: true,
          arguments: {
            'x-queue-type': 'classic',
            'x-message-ttl': ttl,
            'x-expires': expires,
            'x-dead-letter-exchange': '',
            'x-dead-letter-routing-key': n.queue(group),
          },
        }),
      );
      this.delayQueues.set(queue, Date.now());
      this.declared.queues.add(queue);
    }
    await this.conn.publish('', queue, content, { persistent: true, headers });
  }

  async publish(envelope: BusEnvelope): Promise<void> {
    const bytes = this.internals.serializer.encode(envelope);
    await this.send(envelope.topic, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), envelope.id, this.brokerPriority(envelope));
  }

  /** Publishes raw bytes to a topic as a foreign producer would (tests of undecodable input). */
  async publishRaw(topic: string, bytes: Uint8Array): Promise<void> {
    await this.send(topic, Buffer.from(bytes), undefined);
  }

  private brokerPriority(envelope: BusEnvelope): number | undefined {
    const max = this.maxPriority;
    if (max === undefined) return undefined;
    const p = Math.round(envelope.message?.headers?.priority ?? 0) + Math.floor(max / 2);
    return Math.min(max, Math.max(0, p));
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    p.then(
      () => this.inflight.delete(p),
      () => this.inflight.delete(p),
    );
    return p;
  }

  private async send(topic: string, content: Buffer, messageId: string | undefined, priority?: number): Promise<void> {
    if (this.closed) throw new BusUnavailableError('The RabbitMQ bus is closed');
    const exchange = this.names(topic).exchange;
    const options = {
      persistent: true,
      contentType: this.internals.serializer.contentType,
      ...(messageId === undefined ? {} : { messageId }),
      ...(priority === undefined ? {} : { priority }),
    };
    await this.track(
      (async () => {
        try {
          await this.ensureTopic(topic);
        } catch (error) {
          throw error instanceof BusUnavailableError ? error : busUnavailable('RabbitMQ', this.host, error);
        }
        try {
          await this.conn.publish(exchange, '', content, options);
        } catch (error) {
          if (!(error instanceof UnroutableError)) throw error;
          // nothing took it (the holding queue expired or was deleted): declare the topic again, once
          this.topics.delete(topic);
          await this.ensureTopic(topic).catch(() => {});
          await this.conn.publish(exchange, '', content, options).catch((again: unknown) => {
            throw again instanceof UnroutableError
              ? new BusUnavailableError(`RabbitMQ had no queue for topic "${topic}": ${again.replyText}`, { details: { topic } })
              : again;
          });
        }
      })(),
    );
  }

  async consume(
    topic: string,
    group: string,
    handler: (delivery: Delivery) => Promise<void>,
    options?: ConsumeOptions,
  ): Promise<Subscription> {
    if (this.closed) throw new BusUnavailableError('The RabbitMQ bus is closed');
    const consumer = new RabbitConsumer(this.internals, topic, group, handler, resolveConsumeOptions(options), () =>
      this.consumers.delete(consumer),
    );
    return startConsumer(this.consumers, consumer, 10_000, () => busUnavailable('RabbitMQ', this.host), (error) =>
      busUnavailable('RabbitMQ', this.host, error),
    );
  }

  private async deadLetter(
    topic: string,
    group: string,
    content: Buffer,
    count: number,
    error: { code: string; message: string },
    raw: boolean,
  ): Promise<void> {
    await this.conn.publish('', this.names(topic).deadLetterQueue, content, {
      persistent: true,
      headers: {
        [H_DEAD_ID]: randomBytes(8).toString('hex'),
        [H_GROUP]: group,
        [H_DELIVERIES]: count,
        [H_ERROR_CODE]: error.code,
        [H_ERROR_MESSAGE]: error.message,
        [H_DEAD_AT]: Date.now(),
        [H_RAW]: raw ? 1 : 0,
      },
    });
  }

  /**
   * Reads the dead-letter queue without removing anything: messages are
   * fetched unacked on a private channel that is then closed (RabbitMQ requeues them).
   */
  async listDeadLetters(topic: string, limit = 100): Promise<DeadLetter[]> {
    const out: DeadLetter[] = [];
    await this.scanDeadLetters(topic, async (msg) => {
      out.push(this.toDeadLetter(topic, msg));
      return out.length < limit;
    });
    return out;
  }

  /** Hands the dead letter back to its group's queue as a new message (its next delivery is count 1), then removes it. */
  async retryDeadLetter(topic: string, id: string): Promise<boolean> {
    let found = false;
    await this.scanDeadLetters(topic, async (msg, channel) => {
      const headers = msg.properties.headers ?? {};
      if (String(headers[H_DEAD_ID] ?? '') !== id) return true;
      found = true;
      const group = String(headers[H_GROUP] ?? '');
      const retried: Record<string, unknown> = { ...copyHeaders(headers), [H_DELIVERIES]: 0 };
      for (const k of [H_DEAD_ID, H_ERROR_CODE, H_ERROR_MESSAGE, H_DEAD_AT, H_RAW]) delete retried[k];
      await this.internals.toQueue(this.names(topic).queue(group), msg.content, retried);
      channel.ack(msg);
      return false;
    });
    return found;
  }

  /** Deletes the topic's dead letters (all, or those with `ids`); resolves how many were deleted. */
  async purgeDeadLetters(topic: string, ids?: string[]): Promise<number> {
    const wanted = ids === undefined ? undefined : new Set(ids);
    let deleted = 0;
    await this.scanDeadLetters(topic, async (msg, channel) => {
      const headers = msg.properties.headers ?? {};
      if (wanted === undefined || wanted.has(this.deadLetterId(msg, headers))) {
        channel.ack(msg);
        deleted++;
        if (wanted !== undefined && deleted === wanted.size) return false;
      }
      return true;
    });
    return deleted;
  }

  /** Visits the dead letters in order, unacked on a private channel, while `visit` resolves true. */
  private async scanDeadLetters(topic: string, visit: (msg: GetMessage, channel: Channel) => Promise<boolean>): Promise<void> {
    const queue = this.names(topic).deadLetterQueue;
    await this.withChannel(async (channel) => {
      await channel.assertQueue(queue, { durable: true });
      this.declared.queues.add(queue);
      for (;;) {
        const msg = await channel.get(queue, { noAck: false });
        if (msg === false || !(await visit(msg, channel))) break;
      }
    });
  }

  private deadLetterId(msg: GetMessage, headers: Record<string, unknown>): string {
    return String(headers[H_DEAD_ID] ?? msg.properties.messageId ?? `tag-${msg.fields.deliveryTag}`);
  }

  private toDeadLetter(topic: string, msg: GetMessage): DeadLetter {
    const headers = msg.properties.headers ?? {};
    let envelope: BusEnvelope | null = null;
    try {
      envelope = decodeEnvelope(msg.content, this.internals.serializer);
    } catch {
      envelope = null;
    }
    // messages the broker dead-lettered itself carry x-death instead of our headers
    const letter: DeadLetter = {
      id: this.deadLetterId(msg, headers),
      topic,
      group: String(headers[H_GROUP] ?? ''),
      envelope,
      error: { code: String(headers[H_ERROR_CODE] ?? 'BROKER_DEAD_LETTERED'), message: String(headers[H_ERROR_MESSAGE] ?? '') },
      deliveryCount: Number(headers[H_DELIVERIES] ?? 0),
      deadAt: Number(headers[H_DEAD_AT] ?? 0),
    };
    if (envelope === null) letter.raw = bytesToBase64(msg.content);
    return letter;
  }

  /** Deletes every exchange and queue this bus declared (also after close). For tests and teardown. */
  async purge(): Promise<void> {
    const model = await amqp.connect(this.url, { timeout: 5_000 });
    model.on('error', () => {});
    try {
      const channel = await model.createChannel();
      channel.on('error', () => {});
      for (const q of this.declared.queues) await channel.deleteQueue(q);
      for (const e of this.declared.exchanges) await channel.deleteExchange(e);
    } finally {
      await model.close().catch(() => {});
    }
  }

  /**
   * Behaves as if the process was SIGKILLed: the connection is dropped without
   * acking or handing back anything, and nothing reconnects or renews. For
   * tests of worker death.
   */
  crash(): void {
    this.closed = true;
    for (const consumer of this.consumers) consumer.crash();
    this.conn.crash();
  }

  /** Stops consumers (draining handlers), waits for in-flight publishes, then closes the connection. */
  async close(): Promise<void> {
    if (this.closed) {
      await this.conn.close();
      return;
    }
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => c.close()));
    await withTimeout(Promise.allSettled([...this.inflight]), 15_000, () => new Error('timed out')).catch(() => {});
    await this.conn.close();
  }
}

/** The URL with `heartbeat` set, unless it already has one. */
function withHeartbeat(url: string, seconds: number): string {
  try {
    const u = new URL(url);
    if (u.searchParams.has('heartbeat')) return url;
    u.searchParams.set('heartbeat', String(seconds));
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * Connects (bounded by `connectTimeoutMs`) and returns the bus. An unreachable
 * broker gives one {@link BusUnavailableError} naming `host:port` (never the password).
 *
 * @example
 * const bus = await createRabbitMessageBus({ url: 'amqp://guest:guest@127.0.0.1:5672', prefix: 'myapp' });
 * await bus.consume('summarize', 'workers', async (d) => work(d.envelope.message), { concurrency: 8 });
 */
export async function createRabbitMessageBus(options: RabbitMessageBusOptions = {}): Promise<RabbitMessageBus> {
  loadPeer('amqplib'); // MISSING_PEER here, not wrapped in a connect error
  const url = options.url ?? 'amqp://guest:guest@127.0.0.1:5672';
  const host = safeHost(url, 5672);
  const conn = new RabbitConnection({
    url: withHeartbeat(url, Math.max(1, Math.round(options.heartbeatSeconds ?? 10))),
    host,
    connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
    publishTimeoutMs: options.publishTimeoutMs ?? 10_000,
  });
  await conn.open();
  return new RabbitMessageBus(conn, url, host, options);
}
