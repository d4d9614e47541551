import type { Message } from '../core/message.js';

/**
 * What travels on a bus: one hop of a message along an edge. Serialised by the
 * adapter (JSON by default, binary-safe); `message` keeps tenant, trace,
 * deadline and meta so a worker elsewhere sees exactly what a local node would.
 */
export interface BusEnvelope<T = unknown> {
  /** Unique per hop; consumers deduplicate on (`id`, target node). */
  id: string;
  topic: string;
  /** Ordering / partition key; the trace id unless set. */
  key?: string;
  /** Edge endpoints, for observers of edge traffic. */
  source?: string;
  target?: string;
  message: Message<T>;
  /** W3C trace context of the producing span. */
  traceparent?: string;
  attributes?: Record<string, string>;
}

/**
 * The minimum a bus does: accept a copy of edge traffic. A flow given a bus
 * publishes every edge hop to it (PenguiFlow-compatible).
 *
 * Invariants: `publish` resolves once the broker accepted the envelope
 * (at-least-once from then on); `close` waits for in-flight publishes.
 */
export interface MessageBus {
  publish(envelope: BusEnvelope): Promise<void>;
  close(): Promise<void>;
}

/**
 * One delivery of an envelope to a consumer, owned by that consumer until it
 * settles it or its lease runs out.
 *
 * Fencing: every delivery carries an owner `token`. `ack`, `nack`, `extend`
 * and `deadLetter` act only while this delivery still holds its lease; once
 * another consumer may hold the envelope (the lease expired and it was handed
 * out again) they MUST do nothing and resolve `false`, and the consumer
 * reports it through {@link ConsumeOptions.onLeaseLost}. `ack`, `nack` and
 * `deadLetter` settle the delivery: the first call wins, later calls resolve
 * to the first one's answer.
 */
export interface Delivery<T = unknown> {
  envelope: BusEnvelope<T>;
  /** 1 on first delivery, +1 on every redelivery; a dead letter handed back starts again at 1. */
  deliveryCount: number;
  /** Owner token of this delivery: different for every delivery of the same envelope. Opaque. */
  readonly token: string;
  /** Removes the envelope for good. `false` when the lease was lost (nothing was done). */
  ack(): Promise<boolean>;
  /** Hands the envelope back for redelivery after `delayMs`; dead-letters it once `maxDeliveries` is reached. `false` when the lease was lost. */
  nack(error: Error, delayMs?: number): Promise<boolean>;
  /**
   * Renews the lease for another `leaseMs` from now. The consumer calls it on
   * its own while the handler runs (unless `renewLease: false`), so a slow
   * handler keeps its work. `false` when the lease was already lost.
   */
  extend(): Promise<boolean>;
  /** Dead-letters the envelope now, whatever its delivery count. `false` when the lease was lost. */
  deadLetter(error: Error): Promise<boolean>;
}

/** What a consumer did not do because its delivery's lease was lost. */
export type FencedOperation = 'ack' | 'nack' | 'extend' | 'deadLetter';

export interface ConsumeOptions {
  /** Consumer name within the group; unique per process. */
  consumer?: string;
  concurrency?: number;
  /**
   * How long a silent consumer keeps a delivery: while the handler runs the
   * lease is renewed every `leaseMs / 3`, so this is not a maximum run time.
   * A consumer that stops renewing (its process died or stalled) loses the
   * delivery to another consumer after this long.
   */
  leaseMs?: number;
  /** Renew the lease while the handler runs. Default true; false leaves renewal to `delivery.extend()`. */
  renewLease?: boolean;
  /** After this many failed deliveries the envelope goes to the dead-letter topic with its last error. */
  maxDeliveries?: number;
  /**
   * Called, instead of the handler, for a delivery whose count is past
   * `maxDeliveries` because its lease ran out on every earlier delivery (the
   * handler never settled it). It MUST settle the delivery (ack it if the work
   * turns out to be done; dead-letter it otherwise). Default: dead-letter with
   * `LEASE_EXPIRED`.
   */
  onExhausted?: (delivery: Delivery) => Promise<void>;
  /** Told each time an operation on a delivery was refused because its lease was lost. */
  onLeaseLost?: (delivery: Delivery, operation: FencedOperation) => void;
  /**
   * A group that lives only as long as this subscription (control channels,
   * reply topics, broadcast to each process). It MUST start at envelopes
   * published after `consume` resolved (no replay of retained history) and
   * SHOULD be removed, with anything still queued for it, on `close` — and by
   * the broker or a TTL when the process dies without closing.
   */
  ephemeral?: boolean;
  signal?: AbortSignal;
}

export interface Subscription {
  /** Stops taking new deliveries and waits for in-flight handlers. */
  close(): Promise<void>;
}

/** A dead-lettered envelope with why it died. */
export interface DeadLetter {
  id: string;
  topic: string;
  /** Consumer group the envelope died in; `retryDeadLetter` hands it back to that group. */
  group?: string;
  envelope: BusEnvelope | null;
  /** Raw bytes (base64) when the envelope could not be decoded. */
  raw?: string;
  error: { code: string; message: string };
  deliveryCount: number;
  deadAt: number;
}

/**
 * A bus that also delivers: distributed edges consume from it with consumer
 * groups. Handler resolves → ack (unless it already acked or nacked); throws → nack.
 */
export interface ConsumableBus extends MessageBus {
  consume(
    topic: string,
    group: string,
    handler: (delivery: Delivery) => Promise<void>,
    options?: ConsumeOptions,
  ): Promise<Subscription>;
  /**
   * Makes sure `group` exists on `topic`, so envelopes published from now on
   * are kept for it even before any consumer of the group started (producers
   * call it for the groups they publish work to).
   */
  ensureGroup?(topic: string, group: string): Promise<void>;
  listDeadLetters?(topic: string, limit?: number): Promise<DeadLetter[]>;
  /** Hands a dead letter back to its group with a fresh delivery count (1 on its next delivery); `false` when unknown. */
  retryDeadLetter?(topic: string, id: string): Promise<boolean>;
  /** Deletes the topic's dead letters (all, or those with `ids`); resolves how many were deleted. */
  purgeDeadLetters?(topic: string, ids?: string[]): Promise<number>;
}

export function isConsumableBus(bus: MessageBus): bus is ConsumableBus {
  return typeof (bus as Partial<ConsumableBus>).consume === 'function';
}
