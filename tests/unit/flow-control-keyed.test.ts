import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryMessageBus } from '../../src/adapters/memory/memory-message-bus.js';
import { InMemoryStateStore } from '../../src/adapters/memory/memory-state-store.js';
import { runWorker } from '../../src/distributed/index.js';
import { createFlow, isPenguiflowError, message, node, sleep, type Flow, type FlowEvent, type Message } from '../../src/index.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tracker() {
  const now = new Map<string, number>();
  const peak = new Map<string, number>();
  return {
    enter(key: string) {
      const n = (now.get(key) ?? 0) + 1;
      now.set(key, n);
      peak.set(key, Math.max(peak.get(key) ?? 0, n));
    },
    leave(key: string) {
      now.set(key, (now.get(key) ?? 1) - 1);
    },
    peak,
  };
}

describe('keyed concurrency', () => {
  it('in one process: at most maxPerKey per tenant, and a busy tenant does not starve another', async () => {
    const t = tracker();
    const done: string[] = [];
    const work = node(
      'work',
      async (m: Message<string>) => {
        t.enter(m.headers.tenant);
        await sleep(20);
        t.leave(m.headers.tenant);
        done.push(`${m.headers.tenant}:${m.payload}`);
        return m.payload;
      },
      { concurrency: 4, concurrencyKey: (m) => m.headers.tenant, maxPerKey: 1 },
    );
    const flow = createFlow(work);
    flow.run();
    cleanups.push(() => flow.stop());
    const busy = Array.from({ length: 6 }, (_, i) => flow.call(message(`a${i}`, { tenant: 'busy' })));
    await sleep(5);
    const quiet = flow.call(message('b0', { tenant: 'quiet' }));
    await Promise.all([...busy, quiet]);
    expect(t.peak.get('busy')).toBe(1);
    expect(done.indexOf('quiet:b0')).toBeLessThan(done.indexOf('busy:a5'));
    expect(done.indexOf('quiet:b0')).toBeLessThanOrEqual(2);
  });

  it('a cancelled trace also leaves the per-key waiting line', async () => {
    const ran: string[] = [];
    const work = node(
      'work',
      async (m: Message<string>) => {
        ran.push(m.payload);
        await sleep(30);
        return m.payload;
      },
      { concurrency: 2, concurrencyKey: () => 'one', maxPerKey: 1 },
    );
    const flow = createFlow(work);
    flow.run();
    cleanups.push(() => flow.stop());
    const first = flow.call(message('first', { tenant: 't' }));
    const victim = message('victim', { tenant: 't' });
    const lost = flow.call(victim).catch((e: unknown) => e);
    await sleep(5);
    expect(await flow.cancel(victim.traceId)).toBe(true);
    expect(isPenguiflowError(await lost, 'TRACE_CANCELLED')).toBe(true);
    await first;
    expect(ran).toEqual(['first']);
  });

  it('across workers: the limit per key holds over every worker (slot leases in the shared store)', async () => {
    const t = tracker();
    const store = new InMemoryStateStore();
    const bus = new InMemoryMessageBus();
    const make = (): Flow =>
      createFlow(
        node(
          'work',
          async (m: Message<number>) => {
            t.enter(m.headers.tenant);
            await sleep(15);
            t.leave(m.headers.tenant);
            return m.payload;
          },
          { placement: 'distributed', concurrencyKey: (m) => m.headers.tenant, maxPerKey: 2 },
        ),
        { name: 'keyed' },
      );
    for (const id of ['w1', 'w2']) {
      const w = await runWorker({ flow: make(), bus, store, workerId: id, concurrency: 4, leaseMs: 2_000 });
      cleanups.push(() => w.stop());
    }
    const flow = make();
    flow.run({ distributed: { bus } });
    cleanups.push(() => flow.stop());
    const calls = Array.from({ length: 12 }, (_, i) => flow.call(message(i, { tenant: i % 3 === 0 ? 'other' : 'hot' })));
    const results = await Promise.all(calls);
    expect(results.map((r) => r.payload)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(t.peak.get('hot')).toBe(2);
    expect(t.peak.get('other')).toBeLessThanOrEqual(2);
  });
});

describe('load shedding', () => {
  it('past maxDepth a distributed edge refuses work with LOAD_SHED, low priority first, with an event', async () => {
    const events: FlowEvent[] = [];
    const bus = new InMemoryMessageBus();
    const make = () => createFlow(node('slow', async () => (await sleep(50), 'ok'), { placement: 'distributed' }), { name: 'shed', middlewares: [(e) => void events.push(e)] });
    const w = await runWorker({ flow: make(), bus, workerId: 'w', concurrency: 1 });
    cleanups.push(() => w.stop());
    const flow = make();
    flow.run({ distributed: { bus, maxDepth: 5 } });
    cleanups.push(() => flow.stop({ timeoutMs: 5_000 }));
    const accepted: Promise<Message>[] = [];
    for (let i = 0; i < 4; i++) accepted.push(flow.call(message(i, { tenant: 't' })));
    // depth 4 of 5: past 80 %, a low-priority message is shed, a normal one still goes
    await expect(flow.emit(message('low', { tenant: 't', priority: -1 }))).rejects.toSatisfy((e) => isPenguiflowError(e, 'LOAD_SHED'));
    accepted.push(flow.call(message(4, { tenant: 't' })));
    await sleep(1);
    await expect(flow.emit(message('normal', { tenant: 't' }))).rejects.toSatisfy((e) => isPenguiflowError(e, 'LOAD_SHED'));
    accepted.push(flow.call(message('high', { tenant: 't', priority: 1 })));
    expect((await Promise.all(accepted)).every((m) => m.payload === 'ok')).toBe(true);
    expect(events.filter((e) => e.type === 'load_shed').map((e) => e.extra?.priority)).toEqual([-1, 0]);
    // once the edge drained, normal messages go again
    expect((await flow.call(message('later', { tenant: 't' }))).payload).toBe('ok');
  });
});
