import type { Redis } from 'ioredis';
import { BusUnavailableError, DecodeFailedError } from '../../errors/index.js';
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
import { fieldMap, streamEntries, type RedisBusInternals, type RedisTopicKeys } from './redis-internals.js';
import { renewEphemeral, sweepEphemeral, trimConsumed } from './redis-trim.js';

/** An ephemeral group not renewed for this long (its process died) is destroyed by any consumer of the topic. */
const EPHEMERAL_TTL_MS = 60_000;

/** One entry this consumer holds (read ahead or running). */
interface Entry {
  /** Which of the two streams: 1 = the topic stream, 2 = the group's retry stream (the scripts' KEYS index). */
  k: 1 | 2;
  id: string;
  fields: Map<string, Buffer>;
  /** Times delivered, from the group's pending-entries list: with the consumer name, the owner fence. */
  times: number;
  /** When the lease was last taken or renewed (local clock). */
  renewedAt: number;
  /** Handed to the handler (no longer read ahead). */
  running: boolean;
}

interface BatchItem {
  e: Entry;
  resolve: (held: boolean) => void;
  reject: (error: unknown) => void;
}

const crashedError = () => new BusUnavailableError('The Redis bus was crashed (simulateCrash)');

/**
 * One subscription: a loop on its own connection that promotes due retries,
 * reclaims entries whose holder's lease expired (XCLAIM in Lua), then blocks on
 * `XREADGROUP` over the topic stream and the group's retry stream.
 *
 * Every ack, nack, renewal and dead-letter goes through a Lua script that
 * first checks the entry is still pending for this consumer with this
 * delivery's count (see lua.ts), so a consumer that lost a lease acts on nothing.
 */
