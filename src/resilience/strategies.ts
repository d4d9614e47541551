/**
 * Balancing strategies: given the eligible instances of one target (live,
 * valid, up, breaker passing, not yet tried by this call), pick one. Failover
 * calls `pick` again without the instances already tried.
 */
import type { AgentLoad } from '../protocols/agent-registry.js';
import type { RemoteCallRequest } from '../protocols/remote-transport.js';
import { hash53 } from './hash.js';

/** One eligible instance as a strategy sees it. */
export interface Candidate {
  id: string;
  url: string;
  capacity: number;
  /** From the instance's last heartbeat. */
  reported: AgentLoad;
  /** This caller's calls to it in flight now. */
  inflight: number;
  /** This caller's latency EWMA for it (ms), decayed toward the mean while unused; undefined before the first call. */
  latencyMs: number | undefined;
  /** Priority tier from `labels.tier` (0 = first choice). */
  tier: number;
  labels: Record<string, string | number | boolean>;
}

export interface PickContext {
  request: RemoteCallRequest;
  /** 0 for the first dispatch, then 1, 2, … on failover. */
  attempt: number;
}

export interface Strategy {
  readonly name: string;
  pick(candidates: readonly Candidate[], ctx: PickContext): Candidate | undefined;
}

/** Load over capacity: (reported in-flight + queue + this caller's in-flight) / capacity. */
export function utilisation(c: Candidate): number {
  return (c.reported.inflight + c.reported.queueDepth + c.inflight) / Math.max(1, c.capacity);
}

/**
 * Each instance in turn.
 *
 * @example
 * createBalancedTransport({ registry, transport, strategy: roundRobin() });
 */
export function roundRobin(): Strategy {
  let next = 0;
  return {
    name: 'round-robin',
    pick(candidates) {
      if (candidates.length === 0) return undefined;
      const sorted = [...candidates].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return sorted[next++ % sorted.length];
    },
  };
}

/**
 * The instance with the lowest expected wait: (reported in-flight + queue
 * depth + this caller's in-flight + 1) ÷ capacity, times its latency EWMA
 * (peak-EWMA, as Finagle and Linkerd do), so a slow instance with few calls in
 * flight still scores worse. Reported load lags by up to one heartbeat; the
 * caller's own in-flight count is exact. Ties go to a random one.
 *
 * @example
 * createBalancedTransport({ registry, transport, strategy: leastLoaded() });
 */
export function leastLoaded(): Strategy {
  return {
    name: 'least-loaded',
    pick(candidates) {
      if (candidates.length === 0) return undefined;
      const known = candidates.map((c) => c.latencyMs).filter((l): l is number => l !== undefined);
      const mean = known.length > 0 ? known.reduce((a, b) => a + b, 0) / known.length : 1;
      let best: Candidate[] = [];
      let bestScore = Infinity;
      for (const c of candidates) {
        const load = (c.reported.inflight + c.reported.queueDepth + c.inflight + 1) / Math.max(1, c.capacity);
        const score = load * Math.max(0.01, c.latencyMs ?? mean);
        if (score < bestScore - 1e-12) {
          bestScore = score;
          best = [c];
        } else if (Math.abs(score - bestScore) <= 1e-12) best.push(c);
      }
      return best[Math.floor(Math.random() * best.length)];
    },
  };
}

/**
 * Rendezvous (highest random weight) hashing on a key, e.g. the session or the
 * tenant: every call with one key goes to one instance while it lives; when an
 * instance leaves, only its keys move (each to its own next-highest instance),
 * and when one joins it takes about 1/n of the keys. Calls without a key go
 * round robin.
 *
 * @example
 * affinity({ key: (req) => req.message.meta.sessionId as string | undefined ?? req.message.headers.tenant })
 */
export function affinity(options: { key: (request: RemoteCallRequest) => string | undefined }): Strategy {
  const fallback = roundRobin();
  return {
    name: 'affinity',
    pick(candidates, ctx) {
      const key = options.key(ctx.request);
      if (key === undefined) return fallback.pick(candidates, ctx);
      return rendezvous(candidates, key);
    },
  };
}

/** The candidate with the highest hash of (key, id). */
export function rendezvous<C extends { id: string }>(candidates: readonly C[], key: string): C | undefined {
  let best: C | undefined;
  let bestScore = -1;
  for (const c of candidates) {
    const score = hash53(`${key}\u0000${c.id}`);
    if (score > bestScore || (score === bestScore && best !== undefined && c.id < best.id)) {
      bestScore = score;
      best = c;
    }
  }
  return best;
}

/**
 * Priority tiers (`labels.tier`, 0 first): the lowest tier that has an
 * eligible instance below capacity is used, with `inner` choosing inside it;
 * when every instance of a tier is down, open or tried, calls fail over to the
 * next tier. If every tier is saturated, the lowest one takes the call.
 *
 * @example
 * priorityTiers(leastLoaded()) // tier 0 = the primary region, tier 1 = the fallback region
 */
export function priorityTiers(inner: Strategy = roundRobin()): Strategy {
  return {
    name: `priority(${inner.name})`,
    pick(candidates, ctx) {
      if (candidates.length === 0) return undefined;
      const tiers = [...new Set(candidates.map((c) => c.tier))].sort((a, b) => a - b);
      for (const t of tiers) {
        const inTier = candidates.filter((c) => c.tier === t && utilisation(c) < 1);
        if (inTier.length > 0) return inner.pick(inTier, ctx);
      }
      return inner.pick(candidates.filter((c) => c.tier === tiers[0]), ctx);
    },
  };
}
