import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { DecodeFailedError, LeaseExpiredError } from '../../errors/index.js';
import type { BusEnvelope, Delivery, Subscription } from '../../protocols/message-bus.js';
import type { Serializer } from '../../protocols/serializer.js';
import { decodeEnvelope } from '../../distributed/codec.js';
import { ConsumerSlots, createDelivery, errorSummary, sleep, withTimeout, type ResolvedConsumeOptions } from '../../distributed/bus-consumer.js';
import type { RabbitConnection } from './rabbitmq-connection.js';
import { H_DELIVERIES, H_PUBLISH, type RabbitTopicNames } from './rabbitmq-names.js';

/** @internal What consumers share with their bus. */
export interface RabbitBusInternals {
  conn: RabbitConnection;
  serializer: Serializer;
  quorum: boolean;
  names(topic: string): RabbitTopicNames;
  /** Declares the topic and the group's durable queue (idempotent), and moves envelopes held for the topic into it. */
  assertGroup(topic: string, group: string): Promise<void>;
  /** Declares an exclusive, server-named group queue (and its delay queue) on this channel's connection. */
  assertEphemeral(channel: Channel, topic: string): Promise<{ queue: string; delayQueue: string }>;
  /** Publishes a copy straight into a queue (default exchange), confirmed. */
  toQueue(queue: string, content: Buffer, headers: Record<string, unknown>, expirationMs?: number): Promise<void>;
  /** Publishes a copy into the group's delay queue for `delayMs` (a TTL queue dead-lettering into the group queue), confirmed. */
  toDelay(topic: string, group: string, content: Buffer, headers: Record<string, unknown>, delayMs: number): Promise<void>;
  deadLetter(topic: string, group: string, content: Buffer, count: number, error: { code: string; message: string }, raw: boolean): Promise<void>;
}

/** Headers for a republished copy: ours kept, the broker's delivery bookkeeping dropped. */
export function copyHeaders(headers: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (k === 'x-delivery-count' || k === 'x-death' || k === H_PUBLISH || k.startsWith('x-first-death') || k.startsWith('x-last-death')) continue;
    out[k] = v;
  }
  return out;
}

/**
 * A channel of one subscription. A durable group's lane holds at most one
 * delivery (`prefetch 1`), so the delivery's lease IS its channel: the broker
 * hands the envelope to someone else exactly when that channel closes (lease
 * not renewed in time — we close it; `consumer_timeout`; connection lost), and
 * an ack on any other channel cannot touch it. A lane whose channel closed
 * while its handler still runs opens again only once that handler returned,
 * so running handlers never exceed `concurrency`.
 */
interface Lane {
  channel: Channel | undefined;
  tag: string | undefined;
  /** Deliveries of this lane whose handler has not returned yet. */
  busy: number;
  opening: boolean;
  readonly prefetch: number;
  /** In-flight extend probe (one round trip on the channel, shared by the lane's deliveries). */
  probe: Promise<void> | undefined;
}

type State = 'live' | 'settling' | 'done' | 'lost';

/**
 * One subscription. Durable groups: `concurrency` lanes of `prefetch 1`, a
 * lease timer per running delivery (renewed by `extend`; when it runs out the
 * lane's channel is closed and the broker redelivers). Ephemeral groups: one
 * lane of `prefetch = concurrency` on an exclusive queue (nobody else can take
 * those deliveries, so the lease is the channel alone and arrival order is kept).
 * Re-subscribes after the channel or the connection comes back.
 */
