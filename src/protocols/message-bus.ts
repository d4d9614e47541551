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

/** One delivery of an envelope to a consumer. */
export interface Delivery<T = unknown> {
  envelope: BusEnvelope<T>;
  /** 1 on first delivery, +1 on every redelivery. */
  deliveryCount: number;
  /** Idempotent. */
  ack(): Promise<void>;
  /** Returns the envelope for redelivery after `delayMs`; dead-letters it once `maxDeliveries` is reached. */
  nack(error: Error, delayMs?: number): Promise<void>;
}

export interface ConsumeOptions {
  /** Consumer name within the group; unique per process. */
  consumer?: string;
  concurrency?: number;
  /** Time an unacked delivery stays owned before it is redelivered to another consumer. */
  leaseMs?: number;
  /** After this many failed deliveries the envelope goes to the dead-letter topic with its last error. */
  maxDeliveries?: number;
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
  listDeadLetters?(topic: string, limit?: number): Promise<DeadLetter[]>;
  retryDeadLetter?(topic: string, id: string): Promise<boolean>;
}

export function isConsumableBus(bus: MessageBus): bus is ConsumableBus {
  return typeof (bus as Partial<ConsumableBus>).consume === 'function';
}
