/**
 * The consumer loop of the SQL queues (PostgreSQL, SQLite): claim up to the
 * free slots with a lease, run the handlers, sleep until woken (NOTIFY, a
 * local publish, a due retry) or until the next poll. Internal to the adapters.
 *
 * Every claim gives the row a fresh random `lease_token`; ack, nack, extend
 * and dead-letter carry it in their `WHERE`, so a consumer whose lease ran
 * out (another consumer claimed the row, with a new token) acts on nothing.
 */
import { BusUnavailableError, DecodeFailedError } from '../errors/index.js';
import type { BusEnvelope, Delivery, Subscription } from '../protocols/message-bus.js';
import type { Serializer } from '../protocols/serializer.js';
import { type AdapterDelivery, ConsumerSlots, createDelivery, errorSummary, type ResolvedConsumeOptions } from './bus-consumer.js';
import { decodeEnvelope } from './codec.js';

export interface QueueRow {
  id: string;
  body: Uint8Array;
  /** Deliveries including this one. */
  deliveries: number;
  /** The lease token this claim set; every later statement on the row must match it. */
  token: string;
}

export type ErrorSummary = { code: string; message: string };

/**
 * The statements of one (topic, group). Each settling call resolves `true`
 * when it acted, `false` when the row no longer carries `row.token` (fenced),
 * and rejects with {@link BusUnavailableError} when the database is not reachable.
 */
export interface QueueDriver {
  /** Claims up to `n` visible rows for `leaseMs` (incrementing their delivery count, setting a new token). */
  claim(n: number, leaseMs: number): Promise<QueueRow[]>;
  /** Deletes the row. */
  ack(row: QueueRow): Promise<boolean>;
  /** Pushes the row's `visible_at` to now + `leaseMs`. */
  extend(row: QueueRow, leaseMs: number): Promise<boolean>;
  /** Releases the row (token cleared), visible again after `delayMs`, remembering the error. */
  retry(row: QueueRow, delayMs: number, error: ErrorSummary): Promise<boolean>;
  /** Moves the row to the dead letters in one transaction. */
  deadLetter(row: QueueRow, deliveries: number, error: ErrorSummary, raw: boolean): Promise<boolean>;
  /** Runs once on close, after the handlers drained (ephemeral groups drop themselves here). */
  release?(): Promise<void>;
}

export interface PollingConsumerOptions {
  serializer: Serializer;
  /** Longest sleep between claims when nothing wakes the loop (ms). */
  pollMs: number;
  /** Shortest sleep after an empty claim; doubles up to `pollMs` (backoff). */
  minPollMs?: number;
  onClosed(): void;
}

