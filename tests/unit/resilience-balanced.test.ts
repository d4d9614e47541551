import { afterEach, describe, expect, it } from 'vitest';
import { isPenguiflowError, RemoteError, RemoteUnavailableError } from '../../src/errors/index.js';
import { message } from '../../src/core/message.js';
import type { RemoteCallRequest, RemoteCallResult, RemoteStreamEvent, RemoteTransport } from '../../src/protocols/remote-transport.js';
import { MemoryAgentRegistry } from '../../src/registry/index.js';
import { AnswerCache, createBalancedTransport, flowEventSink, priorityTiers, roundRobin, type BalancedTransport, type ResilienceEvent } from '../../src/resilience/index.js';
import { createFlow, node, type FlowEvent } from '../../src/index.js';

type Mode = 'ok' | 'down' | 'fail-task' | 'cut';

class FakeTransport implements RemoteTransport {
  modes = new Map<string, Mode>();
  calls: { url: string; key: string }[] = [];
  cancels: { url: string; taskId: string }[] = [];
  async send(req: RemoteCallRequest): Promise<RemoteCallResult> {
    this.calls.push({ url: req.agentUrl, key: req.idempotencyKey });
    const mode = this.modes.get(req.agentUrl) ?? 'ok';
    if (mode === 'down') throw new RemoteUnavailableError(`Cannot reach ${req.agentUrl}`, { details: { agentUrl: req.agentUrl } });
    if (mode === 'fail-task') throw new RemoteError('bad input', { retryable: false });
    return { state: 'completed', taskId: `t-${this.calls.length}`, payload: { from: req.agentUrl } };
  }
  async *stream(req: RemoteCallRequest): AsyncGenerator<RemoteStreamEvent> {
    this.calls.push({ url: req.agentUrl, key: req.idempotencyKey });
    const mode = this.modes.get(req.agentUrl) ?? 'ok';
    if (mode === 'down') throw new RemoteUnavailableError(`Cannot reach ${req.agentUrl}`);
    const taskId = `t-${this.calls.length}`;
    yield { kind: 'task', taskId, state: 'submitted', final: false };
    if (mode === 'cut') throw new RemoteUnavailableError('connection reset');
    yield { kind: 'artifact', taskId, payload: req.agentUrl, final: false, lastChunk: true };
    yield { kind: 'status', taskId, state: 'completed', final: true };
  }
  async cancel(t: { agentUrl: string; taskId: string }): Promise<void> {
    this.cancels.push({ url: t.agentUrl, taskId: t.taskId });
  }
}

const card = (name: string) => ({ name, skills: [{ id: 'echo' }] });
async function setup(n: number, opts: Partial<Parameters<typeof createBalancedTransport>[0]> = {}) {
  const registry = new MemoryAgentRegistry();
  for (let i = 0; i < n; i++) await registry.register({ id: `i${i}`, name: 'echo', url: `http://127.0.0.1:${9000 + i}`, skills: ['echo'], card: card('echo'), capacity: 2, heartbeatMs: 60_000 }, 600_000);
  const inner = new FakeTransport();
  const events: ResilienceEvent[] = [];
  const balanced = createBalancedTransport({ registry, transport: inner, events: (e) => events.push(e), refreshMs: 20, retryBudget: { ratio: 1, minRetries: 100 }, ...opts });
  open.push(balanced);
  return { registry, inner, events, balanced };
}
const open: BalancedTransport[] = [];
afterEach(async () => {
  for (const b of open.splice(0)) await b.close();
});
const req = (i: number, over: Partial<RemoteCallRequest> = {}): RemoteCallRequest => ({ agentUrl: 'agent://echo', message: message(`p${i}`, { tenant: 'acme' }), idempotencyKey: `node:${i}`, ...over });
const collect = async (it: AsyncIterable<RemoteStreamEvent>) => {
  const out: RemoteStreamEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
};