export class RedisConsumer implements Subscription {
  private readonly keys: RedisTopicKeys;
  private readonly streams: [string, string];
  private readonly slots: ConsumerSlots;
  private blocking: Redis | undefined;
  private blockingId: number | undefined;
  private stopped = false;
  private crashed = false;
  private blocked = false;
  private loopDone: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private nextMaintenance = 0;
  private nextHousekeeping = 0;
  /** Last id read per stream: where an ephemeral group lost to a restart or a sweep is recreated from. */
  private readonly lastRead = new Map<string, string>();
  private acks: BatchItem[] = [];
  private extends: BatchItem[] = [];
  private flushScheduled = false;
  private readonly flushes = new Set<Promise<void>>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private renewTimer: ReturnType<typeof setInterval> | undefined;
  private renewing = false;
  /** Entries read ahead (already pending for this consumer), run as slots free up. */
  private buffer: Entry[] = [];
  /** Every entry held (read ahead or running), by `k:id`. */
  private readonly held = new Map<string, Entry>();
  /** Read-ahead entries being re-checked before they run (their renewal fell behind). */
  private verifying = 0;
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
    this.slots = new ConsumerSlots(options, undefined, () => this.pump());
    this.target = options.concurrency + Math.max(0, bus.prefetch ?? options.concurrency);
    options.signal?.addEventListener('abort', () => void this.close(), { once: true });
  }

  async start(): Promise<void> {
    await this.ensureGroups(this.options.ephemeral ? '$' : '0');
    await this.registerLease();
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
    // read-ahead entries are pending from the moment they are read: keep them alive until they run
    this.renewTimer = setInterval(() => void this.renewBuffered(), Math.max(1, Math.floor(this.options.leaseMs / 3)));
    this.renewTimer.unref?.();
    this.loopDone = this.loop();
  }

  /**
   * Creates the group on the topic stream and on its retry stream (`from`:
   * '0' = the oldest entry, '$' = from now). An ephemeral group remembers
   * where it started, so it can be recreated there if Redis loses it.
   */
  private async ensureGroups(from: string): Promise<void> {
    const { client } = this.bus;
    for (const stream of this.streams) {
      const start = this.options.ephemeral && from !== '$' ? (this.lastRead.get(stream) ?? '0') : from;
      try {
        await client.xgroup('CREATE', stream, this.group, start, 'MKSTREAM');
      } catch (error) {
        if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
      }
      if (this.options.ephemeral && !this.lastRead.has(stream)) {
        const groups = (await client.xinfo('GROUPS', stream)) as unknown[][];
        for (const g of groups) {
          const f = new Map<string, unknown>();
          for (let i = 0; i + 1 < g.length; i += 2) f.set(String(g[i]), g[i + 1]);
          if (String(f.get('name')) === this.group) this.lastRead.set(stream, String(f.get('last-delivered-id') ?? '0-0'));
        }
      }
    }
  }

  /** Tells other consumers of the group how long our silence means death (they reclaim by our lease, not theirs). */
  private registerLease(): Promise<unknown> {
    return this.bus.client.hset(this.keys.leases(this.group), this.options.consumer, String(this.options.leaseMs));
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopped = true;
      clearInterval(this.renewTimer);
      this.roomWaiter?.();
      this.unblock();
      await this.loopDone?.catch(() => {});
      if (!this.crashed) await this.handBack();
      await this.slots.drain();
      await Promise.allSettled([...this.flushes]);
      for (const t of this.timers) clearTimeout(t);
      if (this.options.ephemeral && !this.crashed) await this.destroyGroup();
      else if (!this.crashed) {
        await withTimeout(this.bus.client.hdel(this.keys.leases(this.group), this.options.consumer), this.bus.commandTimeoutMs, () => new Error('timed out')).catch(() => {});
      }
      this.blocking?.disconnect();
      this.onClosed();
    })();
    return this.closing;
  }

  /**
   * As if the process was SIGKILLed: stops the loop and every timer, drops the
   * blocking connection, forgets read-ahead entries, and refuses every later
   * ack/nack/renewal locally (nothing reaches Redis). The bus drops its own
   * connection. Handlers still running in process may finish; their outcome is lost.
   */
  crash(): void {
    this.crashed = true;
    this.stopped = true;
    clearInterval(this.renewTimer);
    for (const t of this.timers) clearTimeout(t);
    this.buffer = [];
    this.roomWaiter?.();
    this.blocking?.disconnect();
    for (const item of [...this.acks.splice(0), ...this.extends.splice(0)]) item.reject(crashedError());
  }

  /** Ephemeral groups go away with their subscription (a crashed process leaves an idle group behind). */
  private async destroyGroup(): Promise<void> {
    const { client, commandTimeoutMs } = this.bus;
    const pipeline = client.pipeline();
    pipeline.xgroup('DESTROY', this.keys.stream, this.group);
    pipeline.del(this.keys.retry(this.group), this.keys.delayed(this.group), this.keys.leases(this.group));
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
        await this.read(this.target - this.slots.active - this.buffer.length - this.verifying);
        failures = 0;
      } catch (error) {
        if (this.stopped) break;
        failures++;
        // Redis lost the group (restarted without persistence, or an ephemeral group swept): recreate it
        if (String((error as Error).message).includes('NOGROUP')) await this.ensureGroups('0').catch(() => {});
        await sleep(Math.min(100 * 2 ** failures, 2_000));
      }
    }
  }

  /** Runs read-ahead entries while slots are free; wakes the loop when the buffer runs low. */
  private pump(): void {
    while (!this.stopped && this.slots.free - this.verifying > 0 && this.buffer.length > 0) {
      const e = this.buffer.shift()!;
      if (Date.now() - e.renewedAt > (this.options.leaseMs * 2) / 3) void this.verifyThenDispatch(e);
      else this.dispatch(e);
    }
    if (this.buffer.length <= this.lowWater) this.roomWaiter?.();
  }

  /** A read-ahead entry whose renewal fell behind (Redis slow, event loop stalled): renew it first; run it only if still ours. */
  private async verifyThenDispatch(e: Entry): Promise<void> {
    this.verifying++;
    let mine = false;
    try {
      mine = await this.queue('extend', e);
    } catch {
      mine = false; // unknown: leave it pending; whoever holds it (or reclaims it) runs it
    } finally {
      this.verifying--;
    }
    if (mine && !this.stopped) this.dispatch(e);
    else {
      this.release(e);
      this.pump();
    }
  }

  private accept(k: 1 | 2, id: string, fields: Map<string, Buffer>, times: number): void {
    const key = `${k}:${id}`;
    const known = this.held.get(key);
    if (known && !known.running) {
      // we reclaimed an entry still in our read-ahead buffer (its renewal fell behind): keep it, under its new count
      known.times = times;
      known.renewedAt = Date.now();
      return;
    }
    // (a running entry we reclaimed lost its lease, e.g. renewLease: false: it runs again, the old delivery is fenced)
    const e: Entry = { k, id, fields, times, renewedAt: Date.now(), running: false };
    this.held.set(key, e);
    this.buffer.push(e);
    this.pump();
  }

  private release(e: Entry): void {
    const key = `${e.k}:${e.id}`;
    if (this.held.get(key) === e) this.held.delete(key);
  }

  /** Renews every read-ahead entry in one script call; drops the ones another consumer took. */
  private async renewBuffered(): Promise<void> {
    if (this.renewing || this.stopped || this.buffer.length === 0) return;
    this.renewing = true;
    const entries = this.buffer.slice();
    try {
      const at = Date.now();
      const fenced = await this.runBatch('extend', entries);
      const lost = new Set(fenced.map((n) => entries[n - 1]!));
      for (const e of entries) if (!lost.has(e)) e.renewedAt = at;
      if (lost.size > 0) {
        this.buffer = this.buffer.filter((e) => !lost.has(e));
        for (const e of lost) this.release(e);
      }
    } catch {
      /* a broker blip: the next tick tries again, and pump() re-checks stale entries */
    } finally {
      this.renewing = false;
    }
  }

  /** On close: read-ahead entries never ran; put them back for the group with their count unchanged. */
  private async handBack(): Promise<void> {
    const entries = this.buffer.splice(0);
    await Promise.allSettled(
      entries.map(async (e) => {
        const count = Number(e.fields.get('n')?.toString() ?? 0) + e.times - 1;
        const data = e.fields.get('d') ?? Buffer.alloc(0);
        try {
          await this.nackScript(e, data, count, 0);
        } finally {
          this.release(e);
        }
      }),
    );
  }

  /** Promotes due delayed retries and reclaims expired leases from both streams. */
  private async maintain(): Promise<void> {
    const { scripts } = this.bus;
    const now = Date.now();
    const nextDue = await scripts.pfPromote(this.keys.delayed(this.group), this.keys.retry(this.group), now, 100);
    let next = now + Math.max(50, Math.floor(this.options.leaseMs / 2));
    if (nextDue >= 0) next = Math.min(next, Math.max(nextDue, now + 10));
    if (now >= this.nextHousekeeping) {
      // every few seconds: keep an ephemeral group alive, sweep dead ones, drop entries all groups are done with
      this.nextHousekeeping = now + this.bus.housekeepingMs;
      try {
        await this.registerLease();
        if (this.options.ephemeral) await renewEphemeral(this.bus.client, this.keys, this.group, EPHEMERAL_TTL_MS);
        await sweepEphemeral(this.bus.client, this.keys);
        await trimConsumed(this.bus.client, this.keys);
      } catch {
        /* best effort: retried at the next round */
      }
    }
    this.nextMaintenance = Math.min(next, this.nextHousekeeping);
    for (const k of [1, 2] as const) {
      // only claim what can run now: a claimed entry waiting in our buffer would be stuck behind busy slots
      if (this.slots.free - this.buffer.length - this.verifying <= 0) return;
      await this.reclaim(k);
    }
  }

  /** Takes over entries of this group whose holder's lease expired (our own included). */
  private async reclaim(k: 1 | 2): Promise<void> {
    const stream = this.streams[k - 1]!;
    const room = this.slots.free - this.buffer.length - this.verifying;
    const claimed = await this.bus.scripts.pfReclaimBuffer(stream, this.keys.leases(this.group), this.group, this.options.consumer, this.options.leaseMs, room);
    for (const [id, flat, times] of claimed ?? []) this.accept(k, id.toString(), fieldMap(flat), Number(times));
  }

  private async read(count: number): Promise<void> {
    const blocking = this.blocking!;
    const blockMs = Math.max(5, Math.min(this.bus.blockMs, this.nextMaintenance - Date.now()));
    this.blocked = true;
    let reply: unknown;
    try {
      reply = await blocking.callBuffer(
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
      );
    } catch (error) {
      if (String((error as Error).message).includes('UNBLOCKED')) return;
      throw error;
    } finally {
      this.blocked = false;
    }
    for (const [key, entries] of streamEntries(reply)) {
      const stream = key.toString();
      const k = stream === this.keys.stream ? 1 : 2;
      for (const [id, flat] of entries) {
        if (!flat) continue;
        const sid = id.toString();
        this.lastRead.set(stream, sid);
        this.accept(k, sid, fieldMap(flat), 1);
      }
    }
  }

  /** Runs one entry: undecodable bytes are dead-lettered at once, everything else goes to the slots (which route exhausted ones to onExhausted). */
  private dispatch(e: Entry): void {
    e.running = true;
    const data = e.fields.get('d') ?? Buffer.alloc(0);
    const count = Number(e.fields.get('n')?.toString() ?? 0) + e.times;
    let envelope: BusEnvelope;
    try {
      envelope = decodeEnvelope(data, this.bus.serializer);
    } catch (error) {
      const decodeError = error instanceof DecodeFailedError ? error : new DecodeFailedError(undefined, { cause: error });
      void this.deadLetter(e, data, count, errorSummary(decodeError), true).catch(() => {
        /* the entry stays pending and is reclaimed after its lease */
      });
      this.pump();
      return;
    }
    const delivery = createDelivery(
      envelope,
      count,
      {
        token: `${this.options.consumer}/${e.times}/${e.k}/${e.id}`,
        ack: () => this.settle(e, this.queue('ack', e)),
        nack: (error, delayMs) => this.nack(e, data, count, error, delayMs),
        extend: () => this.queue('extend', e),
        deadLetter: (error) => this.deadLetter(e, data, count, errorSummary(error)),
      },
      this.options.onLeaseLost,
    );
    this.slots.run(delivery, this.handler);
  }

  /** Forgets the entry once its settle call is done (acted or fenced); a failed call leaves it to be reclaimed. */
  private settle<T>(e: Entry, p: Promise<T>): Promise<T> {
    return p.finally(() => this.release(e));
  }

  /** Queues an ack or a renewal; all of one tick go in one script call (fence checked per entry). */
  private queue(kind: 'ack' | 'extend', e: Entry): Promise<boolean> {
    if (this.crashed) return Promise.reject(crashedError());
    return new Promise<boolean>((resolve, reject) => {
      (kind === 'ack' ? this.acks : this.extends).push({ e, resolve, reject });
      if (this.flushScheduled) return;
      this.flushScheduled = true;
      queueMicrotask(() => {
        this.flushScheduled = false;
        const p = this.flush();
        this.flushes.add(p);
        void p.finally(() => this.flushes.delete(p));
      });
    });
  }

  private async flush(): Promise<void> {
    const acks = this.acks.splice(0);
    const renewals = this.extends.splice(0);
    await Promise.all([this.flushBatch('ack', acks), this.flushBatch('extend', renewals)]);
  }

  private async flushBatch(kind: 'ack' | 'extend', items: BatchItem[]): Promise<void> {
    if (items.length === 0) return;
    try {
      const at = Date.now();
      const fenced = new Set(await this.runBatch(kind, items.map((i) => i.e)));
      items.forEach((item, n) => {
        const held = !fenced.has(n + 1);
        if (held && kind === 'extend') item.e.renewedAt = at;
        item.resolve(held);
      });
    } catch (error) {
      for (const item of items) item.reject(error);
    }
  }

  /** One ack or renew script over `entries`; resolves the fenced positions (1-based). */
  private async runBatch(kind: 'ack' | 'extend', entries: Entry[]): Promise<number[]> {
    if (this.crashed) throw crashedError();
    const args: (string | number)[] = [this.keys.stream, this.keys.retry(this.group), this.group, this.options.consumer];
    for (const e of entries) args.push(e.k, e.id, e.times);
    const script = kind === 'ack' ? this.bus.scripts.pfAck(...args) : this.bus.scripts.pfExtend(...args);
    const fenced = await withTimeout(script, this.bus.commandTimeoutMs, () => new BusUnavailableError(`Redis ${kind} timed out`));
    return (fenced ?? []).map(Number);
  }

  private nackScript(e: Entry, data: Buffer, count: number, due: number): Promise<number> {
    if (this.crashed) return Promise.reject(crashedError());
    const k = this.keys;
    return withTimeout(
      this.bus.scripts.pfNackRetry(this.streams[e.k - 1]!, k.retry(this.group), k.delayed(this.group), this.group, this.options.consumer, e.id, e.times, data, count, due),
      this.bus.commandTimeoutMs,
      () => new BusUnavailableError('Redis nack timed out'),
    );
  }

  private async nack(e: Entry, data: Buffer, count: number, error: Error, delayMs: number): Promise<boolean> {
    if (count >= this.options.maxDeliveries) return this.deadLetter(e, data, count, errorSummary(error));
    const due = delayMs > 0 ? Date.now() + delayMs : 0;
    const done = Number(await this.settle(e, this.nackScript(e, data, count, due))) === 1;
    if (done && due > 0) {
      // wake our own loop when the retry is due, instead of waiting for the next maintenance
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.nextMaintenance = 0;
        this.unblock();
      }, delayMs);
      this.timers.add(timer);
    }
    return done;
  }

  private async deadLetter(e: Entry, data: Buffer, count: number, error: { code: string; message: string }, raw = false): Promise<boolean> {
    if (this.crashed) throw crashedError();
    const k = this.keys;
    const done = await this.settle(
      e,
      withTimeout(
        this.bus.scripts.pfDeadLetter(
          this.streams[e.k - 1]!,
          k.deadLetters,
          k.retry(this.group),
          this.group,
          this.options.consumer,
          e.id,
          e.times,
          data,
          // a delivery past maxDeliveries only came to be settled (onExhausted): it does not count
          Math.min(count, this.options.maxDeliveries),
          error.code,
          error.message,
          Date.now(),
          raw ? '1' : '0',
          this.bus.deadLetterMaxLen,
        ),
        this.bus.commandTimeoutMs,
        () => new BusUnavailableError('Redis dead-letter timed out'),
      ),
    );
    return Number(done) === 1;
  }
}
