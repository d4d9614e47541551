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
  /** Hash of consumer → leaseMs for a group: expired leases are taken over by their holder's lease. */
  leases(group: string): string;
}

/** @internal What consumers share with their bus. */
export interface RedisBusInternals {
  client: Redis;
  scripts: RedisScripts;
  serializer: Serializer;
  deadLetterMaxLen: number;
  blockMs: number;
  housekeepingMs: number;
  /** Entries read ahead per consumer beyond its concurrency; undefined = the concurrency. */
  prefetch: number | undefined;
  commandTimeoutMs: number;
  keys(topic: string): RedisTopicKeys;
  /** Resolves once the client is connected (at once when it is); rejects when `signal` aborts or the bus closes. */
  whenReady(signal?: AbortSignal): Promise<void>;
}

/** @internal */
export interface RedisScripts {
  pfAck(...args: (string | number | Buffer)[]): Promise<number[]>;
  pfExtend(...args: (string | number | Buffer)[]): Promise<number[]>;
  pfNackRetry(...args: (string | number | Buffer)[]): Promise<number>;
  pfDeadLetter(...args: (string | number | Buffer)[]): Promise<number>;
  pfReclaimBuffer(...args: (string | number | Buffer)[]): Promise<[Buffer, Buffer[], number][]>;
  pfPromote(...args: (string | number | Buffer)[]): Promise<number>;
  pfRetryDead(...args: (string | number | Buffer)[]): Promise<number>;
  pfPurgeDead(...args: (string | number | Buffer)[]): Promise<number>;
}

/** A stream read reply (XREAD/XREADGROUP) as `[key, entries]` pairs. */
export type StreamEntries = [Buffer, [Buffer, Buffer[] | null][]][];

/**
 * Normalises an XREADGROUP reply. RESP2 (ioredis 5) gives `[[key, entries], …]`;
 * RESP3 (ioredis 6's default, a map) gives `[key, entries, key, entries, …]`
 * through `call`/`callBuffer` with the legacy reply mapping, and an object
 * with `replyMapping: 'resp3'`. Null (BLOCK timed out) gives `[]`.
 */
export function streamEntries(reply: unknown): StreamEntries {
  if (reply === null || reply === undefined) return [];
  if (Array.isArray(reply)) {
    if (reply.length === 0) return [];
    if (Array.isArray(reply[0])) return reply as StreamEntries;
    const pairs: StreamEntries = [];
    for (let i = 0; i + 1 < reply.length; i += 2) pairs.push([reply[i] as Buffer, reply[i + 1] as StreamEntries[number][1]]);
    return pairs;
  }
  if (reply instanceof Map) return [...reply.entries()].map(([k, v]) => [Buffer.from(String(k)), v] as StreamEntries[number]);
  if (typeof reply === 'object') {
    return Object.entries(reply as Record<string, unknown>).map(([k, v]) => [Buffer.from(k), v] as StreamEntries[number]);
  }
  return [];
}

/** Reply fields `[k1, v1, k2, v2, …]` as a map. */
export function fieldMap(flat: Buffer[] | null | undefined): Map<string, Buffer> {
  const map = new Map<string, Buffer>();
  if (!flat) return map;
  for (let i = 0; i + 1 < flat.length; i += 2) map.set(flat[i]!.toString(), flat[i + 1]!);
  return map;
}

