/**
 * Pieces every bus adapter's consumer needs, written once: option defaults,
 * settle-once deliveries, concurrency slots with drain, and time-bound calls.
 * Internal to the adapters (not a public entry point).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { BusUnavailableError, findPenguiflowError, LeaseExpiredError } from '../errors/index.js';
import type { BusEnvelope, ConsumeOptions, Delivery, FencedOperation, Subscription } from '../protocols/message-bus.js';

export const DEFAULT_LEASE_MS = 30_000;
export const DEFAULT_MAX_DELIVERIES = 5;

export interface ResolvedConsumeOptions {
  consumer: string;
  concurrency: number;
  leaseMs: number;
  renewLease: boolean;
  maxDeliveries: number;
  ephemeral: boolean;
  signal: AbortSignal | undefined;
  onExhausted: ((delivery: Delivery) => Promise<void>) | undefined;
  onLeaseLost: ((delivery: Delivery, operation: FencedOperation) => void) | undefined;
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
    renewLease: options.renewLease !== false,
    maxDeliveries,
    ephemeral: options.ephemeral === true,
    signal: options.signal,
    onExhausted: options.onExhausted,
    onLeaseLost: options.onLeaseLost,
  };
}

/** A fresh random owner token for one delivery. */
export function newLeaseToken(): string {
  return randomBytes(9).toString('base64url');
}

/** `{ code, message }` of an error as a dead letter records it. */
export function errorSummary(error: unknown): { code: string; message: string } {
  const pf = findPenguiflowError(error);
  if (pf) return { code: pf.code, message: pf.message };
  if (error instanceof Error) return { code: error.name || 'Error', message: error.message };
  return { code: 'Error', message: String(error) };
}

/**
 * What an adapter does for one delivery. Each action resolves `false` when
 * the broker says this delivery no longer holds its lease (fenced), `true`
 * (or nothing) when it acted.
 */
export interface DeliveryActions {
  /** The owner token; generated when omitted. */
  token?: string;
  ack(): Promise<boolean | void>;
  nack(error: Error, delayMs: number): Promise<boolean | void>;
  /** Renews the lease; an adapter without one (yet) may omit it. */
  extend?(): Promise<boolean | void>;
  deadLetter?(error: Error): Promise<boolean | void>;
}

export type AdapterDelivery = Delivery & { readonly settled: boolean };

/**
 * A {@link Delivery} whose ack/nack/deadLetter run at most once between them:
 * the first call wins, later calls resolve to the same answer. Every refusal
 * (an action resolving `false`) is reported to `onLeaseLost`.
 */
export function createDelivery(
  envelope: BusEnvelope,
  deliveryCount: number,
  actions: DeliveryActions,
  onLeaseLost?: (delivery: Delivery, operation: FencedOperation) => void,
): AdapterDelivery {
  let settled: Promise<boolean> | undefined;
  let lost = false;
  const report = (operation: FencedOperation) => (done: boolean | void): boolean => {
    if (done !== false) return true;
    // a renewal that was in flight when the delivery settled finds it gone: that is no lost lease
    if (operation === 'extend' && settled !== undefined) return false;
    if (!lost || operation !== 'extend') onLeaseLost?.(delivery, operation);
    lost = true;
    return false;
  };
  const delivery: AdapterDelivery = {
    envelope,
    deliveryCount,
    token: actions.token ?? newLeaseToken(),
    get settled() {
      return settled !== undefined;
    },
    ack() {
      settled ??= actions.ack().then(report('ack'));
      return settled;
    },
    nack(error: Error, delayMs = 0) {
      settled ??= actions.nack(error, Math.max(0, delayMs)).then(report('nack'));
      return settled;
    },
    deadLetter(error: Error) {
      settled ??= (actions.deadLetter?.(error) ?? Promise.reject(new Error('This adapter cannot dead-letter on demand'))).then(report('deadLetter'));
      return settled;
    },
    extend() {
      if (settled !== undefined || lost) return Promise.resolve(!lost && settled === undefined);
      return (actions.extend?.() ?? Promise.resolve(true)).then(report('extend'));
    },
  };
  return delivery;
}

/** The default for a delivery whose lease ran out on every delivery: dead-letter it. */
function deadLetterExhausted(leaseMs: number) {
  return async (delivery: Delivery): Promise<void> => {
    await delivery.deadLetter(new LeaseExpiredError(`Lease of ${leaseMs} ms expired on every delivery`));
  };
}

/**
 * Concurrency slots for one subscription. `run` starts a handler in a slot;
 * resolve → ack, throw → nack (unless the handler settled the delivery itself).
 * While the handler runs its lease is renewed every `leaseMs / 3`. A delivery
 * past `maxDeliveries` goes to `onExhausted` instead of the handler.
 * A slot frees when its handler returns; `drain` also waits for the ack/nack.
 */
export class ConsumerSlots {
  readonly concurrency: number;
  private running = 0;
  private readonly inflight = new Set<Promise<void>>();
  private waiters: (() => void)[] = [];
  private readonly options: ResolvedConsumeOptions | undefined;

  constructor(
    options: ResolvedConsumeOptions | number,
    private readonly onSettleError: (error: unknown) => void = () => {},
    /** Called each time a slot frees up (after the delivery was settled). */
    private readonly onRelease: () => void = () => {},
  ) {
    this.options = typeof options === 'number' ? undefined : options;
    this.concurrency = typeof options === 'number' ? options : options.concurrency;
  }

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

  run(delivery: AdapterDelivery, handler: (d: Delivery) => Promise<void>): void {
    const options = this.options;
    if (options !== undefined && delivery.deliveryCount > options.maxDeliveries) {
      handler = options.onExhausted ?? deadLetterExhausted(options.leaseMs);
    }
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
    const renewal = options?.renewLease ? this.renew(delivery, options.leaseMs) : undefined;
    const task = (async () => {
      let failure: Error | undefined;
      try {
        await handler(delivery);
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
      }
      if (renewal !== undefined) clearInterval(renewal);
      release();
      if (delivery.settled) return;
      if (failure) await delivery.nack(failure);
      else await delivery.ack();
    })()
      .catch(this.onSettleError)
      .finally(() => {
        if (renewal !== undefined) clearInterval(renewal);
        release();
        this.inflight.delete(task);
      });
    this.inflight.add(task);
  }

  /*
   * Renews a third of the way into the lease, so two renewals can fail (a
   * slow broker round trip, a busy event loop) before the lease runs out.
   */
  private renew(delivery: AdapterDelivery, leaseMs: number): ReturnType<typeof setInterval> {
    let busy = false;
    const timer = setInterval(() => {
      if (busy || delivery.settled) return;
      busy = true;
      delivery
        .extend()
        .then((held) => {
          if (!held) clearInterval(timer);
        })
        .catch(() => undefined) // a broker blip: the next tick tries again
        .finally(() => (busy = false));
    }, Math.max(1, Math.floor(leaseMs / 3)));
    timer.unref?.();
    return timer;
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
