import type { Redis } from 'ioredis';
import { DecodeFailedError } from '../../errors/index.js';
import type { BusEnvelope, Delivery, Subscription } from '../../protocols/message-bus.js';
import { decodeEnvelope } from '../../distributed/codec.js';
import {
  ConsumerSlots,
  createDelivery,
  errorSummary,
  sleep,
  withTimeout,
  type ResolvedConsumeOptions,
} from '../../distributed/bus-consumer.js';
import { fieldMap, type RedisBusInternals, type RedisTopicKeys } from './redis-internals.js';
import { renewEphemeral, sweepEphemeral, trimConsumed } from './redis-trim.js';

/** An ephemeral group not renewed for this long (its process died) is destroyed by any consumer of the topic. */
const EPHEMERAL_TTL_MS = 60_000;

type StreamReply = [Buffer, [Buffer, Buffer[] | null][]][] | null;

interface Entry {
  stream: string;
  id: string;
  fields: Map<string, Buffer>;
  timesDelivered: number;
}

/**
 * One subscription: a loop on its own connection that promotes due retries,
 * reclaims entries whose lease expired (`XAUTOCLAIM`), then blocks on
 * `XREADGROUP` over the topic stream and the group's retry stream.
 */
export class RedisConsumer implements Subscription {
  private readonly keys: RedisTopicKeys;
  private readonly streams: [string, string];
  private readonly slots: ConsumerSlots;
  private blocking: Redis | undefined;
  private blockingId: number | undefined;
  private stopped = false;
  private blocked = false;
  private loopDone: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private nextMaintenance = 0;
  private nextHousekeeping = 0;
  private readonly claimCursor = new Map<string, string>();
  private readonly acks = new Map<string, string[]>();
  private ackFlush: Promise<void> | undefined;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  /** Entries read ahead (already pending for this consumer), run as slots free up. */
  private readonly buffer: Entry[] = [];
  /** Most entries held: running + read ahead. */
  private readonly target: number;
  private roomWaiter: (() => void) | undefined;

  constructor(
    private readonly bus: RedisBusInternals,
    readonly topic: string,
    readonly group: string,
    private readonly handler: (delivery: Delivery) => Promise<void>,
    private readonly options: ResolvedConsumeOptions,
    private readonly onClosed: () => void,
  ) {
    this.keys = bus.keys(topic);
    this.streams = [this.keys.stream, this.keys.retry(group)];
    this.slots = new ConsumerSlots(options.concurrency, undefined, () => this.pump());
    this.target = options.concurrency + Math.max(0, bus.prefetch ?? options.concurrency);
    options.signal?.addEventListener('abort', () => void this.close(), { once: true });
  }

  async start(): Promise<void> {
    await this.ensureGroups();
    const blocking = this.bus.client.duplicate();
    this.blocking = blocking;
    blocking.on('error', () => {});
    blocking.on('ready', () => {
      blocking
        .client('ID')
        .then((id) => (this.blockingId = Number(id)))
        .catch(() => {});
    });
    this.blockingId = Number(await blocking.client('ID'));
    this.loopDone = this.loop();
  }

