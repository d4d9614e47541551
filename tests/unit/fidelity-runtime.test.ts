/**
 * PenguiFlow semantics that used to differ (issue "Protocol and runtime
 * fidelity", items 13–15): typed errors for misuse, remote events as
 * PenguiFlow numbers them, and transports that cannot stream.
 */
import { describe, expect, it } from 'vitest';
import { createFlow, message, node, type FlowEvent, type Message } from '../../src/index.js';
import type { RemoteCallRequest, RemoteStreamEvent, RemoteTransport } from '../../src/protocols/remote-transport.js';
import { remoteNode } from '../../src/remote/index.js';

describe('misuse gets a typed error', () => {
  it('fetch() without a trace id rejects with INVALID_OPTIONS', async () => {
    const flow = createFlow(node('a', (m: Message<number>) => m.payload));
    flow.run();
    // @ts-expect-error: the options are required
    await expect(flow.fetch()).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    await flow.stop();
  });

  it('a node whose only successor is itself feeds itself until it returns undefined; the trace then ends with NO_RESULT (documented rule)', async () => {
    let runs = 0;
    const loop = node('loop', (m: Message<number>) => {
      runs++;
      return m.payload < 3 ? m.payload + 1 : undefined;
    }, { allowCycle: true });
    const flow = createFlow(loop.to(loop));
    flow.run();
    await expect(flow.call(message(0, { tenant: 't' }), { timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'NO_RESULT' });
    await flow.stop();
    expect(runs).toBe(4);
  });

  it('cancel() on a flow that was never run rejects with FLOW_STATE', async () => {
    const flow = createFlow(node('a', (m: Message<number>) => m.payload));
    await expect(flow.cancel('t-1')).rejects.toMatchObject({ code: 'FLOW_STATE' });
  });
});

function events(): { list: FlowEvent[]; middleware: (e: FlowEvent) => void } {
  const list: FlowEvent[] = [];
  return { list, middleware: (e) => void list.push(e) };
}

describe('remote events', () => {
  it('remote_stream_event seq counts from 0, like stream chunks', async () => {
    const transport: RemoteTransport = {
      send: () => Promise.reject(new Error('unused')),
      async *stream(): AsyncGenerator<RemoteStreamEvent> {
        yield { kind: 'task', taskId: 'r1', state: 'working', final: false };
        yield { kind: 'artifact', payload: 'hi', artifactId: 'a', lastChunk: true, final: false };
        yield { kind: 'status', state: 'completed', final: true };
      },
      cancel: () => Promise.resolve(),
    };
    const seen = events();
    const flow = createFlow(remoteNode({ name: 'far', transport, agentUrl: 'http://127.0.0.1:1' }), { middlewares: [seen.middleware] });
    flow.run();
    const out = await flow.call(message('x', { tenant: 't' }), { timeoutMs: 5_000 });
    expect(out.payload).toBe('hi');
    await flow.stop();
    const seqs = seen.list.filter((e) => e.type === 'remote_stream_event').map((e) => e.extra?.seq);
    expect(seqs).toEqual([0, 1, 2]);
  });

  it('remote_call_error keeps a plain transport error as a REMOTE_ERROR with its message', async () => {
    const transport: RemoteTransport = {
      send: () => Promise.reject(new Error('unused')),
      // eslint-disable-next-line require-yield
      async *stream(): AsyncGenerator<RemoteStreamEvent> {
        throw new Error('socket hang up');
      },
      cancel: () => Promise.resolve(),
    };
    const seen = events();
    const flow = createFlow(remoteNode({ name: 'far', transport, agentUrl: 'http://127.0.0.1:1' }), { middlewares: [seen.middleware] });
    flow.run();
    await expect(flow.call(message('x', { tenant: 't' }), { timeoutMs: 5_000 })).rejects.toBeDefined();
    await flow.stop();
    const error = seen.list.find((e) => e.type === 'remote_call_error')?.error;
    expect(error).toMatchObject({ code: 'REMOTE_ERROR', message: 'socket hang up' });
  });

  it('remote_call_cancelled carries latencyMs', async () => {
    let release!: () => void;
    const transport: RemoteTransport = {
      send: () => Promise.reject(new Error('unused')),
      async *stream(req: RemoteCallRequest): AsyncGenerator<RemoteStreamEvent> {
        yield { kind: 'task', taskId: 'r2', state: 'working', final: false };
        await new Promise<void>((resolve) => {
          release = resolve;
          req.signal?.addEventListener('abort', () => resolve(), { once: true });
        });
        throw req.signal?.reason ?? new Error('aborted');
      },
      cancel: () => Promise.resolve(),
    };
    const seen = events();
    const flow = createFlow(remoteNode({ name: 'far', transport, agentUrl: 'http://127.0.0.1:1' }), { middlewares: [seen.middleware] });
    flow.run();
    const msg = message('x', { tenant: 't' });
    const result = flow.call(msg, { timeoutMs: 5_000 }).catch((e: unknown) => e);
    for (let i = 0; i < 100 && !seen.list.some((e) => e.type === 'remote_stream_event'); i++) await new Promise((r) => setTimeout(r, 5));
    expect(await flow.cancel(msg.traceId)).toBe(true);
    await result;
    release?.();
    for (let i = 0; i < 100 && !seen.list.some((e) => e.type === 'remote_call_cancelled'); i++) await new Promise((r) => setTimeout(r, 5));
    await flow.stop();
    const cancelled = seen.list.find((e) => e.type === 'remote_call_cancelled');
    expect(typeof cancelled?.latencyMs).toBe('number');
  });
});

describe('a transport without streaming', () => {
  it('remoteNode falls back to send() when the transport has no stream()', async () => {
    const calls: string[] = [];
    const transport: RemoteTransport = {
      send: async (req) => {
        calls.push(`send:${req.idempotencyKey}`);
        return { taskId: 'r3', state: 'completed', payload: `echo ${String(req.message.payload)}` };
      },
      cancel: () => Promise.resolve(),
    };
    const flow = createFlow(remoteNode({ name: 'far', transport, agentUrl: 'http://127.0.0.1:1' }));
    flow.run();
    const out = await flow.call(message('x', { tenant: 't' }), { timeoutMs: 5_000 });
    await flow.stop();
    expect(out.payload).toBe('echo x');
    expect(calls.length).toBe(1);
  });
});
