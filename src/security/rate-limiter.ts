/**
 * Rate limits per tenant and per credential, on `rate-limiter-flexible`:
 * in memory for one process, or in Redis (one atomic Lua INCR+TTL per
 * check) so every server process shares the same budget.
 *
 * Each rule is `points` per `durationSec` window, plus an optional `burst`
 * allowance refilled over `burstDurationSec` (rate-limiter-flexible's
 * BurstyRateLimiter): a steady rate with headroom, which is how a token
 * bucket behaves from the caller's side. Windows are fixed, not sliding.
 */
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from '../peers/rate-limiter-flexible.js';

export interface RateLimitRule {
  /** Requests allowed per window. */
  points: number;
  /** Window length. Default 1 s. */
  durationSec?: number;
  /** Extra requests allowed on top, refilled every `burstDurationSec` (default 10 s). */
  burst?: number;
  burstDurationSec?: number;
}

export interface RateLimiterOptions {
  perTenant?: RateLimitRule;
  perCredential?: RateLimitRule;
  /**
   * An ioredis (or node-redis) client: budgets are shared by every process
   * using the same Redis and `keyPrefix`. The limiter does not own or close it.
   * Give the client a `commandTimeout`; a check also gives up after `storeTimeoutMs`.
   */
  redis?: unknown;
  keyPrefix?: string;
  /** A Redis check slower than this (or failing) falls back to a per-process memory budget. Default 250 ms. */
  storeTimeoutMs?: number;
}

export type RateLimitDecision = { allowed: true } | { allowed: false; limit: 'tenant' | 'credential'; retryAfterMs: number };

export interface RateLimiter {
  /** Takes `cost` points from the tenant's budget, then from the credential's. */
  consume(key: { tenant: string; credentialId?: string }, cost?: number): Promise<RateLimitDecision>;
}

interface Limiter {
  consume(key: string, points: number): Promise<RateLimiterRes>;
}

function build(rule: RateLimitRule, prefix: string, redis: unknown, storeTimeoutMs: number): Limiter {
  const make = (points: number, duration: number, keyPrefix: string): RateLimiterAbstract => {
    const base = { points, duration, keyPrefix };
    if (redis === undefined) return new RateLimiterMemory(base);
    return new RateLimiterRedis({ ...base, storeClient: redis, insuranceLimiter: new RateLimiterMemory(base) });
  };
  const main = make(rule.points, rule.durationSec ?? 1, prefix);
  const limiter: Limiter = rule.burst ? new BurstyRateLimiter(main, make(rule.burst, rule.burstDurationSec ?? 10, `${prefix}:burst`)) : main;
  if (redis === undefined) return limiter;
  const fallback = new RateLimiterMemory({ points: rule.points, duration: rule.durationSec ?? 1, keyPrefix: prefix });
  return {
    consume(key, points) {
      let timer: NodeJS.Timeout | undefined;
      const slow = new Promise<'slow'>((resolve) => {
        timer = setTimeout(() => resolve('slow'), storeTimeoutMs);
      });
      return Promise.race([limiter.consume(key, points), slow]).then(
        (r) => (r === 'slow' ? fallback.consume(key, points) : r),
        (e: unknown) => (e instanceof RateLimiterRes ? Promise.reject(e) : fallback.consume(key, points)),
      ).finally(() => clearTimeout(timer));
    },
  };
}

/**
 * @example
 * const limiter = createRateLimiter({ perTenant: { points: 100, durationSec: 1 }, perCredential: { points: 20 }, redis: new Redis(process.env.REDIS_URL!, { commandTimeout: 200 }) });
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const prefix = options.keyPrefix ?? 'penguiflow:rl';
  const timeout = options.storeTimeoutMs ?? 250;
  const tenant = options.perTenant ? build(options.perTenant, `${prefix}:t`, options.redis, timeout) : undefined;
  const credential = options.perCredential ? build(options.perCredential, `${prefix}:c`, options.redis, timeout) : undefined;
  const attempt = async (limiter: Limiter, key: string, cost: number): Promise<number | undefined> => {
    try {
      await limiter.consume(key, cost);
      return undefined;
    } catch (e) {
      if (e instanceof RateLimiterRes) return Math.max(1, e.msBeforeNext);
      throw e;
    }
  };
  return {
    async consume(key, cost = 1) {
      if (tenant) {
        const wait = await attempt(tenant, key.tenant, cost);
        if (wait !== undefined) return { allowed: false, limit: 'tenant', retryAfterMs: wait };
      }
      if (credential && key.credentialId !== undefined) {
        const wait = await attempt(credential, key.credentialId, cost);
        if (wait !== undefined) return { allowed: false, limit: 'credential', retryAfterMs: wait };
      }
      return { allowed: true };
    },
  };
}