  /** Creates the group on the topic stream and on its retry stream (from the oldest entry; ephemeral: from now). */
  private async ensureGroups(): Promise<void> {
    for (const stream of this.streams) {
      try {
        await this.bus.client.xgroup('CREATE', stream, this.group, this.options.ephemeral ? '$' : '0', 'MKSTREAM');
      } catch (error) {
        if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
      }
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopped = true;
      this.roomWaiter?.();
      this.unblock();
      await this.loopDone?.catch(() => {});
      await this.handBack();
      await this.slots.drain();
      await this.flushAcks().catch(() => {});
      for (const t of this.timers) clearTimeout(t);
      if (this.options.ephemeral) await this.destroyGroup();
      this.blocking?.disconnect();
      this.onClosed();
    })();
    return this.closing;
  }

  /** Ephemeral groups go away with their subscription (a crashed process leaves an idle group behind). */
  private async destroyGroup(): Promise<void> {
    const { client, commandTimeoutMs } = this.bus;
    const pipeline = client.pipeline();
    pipeline.xgroup('DESTROY', this.keys.stream, this.group);
    pipeline.del(this.keys.retry(this.group), this.keys.delayed(this.group));
    pipeline.hdel(this.keys.ephemeral, this.group);
    await withTimeout(pipeline.exec(), commandTimeoutMs, () => new Error('timed out')).catch(() => {});
  }

  /** Interrupts a running XREADGROUP BLOCK so the loop looks again now. */
  private unblock(): void {
    if (!this.blocked || this.blockingId === undefined) return;
    this.bus.client.client('UNBLOCK', this.blockingId).catch(() => {});
  }

  private get lowWater(): number {
    return Math.floor(this.target / 2);
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (this.buffer.length > this.lowWater) {
          await new Promise<void>((resolve) => (this.roomWaiter = resolve));
          this.roomWaiter = undefined;
          continue;
        }
        if (Date.now() >= this.nextMaintenance) await this.maintain();
        if (this.stopped || this.buffer.length > this.lowWater) continue;
        await this.read(this.target - this.slots.active - this.buffer.length);
        failures = 0;
      } catch (error) {
        if (this.stopped) break;
        failures++;
        if (String((error as Error).message).includes('NOGROUP')) await this.ensureGroups().catch(() => {});
        await sleep(Math.min(100 * 2 ** failures, 2_000));
      }
    }
  }

  /** Runs read-ahead entries while slots are free; wakes the loop when the buffer runs low. */
  private pump(): void {
    while (!this.stopped && this.slots.free > 0 && this.buffer.length > 0) {
      const e = this.buffer.shift()!;
      this.dispatch(e.stream, e.id, e.fields, e.timesDelivered);
    }
    if (this.buffer.length <= this.lowWater) this.roomWaiter?.();
  }

  private accept(entry: Entry): void {
    this.buffer.push(entry);
    this.pump();
  }

  /** On close: read-ahead entries never ran; put them back for the group with their count unchanged. */
  private async handBack(): Promise<void> {
    const entries = this.buffer.splice(0);
    const k = this.keys;
    await Promise.allSettled(
      entries.map((e) => {
        const count = Number(e.fields.get('n')?.toString() ?? 0) + e.timesDelivered - 1;
        const data = e.fields.get('d') ?? Buffer.alloc(0);
        return withTimeout(
          this.bus.scripts.pfNackRetry(e.stream, k.retry(this.group), k.delayed(this.group), this.group, e.id, data, count, 0, this.bus.maxLen),
          this.bus.commandTimeoutMs,
          () => new Error('Redis hand-back timed out'),
        );
      }),
    );
  }

  /** Promotes due delayed retries and reclaims expired leases from both streams. */
  private async maintain(): Promise<void> {
    const { scripts, maxLen } = this.bus;
    const now = Date.now();
    const nextDue = await scripts.pfPromote(this.keys.delayed(this.group), this.keys.retry(this.group), now, 100, maxLen);
    let next = now + Math.max(50, Math.floor(this.options.leaseMs / 2));
    if (nextDue >= 0) next = Math.min(next, Math.max(nextDue, now + 10));
    if (now >= this.nextHousekeeping) {
      // every few seconds: keep an ephemeral group alive, sweep dead ones, drop entries all groups are done with
      this.nextHousekeeping = now + this.bus.housekeepingMs;
      try {
        if (this.options.ephemeral) await renewEphemeral(this.bus.client, this.keys, this.group, EPHEMERAL_TTL_MS);
        await sweepEphemeral(this.bus.client, this.keys);
        await trimConsumed(this.bus.client, this.keys);
      } catch {
        /* best effort: retried at the next round */
      }
    }
    this.nextMaintenance = Math.min(next, this.nextHousekeeping);
    for (const stream of this.streams) {
      // only claim what can run now: a claimed entry waiting in our buffer would be stuck behind busy slots
      if (this.slots.free - this.buffer.length <= 0) return;
      await this.reclaim(stream);
    }
  }

  private async reclaim(stream: string): Promise<void> {
    const { client } = this.bus;
    const start = this.claimCursor.get(stream) ?? '0-0';
    const reply = (await client.callBuffer(
      'XAUTOCLAIM',
      stream,
      this.group,
      this.options.consumer,
      this.options.leaseMs,
      start,
      'COUNT',
      this.slots.free - this.buffer.length,
    )) as [Buffer, [Buffer, Buffer[] | null][]];
    this.claimCursor.set(stream, reply[0].toString());
    const entries = reply[1].filter((e) => e[1] !== null);
    if (entries.length === 0) return;
    const ids = entries.map((e) => e[0].toString());
    const pending = (await client.xpending(stream, this.group, ids[0]!, ids[ids.length - 1]!, ids.length * 2, this.options.consumer)) as [
      string,
      string,
      number,
      number,
    ][];
    const times = new Map(pending.map((p) => [p[0], Number(p[3])]));
    for (const [id, flat] of entries) this.accept({ stream, id: id.toString(), fields: fieldMap(flat), timesDelivered: times.get(id.toString()) ?? 2 });
  }

  private async read(count: number): Promise<void> {
    const blocking = this.blocking!;
    const blockMs = Math.max(5, Math.min(this.bus.blockMs, this.nextMaintenance - Date.now()));
    this.blocked = true;
    let reply: StreamReply;
    try {
      reply = (await blocking.callBuffer(
        'XREADGROUP',
        'GROUP',
        this.group,
        this.options.consumer,
        'COUNT',
        Math.max(1, count),
        'BLOCK',
        blockMs,
        'STREAMS',
        ...this.streams,
        '>',
        '>',
      )) as StreamReply;
    } catch (error) {
      if (String((error as Error).message).includes('UNBLOCKED')) return;
      throw error;
    } finally {
      this.blocked = false;
    }
    if (!reply) return;
    for (const [key, entries] of reply) {
      for (const [id, flat] of entries) if (flat) this.accept({ stream: key.toString(), id: id.toString(), fields: fieldMap(flat), timesDelivered: 1 });
    }
  }

  /** Runs one entry: dead-letters it when over the limit or undecodable, else hands it to the handler. */
  private dispatch(stream: string, id: string, fields: Map<string, Buffer>, timesDelivered: number): void {
    const data = fields.get('d') ?? Buffer.alloc(0);
    const count = Number(fields.get('n')?.toString() ?? 0) + timesDelivered;
    if (count > this.options.maxDeliveries) {
      void this.deadLetter(stream, id, data, count - 1, { code: 'LEASE_EXPIRED', message: `Lease of ${this.options.leaseMs} ms expired on every delivery` });
      return;
    }
    let envelope: BusEnvelope;
    try {
      envelope = decodeEnvelope(data, this.bus.serializer);
    } catch (error) {
      const e = error instanceof DecodeFailedError ? error : new DecodeFailedError(undefined, { cause: error });
      void this.deadLetter(stream, id, data, count, errorSummary(e), true);
      return;
    }
    const delivery = createDelivery(envelope, count, {
      ack: () => this.ack(stream, id),
      nack: (error, delayMs) => this.nack(stream, id, data, count, error, delayMs),
    });
    this.slots.run(delivery, this.handler);
  }

  private ack(stream: string, id: string): Promise<void> {
    let ids = this.acks.get(stream);
    if (!ids) this.acks.set(stream, (ids = []));
    ids.push(id);
    this.ackFlush ??= new Promise<void>((resolve) => queueMicrotask(resolve)).then(() => this.flushAcks());
    return this.ackFlush;
  }

  /** One XACK per stream for all acks of this tick (and XDEL for the group's own retry stream). */
  private async flushAcks(): Promise<void> {
    this.ackFlush = undefined;
    if (this.acks.size === 0) return;
    const pipeline = this.bus.client.pipeline();
    for (const [stream, ids] of this.acks) {
      pipeline.xack(stream, this.group, ...ids);
      if (stream !== this.keys.stream) pipeline.xdel(stream, ...ids);
    }
    this.acks.clear();
    await withTimeout(pipeline.exec(), this.bus.commandTimeoutMs, () => new Error('Redis ack timed out'));
  }

  private async nack(stream: string, id: string, data: Buffer, count: number, error: Error, delayMs: number): Promise<void> {
    if (count >= this.options.maxDeliveries) return this.deadLetter(stream, id, data, count, errorSummary(error));
    const due = delayMs > 0 ? Date.now() + delayMs : 0;
    const k = this.keys;
    await withTimeout(
      this.bus.scripts.pfNackRetry(stream, k.retry(this.group), k.delayed(this.group), this.group, id, data, count, due, this.bus.maxLen),
      this.bus.commandTimeoutMs,
      () => new Error('Redis nack timed out'),
    );
    if (due > 0) {
      // wake our own loop when the retry is due, instead of waiting for the next maintenance
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.nextMaintenance = 0;
        this.unblock();
      }, delayMs);
      this.timers.add(timer);
    }
  }

  private async deadLetter(stream: string, id: string, data: Buffer, count: number, error: { code: string; message: string }, raw = false): Promise<void> {
    const k = this.keys;
    await withTimeout(
      this.bus.scripts.pfDeadLetter(
        stream,
        k.deadLetters,
        k.retry(this.group),
        this.group,
        id,
        data,
        count,
        error.code,
        error.message,
        Date.now(),
        raw ? '1' : '0',
        this.bus.deadLetterMaxLen,
      ),
      this.bus.commandTimeoutMs,
      () => new Error('Redis dead-letter timed out'),
    ).catch(() => {
      /* the entry stays pending and is reclaimed after its lease */
    });
  }
}
