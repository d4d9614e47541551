import { AckPolicy, DeliverPolicy, nanos, type Consumer, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from '../../peers/nats.js';
import { DecodeFailedError } from '../../errors/index.js';
import type { BusEnvelope, Delivery, Subscription } from '../../protocols/message-bus.js';
import type { Serializer } from '../../protocols/serializer.js';
import { decodeEnvelope } from '../../distributed/codec.js';
import { ConsumerSlots, createDelivery, errorSummary, sleep, withTimeout, type ResolvedConsumeOptions } from '../../distributed/bus-consumer.js';

/** An ephemeral group's consumer is removed by the server this long after its last fetch (a crashed process). */
const EPHEMERAL_INACTIVE_MS = 60_000;
import type { NatsTopicNames } from './nats-names.js';

/** @internal What consumers share with their bus. */
export interface NatsBusInternals {
  js: JetStreamClient;
  jsm: JetStreamManager;
  host: string;
  serializer: Serializer;
  requestTimeoutMs: number;
  /** Messages fetched ahead beyond the free slots; undefined = the concurrency. */
  prefetch: number | undefined;
  names(topic: string): NatsTopicNames;
  ensureStream(topic: string): Promise<void>;
  /** Drops the cached "stream exists" so the next ensureStream checks again. */
  forgetStream(topic: string): void;
  deadLetter(topic: string, group: string, data: Uint8Array, count: number, error: { code: string; message: string }, raw: boolean): Promise<void>;
}

/**
 * One subscription: a durable pull consumer per group (created or updated
 * with `ack_wait` = lease), fetched in batches no larger than the free slots,
 * so nothing waits in a client buffer while its lease runs.
 */
export class NatsConsumer implements Subscription {
  private readonly names: NatsTopicNames;
  private readonly slots: ConsumerSlots;
  private readonly ownRetrySubject: string;
  private readonly prefetch: number;
  private ephemeralName: string | undefined;
  private stopped = false;
  private batch: ConsumerMessages | undefined;
  private loopDone: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly bus: NatsBusInternals,
    readonly topic: string,
    readonly group: string,
    private readonly handler: (delivery: Delivery) => Promise<void>,
    private readonly options: ResolvedConsumeOptions,
    private readonly onClosed: () => void,
  ) {
    this.names = bus.names(topic);
    this.ownRetrySubject = this.names.retrySubject(group);
    this.slots = new ConsumerSlots(options.concurrency);
    this.prefetch = Math.max(0, bus.prefetch ?? options.concurrency);
    options.signal?.addEventListener('abort', () => void this.close(), { once: true });
  }

  async start(): Promise<void> {
    const name = await this.setup();
    this.loopDone = this.loop(name);
  }

  /** Creates (or updates) the stream and this group's consumer; returns the consumer's name. */
  private async setup(): Promise<string> {
    await this.bus.ensureStream(this.topic);
    const { jsm } = this.bus;
    const common = {
      ack_policy: AckPolicy.Explicit,
      filter_subject: this.names.filter,
      ack_wait: nanos(this.options.leaseMs),
      // redelivery limits are enforced here (dead letters with the last error), not by the server
      max_deliver: -1,
      max_ack_pending: -1,
    };
    if (this.options.ephemeral) {
      // server-named consumer from the next message on; the server removes it a minute after its last fetch
      const info = await jsm.consumers.add(this.names.stream, {
        ...common,
        deliver_policy: DeliverPolicy.New,
        inactive_threshold: nanos(EPHEMERAL_INACTIVE_MS),
      });
      this.ephemeralName = info.name;
      return info.name;
    }
    const durable = this.names.durable(this.group);
    try {
      const info = await jsm.consumers.info(this.names.stream, durable);
      if (info.config.ack_wait !== common.ack_wait) {
        await jsm.consumers.update(this.names.stream, durable, { ack_wait: common.ack_wait });
      }
    } catch {
      await jsm.consumers.add(this.names.stream, { ...common, durable_name: durable, deliver_policy: DeliverPolicy.All });
    }
    return durable;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopped = true;
      this.slots.wake();
      await this.batch?.close().catch(() => {});
      await this.loopDone?.catch(() => {});
      await this.slots.drain();
      if (this.ephemeralName !== undefined) {
        await withTimeout(this.bus.jsm.consumers.delete(this.names.stream, this.ephemeralName), this.bus.requestTimeoutMs, () => new Error('timed out')).catch(() => {});
      }
      this.onClosed();
    })();
    return this.closing;
  }

  private async loop(name: string): Promise<void> {
    let failures = 0;
    let consumer: Consumer | undefined;
    while (!this.stopped) {
      try {
        await this.slots.whenFree();
        if (this.stopped) break;
        consumer ??= await this.bus.js.consumers.get(this.names.stream, name);
        this.batch = await consumer.fetch({ max_messages: this.slots.free + this.prefetch, expires: 1_000 });
        for await (const msg of this.batch) {
          // read-ahead messages wait here for a slot (their ack wait is already running)
          await this.slots.whenFree();
          if (this.stopped) {
            msg.nak(); // never ran: hand it back now rather than after the ack wait
            continue;
          }
          this.dispatch(msg);
        }
        failures = 0;
      } catch {
        if (this.stopped) break;
        failures++;
        consumer = undefined;
        // the stream or consumer may be gone (deleted, server lost its storage): set them up again
        if (failures % 3 === 0) {
          this.bus.forgetStream(this.topic);
          name = await this.setup().catch(() => name);
        }
        await sleep(Math.min(100 * 2 ** failures, 2_000));
      } finally {
        this.batch = undefined;
      }
    }
  }

  private dispatch(msg: JsMsg): void {
    // retried dead letters of other groups share the filter; they are not ours
    if (msg.subject !== this.names.subject && msg.subject !== this.ownRetrySubject) {
      msg.ack();
      return;
    }
    const count = msg.info.deliveryCount;
    if (count > this.options.maxDeliveries) {
      const error = { code: 'LEASE_EXPIRED', message: `Lease of ${this.options.leaseMs} ms expired on every delivery` };
      void this.deadLetter(msg, count - 1, error, false);
      return;
    }
    let envelope: BusEnvelope;
    try {
      envelope = decodeEnvelope(msg.data, this.bus.serializer);
    } catch (error) {
      const e = error instanceof DecodeFailedError ? error : new DecodeFailedError(undefined, { cause: error });
      void this.deadLetter(msg, count, errorSummary(e), true);
      return;
    }
    const delivery = createDelivery(envelope, count, {
      ack: async () => msg.ack(),
      nack: async (error, delayMs) => {
        if (count >= this.options.maxDeliveries) return this.deadLetter(msg, count, errorSummary(error), false);
        msg.nak(delayMs > 0 ? delayMs : undefined);
      },
    });
    this.slots.run(delivery, this.handler);
  }

  /** Stores the message in the dead-letter stream, then terminates it (no more redeliveries). */
  private async deadLetter(msg: JsMsg, count: number, error: { code: string; message: string }, raw: boolean): Promise<void> {
    try {
      await this.bus.deadLetter(this.topic, this.group, msg.data, count, error, raw);
      msg.term(error.code);
    } catch {
      msg.nak(1_000); // dead-letter stream unavailable: try again later rather than lose it
    }
  }
}