export class RabbitConsumer implements Subscription {
  private readonly names: RabbitTopicNames;
  private queue: string;
  private delayQueue: string | undefined;
  private readonly slots: ConsumerSlots;
  private readonly lanes: Lane[] = [];
  private readonly laneOf = new WeakMap<Delivery, Lane>();
  private asserted: { model: ChannelModel; done: Promise<void> } | undefined;
  private stopped = false;
  private closing: Promise<void> | undefined;
  private readonly onReconnect = () => {
    for (const lane of this.lanes) this.reopen(lane);
  };

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
    const exhausted =
      options.onExhausted ??
      (async (d: Delivery) => void (await d.deadLetter(new LeaseExpiredError(`Lease of ${options.leaseMs} ms expired on every delivery`))));
    this.slots = new ConsumerSlots({ ...options, onExhausted: (d) => this.tracked(d, exhausted) }, () => {});
    const laneCount = options.ephemeral ? 1 : options.concurrency;
    const prefetch = options.ephemeral ? options.concurrency : 1;
    for (let i = 0; i < laneCount; i++) this.lanes.push({ channel: undefined, tag: undefined, busy: 0, opening: false, prefetch, probe: undefined });
    options.signal?.addEventListener('abort', () => void this.close(), { once: true });
  }

  async start(): Promise<void> {
    this.bus.conn.on('reconnected', this.onReconnect);
    await Promise.all(
      this.lanes.map(async (lane) => {
        lane.opening = true;
        try {
          await this.open(lane);
        } finally {
          lane.opening = false;
        }
      }),
    );
  }

  private async ensureAsserted(model: ChannelModel): Promise<void> {
    if (this.options.ephemeral) return;
    if (this.asserted?.model !== model) {
      const done = this.bus.assertGroup(this.topic, this.group);
      this.asserted = { model, done };
      done.catch(() => {
        if (this.asserted?.done === done) this.asserted = undefined;
      });
    }
    await this.asserted.done;
  }

  private async open(lane: Lane): Promise<void> {
    const model = await this.bus.conn.connected();
    await this.ensureAsserted(model);
    const channel = await model.createChannel();
    channel.on('error', () => {});
    channel.on('close', () => this.laneClosed(lane, channel));
    try {
      await channel.prefetch(lane.prefetch);
      if (this.options.ephemeral) ({ queue: this.queue, delayQueue: this.delayQueue } = await this.bus.assertEphemeral(channel, this.topic));
      lane.channel = channel;
      const { consumerTag } = await channel.consume(this.queue, (msg) => this.onMessage(lane, channel, msg), { noAck: false });
      lane.tag = consumerTag;
    } catch (error) {
      await channel.close().catch(() => {});
      throw error;
    }
    if (this.stopped) await channel.close().catch(() => {});
  }

  /** Opens the lane again (with backoff) once its channel is gone and its handlers have returned. */
  private reopen(lane: Lane): void {
    if (this.stopped || this.bus.conn.isClosed || lane.channel || lane.opening || lane.busy > 0) return;
    lane.opening = true;
    void (async () => {
      for (let attempt = 0; !this.stopped && !this.bus.conn.isClosed && !lane.channel; attempt++) {
        try {
          await this.open(lane);
          return;
        } catch {
          await sleep(Math.min(100 * 2 ** attempt, 5_000));
        }
      }
    })().finally(() => {
      lane.opening = false;
    });
  }

  private laneClosed(lane: Lane, channel: Channel): void {
    if (lane.channel === channel) {
      lane.channel = undefined;
      lane.tag = undefined;
    }
    this.reopen(lane);
  }

  /** Closes the lane's channel: the broker requeues what it held unacked. */
  private dropLane(lane: Lane, channel: Channel): void {
    if (lane.channel === channel) {
      lane.channel = undefined;
      lane.tag = undefined;
    }
    void channel.close().catch(() => {});
  }

  private async tracked(delivery: Delivery, fn: (d: Delivery) => Promise<void>): Promise<void> {
    try {
      await fn(delivery);
    } finally {
      const lane = this.laneOf.get(delivery);
      if (lane) this.finished(lane);
    }
  }

  private finished(lane: Lane): void {
    lane.busy--;
    this.reopen(lane);
  }

  /** As if the process died: nothing reopens; in-flight handlers find their channels gone. */
  crash(): void {
    this.stopped = true;
    this.bus.conn.off('reconnected', this.onReconnect);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopped = true;
      this.bus.conn.off('reconnected', this.onReconnect);
      const bounded = (p: Promise<unknown>) => withTimeout(p, 5_000, () => new Error('timed out')).catch(() => {});
      await Promise.all(this.lanes.map((lane) => (lane.channel && lane.tag ? bounded(lane.channel.cancel(lane.tag)) : Promise.resolve())));
      await this.slots.drain();
      const first = this.lanes.find((lane) => lane.channel);
      if (first?.channel && this.options.ephemeral) {
        await bounded(first.channel.deleteQueue(this.queue));
        if (this.delayQueue) await bounded(first.channel.deleteQueue(this.delayQueue));
      }
      await Promise.all(this.lanes.map((lane) => (lane.channel ? bounded(lane.channel.close()) : Promise.resolve())));
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

  private onMessage(lane: Lane, channel: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // cancelled by the broker (queue deleted): declare again and subscribe again unless we are closing
      this.asserted = undefined;
      this.dropLane(lane, channel);
      return;
    }
    lane.busy++;
    const count = this.deliveryCount(msg);
    const content = msg.content;
    let envelope: BusEnvelope;
    try {
      envelope = decodeEnvelope(content, this.bus.serializer);
    } catch (error) {
      const e = error instanceof DecodeFailedError ? error : new DecodeFailedError(undefined, { cause: error });
      void this.bus
        .deadLetter(this.topic, this.group, content, count, errorSummary(e), true)
        .then(() => {
          if (lane.channel === channel) channel.ack(msg);
        })
        .catch(() => {
          if (lane.channel === channel) this.dropLane(lane, channel); // handed back; tried again on the next delivery
        })
        .finally(() => this.finished(lane));
      return;
    }
    const { leaseMs, maxDeliveries, ephemeral } = this.options;
    let state: State = 'live';
    const held = () => state === 'live' && lane.channel === channel;
    const headers = () => ({ ...copyHeaders(msg.properties.headers), [H_DELIVERIES]: count });
    let lease: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      if (ephemeral) return; // an exclusive queue: nobody else could take it; the channel is the lease
      clearTimeout(lease);
      lease = setTimeout(() => {
        if (state !== 'live') return;
        state = 'lost';
        if (this.bus.quorum) return this.dropLane(lane, channel); // not renewed in time: the broker hands it to the next consumer
        // classic queues count one redelivery at most (`redelivered`): hand back a copy that carries the count
        this.bus.toQueue(this.queue, content, headers()).then(
          () => {
            ackOriginal();
            this.dropLane(lane, channel);
          },
          () => this.dropLane(lane, channel),
        );
      }, leaseMs);
      lease.unref?.();
    };
    const settle = (next: State) => {
      clearTimeout(lease);
      state = next;
    };
    const ackOriginal = (): boolean => {
      if (lane.channel !== channel) return false;
      try {
        channel.ack(msg);
        return true;
      } catch {
        return false; // channel gone: the broker requeues it
      }
    };
    /** Publishes a replacement (retry, delay, dead letter), then acks the original. */
    const replace = async (publish: () => Promise<void>): Promise<boolean> => {
      if (!held()) return false;
      settle('settling');
      try {
        await publish();
      } catch (error) {
        state = 'lost';
        this.dropLane(lane, channel); // not replaced: hand the original back for redelivery
        throw error;
      }
      state = 'done';
      // a channel lost in between leaves the copy and a redelivery of the original (at-least-once)
      ackOriginal();
      return true;
    };
    const deadLetter = (error: Error) => this.bus.deadLetter(this.topic, this.group, content, count, errorSummary(error), false);
    const delivery = createDelivery(
      envelope,
      count,
      {
        ack: async () => {
          if (!held()) return false;
          settle('done');
          return ackOriginal();
        },
        nack: async (error, delayMs) => {
          if (count >= maxDeliveries) return replace(() => deadLetter(error));
          if (delayMs > 0) {
            if (ephemeral) return replace(() => this.bus.toQueue(this.delayQueue!, content, headers(), delayMs));
            return replace(() => this.bus.toDelay(this.topic, this.group, content, headers(), delayMs));
          }
          if (this.bus.quorum && !ephemeral) {
            // quorum queues count the requeue themselves (x-delivery-count)
            if (!held()) return false;
            settle('done');
            try {
              channel.nack(msg, false, true);
              return true;
            } catch {
              return false;
            }
          }
          return replace(() => this.bus.toQueue(this.queue, content, headers()));
        },
        extend: async () => {
          if (!held()) return false;
          arm();
          // one round trip on the delivery's channel (shared by the lane): a channel the broker closed
          // answers with its close, so `false` comes at once. The wait is bounded well under the lease, so
          // a slow broker never holds up the next renewal (the channel is ours until its close arrives).
          lane.probe ??= channel.prefetch(lane.prefetch).then(
            () => undefined,
            () => undefined,
          );
          const probe = lane.probe;
          void probe.finally(() => {
            if (lane.probe === probe) lane.probe = undefined;
          });
          await Promise.race([probe, sleep(Math.max(1, Math.min(1_000, Math.floor(leaseMs / 4))))]);
          // settled by us meanwhile (the handler returned and acked): that is not a lost lease
          if (state === 'done' || state === 'settling') return true;
          return held();
        },
        deadLetter: (error) => replace(() => deadLetter(error)),
      },
      this.options.onLeaseLost,
    );
    this.laneOf.set(delivery, lane);
    arm();
    this.slots.run(delivery, (d) => this.tracked(d, this.handler));
  }
}
