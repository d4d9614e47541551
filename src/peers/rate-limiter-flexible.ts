/** `rate-limiter-flexible`, loaded on first use (see peer.ts). */
import type * as Rlf from 'rate-limiter-flexible';
import { lazyExport } from './peer.js';

export type { RateLimiterAbstract } from 'rate-limiter-flexible';
export const BurstyRateLimiter = lazyExport<typeof Rlf.BurstyRateLimiter>('rate-limiter-flexible', (m) => m.BurstyRateLimiter);
export type BurstyRateLimiter = Rlf.BurstyRateLimiter;
export const RateLimiterMemory = lazyExport<typeof Rlf.RateLimiterMemory>('rate-limiter-flexible', (m) => m.RateLimiterMemory);
export type RateLimiterMemory = Rlf.RateLimiterMemory;
export const RateLimiterRedis = lazyExport<typeof Rlf.RateLimiterRedis>('rate-limiter-flexible', (m) => m.RateLimiterRedis);
export type RateLimiterRedis = Rlf.RateLimiterRedis;
export const RateLimiterRes = lazyExport<typeof Rlf.RateLimiterRes>('rate-limiter-flexible', (m) => m.RateLimiterRes);
export type RateLimiterRes = Rlf.RateLimiterRes;
