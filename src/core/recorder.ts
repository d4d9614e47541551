import { findPenguiflowError } from '../errors/index.js';
import type { StateStore } from '../protocols/state-store.js';
import { backoffDelay } from './backoff.js';
import type { FlowEvent } from './events.js';

export interface RecorderOptions {
  /** Events per write. Default 500. */
  batchSize?: number;
  /** How long the first buffered event waits for company. Default 5 ms. */
  flushIntervalMs?: number;
  /** Buffered events before the flow is made to wait (backpressure). Default 20,000. */
  maxBuffer?: number;
  /**
   * 'batched' (default): events are written in the background; a process crash
   * loses what is buffered (at most `maxBuffer` events, typically a few ms worth).
   * 'sync': each node step waits until its events are committed.
   */
  durability?: 'batched' | 'sync';
  /** How long a failing batch is retried before it is dropped and counted. Default 30 s. */
  maxRetryMs?: number;
}

export interface RecorderStats {
  written: number;
  dropped: number;
  failedWrites: number;
  buffered: number;
}

interface Batch {
  events: FlowEvent[];
  resolve: () => void;
  promise: Promise<void>;
}

function openBatch(): Batch {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { events: [], resolve, promise };
}

/**
 * Writes FlowEvents to a StateStore off the hot path: buffered, written in
 * batches by one writer (group commit, order kept), bounded with
 * backpressure, retried with backoff while the store is down, and never
 * failing the flow: failures reach `onError` (which turns them into
 * `store_error` events and counters).
 */
export class EventRecorder {
  private current: Batch = openBatch();
  private queue: Batch[] = [];
  private buffered = 0;
  private writing: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private spaceWaiters: (() => void)[] = [];
  /** True while the last write failed: the flow is not held back by a dead store, old events are dropped instead. */
  private failing = false;
  /** flush() calls under way: the writer does not wait for the interval meanwhile. */
  private flushing = 0;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly maxBuffer: number;
  private readonly maxRetryMs: number;
  readonly sync: boolean;
  readonly stats: RecorderStats = { written: 0, dropped: 0, failedWrites: 0, buffered: 0 };

  constructor(
    private readonly store: StateStore,
    options: RecorderOptions,
    private readonly onError: (error: unknown, lostEvents: number) => void,
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.flushIntervalMs = options.flushIntervalMs ?? 5;
    this.maxBuffer = options.maxBuffer ?? 20_000;
    this.maxRetryMs = options.maxRetryMs ?? 30_000;
    const storeDurability = (store as { durability?: unknown }).durability;
    this.sync = (options.durability ?? storeDurability) === 'sync';
  }

  /** Buffers an event; the promise resolves once it is durable (await it only in sync mode). */
  record(event: FlowEvent): Promise<void> {
    const batch = this.current;
    batch.events.push(event);
    this.buffered++;
    if (batch.events.length >= this.batchSize) this.seal();
    if (this.failing && this.buffered > this.maxBuffer) this.dropOldest();
    this.schedule();
    return batch.promise;
  }

  get isFull(): boolean {
    return !this.failing && this.buffered >= this.maxBuffer;
  }

  private dropOldest(): void {
    const oldest = this.queue.shift();
    if (oldest === undefined) return;
    this.buffered -= oldest.events.length;
    this.stats.dropped += oldest.events.length;
    oldest.resolve();
    this.onError(new Error('state store is failing and the event buffer is full'), oldest.events.length);
  }

  /** Resolves when the buffer has room again. */
  waitForSpace(): Promise<void> {
    if (!this.isFull) return Promise.resolve();
    return new Promise((resolve) => this.spaceWaiters.push(resolve));
  }

  /** Writes everything buffered so far and waits for it. */
  async flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.flushing++;
    try {
      this.seal();
      while (this.writing !== undefined || this.queue.length > 0) {
        if (this.writing === undefined) this.writing = this.drain();
        await this.writing;
        this.seal();
      }
    } finally {
      this.flushing--;
    }
  }

  private seal(): void {
    if (this.current.events.length === 0) return;
    this.queue.push(this.current);
    this.current = openBatch();
  }

  private schedule(): void {
    if (this.writing !== undefined) return; // the writer picks the buffer up when it finishes
    if (this.queue.length > 0 || this.sync) {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      this.writing = this.drain();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.seal();
      if (this.writing === undefined) this.writing = this.drain();
    }, this.flushIntervalMs);
  }

  /*
   * One writer. A batch goes out when it is full, when the flush interval has
   * passed since the last write, or at once in sync mode or on flush(): under
   * load batches fill up (few, large transactions); when idle, an event waits
   * at most `flushIntervalMs`.
   */
  private async drain(): Promise<void> {
    // Let events of the same tick join the batch before it is written.
    await Promise.resolve();
    try {
      for (;;) {
        if (this.queue.length === 0) this.seal();
        const batch = this.queue.shift();
        if (batch === undefined) break;
        await this.write(batch);
        this.buffered -= batch.events.length;
        this.stats.buffered = this.buffered;
        batch.resolve();
        while (!this.isFull && this.spaceWaiters.length > 0) this.spaceWaiters.shift()!();
        if (this.queue.length === 0 && !this.sync && !this.flushing) break;
      }
    } finally {
      this.writing = undefined;
    }
    if (this.current.events.length > 0 || this.queue.length > 0) this.schedule();
  }

  private async write(batch: Batch): Promise<void> {
    const started = Date.now();
    for (let retry = 0; ; retry++) {
      try {
        await this.store.saveEvents(batch.events);
        this.stats.written += batch.events.length;
        this.failing = false;
        return;
      } catch (error) {
        const typed = findPenguiflowError(error);
        const rejected = typed?.code === 'PAYLOAD_TOO_LARGE' ? typed.details?.rejectedIds : undefined;
        if (Array.isArray(rejected)) {
          // The store wrote the batch but the events over its size limit: only those are lost.
          this.stats.written += batch.events.length - rejected.length;
          this.stats.dropped += rejected.length;
          this.onError(error, rejected.length);
          return;
        }
        this.stats.failedWrites++;
        this.failing = true;
        while (this.spaceWaiters.length > 0) this.spaceWaiters.shift()!();
        const giveUp = (typed !== undefined && !typed.retryable) || Date.now() - started >= this.maxRetryMs;
        if (giveUp) {
          this.stats.dropped += batch.events.length;
          this.onError(error, batch.events.length);
          return;
        }
        this.onError(error, 0);
        await new Promise((r) => setTimeout(r, backoffDelay({ baseMs: 50, maxMs: 2_000 }, retry)));
      }
    }
  }
}
