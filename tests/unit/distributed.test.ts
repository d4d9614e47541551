import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryMessageBus } from '../../src/adapters/memory/memory-message-bus.js';
import { InMemoryStateStore } from '../../src/adapters/memory/memory-state-store.js';
import { runWorker, type Worker } from '../../src/distributed/index.js';
import {
  createFlow,
  isPenguiflowError,
  joinK,
  message,
  node,
  sleep,
  type Flow,
  type FlowEvent,
  type Message,
} from '../../src/index.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function controller(flow: Flow, bus: InMemoryMessageBus): Promise<Flow> {
  flow.run({ distributed: { bus } });
  await flow.ready();
  cleanups.push(() => flow.stop({ timeoutMs: 2_000 }));
  return flow;
}

async function workers(n: number, make: () => Flow, bus: InMemoryMessageBus, extra: Partial<Parameters<typeof runWorker>[0]> = {}): Promise<Worker[]> {
  const out: Worker[] = [];
  for (let i = 0; i < n; i++) {
    const w = await runWorker({ flow: make(), bus, workerId: `w${i}`, concurrency: 4, leaseMs: 300, ...extra });
    cleanups.push(() => w.stop());
    out.push(w);
  }
  return out;
}

function pipelineFlow(seen?: string[]): Flow {
  const a = node('a', (m: Message<number>) => m.payload + 1);
  const b = node(
    'b',
    async (m: Message<number>, ctx) => {
      seen?.push(`${ctx.tenant}:${ctx.traceId}`);
      await sleep(2);
      return m.payload * 10;
    },
    { placement: 'distributed' },
  );
  const c = node('c', (m: Message<number>) => `c(${m.payload})`);
  return createFlow(a.to(b), b.to(c), { name: 'pipe' });
}

