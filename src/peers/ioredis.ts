/** `ioredis`, loaded on first use (see peer.ts). */
import type * as IORedis from 'ioredis';
import { lazyExport } from './peer.js';

export type { RedisOptions } from 'ioredis';
export const Redis = lazyExport<typeof IORedis.Redis>('ioredis', (m) => m.Redis ?? m.default);
export type Redis = IORedis.Redis;
