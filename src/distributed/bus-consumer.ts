/**
 * Pieces every bus adapter's consumer needs, written once: option defaults,
 * settle-once deliveries, concurrency slots with drain, and time-bound calls.
 * Internal to the adapters (not a public entry point).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { BusUnavailableError, findPenguiflowError } from '../errors/index.js';
import type { BusEnvelope, ConsumeOptions, Delivery, Subscription } from '../protocols/message-bus.js';

export const DEFAULT_LEASE_MS = 30_000;
export const DEFAULT_MAX_DELIVERIES = 5;

export interface ResolvedConsumeOptions {
  consumer: string;
  concurrency: number;
  leaseMs: number;
  maxDeliveries: number;
  ephemeral: boolean;
  signal: AbortSignal | undefined;
}

/** A consumer name unique per process: host, pid and a random suffix. */
export function defaultConsumerName(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export function resolveConsumeOptions(options: ConsumeOptions = {}): ResolvedConsumeOptions {
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
  const leaseMs = Math.max(1, Math.floor(options.leaseMs ?? DEFAULT_LEASE_MS));
  const maxDeliveries = Math.max(1, Math.floor(options.maxDeliveries ?? DEFAULT_MAX_DELIVERIES));
  return {
    consumer: options.consumer ?? defaultConsumerName(),
    concurrency,
    leaseMs,
    maxDeliveries,
    ephemeral: options.ephemeral === true,
    signal: options.signal,
  };
}

/** `{ code, message }` of an error as a dead letter records it. */
export function errorSummary(error: unknown): { code: string; message: string } {
  const pf = findPenguiflowError(error);
  if (pf) return { code: pf.code, message: pf.message };
  if (error instanceof Error) return { code: error.name || 'Error', message: error.message };
  return { code: 'Error', message: String(error) };
}

export interface DeliveryActions {
  ack(): Promise<void>;
  nack(error: Error, delayMs: number): Promise<void>;
}

/**
 * A {@link Delivery} whose ack/nack run at most once between them: the first
 * call wins, later calls resolve to the same promise.
 */
export function createDelivery(envelope: BusEnvelope, deliveryCount: number, actions: DeliveryActions): Delivery & { readonly settled: boolean } {
  let settled: Promise<void> | undefined;
  return {
    envelope,
    deliveryCount,
    get settled() {
      return settled !== undefined;
    },
    ack() {
      settled ??= actions.ack();
      return settled;
    },
    nack(error: Error, delayMs = 0) {
      settled ??= actions.nack(error, Math.max(0, delayMs));
      return settled;
    },
  };
}

/**
 * Concurrency slots for one subscription. `run` starts a handler in a slot;
 * resolve → ack, throw → nack (unless the handler settled the delivery itself).
 * A slot frees when its handler returns; `drain` also waits for the ack/nack.
 * `drain` waits for every running handler.
 */
export class ConsumerSlots {
  private running = 0;
  private readonly inflight = new Set<Promise<void>>();
  private waiters: (() => void)[] = [];

  constructor(
    readonly concurrency: number,
    private readonly onSettleError: (error: unknown) => void = () => {},
    /** Called each time a slot frees up (after the delivery was settled). */
    private readonly onRelease: () => void = () => {},
  ) {}

  get free(): number {
    return this.concurrency - this.running;
  }

  get active(): number {
    return this.running;
  }

  /** Resolves when at least one slot is free (or at once). */
  async whenFree(): Promise<void> {
    while (this.free <= 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  run(delivery: Delivery & { readonly settled: boolean }, handler: (d: Delivery) => Promise<void>): void {
    this.running++;
    let released = false;
    // the slot bounds running handlers; it frees as soon as the handler returns,
    // so the next fetch overlaps the ack's round trip (drain still waits for the ack)
    const release = () => {
      if (released) return;
      released = true;
      this.running--;
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
      this.onRelease();
    };
    const task = (async () => {
      let failure: Error | undefined;
      try {
        await handler(delivery);
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
      }
      release();
      if (delivery.settled) return;
      if (failure) await delivery.nack(failure);
      else await delivery.ack();
    })()
      .catch(this.onSettleError)
      .finally(() => {
        release();
        this.inflight.delete(task);
      });
    this.inflight.add(task);
  }

  /** Waits for every handler running now (and those started while waiting). */
  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** Wakes anyone blocked in {@link whenFree} (used on close). */
  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/**
 * Rejects with `makeError()` when `promise` has not settled within `ms`.
 * The timer never keeps the process alive.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, makeError: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(makeError()), ms);
    timer.unref?.();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** `host:port` of a broker URL with credentials removed (safe to print). */
export function safeHost(url: string, defaultPort: number): string {
  try {
    const u = new URL(url);
    return `${u.hostname || '127.0.0.1'}:${u.port || defaultPort}`;
  } catch {
    return '<invalid url>';
  }
}

export function busUnavailable(what: string, host: string, cause?: unknown): BusUnavailableError {
  return new BusUnavailableError(`${what} at ${host} is not reachable`, { cause: scrubCause(cause), details: { host } });
}

/** Drivers sometimes put the full URL (with password) in messages: keep name and a scrubbed message only. */
function scrubCause(cause: unknown): unknown {
  if (!(cause instanceof Error)) return cause;
  const e = new Error(cause.message.replace(/\/\/[^@/\s]*@/g, '//***@'));
  e.name = cause.name;
  return e;
}

/** Sleeps `ms`, waking early when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** What every adapter's consumer offers the bus that created it. */
export interface StartableConsumer extends Subscription {
  start(): Promise<void>;
}

/**
 * Starts a consumer the way every broker adapter does: tracked in `live`
 * while it runs, start bounded by `timeoutMs`, closed again if it fails to
 * start, the failure mapped by `translate` (a BusUnavailableError passes through).
 */
export async function startConsumer<C extends StartableConsumer>(
  live: Set<C>,
  consumer: C,
  timeoutMs: number,
  unavailable: () => BusUnavailableError,
  translate: (error: unknown) => unknown = (error) => error,
): Promise<C> {
  live.add(consumer);
  try {
    await withTimeout(consumer.start(), timeoutMs, unavailable);
  } catch (error) {
    await consumer.close();
    throw error instanceof BusUnavailableError ? error : translate(error);
  }
  return consumer;
}
