import { AckPolicy, DeliverPolicy, nanos, type Consumer, type ConsumerInfo, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from '../../peers/nats.js';
import { BusUnavailableError, DecodeFailedError } from '../../errors/index.js';
import type { BusEnvelope, Delivery, Subscription } from '../../protocols/message-bus.js';
import type { Serializer } from '../../protocols/serializer.js';
import { decodeEnvelope } from '../../distributed/codec.js';
import { ConsumerSlots, createDelivery, DEFAULT_LEASE_MS, errorSummary, sleep, withTimeout, type ResolvedConsumeOptions } from '../../distributed/bus-consumer.js';
import type { NatsTopicNames } from './nats-names.js';

/** @internal What consumers share with their bus. */
export interface NatsBusInternals {
  js: JetStreamClient;
  jsm: JetStreamManager;
  host: string;
  serializer: Serializer;
  requestTimeoutMs: number;
  /** Messages fetched ahead beyond the free slots (default 0). */
  prefetch: number | undefined;
  /** Period of the purge of what every group acked and of the ack-wait refresh (ms). */
  housekeepingMs: number;
  /** An ephemeral group's consumer is removed by the server this long after its last fetch. */
  ephemeralInactiveMs: number;
  /** `limits` retention: the bus purges what every consumer acked; `interest`: the server does. */
  purgesAcked: boolean;
  names(topic: string): NatsTopicNames;
  ensureStream(topic: string): Promise<void>;
  /** Drops the cached "stream exists" so the next ensureStream checks again. */
  forgetStream(topic: string): void;
  /** Stores a dead letter; `seq` is its id in the dead-letter stream. */
  deadLetter(topic: string, group: string, msg: JsMsg, count: number, error: { code: string; message: string }, raw: boolean): Promise<number>;
  /** Deletes a dead letter stored by a holder that lost its lease meanwhile. */
  withdrawDeadLetter(topic: string, seq: number): Promise<void>;
  /** The connection is up (not reconnecting) and the bus did not crash. */
  connected(): boolean;
  /** Resolves `connected()` once it is true, or after `ms`. */
  whenConnected(ms: number): Promise<boolean>;
  /** A round trip to the server: everything written before it has reached the server. */
  flush(): Promise<void>;
}

/** How much earlier than the server's ack wait a lease counts as lost here (transit both ways, a busy loop). */
export function leaseMargin(leaseMs: number): number {
  return Math.min(2_000, Math.max(20, Math.floor(leaseMs / 5)));
}

/**
 * The local view of one delivery's lease. JetStream (2.9 and current) acks,
 * naks and `+WPI`s by stream sequence without checking which delivery sends
 * them, so a stale holder's ack would settle the new holder's delivery. The
 * fence is therefore kept here: a lease counts as held until `leaseMs -
 * margin` after the receipt (a lower bound of the server's delivery time plus
 * its ack wait, minus transit) or after the send of the last renewal whose
 * round trip came back while the lease was still held. Past that, nothing is
 * sent for this delivery any more.
 */
class Lease {
  heldUntil: number;

  constructor(
    readonly msg: JsMsg,
    private readonly bus: NatsBusInternals,
    private readonly leaseMs: () => number,
    receivedAt: number,
  ) {
    this.heldUntil = receivedAt + leaseMs() - leaseMargin(leaseMs());
  }

  held(): boolean {
    return Date.now() < this.heldUntil;
  }

  /**
   * `working()` (the server restarts the ack wait from when it reads it), then
   * a flush: the renewal counts only when the flush came back before the lease
   * ran out here, so it reached the server while this delivery still held it.
   */
  async renew(): Promise<boolean> {
    if (!this.held()) return false;
    if (!this.bus.connected()) throw new BusUnavailableError('NATS is reconnecting: lease not renewed this time');
    const sentAt = Date.now();
    try {
      this.msg.working();
      await withTimeout(this.bus.flush(), Math.max(1, this.heldUntil - sentAt), () => new Error('flush timed out'));
    } catch (error) {
      if (!this.held()) return false;
      throw error;
    }
    if (!this.held()) return false;
    this.heldUntil = Math.max(this.heldUntil, sentAt + this.leaseMs() - leaseMargin(this.leaseMs()));
    return true;
  }

  /** Runs `send` (an ack, nak or term) while the lease is held and the connection up; `false` otherwise. */
  async act(send: () => void): Promise<boolean> {
    if (!this.held()) return false;
    // never hand an ack to the driver while reconnecting: it would send it late, maybe after a redelivery
    if (!this.bus.connected() && !(await this.bus.whenConnected(this.heldUntil - Date.now()))) return false;
    if (!this.held()) return false;
    try {
      send();
    } catch {
      return false; // the connection closed under us: nothing was sent
    }
    return true;
  }
}

interface Received {
  lease: Lease;
}

/**
 * One subscription: a durable pull consumer per group (`ack_wait` = the
 * group's lease), fetched in batches no larger than the free slots plus
 * `prefetch`. Fetched messages are taken off the client at once; those
 * waiting for a slot are kept alive with `working()` until they start.
 */
export class NatsConsumer implements Subscription {
  private readonly names: NatsTopicNames;
  private readonly slots: ConsumerSlots;
  private readonly ownRetrySubject: string;
  private readonly prefetch: number;
  /** The options the slots see: `leaseMs` is the group's ack wait once known. */
  private readonly options: ResolvedConsumeOptions;
  private readonly queue: Received[] = [];
  private name: string | undefined;
  private ephemeralName: string | undefined;
  private stopped = false;
  private crashed = false;
  private batch: ConsumerMessages | undefined;
  private loopDone: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private keepAlive: ReturnType<typeof setInterval> | undefined;
  private housekeeping: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly bus: NatsBusInternals,
    readonly topic: string,
    readonly group: string,
    private readonly handler: (delivery: Delivery) => Promise<void>,
    options: ResolvedConsumeOptions,
    private readonly onClosed: () => void,
  ) {
    this.names = bus.names(topic);
    this.ownRetrySubject = this.names.retrySubject(group);
    this.options = { ...options };
    this.slots = new ConsumerSlots(this.options, () => undefined, () => this.pump());
    this.prefetch = Math.max(0, bus.prefetch ?? 0);
    options.signal?.addEventListener('abort', () => void this.close(), { once: true });
  }

  /** The lease every delivery of this subscription gets (the group's ack wait). */
  get leaseMs(): number {
    return this.options.leaseMs;
  }

  async start(): Promise<void> {
    if (!this.bus.connected() && !(await this.bus.whenConnected(this.bus.requestTimeoutMs))) {
      throw new BusUnavailableError('NATS is not connected');
    }
    this.name = await this.setup();
    const every = Math.max(1, Math.floor(this.leaseMs / 3));
    this.keepAlive = setInterval(() => this.renewQueued(), every);
    this.keepAlive.unref?.();
    if (!this.options.ephemeral) {
      this.housekeeping = setInterval(() => void this.housekeep().catch(() => undefined), this.bus.housekeepingMs);
      this.housekeeping.unref?.();
    }
    this.loopDone = this.loop();
  }

  /** Creates (or adopts) the stream and this group's consumer; returns the consumer's name. */
  private async setup(): Promise<string> {
    await this.bus.ensureStream(this.topic);
    const { jsm } = this.bus;
    const wanted = nanos(this.options.leaseMs);
    const common = {
      ack_policy: AckPolicy.Explicit,
      filter_subject: this.names.filter,
      ack_wait: wanted,
      // redelivery limits are enforced here (dead letters with the last error), not by the server
      max_deliver: -1,
      max_ack_pending: -1,
    };
    if (this.options.ephemeral) {
      // server-named consumer from the next message on; the server removes it after inactive_threshold without a fetch
      const info = await jsm.consumers.add(this.names.stream, {
        ...common,
        deliver_policy: DeliverPolicy.New,
        inactive_threshold: nanos(this.bus.ephemeralInactiveMs),
      });
      this.ephemeralName = info.name;
      return info.name;
    }
    const durable = this.names.durable(this.group);
    let info: ConsumerInfo;
    try {
      info = await jsm.consumers.info(this.names.stream, durable);
    } catch (error) {
      if (!/not found/i.test(String((error as Error)?.message))) throw error;
      info = await jsm.consumers.add(this.names.stream, { ...common, durable_name: durable, deliver_policy: DeliverPolicy.All });
    }
    if (info.config.ack_wait !== wanted) {
      // the ack wait is the group's, not this consumer's: change it only while nobody holds or waits for work,
      // else adopt it (renewing every ack_wait / 3), so no member's deliveries expire sooner than it thinks
      const idle = info.num_ack_pending === 0 && info.num_waiting === 0;
      if (idle) info = await jsm.consumers.update(this.names.stream, durable, { ack_wait: wanted });
    }
    this.adopt(info);
    return durable;
  }

  private adopt(info: ConsumerInfo): void {
    const ms = Math.max(1, Math.round((info.config.ack_wait ?? nanos(DEFAULT_LEASE_MS)) / 1_000_000));
    this.options.leaseMs = ms;
  }

  /** Refreshes the group's ack wait, and (limits retention) purges what every consumer of the topic acked. */
  private async housekeep(): Promise<void> {
    if (this.stopped || !this.bus.connected()) return;
    const { jsm } = this.bus;
    const infos: ConsumerInfo[] = [];
    for await (const info of jsm.consumers.list(this.names.stream)) infos.push(info);
    const mine = infos.find((i) => i.name === this.name);
    if (mine) this.adopt(mine);
    if (!this.bus.purgesAcked || infos.length === 0) return;
    const floor = Math.min(...infos.map((i) => i.ack_floor.stream_seq));
    const stream = await jsm.streams.info(this.names.stream);
    if (floor >= stream.state.first_seq && stream.state.messages > 0) await jsm.streams.purge(this.names.stream, { seq: floor + 1 });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopped = true;
      this.stopTimers();
      this.slots.wake();
      await this.batch?.close().catch(() => {});
      await this.loopDone?.catch(() => {});
      // fetched but never run: hand back now rather than after the ack wait
      for (const { lease } of this.queue.splice(0)) await lease.act(() => lease.msg.nak());
      await this.slots.drain();
      if (this.ephemeralName !== undefined && !this.crashed) {
        await withTimeout(this.bus.jsm.consumers.delete(this.names.stream, this.ephemeralName), this.bus.requestTimeoutMs, () => new Error('timed out')).catch(() => {});
      }
      this.onClosed();
    })();
    return this.closing;
  }

  /** The process "died": no more fetches, renewals, acks or hand-backs (test seam of the bus). */
  crash(): void {
    this.crashed = true;
    this.stopped = true;
    this.stopTimers();
    this.queue.splice(0);
    this.slots.wake();
    void this.batch?.close().catch(() => {});
  }

  private stopTimers(): void {
    if (this.keepAlive !== undefined) clearInterval(this.keepAlive);
    if (this.housekeeping !== undefined) clearInterval(this.housekeeping);
  }

  private async loop(): Promise<void> {
    let failures = 0;
    let consumer: Consumer | undefined;
    while (!this.stopped) {
      try {
        const want = this.slots.free + this.prefetch - this.queue.length;
        if (want <= 0 || this.slots.free <= 0) {
          await this.slots.whenFree();
          continue;
        }
        if (!this.bus.connected()) {
          // a pull request written now would be sent on reconnect and its messages wait out the ack wait
          await this.bus.whenConnected(1_000);
          continue;
        }
        consumer ??= await this.bus.js.consumers.get(this.names.stream, this.name);
        this.batch = await consumer.fetch({ max_messages: want, expires: 1_000 });
        // take every message off the client as it arrives: its ack wait is already running
        for await (const msg of this.batch) this.receive(msg);
        failures = 0;
      } catch {
        if (this.stopped) break;
        failures++;
        consumer = undefined;
        // the stream or consumer may be gone (deleted, server lost its storage): set them up again
        if (failures % 3 === 0) {
          this.bus.forgetStream(this.topic);
          this.name = await this.setup().catch(() => this.name);
        }
        await sleep(Math.min(100 * 2 ** failures, 2_000));
      } finally {
        this.batch = undefined;
      }
    }
  }

  private receive(msg: JsMsg): void {
    const lease = new Lease(msg, this.bus, () => this.options.leaseMs, Date.now());
    if (this.stopped) {
      if (!this.crashed) void lease.act(() => msg.nak());
      return;
    }
    this.queue.push({ lease });
    this.pump();
  }

  /** Starts queued messages while slots are free (also called each time a slot frees). */
  private pump(): void {
    while (!this.stopped && this.slots.free > 0 && this.queue.length > 0) this.dispatch(this.queue.shift()!.lease);
  }

  /** Keeps fetched messages that wait for a slot alive until they start. */
  private renewQueued(): void {
    for (const { lease } of this.queue) void lease.renew().catch(() => undefined);
  }

  private dispatch(lease: Lease): void {
    const { msg } = lease;
    // retried dead letters of other groups share the filter; they are not ours
    if (msg.subject !== this.names.subject && msg.subject !== this.ownRetrySubject) {
      void lease.act(() => msg.ack());
      return;
    }
    const count = msg.info.deliveryCount;
    let envelope: BusEnvelope;
    try {
      envelope = decodeEnvelope(msg.data, this.bus.serializer);
    } catch (error) {
      const e = error instanceof DecodeFailedError ? error : new DecodeFailedError(undefined, { cause: error });
      void this.deadLetter(lease, count, errorSummary(e), true).catch(() => undefined);
      return;
    }
    const { maxDeliveries } = this.options;
    const delivery = createDelivery(
      envelope,
      count,
      {
        // stream and consumer sequence: the consumer sequence is new on every delivery
        token: `${msg.info.streamSequence}.${msg.info.deliverySequence}`,
        ack: () => this.settle(lease, () => msg.ack()),
        nack: async (error, delayMs) => {
          if (count >= maxDeliveries) return this.deadLetter(lease, count, errorSummary(error), false);
          return this.settle(lease, () => msg.nak(delayMs > 0 ? delayMs : undefined));
        },
        extend: () => (this.crashed ? Promise.resolve(false) : lease.renew()),
        deadLetter: (error) => this.deadLetter(lease, Math.min(count, maxDeliveries), errorSummary(error), false),
      },
      this.options.onLeaseLost,
    );
    this.slots.run(delivery, this.handler);
  }

  private settle(lease: Lease, send: () => void): Promise<boolean> {
    if (this.crashed) return Promise.resolve(false);
    return lease.act(send);
  }

  /**
   * Stores the message in the dead-letter stream, then terminates it. `term()`
   * without a reason: NATS 2.9 ignores `+TERM <reason>` (the message would come
   * back every ack wait and die again); the reason is in the dead letter's
   * headers. A holder whose lease ran out while the dead letter was stored
   * withdraws it and resolves `false`.
   */
  private async deadLetter(lease: Lease, count: number, error: { code: string; message: string }, raw: boolean): Promise<boolean> {
    if (this.crashed || !lease.held()) return false;
    let seq: number;
    try {
      seq = await withTimeout(
        this.bus.deadLetter(this.topic, this.group, lease.msg, count, error, raw),
        this.bus.requestTimeoutMs, // a lease lost meanwhile is caught below (the dead letter is withdrawn)
        () => new BusUnavailableError('Storing the dead letter timed out'),
      );
    } catch (failure) {
      // dead-letter stream unavailable or full: hand the message back for later rather than lose it
      await lease.act(() => lease.msg.nak(1_000));
      throw failure;
    }
    if (await this.settle(lease, () => lease.msg.term())) return true;
    await this.bus.withdrawDeadLetter(this.topic, seq).catch(() => undefined);
    return false;
  }
}
