/** Exchange and queue names of the RabbitMQ bus (topic and group are URI-encoded, so names never collide). */
export interface RabbitTopicNames {
  /** Fanout exchange every group's queue is bound to. */
  exchange: string;
  queue(group: string): string;
  /** Holding queue of delayed retries; expired messages dead-letter back into the group queue. */
  delayQueue(group: string): string;
  deadLetterQueue: string;
}

function enc(text: string): string {
  return encodeURIComponent(text).replace(/\./g, '%2E');
}

export function rabbitNames(prefix: string, topic: string): RabbitTopicNames {
  const t = enc(topic);
  return {
    exchange: `${prefix}.t.${t}`,
    queue: (group) => `${prefix}.q.${t}.${enc(group)}`,
    delayQueue: (group) => `${prefix}.delay.${t}.${enc(group)}`,
    deadLetterQueue: `${prefix}.dlq.${t}`,
  };
}

/** Header with the deliveries made before this copy was (re)published. */
export const H_DELIVERIES = 'x-pf-deliveries';
export const H_GROUP = 'x-pf-group';
export const H_DEAD_ID = 'x-pf-dead-id';
export const H_ERROR_CODE = 'x-pf-error-code';
export const H_ERROR_MESSAGE = 'x-pf-error-message';
export const H_DEAD_AT = 'x-pf-dead-at';
export const H_RAW = 'x-pf-raw';
