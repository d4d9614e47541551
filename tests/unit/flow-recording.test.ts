import { describe, expect, it } from 'vitest';
import { InMemoryMessageBus } from '../../src/adapters/memory/memory-message-bus.js';
import { InMemoryStateStore } from '../../src/adapters/memory/memory-state-store.js';
import {
  createFlow,
  message,
  node,
  sleep,
  StoreUnavailableError,
  type BusEnvelope,
  type FlowEvent,
  type Message,
  type MessageBus,
} from '../../src/index.js';

function pipeline() {
  const a = node('a', (m: Message<number>) => m.payload + 1);
  const b = node('b', async (m: Message<number>) => {
    await sleep(1);
    return m.payload * 2;
  });
  return { a, b };
}

/** A store whose writes always fail: what the flow does when its database is down. */
class DownStore extends InMemoryStateStore {
  attempts = 0;
  override async saveEvents(): Promise<void> {
    this.attempts++;
    throw new StoreUnavailableError('store is down (test)');
  }
}

describe('recording to the state store', () => {
  it('history is ordered and complete after stop()', async () => {
    const store = new InMemoryStateStore();
    const { a, b } = pipeline();
    const flow = createFlow(a.to(b), { stateStore: store, name: 'rec' });
    flow.run();
    const msgs = [1, 2, 3].map((n) => message(n, { tenant: 'acme' }));
    const results = await Promise.all(msgs.map((m) => flow.call(m)));
    expect(results.map((r) => r.payload)).toEqual([4, 6, 8]);
    await flow.stop();
    for (const m of msgs) {
      const history = await store.loadHistory(m.traceId, { tenant: 'acme' });
      expect(history.map((e) => `${e.type}:${e.node ?? ''}`)).toEqual([
        'node_start:a',
        'node_success:a',
        'node_start:b',
        'node_success:b',
        'trace_complete:',
      ]);
      expect(history.at(-1)?.extra?.status).toBe('succeeded');
      const seqs = history.map((e) => e.seq!);
      expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
      expect(history.every((e) => e.tenant === 'acme' && e.flow === 'rec')).toBe(true);
      expect(await store.loadHistory(m.traceId, { tenant: 'other' })).toEqual([]);
    }
    expect(flow.stats.store?.written).toBe(15);
  });

  it('flow.history flushes and returns the trace events', async () => {
    const store = new InMemoryStateStore();
    const { a, b } = pipeline();
    const flow = createFlow(a.to(b), { stateStore: store, recorder: { flushIntervalMs: 10_000 } });
    flow.run();
    const m = message(1, { tenant: 't' });
    await flow.call(m);
    await sleep(1);
    const history = await flow.history(m.traceId, { tenant: 't' });
    expect(history.map((e) => e.type)).toContain('trace_complete');
    await flow.stop();
  });

  it('a store that throws does not stop the flow, and the failure is an event and a counter', async () => {
    const store = new DownStore();
    const seen: FlowEvent[] = [];
    const { a, b } = pipeline();
    const flow = createFlow(a.to(b), {
      stateStore: store,
      recorder: { maxRetryMs: 50, flushIntervalMs: 1 },
      middlewares: [(e) => void seen.push(e)],
    });
    flow.run();
    const results = await Promise.all([1, 2, 3, 4].map((n) => flow.call(message(n, { tenant: 't' }))));
    expect(results.map((r) => r.payload)).toEqual([4, 6, 8, 10]);
    await flow.stop();
    expect(store.attempts).toBeGreaterThan(1);
    expect(flow.stats.storeErrors).toBeGreaterThan(0);
    expect(flow.stats.store?.dropped).toBe(20);
    const storeErrors = seen.filter((e) => e.type === 'store_error');
    expect(storeErrors.length).toBeGreaterThan(0);
    expect(storeErrors[0]?.error?.code).toBe('STORE_UNAVAILABLE');
  });

  it("sync durability: a node step waits until its events are committed", async () => {
    const store = new InMemoryStateStore();
    const { a, b } = pipeline();
    const flow = createFlow(a.to(b), { stateStore: store, recorder: { durability: 'sync', flushIntervalMs: 10_000 } });
    flow.run();
    const m = message(1, { tenant: 't' });
    await flow.call(m);
    // No flush: in sync mode every event before the result is already in the store.
    const history = await store.loadHistory(m.traceId, { tenant: 't' });
    expect(history.filter((e) => e.type === 'node_success').map((e) => e.node)).toEqual(['a', 'b']);
    await flow.stop();
  });
});

describe('publishing edge traffic to the bus', () => {
  it('every edge hop is published with tenant, trace and deadline', async () => {
    const bus = new InMemoryMessageBus();
    const { a, b } = pipeline();
    const flow = createFlow(a.to(b), { bus, name: 'pub' });
    flow.run();
    const m = message(1, { tenant: 'acme', deadlineMs: 10_000 });
    await flow.call(m);
    await flow.stop();
    const hops = bus.published.filter((e) => e.message.traceId === m.traceId);
    expect(hops.map((e) => `${e.source ?? 'ingress'}->${e.target}`)).toEqual(['ingress->a', 'a->b']);
    expect(hops.map((e) => e.topic)).toEqual(['pub.a', 'pub.b']);
    for (const hop of hops) {
      expect(hop.message.headers.tenant).toBe('acme');
      expect(hop.message.deadline).toBe(m.deadline);
      expect(hop.key).toBe(m.traceId);
    }
  });

  it('a bus that throws does not stop the flow, and each failure is an event and a counter', async () => {
    const bus: MessageBus = {
      publish: async (_e: BusEnvelope) => {
        throw new Error('broker down (test)');
      },
      close: async () => undefined,
    };
    const seen: FlowEvent[] = [];
    const { a, b } = pipeline();
    const flow = createFlow(a.to(b), { bus, middlewares: [(e) => void seen.push(e)] });
    flow.run();
    const out = await flow.call(message(1, { tenant: 't' }));
    expect(out.payload).toBe(4);
    await flow.stop();
    await sleep(1);
    expect(flow.stats.busErrors).toBe(2);
    expect(seen.filter((e) => e.type === 'bus_error')).toHaveLength(2);
  });
});

describe('events over the store size limit', () => {
  it('only the oversized event is dropped and counted; the rest of its batch is written', async () => {
    const store = new InMemoryStateStore({ maxEventBytes: 2_000 });
    const seen: FlowEvent[] = [];
    const n = node('n', (_m: Message<number>, ctx) => {
      ctx.event('remote_call_start', { extra: { note: 'x'.repeat(5_000) } });
      return 1;
    });
    const flow = createFlow(n, { stateStore: store, middlewares: [(e) => void seen.push(e)] });
    flow.run();
    const m = message(1, { tenant: 't' });
    await flow.call(m);
    await flow.stop();
    const history = await store.loadHistory(m.traceId, { tenant: 't' });
    expect(history.map((e) => e.type)).toEqual(['node_start', 'node_success', 'trace_complete']);
    expect(flow.stats.store?.dropped).toBe(1);
    expect(flow.stats.store?.written).toBe(3);
    expect(seen.find((e) => e.type === 'store_error')?.error?.code).toBe('PAYLOAD_TOO_LARGE');
  });
});
