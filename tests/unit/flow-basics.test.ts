import { describe, expect, it } from 'vitest';
import { startedFlows } from '../helpers/flows.js';
import {
  createFlow,
  isPenguiflowError,
  message,
  node,
  sleep,
  type FlowEvent,
  type Message,
} from '../../src/index.js';

const started = startedFlows();

describe('round trips', () => {
  it('a pass-through node returns what was emitted, with tenant, trace and meta kept', async () => {
    const echo = node('echo', (msg: Message<{ q: string }>) => msg.payload);
    const flow = started(createFlow(echo));
    const msg = message({ q: 'hello' }, { tenant: 'acme', meta: { user: 'u1' }, deadlineMs: 5_000 });
    const out = await flow.call(msg);
    expect(out.payload).toEqual({ q: 'hello' });
    expect(out.headers.tenant).toBe('acme');
    expect(out.traceId).toBe(msg.traceId);
    expect(out.deadline).toBe(msg.deadline);
    expect(out.meta).toEqual({ user: 'u1' });
    expect(out.id).not.toBe(msg.id);
  });

  it('two concurrent traces, one slow and one fast, each get their own result', async () => {
    const work = node(
      'work',
      async (msg: Message<{ name: string; ms: number }>) => {
        await sleep(msg.payload.ms);
        return `done:${msg.payload.name}`;
      },
      { concurrency: 2 },
    );
    const flow = started(createFlow(work));
    const slow = message({ name: 'slow', ms: 80 }, { tenant: 't' });
    const fast = message({ name: 'fast', ms: 1 }, { tenant: 't' });
    const order: string[] = [];
    const [a, b] = await Promise.all([
      flow.call(slow).then((m) => (order.push('slow'), m)),
      flow.call(fast).then((m) => (order.push('fast'), m)),
    ]);
    expect(a.payload).toBe('done:slow');
    expect(b.payload).toBe('done:fast');
    expect(order).toEqual(['fast', 'slow']);
  });

  it('two round trips on the same trace run in order', async () => {
    const seen: number[] = [];
    const step = node('step', async (msg: Message<number>) => {
      seen.push(msg.payload);
      await sleep(5);
      return msg.payload * 10;
    });
    const flow = started(createFlow(step));
    const first = message(1, { tenant: 't' });
    expect((await flow.call(first)).payload).toBe(10);
    const second = message(2, { tenant: 't', traceId: first.traceId });
    expect((await flow.call(second)).payload).toBe(20);
    expect(seen).toEqual([1, 2]);
  });

  it('a linear flow passes each message through every node', async () => {
    const a = node('a', (m: Message<number>) => m.payload + 1);
    const b = node('b', (m: Message<number>) => m.payload * 2);
    const c = node('c', (m: Message<number>) => `=${m.payload}`);
    const flow = started(createFlow(a.to(b), b.to(c)));
    const results = await Promise.all([1, 2, 3].map((n) => flow.call(message(n, { tenant: 't' }))));
    expect(results.map((r) => r.payload)).toEqual(['=4', '=6', '=8']);
  });

  it('a trace that ends without a result rejects fetch with NO_RESULT instead of hanging', async () => {
    const sink = node('sink', () => undefined);
    const flow = started(createFlow(sink));
    const msg = message('x', { tenant: 't' });
    await expect(flow.call(msg)).rejects.toSatisfy((e) => isPenguiflowError(e, 'NO_RESULT'));
  });

  it('fetch honours timeoutMs', async () => {
    const slow = node('slow', async () => {
      await sleep(200);
      return 1;
    });
    const flow = started(createFlow(slow));
    const msg = message('x', { tenant: 't' });
    await flow.emit(msg);
    await expect(flow.fetch({ traceId: msg.traceId, timeoutMs: 20 })).rejects.toSatisfy((e) => isPenguiflowError(e, 'NO_RESULT'));
  });
});