describe('distributed nodes on workers (in-memory bus)', () => {
  it('a local → distributed → local pipeline returns results; work spreads over two workers', async () => {
    const bus = new InMemoryMessageBus();
    const ws = await workers(2, () => pipelineFlow(), bus);
    const flow = await controller(pipelineFlow(), bus);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => flow.call(message(i, { tenant: 'acme' }))));
    expect(results.map((r) => r.payload)).toEqual(Array.from({ length: 40 }, (_, i) => `c(${(i + 1) * 10})`));
    expect(results.every((r) => r.headers.tenant === 'acme')).toBe(true);
    expect(ws[0]!.stats.processed + ws[1]!.stats.processed).toBe(40);
    expect(ws[0]!.stats.processed).toBeGreaterThan(0);
    expect(ws[1]!.stats.processed).toBeGreaterThan(0);
  });

  it('chained distributed nodes, a fan-out across workers and a local join', async () => {
    const make = () => {
      const split = node('split', (m: Message<number>) => m.payload);
      const left = node('left', async (m: Message<number>) => (await sleep(3), m.payload + 1), { placement: 'distributed' });
      const right = node('right', (m: Message<number>) => m.payload * 2, { placement: 'distributed' });
      const after = node('after', (m: Message<number>) => m.payload + 100, { placement: 'distributed' });
      const join = joinK<number>('join', 2);
      return createFlow(split.to(left, right), left.to(after), after.to(join), right.to(join), { name: 'fan' });
    };
    const bus = new InMemoryMessageBus();
    await workers(2, make, bus);
    const flow = await controller(make(), bus);
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => flow.call(message(n, { tenant: 't' }))));
    for (const [i, r] of results.entries()) {
      const n = i + 1;
      expect([...(r.payload as number[])].sort((x, y) => x - y)).toEqual([n * 2, n + 101].sort((x, y) => x - y));
    }
  });

  it('stream chunks from a worker reach outputs() in order, then the result', async () => {
    const make = () =>
      createFlow(
        node(
          'talk',
          async (_m: Message<string>, ctx) => {
            for (let i = 0; i < 5; i++) await ctx.stream(`t${i}`, { done: i === 4 });
            return 'said';
          },
          { placement: 'distributed' },
        ),
        { name: 'talk' },
      );
    const bus = new InMemoryMessageBus();
    await workers(1, make, bus);
    const flow = await controller(make(), bus);
    const msg = message('hi', { tenant: 't' });
    await flow.emit(msg);
    const kinds: string[] = [];
    for await (const out of flow.outputs(msg.traceId)) {
      kinds.push(out.kind === 'chunk' ? `chunk${out.message.payload.seq}` : out.kind === 'result' ? `result:${String(out.message.payload)}` : 'error');
    }
    expect(kinds).toEqual(['chunk0', 'chunk1', 'chunk2', 'chunk3', 'chunk4', 'result:said']);
  });

  it('cancel stops a node running on another worker within 1 s and drops its queued messages', async () => {
    let aborted = 0;
    let started = 0;
    const make = () =>
      createFlow(
        node(
          'long',
          async (_m: Message<number>, ctx) => {
            started++;
            try {
              await sleep(5_000, ctx.signal);
            } catch {
              aborted++;
              throw new Error('stopped');
            }
            return 'finished';
          },
          { placement: 'distributed' },
        ),
        { name: 'cancel' },
      );
    const bus = new InMemoryMessageBus();
    await workers(1, make, bus, { concurrency: 1 });
    const flow = await controller(make(), bus);
    const traceId = 'trace-to-cancel';
    await flow.emit(message(1, { tenant: 't', traceId }));
    await flow.emit(message(2, { tenant: 't', traceId }));
    await sleep(50);
    expect(started).toBe(1);
    const result = flow.fetch({ traceId }).catch((e: unknown) => e);
    const t0 = Date.now();
    expect(await flow.cancel(traceId)).toBe(true);
    expect(isPenguiflowError(await result, 'TRACE_CANCELLED')).toBe(true);
    for (let i = 0; i < 100 && aborted === 0; i++) await sleep(10);
    expect(aborted).toBe(1);
    expect(Date.now() - t0).toBeLessThan(1_000);
    await sleep(100);
    expect(started).toBe(1); // the queued message of the cancelled trace never ran
  });

  it('a message whose deadline passed is skipped on the worker with deadline_skip and DEADLINE_EXCEEDED', async () => {
    const events: FlowEvent[] = [];
    let ran = false;
    const make = () => createFlow(node('late', () => ((ran = true), 'ran'), { placement: 'distributed' }), { name: 'dl' });
    const bus = new InMemoryMessageBus();
    const flow = await controller(make(), bus);
    const result = flow.call(message(1, { tenant: 't', deadlineMs: 30 })).catch((e: unknown) => e);
    await sleep(60); // the message waits on the bus past its deadline; then a worker shows up
    await workers(1, make, bus, { middlewares: [(e) => void events.push(e)] });
    const error = await result;
    expect(isPenguiflowError(error, 'DEADLINE_EXCEEDED')).toBe(true);
    expect(ran).toBe(false);
    const skip = events.find((e) => e.type === 'deadline_skip');
    expect(skip?.node).toBe('late');
    expect(skip?.extra?.worker).toBe('w0');
  });

  it('a poison message is delivered maxDeliveries times, then dead-lettered with its error; fetch gets the error', async () => {
    let attempts = 0;
    const make = () =>
      createFlow(
        node(
          'poison',
          () => {
            attempts++;
            throw new Error('always broken');
          },
          { placement: 'distributed' },
        ),
        { name: 'poison' },
      );
    const bus = new InMemoryMessageBus();
    const seen: FlowEvent[] = [];
    await workers(1, make, bus, { maxDeliveries: 3, middlewares: [(e) => void seen.push(e)] });
    const flow = await controller(make(), bus);
    const error = await flow.call(message(1, { tenant: 't' }), { timeoutMs: 10_000 }).catch((e: unknown) => e);

    expect(isPenguiflowError(error, 'NODE_EXCEPTION')).toBe(true);
    expect((error as Error).message).toContain('always broken');
    expect(attempts).toBe(3);
    await sleep(20);
    expect(seen.filter((e) => e.type === 'bus_redelivery').map((e) => e.extra?.deliveryCount)).toEqual([2, 3]);
    expect(seen.filter((e) => e.type === 'bus_dead_letter')).toHaveLength(1);
    const dead = await bus.listDeadLetters('poison.poison');
    expect(dead).toHaveLength(1);
    expect(dead[0]!.error.message).toContain('always broken');
    expect(dead[0]!.deliveryCount).toBe(3);
  });

  it('work a dead worker took is redelivered to another one after the lease; nothing runs twice downstream', async () => {
    const store = new InMemoryStateStore();
    const ran: string[] = [];
    const make = (hang: boolean) => {
      const a = node(
        'a',
        async (m: Message<number>, ctx) => {
          if (hang) await new Promise(() => undefined); // a worker that died holding the message
          ran.push(`${ctx.node}:${m.id}`);
          return m.payload + 1;
        },
        { placement: 'distributed' },
      );
      const b = node('b', (m: Message<number>) => {
        ran.push(`b:${m.id}`);
        return m.payload * 2;
      }, { placement: 'distributed' });
      return createFlow(a.to(b), { name: 'reclaim' });
    };
    const bus = new InMemoryMessageBus();
    const deadBus = bus.connect(); // the dying worker's own connection to the broker
    const dead = await runWorker({ flow: make(true), bus: deadBus, store, workerId: 'dead', leaseMs: 150, nodes: ['a'] });
    const flow = await controller(make(false), bus);
    const msg = message(1, { tenant: 't' });
    const result = flow.call(msg, { timeoutMs: 5_000 });
    await sleep(300); // alive, it keeps renewing: nobody else gets the message
    await workers(1, () => make(false), bus, { store, leaseMs: 150 });
    await sleep(300);
    expect(ran).toEqual([]);
    deadBus.crash();
    expect((await result).payload).toBe(4);
    expect(ran.filter((r) => r.startsWith('a:'))).toHaveLength(1);
    expect(ran.filter((r) => r.startsWith('b:'))).toHaveLength(1);
    void dead; // never stopped: its process "died"; the handler hangs forever
  });

  it('run() without a bus for distributed nodes is a clear error', () => {
    const flow = pipelineFlow();
    expect(() => flow.run()).toThrow(/distributed/);
  });
});

describe('trace context on the bus', () => {
  it('a W3C traceparent in meta travels as the envelope traceparent on every distributed hop', async () => {
    const bus = new InMemoryMessageBus();
    const make = () => {
      const a = node('a', (m: Message<number>) => m.payload + 1, { placement: 'distributed' });
      const b = node('b', (m: Message<number>) => m.payload * 2, { placement: 'distributed' });
      return createFlow(a.to(b), { name: 'tp' });
    };
    const w = await runWorker({ flow: make(), bus, workerId: 'w' });
    cleanups.push(() => w.stop());
    const flow = await controller(make(), bus);
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const out = await flow.call(message(1, { tenant: 't', meta: { traceparent } }));
    expect(out.payload).toBe(4);
    const hops = bus.published.filter((e) => e.topic === 'tp.a' || e.topic === 'tp.b');
    expect(hops.map((e) => e.topic)).toEqual(['tp.a', 'tp.b']);
    expect(hops.every((e) => e.traceparent === traceparent)).toBe(true);
  });
});
