import { describe, expect, it } from 'vitest';
import { startedFlows } from '../helpers/flows.js';
import { z } from 'zod';
import {
  callSubflow,
  createFlow,
  isPenguiflowError,
  joinK,
  mapConcurrent,
  message,
  node,
  router,
  sleep,
  unionRouter,
  type FlowEvent,
  type FlowOutput,
  type Message,
} from '../../src/index.js';

const started = startedFlows();

describe('building flows', () => {
  it('rejects cycles unless allowed, and self-loops unless declared', () => {
    const a = node('a', () => 1);
    const b = node('b', () => 1);
    expect(() => createFlow(a.to(b), b.to(a))).toThrow(/cycle/);
    expect(() => createFlow(a.to(a))).toThrow(/itself/);
    const loop = node('loop', () => undefined, { allowCycle: true });
    expect(() => createFlow(loop.to(loop))).not.toThrow();
    const c = node('c', () => 1);
    expect(() => createFlow(c.to(b), b.to(a), a.to(b), { allowCycles: true })).not.toThrow();
  });

  it('an unknown successor name fails at build time with UNKNOWN_NODE', () => {
    const a = node('a', () => 1);
    let error: unknown;
    try {
      createFlow(a.to('missing'));
    } catch (e) {
      error = e;
    }
    expect(isPenguiflowError(error, 'UNKNOWN_NODE')).toBe(true);
    expect((error as Error).message).toContain('missing');
  });

  it('run() twice throws FLOW_STATE', () => {
    const flow = started(createFlow(node('a', () => 1)));
    expect(() => flow.run()).toThrow(expect.objectContaining({ code: 'FLOW_STATE' }));
  });

  it('a message without a tenant is rejected at ingress with INVALID_MESSAGE', async () => {
    const flow = started(createFlow(node('a', () => 1)));
    const bad = { id: 'm1', traceId: 't1', payload: 1, headers: {}, meta: {} } as unknown as Message;
    await expect(flow.emit(bad)).rejects.toSatisfy((e) => isPenguiflowError(e, 'INVALID_MESSAGE'));
    expect(() => message(1, { tenant: '' })).toThrow(expect.objectContaining({ code: 'INVALID_MESSAGE' }));
  });

  it('a trace id of one tenant cannot be reused by another', async () => {
    const flow = started(createFlow(node('a', async () => sleep(30))));
    const first = message(1, { tenant: 'a' });
    await flow.emit(first);
    await expect(flow.emit(message(2, { tenant: 'b', traceId: first.traceId }))).rejects.toSatisfy((e) =>
      isPenguiflowError(e, 'INVALID_MESSAGE'),
    );
  });
});

describe('backpressure', () => {
  it('a full queue makes emit wait and tryEmit throw QUEUE_FULL', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const blocked = node('blocked', async () => {
      await gate;
      return 1;
    });
    const flow = started(createFlow(blocked, { queueSize: 2 }));
    await flow.emit(message(0, { tenant: 't' })); // taken by the worker, which blocks
    await sleep(1);
    await flow.emit(message(1, { tenant: 't' }));
    await flow.emit(message(2, { tenant: 't' }));
    expect(() => flow.tryEmit(message(3, { tenant: 't' }))).toThrow(expect.objectContaining({ code: 'QUEUE_FULL' }));
    let emitted = false;
    const waiting = flow.emit(message(4, { tenant: 't' })).then(() => (emitted = true));
    await sleep(20);
    expect(emitted).toBe(false);
    release();
    await waiting;
    expect(emitted).toBe(true);
  });
});

