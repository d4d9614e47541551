import { describe, expect, it } from 'vitest';
import { affinity, leastLoaded, priorityTiers, rendezvous, roundRobin, type Candidate } from '../../src/resilience/index.js';
import { RetryBudget } from '../../src/resilience/index.js';
import { InstanceBreaker } from '../../src/resilience/index.js';
import { ConsecutiveBreaker } from 'cockatiel';
import { message } from '../../src/core/message.js';
import type { RemoteCallRequest } from '../../src/protocols/remote-transport.js';

const cand = (id: string, over: Partial<Candidate> = {}): Candidate => ({ id, url: `http://127.0.0.1/${id}`, capacity: 10, reported: { inflight: 0, queueDepth: 0 }, inflight: 0, latencyMs: undefined, tier: 0, labels: {}, ...over });
const req = (session?: string): RemoteCallRequest => ({ agentUrl: 'agent://x', message: message('p', { tenant: 't', meta: session ? { session } : {} }), idempotencyKey: 'k' });
const ctx = (session?: string) => ({ request: req(session), attempt: 0 });

describe('strategies', () => {
  it('round robin gives each instance the same share', () => {
    const s = roundRobin();
    const cs = [cand('a'), cand('b'), cand('c')];
    const counts: Record<string, number> = {};
    for (let i = 0; i < 300; i++) {
      const id = s.pick(cs, ctx())!.id;
      counts[id] = (counts[id] ?? 0) + 1;
    }
    expect(Object.values(counts).every((n) => n === 100)).toBe(true);
  });

  it('least loaded prefers free capacity and avoids a slow instance', () => {
    const s = leastLoaded();
    expect(s.pick([cand('a', { reported: { inflight: 5, queueDepth: 0 } }), cand('b', { inflight: 1 })], ctx())!.id).toBe('b');
    expect(s.pick([cand('a', { reported: { inflight: 1, queueDepth: 0 }, capacity: 1 }), cand('b', { reported: { inflight: 1, queueDepth: 0 }, capacity: 10 })], ctx())!.id).toBe('b');
    const picks = Array.from({ length: 100 }, () => s.pick([cand('slow', { latencyMs: 100 }), cand('f1', { latencyMs: 10 }), cand('f2', { latencyMs: 10 })], ctx())!.id);
    expect(picks.filter((p) => p === 'slow')).toHaveLength(0);
  });

  it('affinity keeps a key on one instance and moves only the keys of an instance that leaves', () => {
    const s = affinity({ key: (r) => r.message.meta.session as string | undefined });
    const all = ['a', 'b', 'c', 'd'].map((id) => cand(id));
    const before = new Map<string, string>();
    for (let k = 0; k < 1000; k++) before.set(`s${k}`, s.pick(all, ctx(`s${k}`))!.id);
    for (let k = 0; k < 1000; k++) expect(s.pick(all, ctx(`s${k}`))!.id).toBe(before.get(`s${k}`));
    const shares = ['a', 'b', 'c', 'd'].map((id) => [...before.values()].filter((v) => v === id).length);
    for (const n of shares) expect(n).toBeGreaterThan(180);
    const without = all.filter((c) => c.id !== 'c');
    for (let k = 0; k < 1000; k++) {
      const now = s.pick(without, ctx(`s${k}`))!.id;
      if (before.get(`s${k}`) !== 'c') expect(now).toBe(before.get(`s${k}`));
    }
    expect(rendezvous([], 'x')).toBeUndefined();
  });

  it('priority tiers use tier 0 while it has room, then fail over to tier 1', () => {
    const s = priorityTiers(roundRobin());
    const t0 = cand('p', { tier: 0 });
    const t1 = cand('q', { tier: 1 });
    expect(s.pick([t0, t1], ctx())!.id).toBe('p');
    expect(s.pick([t1], ctx())!.id).toBe('q');
    expect(s.pick([cand('p', { tier: 0, inflight: 10 }), t1], ctx())!.id).toBe('q');
  });
});

describe('retry budget', () => {
  it('allows at most ratio × calls + minRetries retries in a window, and refills as the window moves', () => {
    let now = 0;
    const b = new RetryBudget({ ratio: 0.2, minRetries: 0, windowMs: 10_000, now: () => now });
    let retries = 0;
    for (let i = 0; i < 100; i++) {
      b.recordCall();
      while (b.tryRetry()) retries++;
    }
    expect(retries).toBe(20);
    now += 11_000;
    expect(b.stats()).toEqual({ calls: 0, retries: 0 });
    b.recordCall();
    expect(b.tryRetry()).toBe(false);
  });
});

describe('breaker', () => {
  it('opens after the trip rule, half-opens after the wait with one trial, closes on success, re-opens on failure', () => {
    let now = 0;
    const changes: string[] = [];
    const b = new InstanceBreaker({ trip: () => new ConsecutiveBreaker(3), halfOpenAfterMs: 1_000 }, () => now, (s) => changes.push(s));
    for (let i = 0; i < 3; i++) b.failure(b.admit(), 'x');
    expect(b.state).toBe('open');
    expect(b.admit()).toBe('blocked');
    now += 1_000;
    expect(b.canPass()).toBe(true);
    const trial = b.admit();
    expect(trial).toBe('trial');
    expect(b.admit()).toBe('blocked');
    b.failure(trial, 'still down');
    expect(b.state).toBe('open');
    now += 1_000;
    const trial2 = b.admit();
    b.success(trial2);
    expect(b.state).toBe('closed');
    expect(changes).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
  });
});