describe('retries and timeouts', () => {
  it('a node that fails once with maxRetries 2 succeeds, and node_retry carries the backoff delay', async () => {
    const events: FlowEvent[] = [];
    let calls = 0;
    const flaky = node(
      'flaky',
      () => {
        calls++;
        if (calls === 1) throw new Error('transient');
        return 'ok';
      },
      { maxRetries: 2, backoff: { baseMs: 10, jitter: 0 } },
    );
    const flow = started(createFlow(flaky, { middlewares: [(e) => void events.push(e)] }));
    const out = await flow.call(message('x', { tenant: 't' }));
    expect(out.payload).toBe('ok');
    expect(calls).toBe(2);
    const retry = events.find((e) => e.type === 'node_retry');
    expect(retry?.extra?.delayMs).toBe(10);
    expect(retry?.attempt).toBe(1);
    expect(events.filter((e) => e.type === 'node_error')).toHaveLength(1);
    expect(events.some((e) => e.type === 'node_failed')).toBe(false);
  });

  it('a 500 ms node with timeoutMs 100 and maxRetries 1 is attempted twice and fails with NODE_TIMEOUT', async () => {
    const events: FlowEvent[] = [];
    let attempts = 0;
    const aborted: boolean[] = [];
    const slow = node(
      'slow',
      async (_msg, ctx) => {
        attempts++;
        const signal = ctx.signal;
        await sleep(500);
        aborted.push(signal.aborted);
        return 'late';
      },
      { timeoutMs: 100, maxRetries: 1, backoff: { baseMs: 1, jitter: 0 } },
    );
    const flow = started(createFlow(slow, { middlewares: [(e) => void events.push(e)] }));
    const started_at = Date.now();
    const error = await flow.call(message('x', { tenant: 't' })).catch((e: unknown) => e);
    expect(isPenguiflowError(error, 'NODE_TIMEOUT')).toBe(true);
    expect(Date.now() - started_at).toBeLessThan(450);
    expect(attempts).toBe(2);
    expect(events.filter((e) => e.type === 'node_timeout')).toHaveLength(2);
    expect(events.filter((e) => e.type === 'node_failed')).toHaveLength(1);
    await sleep(500);
    expect(aborted).toEqual([true, true]);
  });

  it('a thrown error after the last retry reaches fetch as NODE_EXCEPTION with the cause', async () => {
    const bad = node('bad', () => {
      throw new TypeError('boom');
    });
    const flow = started(createFlow(bad));
    const error = await flow.call(message('x', { tenant: 't' })).catch((e: unknown) => e);
    expect(isPenguiflowError(error, 'NODE_EXCEPTION')).toBe(true);
    expect((error as Error).message).toContain('boom');
    expect(((error as Error).cause as Error).name).toBe('TypeError');
  });
});

describe('deadlines', () => {
  it('a message past its deadline is never given to the node; deadline_skip fires; fetch gets DEADLINE_EXCEEDED', async () => {
    const events: FlowEvent[] = [];
    let ran = false;
    const n = node('n', () => {
      ran = true;
      return 1;
    });
    const flow = started(createFlow(n, { middlewares: [(e) => void events.push(e)] }));
    const msg = message('x', { tenant: 't', deadline: Date.now() - 1 });
    const error = await flow.call(msg).catch((e: unknown) => e);
    expect(isPenguiflowError(error, 'DEADLINE_EXCEEDED')).toBe(true);
    expect(ran).toBe(false);
    expect(events.filter((e) => e.type === 'deadline_skip')).toHaveLength(1);
  });

  it('a deadline that passes while a node runs aborts its signal', async () => {
    let reason: unknown;
    const n = node('n', async (_m, ctx) => {
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      reason = ctx.signal.reason;
      return 'never';
    });
    const flow = started(createFlow(n));
    const error = await flow.call(message('x', { tenant: 't', deadlineMs: 50 })).catch((e: unknown) => e);
    expect(isPenguiflowError(error, 'DEADLINE_EXCEEDED')).toBe(true);
    await sleep(5);
    expect(isPenguiflowError(reason, 'DEADLINE_EXCEEDED')).toBe(true);
  });
});