describe('createBalancedTransport', () => {
  it('resolves agent:// and skill:// to registered instances; other URLs go straight through', async () => {
    const { inner, balanced } = await setup(3);
    await balanced.send(req(1));
    await balanced.send(req(2, { agentUrl: 'skill://echo' }));
    await balanced.send(req(3, { agentUrl: 'http://127.0.0.1:7/' }));
    expect(inner.calls.map((c) => c.url)).toEqual(['http://127.0.0.1:9000', 'http://127.0.0.1:9001', 'http://127.0.0.1:7/']);
  });

  it('fails over to another instance with the same idempotency key, and the breaker of the dead one opens', async () => {
    const { inner, events, balanced } = await setup(3, { breaker: { halfOpenAfterMs: 60_000 } });
    inner.modes.set('http://127.0.0.1:9000', 'down');
    for (let i = 0; i < 12; i++) expect((await balanced.send(req(i))).state).toBe('completed');
    const failovers = events.filter((e) => e.type === 'failover');
    expect(failovers.length).toBeGreaterThan(0);
    for (const f of failovers) expect(inner.calls.filter((c) => c.key === f.idempotencyKey).length).toBe(2);
    expect(events.some((e) => e.type === 'breaker_open' && e.instanceId === 'i0')).toBe(true);
    expect(events.some((e) => e.type === 'remote_instance_down' && e.instanceId === 'i0' && e.reason === 'errors')).toBe(true);
    expect(JSON.stringify(events)).not.toContain('p1'); // no payloads in events
  });

  it('does not fail over a call the remote answered with an error', async () => {
    const { inner, balanced } = await setup(2);
    inner.modes.set('http://127.0.0.1:9000', 'fail-task');
    const e = await balanced.send(req(0)).catch((x: unknown) => x);
    expect(isPenguiflowError(e, 'REMOTE_ERROR')).toBe(true);
    expect(inner.calls).toHaveLength(1);
  });

  it('re-dispatches a stream that failed before its first event; after it, only when idempotent (cancelling the first task)', async () => {
    const { inner, events, balanced } = await setup(2);
    inner.modes.set('http://127.0.0.1:9000', 'down');
    const evs = await collect(balanced.stream(req(0)));
    expect(evs.at(-1)?.final).toBe(true);
    inner.modes.set('http://127.0.0.1:9000', 'cut');
    inner.calls.length = 0;
    // Round robin now points at i0 again (i1 served the last one); it cuts mid-stream and is not idempotent.
    const error = await collect(balanced.stream(req(1))).catch((x: unknown) => x);
    expect(isPenguiflowError(error, 'REMOTE_UNAVAILABLE')).toBe(true);
    const { balanced: idem, inner: inner2, events: ev2 } = await setup(2, { idempotent: true });
    inner2.modes.set('http://127.0.0.1:9000', 'cut');
    const out = await collect(idem.stream(req(2)));
    expect(out.at(-1)).toMatchObject({ final: true, state: 'completed' });
    expect(inner2.cancels).toEqual([{ url: 'http://127.0.0.1:9000', taskId: 't-1' }]);
    expect(ev2.find((e) => e.type === 'failover')?.extra).toMatchObject({ midStream: true });
    expect(events.length).toBeGreaterThan(0);
  });

  it('uses the fallback with an event when every instance is open, else fails with REMOTE_UNAVAILABLE', async () => {
    const { inner, events, balanced } = await setup(2, { breaker: { halfOpenAfterMs: 60_000 }, health: { unhealthyAfter: 100 }, fallback: () => 'cached answer' });
    inner.modes.set('http://127.0.0.1:9000', 'down');
    inner.modes.set('http://127.0.0.1:9001', 'down');
    for (let i = 0; i < 10; i++) await balanced.send(req(i));
    const before = inner.calls.length;
    const res = await balanced.send(req(99));
    expect(res).toMatchObject({ state: 'completed', payload: 'cached answer' });
    expect(inner.calls.length).toBe(before);
    expect(events.filter((e) => e.type === 'fallback_used').at(-1)).toMatchObject({ reason: 'ALL_OPEN', idempotencyKey: 'node:99' });
    const streamed = await collect(balanced.stream(req(100)));
    expect(streamed).toEqual([{ kind: 'message', state: 'completed', payload: 'cached answer', final: true }]);

    const bare = await setup(1, { breaker: { halfOpenAfterMs: 60_000 } });
    bare.inner.modes.set('http://127.0.0.1:9000', 'down');
    for (let i = 0; i < 6; i++) await bare.balanced.send(req(i)).catch(() => undefined);
    const e = await bare.balanced.send(req(7)).catch((x: unknown) => x);
    expect(isPenguiflowError(e, 'REMOTE_UNAVAILABLE')).toBe(true);
  });

  it('answers from the cache of last good answers when every instance is open', async () => {
    const answers = new AnswerCache();
    const { inner, events, balanced } = await setup(1, { breaker: { halfOpenAfterMs: 60_000 }, answers });
    const same = () => req(0, { message: message('what is up', { tenant: 'acme' }) });
    const good = await collect(balanced.stream(same()));
    expect(good.at(-1)?.final).toBe(true);
    inner.modes.set('http://127.0.0.1:9000', 'down');
    for (let i = 0; i < 3; i++) await balanced.send(req(10 + i)).catch(() => undefined);
    const out = await collect(balanced.stream(same()));
    expect(out).toEqual([{ kind: 'message', state: 'completed', payload: 'http://127.0.0.1:9000', final: true }]);
    expect(events.filter((e) => e.type === 'fallback_used').at(-1)).toMatchObject({ reason: 'ALL_OPEN', extra: { cached: true } });
    const other = await balanced.send(req(99)).catch((x: unknown) => x);
    expect(isPenguiflowError(other, 'REMOTE_UNAVAILABLE')).toBe(true); // nothing cached for that question
  });

  it('priority tiers: tier 0 takes the calls; when it is down they fail over to tier 1', async () => {
    const registry = new MemoryAgentRegistry();
    for (const [id, tier] of [['p0', 0], ['p1', 0], ['q0', 1]] as const) {
      await registry.register({ id, name: 'echo', url: `http://127.0.0.1:${id === 'q0' ? 9302 : id === 'p0' ? 9300 : 9301}`, skills: [], card: card('echo'), capacity: 8, heartbeatMs: 60_000, labels: { tier } }, 600_000);
    }
    const inner = new FakeTransport();
    const events: ResilienceEvent[] = [];
    const balanced = createBalancedTransport({ registry, transport: inner, strategy: priorityTiers(roundRobin()), events: (e) => events.push(e), refreshMs: 20, breaker: { halfOpenAfterMs: 60_000 }, retryBudget: { ratio: 1, minRetries: 100 } });
    open.push(balanced);
    for (let i = 0; i < 6; i++) await balanced.send(req(i));
    expect(new Set(inner.calls.map((c) => c.url))).toEqual(new Set(['http://127.0.0.1:9300', 'http://127.0.0.1:9301']));
    inner.modes.set('http://127.0.0.1:9300', 'down');
    inner.modes.set('http://127.0.0.1:9301', 'down');
    inner.calls.length = 0;
    for (let i = 0; i < 10; i++) expect((await balanced.send(req(100 + i))).payload).toEqual({ from: 'http://127.0.0.1:9302' });
    expect(events.some((e) => e.type === 'failover' && e.instanceId === 'q0')).toBe(true);
  });

  it('sheds low-priority calls when every instance is at capacity', async () => {
    const { registry, events, balanced } = await setup(2);
    await balanced.ready();
    for (const id of ['i0', 'i1']) await registry.heartbeat(id, { inflight: 2, queueDepth: 3 });
    await new Promise((r) => setTimeout(r, 80));
    const low = req(1, { message: message('x', { tenant: 'acme', priority: -1 }) });
    const e = await balanced.send(low).catch((x: unknown) => x);
    expect(isPenguiflowError(e, 'LOAD_SHED')).toBe(true);
    expect(events.some((x) => x.type === 'load_shed')).toBe(true);
    expect((await balanced.send(req(2))).state).toBe('completed');
  });

  it('keeps remote attempts within (1 + budget) × calls under 100% failure', async () => {
    const { inner, balanced, events } = await setup(3, { breaker: false, health: { unhealthyAfter: 1e9 }, retryBudget: { ratio: 0.2, minRetries: 0 }, maxAttempts: 3 });
    for (const p of [9000, 9001, 9002]) inner.modes.set(`http://127.0.0.1:${p}`, 'down');
    const calls = 200;
    for (let i = 0; i < calls; i++) await balanced.send(req(i)).catch(() => undefined);
    expect(inner.calls.length).toBeLessThanOrEqual(1.2 * calls);
    expect(inner.calls.length).toBeGreaterThan(calls);
    expect(events.some((e) => e.type === 'retry_budget_exhausted')).toBe(true);
  });

  it('ignores a malformed registry entry with an event and never chooses it', async () => {
    const { registry, inner, events, balanced } = await setup(1);
    registry.putRaw('evil', { id: 'evil', name: 'echo', url: 'file:///etc/passwd', skills: ['echo'], card: { name: 'echo' }, capacity: 100, heartbeatMs: 1000, load: { inflight: 0, queueDepth: 0 }, heartbeatSeq: 0, registeredAt: 1, ttlMs: 60_000 }, 60_000);
    registry.putRaw('nocard', { id: 'nocard', name: 'echo', url: 'http://127.0.0.1:1', skills: ['echo'], card: 'x', capacity: 100, heartbeatMs: 1000, load: { inflight: 0, queueDepth: 0 }, heartbeatSeq: 0, registeredAt: 1, ttlMs: 60_000 }, 60_000);
    for (let i = 0; i < 20; i++) await balanced.send(req(i));
    expect(new Set(inner.calls.map((c) => c.url))).toEqual(new Set(['http://127.0.0.1:9000']));
    expect(events.filter((e) => e.type === 'registry_entry_invalid').map((e) => e.instanceId).sort()).toEqual(['evil', 'nocard']);
  });

  it('routes cancel of a task to the instance that runs it', async () => {
    const { inner, balanced } = await setup(3);
    await balanced.send(req(0));
    const first = await collect(balanced.stream(req(1)));
    const taskId = first[0]!.taskId!;
    // the stream completed, so its route is gone; a running one is routed:
    const it = balanced.stream(req(2))[Symbol.asyncIterator]();
    const ev = await it.next();
    await balanced.cancel({ agentUrl: 'agent://echo', taskId: ev.value!.taskId! });
    expect(inner.cancels.at(-1)?.url).toBe(inner.calls.at(-1)?.url);
    await it.return?.(undefined);
    const e = await balanced.cancel({ agentUrl: 'agent://echo', taskId }).catch((x: unknown) => x);
    expect(isPenguiflowError(e, 'NOT_FOUND')).toBe(true);
  });

  it('marks an instance down after missed heartbeats and up again after a heartbeat and a probe', async () => {
    const registry = new MemoryAgentRegistry();
    await registry.register({ id: 'a', name: 'echo', url: 'http://127.0.0.1:9100', skills: [], card: card('echo'), capacity: 2, heartbeatMs: 100 }, 60_000);
    const events: ResilienceEvent[] = [];
    const balanced = createBalancedTransport({ registry, transport: new FakeTransport(), events: (e) => events.push(e), refreshMs: 20, health: { probe: async () => true, probeIntervalMs: 20 } });
    open.push(balanced);
    await balanced.ready();
    const t0 = Date.now();
    await waitFor(() => events.some((e) => e.type === 'remote_instance_down'));
    expect(Date.now() - t0).toBeLessThan(200 + 100); // within 2 heartbeat intervals (+ scheduling slack)
    expect(events.find((e) => e.type === 'remote_instance_down')).toMatchObject({ instanceId: 'a', reason: 'heartbeat' });
    await registry.heartbeat('a', { inflight: 0, queueDepth: 0 });
    await waitFor(() => events.some((e) => e.type === 'remote_instance_up' && e.reason === 'probe'));
  });
});

