import type { Redis } from 'ioredis';
import type { Serializer } from '../../protocols/serializer.js';

/** Key names of one topic; exposed for tests and operators. */
export interface RedisTopicKeys {
  stream: string;
  deadLetters: string;
  retryPrefix: string;
  /** Hash of ephemeral group → expiry (epoch ms), renewed by live subscriptions. */
  ephemeral: string;
  retry(group: string): string;
  delayed(group: string): string;
}

/** @internal What consumers share with their bus. */
export interface RedisBusInternals {
  client: Redis;
  scripts: RedisScripts;
  serializer: Serializer;
  maxLen: number;
  deadLetterMaxLen: number;
  blockMs: number;
  housekeepingMs: number;
  /** Entries read ahead per consumer beyond its concurrency; undefined = the concurrency. */
  prefetch: number | undefined;
  commandTimeoutMs: number;
  keys(topic: string): RedisTopicKeys;
}

/** @internal */
export interface RedisScripts {
  pfNackRetry(...args: (string | number | Buffer)[]): Promise<number>;
  pfDeadLetter(...args: (string | number | Buffer)[]): Promise<string>;
  pfPromote(...args: (string | number | Buffer)[]): Promise<number>;
  pfRetryDead(...args: (string | number | Buffer)[]): Promise<number>;
}

/** Reply fields `[k1, v1, k2, v2, …]` as a map. */
export function fieldMap(flat: Buffer[] | null | undefined): Map<string, Buffer> {
  const map = new Map<string, Buffer>();
  if (!flat) return map;
  for (let i = 0; i + 1 < flat.length; i += 2) map.set(flat[i]!.toString(), flat[i + 1]!);
  return map;
}