describe('cancel', () => {
  it('cancels a running trace: signal aborts, queued messages drop, other traces finish, events fire once', async () => {
    const events: FlowEvent[] = [];
    let abortedSignal = false;
    const started_ = new Set<string>();
    const slow = node(
      'slow',
      async (msg: Message<string>, ctx) => {
        started_.add(msg.payload);
        try {
          await sleep(300, ctx.signal);
        } catch {
          if (msg.payload.startsWith('victim')) abortedSignal = true;
          throw new Error('aborted');
        }
        return msg.payload;
      },
      { concurrency: 1 },
    );
    const fan = node('fan', async (msg: Message<string>, ctx) => {
      for (let i = 0; i < 3; i++) await ctx.emit(`${msg.payload}-${i}`);
      return undefined;
    });
    const flow = started(createFlow(fan.to(slow), { middlewares: [(e) => void events.push(e)] }));
    const victim = message('victim', { tenant: 't' });
    const other = message('other', { tenant: 't' });
    await flow.emit(victim);
    await flow.emit(other);
    await sleep(20);
    const victimResult = flow.fetch({ traceId: victim.traceId }).catch((e: unknown) => e);
    expect(await flow.cancel(victim.traceId)).toBe(true);
    expect(abortedSignal).toBe(true);
    expect(isPenguiflowError(await victimResult, 'TRACE_CANCELLED')).toBe(true);
    expect([...started_].filter((s) => s.startsWith('victim'))).toEqual(['victim-0']);
    const otherResult = await flow.fetch({ traceId: other.traceId });
    expect(otherResult.payload).toBe('other-0');
    const of = (type: string) => events.filter((e) => e.type === type && e.traceId === victim.traceId);
    expect(of('trace_cancel_start')).toHaveLength(1);
    expect(of('trace_cancel_finish')).toHaveLength(1);
    expect(of('trace_cancel_drop')[0]?.extra?.dropped).toBe(2);
    expect(await flow.cancel(victim.traceId)).toBe(false);
    expect(await flow.cancel('no-such-trace')).toBe(false);
  });

  it('a subflow is cancelled with its parent', async () => {
    let childAborted = false;
    const childNode = node('child', async (_m, ctx) => {
      try {
        await sleep(1_000, ctx.signal);
      } catch {
        childAborted = true;
      }
      return 'child-done';
    });
    const child = started(createFlow(childNode, { name: 'child' }));
    const parentNode = node('parent', async (msg, ctx) => (await callSubflow(ctx, child, msg.payload)).payload);
    const parent = started(createFlow(parentNode, { name: 'parent' }));
    const msg = message('go', { tenant: 't' });
    await parent.emit(msg);
    await sleep(30);
    expect(child.isTraceActive(msg.traceId)).toBe(true);
    expect(await parent.cancel(msg.traceId)).toBe(true);
    await sleep(10);
    expect(childAborted).toBe(true);
    expect(child.isTraceActive(msg.traceId)).toBe(false);
  });
});