describe('createBalancedTransport when the registry fails', () => {
  it('keeps its last view and marks nobody down for missed heartbeats while the registry cannot be read', async () => {
    const registry = new MemoryAgentRegistry();
    await registry.register({ id: 'a', name: 'echo', url: 'http://127.0.0.1:9200', skills: [], card: card('echo'), capacity: 2, heartbeatMs: 50 }, 60_000);
    let broken = false;
    const flaky = Object.assign(Object.create(registry) as MemoryAgentRegistry, { list: async () => (broken ? Promise.reject(new Error('registry down')) : registry.list()) });
    const events: ResilienceEvent[] = [];
    const inner = new FakeTransport();
    const balanced = createBalancedTransport({ registry: flaky, transport: inner, events: (e) => events.push(e), refreshMs: 20 });
    open.push(balanced);
    await balanced.ready();
    const beat = setInterval(() => void registry.heartbeat('a', { inflight: 0, queueDepth: 0 }), 20);
    try {
      await new Promise((r) => setTimeout(r, 100));
      broken = true;
      await new Promise((r) => setTimeout(r, 300));
      expect(events.filter((e) => e.type === 'remote_instance_down')).toEqual([]);
      expect((await balanced.send(req(1))).state).toBe('completed');
    } finally {
      clearInterval(beat);
    }
  });

  it('fails a call with REMOTE_UNAVAILABLE (bounded) when the registry never answers', async () => {
    const registry = new MemoryAgentRegistry();
    const dead = Object.assign(Object.create(registry) as MemoryAgentRegistry, { list: () => new Promise<never>(() => undefined) });
    const balanced = createBalancedTransport({ registry: dead, transport: new FakeTransport() });
    open.push(balanced);
    const t = Date.now();
    const e = await balanced.send(req(1, { timeoutMs: 300 })).catch((x: unknown) => x);
    expect(isPenguiflowError(e, 'REMOTE_UNAVAILABLE')).toBe(true);
    expect(Date.now() - t).toBeLessThan(2_000);
  });
});

