import type { Channel, ConsumeMessage } from 'amqplib';
import { DecodeFailedError } from '../../errors/index.js';
import type { BusEnvelope, Delivery, Subscription } from '../../protocols/message-bus.js';
import type { Serializer } from '../../protocols/serializer.js';
import { decodeEnvelope } from '../../distributed/codec.js';
import { ConsumerSlots, createDelivery, errorSummary, sleep, withTimeout, type ResolvedConsumeOptions } from '../../distributed/bus-consumer.js';
import type { RabbitConnection } from './rabbitmq-connection.js';
import { H_DELIVERIES, type RabbitTopicNames } from './rabbitmq-names.js';

/** @internal What consumers share with their bus. */
export interface RabbitBusInternals {
  conn: RabbitConnection;
  serializer: Serializer;
  quorum: boolean;
  names(topic: string): RabbitTopicNames;
  assertGroup(channel: Channel, topic: string, group: string): Promise<void>;
  /** Declares an exclusive, server-named group queue (and its delay queue) on this channel's connection. */
  assertEphemeral(channel: Channel, topic: string): Promise<{ queue: string; delayQueue: string }>;
  /** Publishes a copy straight into a queue (default exchange), confirmed. */
  toQueue(queue: string, content: Buffer, headers: Record<string, unknown>, expirationMs?: number): Promise<void>;
  deadLetter(topic: string, group: string, content: Buffer, count: number, error: { code: string; message: string }, raw: boolean): Promise<void>;
}

type State = 'live' | 'superseded' | 'done';

/** Headers for a republished copy: ours kept, the broker's delivery bookkeeping dropped. */
function copyHeaders(msg: ConsumeMessage): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(msg.properties.headers ?? {})) {
    if (k === 'x-delivery-count' || k === 'x-death' || k.startsWith('x-first-death') || k.startsWith('x-last-death')) continue;
    out[k] = v;
  }
  return out;
}

/**
 * One subscription: a channel with `prefetch = concurrency`, manual acks,
 * leases as timers (an expired lease publishes a copy with the next delivery
 * count for another consumer), retries and dead letters as confirmed
 * republishes. Re-subscribes after the connection comes back.
 */
export class RabbitConsumer implements Subscription {
  private readonly names: RabbitTopicNames;
  private queue: string;
  private delayQueue: string;
  private readonly slots: ConsumerSlots;
  private channel: Channel | undefined;
  private tag: string | undefined;
  private stopped = false;
  private closing: Promise<void> | undefined;
  private readonly onReconnect = () => void this.subscribeWithRetry();

  constructor(
    private readonly bus: RabbitBusInternals,
    readonly topic: string,
    readonly group: string,
    private readonly handler: (delivery: Delivery) => Promise<void>,
    private readonly options: ResolvedConsumeOptions,
    private readonly onClosed: () => void,
  ) {
    this.names = bus.names(topic);
    this.queue = this.names.queue(group);
    this.delayQueue = this.names.delayQueue(group);
    this.slots = new ConsumerSlots(options.concurrency);
    options.signal?.addEventListener('abort', () => void this.close(), { once: true });
  }

  async start(): Promise<void> {
    await this.subscribe();
    this.bus.conn.on('reconnected', this.onReconnect);
  }

  private async subscribe(): Promise<void> {
    const model = await this.bus.conn.connected();
    const channel = await model.createChannel();
    channel.on('error', () => {});
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined;
    });
    await channel.prefetch(this.options.concurrency);
    if (this.options.ephemeral) {
      // exclusive queues vanish with the connection: a crashed process leaves nothing behind
      ({ queue: this.queue, delayQueue: this.delayQueue } = await this.bus.assertEphemeral(channel, this.topic));
    } else {
      await this.bus.assertGroup(channel, this.topic, this.group);
    }
    this.channel = channel;
    const { consumerTag } = await channel.consume(this.queue, (msg) => this.onMessage(channel, msg), { noAck: false });
    this.tag = consumerTag;
  }

  private async subscribeWithRetry(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        return await this.subscribe();
      } catch {
        await sleep(Math.min(100 * 2 ** attempt, 5_000));
      }
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopped = true;
      this.bus.conn.off('reconnected', this.onReconnect);
      const channel = this.channel;
      const bounded = (p: Promise<unknown>) => withTimeout(p, 5_000, () => new Error('timed out')).catch(() => {});
      if (channel && this.tag) await bounded(channel.cancel(this.tag));
      await this.slots.drain();
      if (channel && this.options.ephemeral) {
        await bounded(channel.deleteQueue(this.queue));
        await bounded(channel.deleteQueue(this.delayQueue));
      }
      if (channel) await bounded(channel.close());
      this.onClosed();
    })();
    return this.closing;
  }

  private deliveryCount(msg: ConsumeMessage): number {
    const headers = msg.properties.headers ?? {};
    const prior = Number(headers[H_DELIVERIES] ?? 0);
    const brokerCount = headers['x-delivery-count'];
    const requeues = typeof brokerCount === 'number' ? brokerCount : msg.fields.redelivered ? 1 : 0;
    return prior + requeues + 1;
  }

  private onMessage(channel: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // cancelled by the broker (queue deleted): subscribe again unless we are closing
      if (!this.stopped) void this.subscribeWithRetry();
      return;
    }
    const ackOriginal = () => {
      try {
        channel.ack(msg);
      } catch {
        /* channel gone: the broker requeues it */
      }
    };
    const count = this.deliveryCount(msg);
    const content = msg.content;
    if (count > this.options.maxDeliveries) {
      const error = { code: 'LEASE_EXPIRED', message: `Lease of ${this.options.leaseMs} ms expired on every delivery` };
      void this.bus.deadLetter(this.topic, this.group, content, count - 1, error, false).then(ackOriginal, () => {});
      return;
    }
    let envelope: BusEnvelope;
    try {
      envelope = decodeEnvelope(content, this.bus.serializer);
    } catch (error) {
      const e = error instanceof DecodeFailedError ? error : new DecodeFailedError(undefined, { cause: error });
      void this.bus.deadLetter(this.topic, this.group, content, count, errorSummary(e), true).then(ackOriginal, () => {});
      return;
    }
    let state: State = 'live';
    const lease = setTimeout(() => {
      if (state !== 'live') return;
      state = 'superseded';
      // the handler still owns the original (acked when it finishes); a copy goes to whoever is free
      const next =
        count >= this.options.maxDeliveries
          ? this.bus.deadLetter(this.topic, this.group, content, count, { code: 'LEASE_EXPIRED', message: `Not acked within ${this.options.leaseMs} ms` }, false)
          : this.bus.toQueue(this.queue, content, { ...copyHeaders(msg), [H_DELIVERIES]: count });
      next.catch(() => {});
    }, this.options.leaseMs);
    const delivery = createDelivery(envelope, count, {
      ack: async () => {
        clearTimeout(lease);
        state = 'done';
        ackOriginal();
      },
      nack: async (error, delayMs) => {
        clearTimeout(lease);
        const superseded = state === 'superseded';
        state = 'done';
        if (!superseded) {
          if (count >= this.options.maxDeliveries) {
            await this.bus.deadLetter(this.topic, this.group, content, count, errorSummary(error), false);
          } else {
            const headers = { ...copyHeaders(msg), [H_DELIVERIES]: count };
            const queue = delayMs > 0 ? this.delayQueue : this.queue;
            await this.bus.toQueue(queue, content, headers, delayMs > 0 ? delayMs : undefined);
          }
        }
        ackOriginal();
      },
    });
    this.slots.run(delivery, this.handler);
  }
}