describe('streaming, routing and joins', () => {
  it('stream chunks arrive in seq order and inherit tenant, trace, deadline and meta', async () => {
    const talker = node('talker', async (_msg, ctx) => {
      for (let i = 0; i < 5; i++) await ctx.stream(`tok${i}`, { done: i === 4 });
      return 'final';
    });
    const flow = started(createFlow(talker));
    const msg = message('q', { tenant: 'acme', meta: { session: 's1' }, deadlineMs: 5_000 });
    await flow.emit(msg);
    const outputs: FlowOutput[] = [];
    for await (const out of flow.outputs(msg.traceId)) outputs.push(out);
    const chunks = outputs.filter((o) => o.kind === 'chunk').map((o) => o.message);
    expect(chunks.map((c) => c.payload.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(chunks.map((c) => c.payload.data)).toEqual(['tok0', 'tok1', 'tok2', 'tok3', 'tok4']);
    expect(chunks.at(-1)?.payload.done).toBe(true);
    for (const c of chunks) {
      expect(c.headers.tenant).toBe('acme');
      expect(c.traceId).toBe(msg.traceId);
      expect(c.deadline).toBe(msg.deadline);
      expect(c.meta).toEqual({ session: 's1' });
    }
    expect(outputs.at(-1)).toMatchObject({ kind: 'result' });
  });

  it('a predicate router sends to the named successor; a union router by discriminant', async () => {
    const fast = node('fast', (m: Message<{ n: number }>) => `fast:${m.payload.n}`);
    const slow = node('slow', (m: Message<{ n: number }>) => `slow:${m.payload.n}`);
    const route = router('route', (m: Message<{ n: number }>) => (m.payload.n > 5 ? 'fast' : 'slow'));
    const flow = started(createFlow(route.to(fast, slow)));
    expect((await flow.call(message({ n: 9 }, { tenant: 't' }))).payload).toBe('fast:9');
    expect((await flow.call(message({ n: 1 }, { tenant: 't' }))).payload).toBe('slow:1');

    const onText = node('onText', (m: Message<{ kind: string; v: string }>) => `text ${m.payload.v}`);
    const onNum = node('onNum', (m: Message<{ kind: string; v: string }>) => `num ${m.payload.v}`);
    const byKind = unionRouter('byKind', 'kind', { text: 'onText', num: 'onNum' });
    const flow2 = started(createFlow(byKind.to(onText, onNum)));
    expect((await flow2.call(message({ kind: 'num', v: '7' }, { tenant: 't' }))).payload).toBe('num 7');
    const err = await flow2.call(message({ kind: 'other', v: '' }, { tenant: 't' })).catch((e: unknown) => e);
    expect((err as Error).message).toContain('no route');
  });

  it('fan-out to two nodes and joinK waits for exactly k parts per trace', async () => {
    const split = node('split', (m: Message<number>) => m.payload);
    const left = node('left', async (m: Message<number>) => {
      await sleep(5);
      return `L${m.payload}`;
    });
    const right = node('right', (m: Message<number>) => `R${m.payload}`);
    const join = joinK<string>('join', 2);
    const flow = started(createFlow(split.to(left, right), left.to(join), right.to(join)));
    const results = await Promise.all([1, 2, 3].map((n) => flow.call(message(n, { tenant: 't' }))));
    for (const [i, r] of results.entries()) {
      expect([...(r.payload as string[])].sort()).toEqual([`L${i + 1}`, `R${i + 1}`]);
    }
  });

  it('mapConcurrent never runs more than its limit at once and keeps order', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapConcurrent([1, 2, 3, 4, 5, 6, 7, 8], 3, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await sleep(5);
      inFlight--;
      return n * 2;
    });
    expect(out).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
    expect(peak).toBe(3);
  });
});

describe('validation', () => {
  it('an output that fails validateOut becomes NODE_EXCEPTION naming the schema issue', async () => {
    const n = node('n', () => ({ count: 'three' }), { validateOut: z.object({ count: z.number() }) });
    const flow = started(createFlow(n));
    const error = await flow.call(message('x', { tenant: 't' })).catch((e: unknown) => e);
    expect(isPenguiflowError(error, 'NODE_EXCEPTION')).toBe(true);
    expect((error as Error).message).toMatch(/count/);
    expect((error as Error).message).toMatch(/number/);
  });

  it('an input that fails validateIn is not retried and never reaches the node', async () => {
    let ran = 0;
    const n = node(
      'n',
      () => {
        ran++;
        return 1;
      },
      { validateIn: z.object({ q: z.string() }), maxRetries: 3 },
    );
    const flow = started(createFlow(n));
    const error = await flow.call(message({ q: 5 }, { tenant: 't' })).catch((e: unknown) => e);
    expect(isPenguiflowError(error, 'NODE_EXCEPTION')).toBe(true);
    expect((error as Error).message).toMatch(/q/);
    expect(ran).toBe(0);
  });
});

describe('outputs() with a slow reader', () => {
  it('ends after several results even when the reader is busy as the round ends', async () => {
    const multi = node('multi', async (_m, ctx) => {
      for (let i = 0; i < 3; i++) await ctx.emit(`r${i}`);
      return undefined;
    });
    const flow = started(createFlow(multi));
    const msg = message('go', { tenant: 't' });
    await flow.emit(msg);
    const seen: string[] = [];
    for await (const out of flow.outputs(msg.traceId)) {
      if (out.kind === 'result') seen.push(String(out.message.payload));
      await sleep(5);
    }
    expect(seen).toEqual(['r0', 'r1', 'r2']);
    // a later round trip on the same trace still works
    const again = await flow.call(message('again', { tenant: 't', traceId: msg.traceId }), { timeoutMs: 2_000 });
    expect(again.payload).toBe('r0');
  });
});