describe('flowEventSink', () => {
  it('puts call events on the call\'s trace and background events on remote-health/system, without payloads', async () => {
    const seen: FlowEvent[] = [];
    const flow = createFlow(node('n', (m) => m.payload), { name: 'f', middlewares: [(e) => void seen.push(e)] });
    flow.run();
    const sink = flowEventSink(flow, { node: 'research' });
    sink({ type: 'failover', ts: 1, traceId: 't1', tenant: 'acme', target: 'agent://x', instanceId: 'b', idempotencyKey: 'k', reason: 'TIMEOUT', extra: { from: 'a' } });
    sink({ type: 'remote_instance_down', ts: 2, instanceId: 'a', reason: 'heartbeat' });
    await flow.stop();
    const mine = seen.filter((e) => e.type === 'failover' || e.type === 'remote_instance_down');
    expect(mine[0]).toMatchObject({ type: 'failover', traceId: 't1', tenant: 'acme', node: 'research', extra: { from: 'a', instanceId: 'b', target: 'agent://x', idempotencyKey: 'k', reason: 'TIMEOUT' } });
    expect(mine[1]).toMatchObject({ type: 'remote_instance_down', traceId: 'remote-health', tenant: 'system', extra: { instanceId: 'a', reason: 'heartbeat' } });
  });
});

async function waitFor(pred: () => boolean, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