export class PollingConsumer implements Subscription {
  private readonly slots: ConsumerSlots;
  private stopped = false;
  private halted = false;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private loopDone: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    private readonly driver: QueueDriver,
    private readonly handler: (delivery: Delivery) => Promise<void>,
    private readonly options: ResolvedConsumeOptions,
    private readonly poll: PollingConsumerOptions,
  ) {
    this.slots = new ConsumerSlots(options, undefined, () => this.wake());
    options.signal?.addEventListener('abort', () => void this.close(), { once: true });
  }

  start(): void {
    this.loopDone = this.loop();
  }

  /** Makes the loop claim again now (new rows were published or became visible). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopped = true;
      this.slots.wake();
      this.wake();
      await this.loopDone?.catch(() => {});
      await this.slots.drain();
      this.clearTimers();
      if (!this.halted) await this.driver.release?.().catch(() => {});
      this.poll.onClosed();
    })();
    return this.closing;
  }

  /**
   * Stops at once, as a killed process would: no more claims or timers, no
   * drain, no release (an ephemeral group is left for the TTL sweep). The
   * driver refuses every later statement, so running handlers reach nothing.
   */
  halt(): void {
    if (this.halted) return;
    this.halted = true;
    this.stopped = true;
    this.clearTimers();
    this.slots.wake();
    this.wake();
    this.poll.onClosed();
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  private async loop(): Promise<void> {
    const minPoll = this.poll.minPollMs ?? this.poll.pollMs;
    const maxPoll = Math.max(minPoll, Math.min(this.poll.pollMs, Math.ceil(this.options.leaseMs / 2)));
    let idle = minPoll;
    let failures = 0;
    while (!this.stopped) {
      await this.slots.whenFree();
      if (this.stopped) break;
      this.woken = false;
      let rows: QueueRow[];
      try {
        rows = await this.driver.claim(this.slots.free, this.options.leaseMs);
        failures = 0;
      } catch {
        // the database is down or restarting: keep trying, never crash the process
        failures++;
        await this.sleep(Math.min(100 * 2 ** failures, 2_000));
        continue;
      }
      if (this.stopped) {
        // claimed while closing: hand them back at once (a halted consumer's driver refuses: the lease runs out)
        for (const row of rows) await this.driver.retry(row, 0, { code: 'CLOSED', message: 'Consumer closed' }).catch(() => {});
        break;
      }
      if (rows.length === 0) {
        await this.sleep(idle);
        idle = Math.min(idle * 2, maxPoll);
        continue;
      }
      idle = minPoll;
      for (const row of rows) this.dispatch(row);
    }
  }

  /**
   * Runs a settling statement; while the database is unreachable it is tried
   * again until the lease would have run out (after that the row is someone
   * else's, and the token check would refuse anyway). Retrying is safe: the
   * token makes a second ack/nack/dead-letter of the same claim a no-op.
   */
  private async settle(heldUntil: () => number, op: () => Promise<boolean>): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await op();
      } catch (error) {
        const wait = Math.min(100 * 2 ** attempt, 1_000);
        if (!(error instanceof BusUnavailableError) || this.halted || Date.now() + wait >= heldUntil()) throw error;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            resolve();
          }, wait);
          this.timers.add(timer);
        });
      }
    }
  }

  private dispatch(row: QueueRow): void {
    const { maxDeliveries, leaseMs } = this.options;
    let heldUntil = Date.now() + leaseMs;
    const until = () => heldUntil;
    let envelope: BusEnvelope;
    try {
      envelope = decodeEnvelope(row.body, this.poll.serializer);
    } catch (error) {
      const e = error instanceof DecodeFailedError ? error : new DecodeFailedError(undefined, { cause: error });
      void this.settle(until, () => this.driver.deadLetter(row, row.deliveries, errorSummary(e), true)).catch(() => {});
      return;
    }
    const delivery: AdapterDelivery = createDelivery(
      envelope,
      row.deliveries,
      {
        token: row.token,
        ack: () => this.settle(until, () => this.driver.ack(row)),
        nack: async (error, delayMs) => {
          const summary = errorSummary(error);
          if (row.deliveries >= maxDeliveries) return this.settle(until, () => this.driver.deadLetter(row, row.deliveries, summary, false));
          const done = await this.settle(until, () => this.driver.retry(row, delayMs, summary));
          if (done && !this.stopped) {
            // wake this consumer when the row is due (other processes find it by polling)
            const timer = setTimeout(() => {
              this.timers.delete(timer);
              this.wake();
            }, delayMs);
            this.timers.add(timer);
          }
          return done;
        },
        extend: async () => {
          const started = Date.now();
          const held = await this.driver.extend(row, leaseMs);
          if (held) heldUntil = started + leaseMs;
          // a renewal still in flight when the handler settled finds the row acked (or handed back):
          // that is not a lost lease, and the settling call reports for itself if it was refused
          return held || delivery.settled;
        },
        // a delivery past maxDeliveries only came to be settled (onExhausted): it does not count
        deadLetter: (error) => this.settle(until, () => this.driver.deadLetter(row, Math.min(row.deliveries, maxDeliveries), errorSummary(error), false)),
      },
      this.options.onLeaseLost,
    );
    this.slots.run(delivery, this.handler);
  }
}
