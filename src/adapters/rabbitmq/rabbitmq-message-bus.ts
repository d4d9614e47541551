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
import { busUnavailable, resolveConsumeOptions, safeHost, startConsumer } from '../../distributed/bus-consumer.js';
import { RabbitConnection } from './rabbitmq-connection.js';
import { RabbitConsumer, type RabbitBusInternals } from './rabbitmq-consumer.js';
import {
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
}

/**
 * A {@link ConsumableBus} on RabbitMQ (amqplib): a fanout exchange per topic,
 * a durable queue per group, publisher confirms, manual acks with
 * `prefetch = concurrency`, a dead-letter queue per topic (also the queues'
 * dead-letter target), delayed retries through a TTL holding queue, and
 * reconnect after connection loss.
 *
 * Like any exchange, a topic only keeps envelopes for groups that exist:
 * consume once (or call {@link ensureGroup}) before publishing.
 */
export class RabbitMessageBus implements ConsumableBus {
  readonly prefix: string;
  private readonly internals: RabbitBusInternals;
  private readonly exchanges = new Map<string, Promise<void>>();
  private readonly consumers = new Set<RabbitConsumer>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly declared = { exchanges: new Set<string>(), queues: new Set<string>() };
  private closed = false;
  private readonly maxPriority: number | undefined;

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
    this.internals = {
      conn,
      serializer: options.serializer ?? jsonSerializer,
      quorum: options.maxPriority === undefined && (options.queueType ?? 'quorum') === 'quorum',
      names: (topic) => rabbitNames(this.prefix, topic),
      assertGroup: (channel, topic, group) => this.assertGroup(channel, topic, group),
      assertEphemeral: (channel, topic) => this.assertEphemeral(channel, topic),
      toQueue: (queue, content, headers, expirationMs) =>
        conn.publish('', queue, content, {
          persistent: true,
          headers,
          ...(expirationMs === undefined ? {} : { expiration: String(expirationMs) }),
        }),
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

  private async assertGroup(channel: Channel, topic: string, group: string): Promise<void> {
    const n = this.names(topic);
    const queue = n.queue(group);
    await channel.assertExchange(n.exchange, 'fanout', { durable: true });
    await channel.assertQueue(n.deadLetterQueue, { durable: true });
    await channel.assertQueue(queue, {
      durable: true,
      arguments: {
        'x-queue-type': this.internals.quorum ? 'quorum' : 'classic',
        ...(this.maxPriority === undefined ? {} : { 'x-max-priority': this.maxPriority }),
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': n.deadLetterQueue,
      },
    });
    await channel.assertQueue(n.delayQueue(group), {
      durable: true,
      arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': queue },
    });
    await channel.bindQueue(queue, n.exchange, '');
    this.declared.exchanges.add(n.exchange);
    for (const q of [queue, n.delayQueue(group), n.deadLetterQueue]) this.declared.queues.add(q);
  }

  private async assertEphemeral(channel: Channel, topic: string): Promise<{ queue: string; delayQueue: string }> {
    const n = this.names(topic);
    await channel.assertExchange(n.exchange, 'fanout', { durable: true });
    await channel.assertQueue(n.deadLetterQueue, { durable: true });
    this.declared.exchanges.add(n.exchange);
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

  /** Declares a group's queue so envelopes published before its first consume are kept. */
  async ensureGroup(topic: string, group: string): Promise<void> {
    const model = await this.conn.connected();
    const channel = await model.createChannel();
    channel.on('error', () => {});
    try {
      await this.assertGroup(channel, topic, group);
    } finally {
      await channel.close().catch(() => {});
    }
  }

  private ensureExchange(topic: string): Promise<void> {
    let p = this.exchanges.get(topic);
    if (!p) {
      const exchange = this.names(topic).exchange;
      p = (async () => {
        const channel = await this.conn.publishChannel();
        await channel.assertExchange(exchange, 'fanout', { durable: true });
        this.declared.exchanges.add(exchange);
      })();
      p.catch(() => this.exchanges.delete(topic));
      this.exchanges.set(topic, p);
    }
    return p;
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

  private async send(topic: string, content: Buffer, messageId: string | undefined, priority?: number): Promise<void> {
    if (this.closed) throw new BusUnavailableError('The RabbitMQ bus is closed');
    const p = (async () => {
      await this.ensureExchange(topic);
      await this.conn.publish(this.names(topic).exchange, '', content, {
        persistent: true,
        contentType: this.internals.serializer.contentType,
        ...(messageId === undefined ? {} : { messageId }),
        ...(priority === undefined ? {} : { priority }),
      });
    })();
    this.inflight.add(p);
    try {
      await p;
    } finally {
      this.inflight.delete(p);
    }
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
    return this.browseDeadLetters(topic, limit, () => false);
  }

  async retryDeadLetter(topic: string, id: string): Promise<boolean> {
    let found = false;
    await this.browseDeadLetters(topic, 100_000, (msg, channel) => {
      const headers = msg.properties.headers ?? {};
      if (String(headers[H_DEAD_ID] ?? '') !== id) return false;
      found = true;
      const group = String(headers[H_GROUP] ?? '');
      const retried: Record<string, unknown> = { ...headers, [H_DELIVERIES]: 0 };
      for (const k of [H_DEAD_ID, H_ERROR_CODE, H_ERROR_MESSAGE, H_DEAD_AT, H_RAW]) delete retried[k];
      return this.internals.toQueue(this.names(topic).queue(group), msg.content, retried).then(() => channel.ack(msg));
    });
    return found;
  }

  private async browseDeadLetters(
    topic: string,
    limit: number,
    visit: (msg: GetMessage, channel: Channel) => boolean | Promise<void>,
  ): Promise<DeadLetter[]> {
    const model = await this.conn.connected();
    const queue = this.names(topic).deadLetterQueue;
    const channel = await model.createChannel();
    channel.on('error', () => {});
    const out: DeadLetter[] = [];
    try {
      await channel.assertQueue(queue, { durable: true });
      this.declared.queues.add(queue);
      while (out.length < limit) {
        const msg = await channel.get(queue, { noAck: false });
        if (msg === false) break;
        const result = visit(msg, channel);
        if (result !== false) {
          await result;
          break;
        }
        out.push(this.toDeadLetter(topic, msg));
      }
    } finally {
      await channel.close().catch(() => {});
    }
    return out;
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
      id: String(headers[H_DEAD_ID] ?? msg.properties.messageId ?? `tag-${msg.fields.deliveryTag}`),
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

  /** Stops consumers (draining handlers), waits for in-flight publishes, then closes the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => c.close()));
    await Promise.allSettled([...this.inflight]);
    await this.conn.close();
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
    url,
    host,
    connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
    publishTimeoutMs: options.publishTimeoutMs ?? 10_000,
  });
  await conn.open();
  return new RabbitMessageBus(conn, url, host, options);
}
