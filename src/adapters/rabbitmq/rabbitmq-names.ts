/** Exchange and queue names of the RabbitMQ bus (topic and group are URI-encoded, so names never collide). */
export interface RabbitTopicNames {
  /** Fanout exchange every group's queue is bound to; its alternate exchange is {@link holdExchange}. */
  exchange: string;
  queue(group: string): string;
  /**
   * Holding queue of delayed retries for one delay (ms): its queue TTL is that
   * delay, and expired messages dead-letter back into the group queue.
   */
  delayQueue(group: string, delayMs: number): string;
  deadLetterQueue: string;
  /** Alternate exchange of {@link exchange}: gets what no group queue was bound to take. */
  holdExchange: string;
  /** Keeps envelopes published while the topic had no group; the next group declared takes them. */
  holdQueue: string;
}

function enc(text: string): string {
  return encodeURIComponent(text).replace(/\./g, '%2E');
}

export function rabbitNames(prefix: string, topic: string): RabbitTopicNames {
  const t = enc(topic);
  return {
    // `tx` (not the `t` of earlier versions): the exchange now has an alternate-exchange argument,
    // and RabbitMQ refuses to redeclare an exchange with different arguments
    exchange: `${prefix}.tx.${t}`,
    queue: (group) => `${prefix}.q.${t}.${enc(group)}`,
    delayQueue: (group, delayMs) => `${prefix}.delay.${t}.${enc(group)}.${delayMs}`,
    deadLetterQueue: `${prefix}.dlq.${t}`,
    holdExchange: `${prefix}.hx.${t}`,
    holdQueue: `${prefix}.hold.${t}`,
  };
}

/**
 * The TTL bucket of a delayed retry: the delay rounded UP to two significant
 * digits (300 → 300, 1234 → 1300), so a redelivery is never early, at most
 * ~10 % late, and a group has few delay queues. One TTL per queue keeps each
 * queue in expiry order (per-message TTLs in one queue expire only at its head).
 */
export function delayBucket(delayMs: number): number {
  const ms = Math.max(1, Math.ceil(delayMs));
  if (ms < 100) return ms;
  const unit = 10 ** (Math.floor(Math.log10(ms)) - 1);
  return Math.ceil(ms / unit) * unit;
}

/** Header with the deliveries made before this copy was (re)published. */
export const H_DELIVERIES = 'x-pf-deliveries';
export const H_GROUP = 'x-pf-group';
export const H_DEAD_ID = 'x-pf-dead-id';
export const H_ERROR_CODE = 'x-pf-error-code';
export const H_ERROR_MESSAGE = 'x-pf-error-message';
export const H_DEAD_AT = 'x-pf-dead-at';
export const H_RAW = 'x-pf-raw';
/** Per-publish serial, so a `basic.return` is matched to the publish it refuses. */
export const H_PUBLISH = 'x-pf-pub';
