/**
 * Subject and stream names of the NATS bus. Topics and groups are free text;
 * NATS tokens may not hold `.`, `*`, `>`, spaces or slashes, so any byte outside
 * `[A-Za-z0-9_-]` is written as `=XX` (hex) and the mapping stays one-to-one.
 */
export function natsToken(text: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(text)) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(ch) ? ch : `=${byte.toString(16).padStart(2, '0').toUpperCase()}`;
  }
  return out;
}

export interface NatsTopicNames {
  stream: string;
  /** Subject the topic's envelopes are published to. */
  subject: string;
  /** Filter of every group's consumer (main subject plus the per-group retry subjects). */
  filter: string;
  /** Subject of a group's retried dead letters. */
  retrySubject(group: string): string;
  /** Durable consumer name of a group. */
  durable(group: string): string;
  deadLetterStream: string;
  deadLetterSubject: string;
}

export function natsNames(prefix: string, topic: string): NatsTopicNames {
  const t = natsToken(topic);
  const base = `${prefix}.t.${t}`;
  return {
    stream: `${prefix}_t_${t}`,
    subject: `${base}.m`,
    filter: `${base}.>`,
    retrySubject: (group) => `${base}.r.${natsToken(group)}`,
    durable: (group) => natsToken(group),
    deadLetterStream: `${prefix}_d_${t}`,
    deadLetterSubject: `${prefix}.d.${t}`,
  };
}
