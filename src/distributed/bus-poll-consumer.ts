/**
 * The consumer loop of the SQL queues (PostgreSQL, SQLite): claim up to the
 * free slots with a lease, run the handlers, sleep until woken (NOTIFY, a
 * local publish, a due retry) or until the next poll. Internal to the adapters.
 */
import { DecodeFailedError } from '../errors/index.js';
import type { BusEnvelope, Delivery, Subscription } from '../protocols/message-bus.js';
import type { Serializer } from '../protocols/serializer.js';
import { ConsumerSlots, createDelivery, errorSummary, type ResolvedConsumeOptions } from './bus-consumer.js';
import { decodeEnvelope } from './codec.js';

export interface QueueRow {
  id: string;
  body: Uint8Array;
  /** Deliveries including this one. */
  deliveries: number;
  lastError?: { code: string; message: string } | undefined;
}

export interface QueueDriver {
  /** Claims up to `n` visible rows for `leaseMs` (incrementing their delivery count). */
  claim(n: number, leaseMs: number): Promise<QueueRow[]>;
  ack(id: string): Promise<void>;
  /** Releases the row, visible again after `delayMs`, remembering the error. */
  retry(id: string, delayMs: number, error: { code: string; message: string }): Promise<void>;
  deadLetter(id: string, deliveries: number, error: { code: string; message: string }, raw: boolean): Promise<void>;
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
    this.slots = new ConsumerSlots(options.concurrency, undefined, () => this.wake());
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
      for (const t of this.timers) clearTimeout(t);
      await this.driver.release?.().catch(() => {});
      this.poll.onClosed();
    })();
    return this.closing;
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
        failures++;
        await this.sleep(Math.min(100 * 2 ** failures, 5_000));
        continue;
      }
      if (this.stopped) {
        // claimed while closing: hand them back at once
        for (const row of rows) await this.driver.retry(row.id, 0, { code: 'CLOSED', message: 'Consumer closed' }).catch(() => {});
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

  private dispatch(row: QueueRow): void {
    const { maxDeliveries, leaseMs } = this.options;
    if (row.deliveries > maxDeliveries) {
      const error = row.lastError?.code === 'LEASE_EXPIRED' || !row.lastError ? { code: 'LEASE_EXPIRED', message: `Lease of ${leaseMs} ms expired on every delivery` } : row.lastError;
      void this.driver.deadLetter(row.id, row.deliveries - 1, error, false).catch(() => {});
      return;
    }
    let envelope: BusEnvelope;
    try {
      envelope = decodeEnvelope(row.body, this.poll.serializer);
    } catch (error) {
      const e = error instanceof DecodeFailedError ? error : new DecodeFailedError(undefined, { cause: error });
      void this.driver.deadLetter(row.id, row.deliveries, errorSummary(e), true).catch(() => {});
      return;
    }
    const delivery = createDelivery(envelope, row.deliveries, {
      ack: () => this.driver.ack(row.id),
      nack: async (error, delayMs) => {
        const summary = errorSummary(error);
        if (row.deliveries >= maxDeliveries) return this.driver.deadLetter(row.id, row.deliveries, summary, false);
        await this.driver.retry(row.id, delayMs, summary);
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.wake();
        }, delayMs);
        this.timers.add(timer);
      },
    });
    this.slots.run(delivery, this.handler);
  }
}
