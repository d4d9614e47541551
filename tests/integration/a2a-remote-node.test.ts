/**
 * RemoteNode in a local flow calling our A2A server over loopback HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlow, message, node, type Flow, type Message } from '../../src/index.js';
import { InMemoryStateStore } from '../../src/adapters/memory/index.js';
import { createA2AClient } from '../../src/a2a/index.js';
import { remoteNode, type RemoteResultMeta } from '../../src/remote/index.js';
import { isPenguiflowError } from '../../src/errors/index.js';
import { startAgent, type RunningAgent } from './a2a-fixtures.js';

let agent: RunningAgent;
beforeAll(async () => {
  agent = await startAgent();
});
afterAll(async () => {
  await agent.close();
});

const flows: Flow[] = [];
afterAll(async () => {
  await Promise.all(flows.map((f) => f.stop()));
});

function localFlow(opts: Partial<Parameters<typeof remoteNode>[0]> = {}, transport = createA2AClient({ timeoutMs: 10_000 })) {
  const store = new InMemoryStateStore();
  const remote = remoteNode({ name: 'remote', transport, agentUrl: agent.url, skill: 'echo', ...opts });
  const flow = createFlow(remote, { name: 'caller', stateStore: store });
  flow.run();
  flows.push(flow);
  return { flow, store };
}

async function remoteState(taskId: string, tenant = 'acme'): Promise<string | undefined> {
  return (await agent.store.getTask(taskId, { tenant }))?.state;
}

describe('RemoteNode', () => {
  it('returns a Message that keeps tenant, trace and deadline; forwards them to the remote; records the binding', async () => {
    const { flow, store } = localFlow();
    const msg = message('hola', { tenant: 'acme', deadlineMs: 15_000 });
    const out = await flow.call(msg);
    expect(out.payload).toBe('hola');
    expect(out.headers.tenant).toBe('acme');
    expect(out.traceId).toBe(msg.traceId);
    expect(out.deadline).toBe(msg.deadline);
    const meta = out.meta.remote as RemoteResultMeta;
    expect(meta).toMatchObject({ agentUrl: agent.url, state: 'completed' });

    const remoteSeen = agent.seen.find((m) => m.traceId === meta.taskId)!;
    expect(remoteSeen.headers.tenant).toBe('acme');
    expect(remoteSeen.deadline).toBe(msg.deadline);
    expect((remoteSeen.meta.a2a as { callerTraceId: string }).callerTraceId).toBe(msg.traceId);

    const [binding] = await store.findRemoteBindings({ tenant: 'acme', traceId: msg.traceId });
    expect(binding).toMatchObject({ node: 'remote', agentUrl: agent.url, taskId: meta.taskId, status: 'completed', idempotencyKey: `remote:${msg.id}` });
    await flow.flush();
    const types = (await flow.history(msg.traceId)).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['remote_call_start', 'remote_stream_event', 'remote_call_success']));
    const success = (await flow.history(msg.traceId)).find((e) => e.type === 'remote_call_success')!;
    expect(success.extra).toMatchObject({ agentUrl: agent.url, skill: 'echo', taskId: meta.taskId, state: 'completed' });
    expect(success.extra!.streamEvents).toBeGreaterThan(0);
    expect(JSON.stringify(success)).not.toContain('hola'); // events carry ids and sizes, never payloads
  });

  it('forwards remote chunks as local stream chunks', async () => {
    const { flow } = localFlow({ streaming: true });
    const msg = message('stream:3', { tenant: 'acme' });
    await flow.emit(msg);
    const chunks: unknown[] = [];
    let result: Message | undefined;
    for await (const o of flow.outputs(msg.traceId)) {
      if (o.kind === 'chunk') chunks.push(o.message.payload.data);
      if (o.kind === 'result') {
        result = o.message;
        break; // one answer per call
      }
    }
    expect(chunks).toEqual(['c0', 'c1', 'c2']);
    expect(result?.payload).toBe('streamed'); // the one-shot result artifact is the answer
  });

  it('a local timeout cancels the remote task (observed on the server)', async () => {
    const { flow, store } = localFlow({ policy: { timeoutMs: 300, maxRetries: 0 } });
    const msg = message('slow:10000', { tenant: 'acme' });
    await expect(flow.call(msg)).rejects.toSatisfy((e) => isPenguiflowError(e, 'NODE_TIMEOUT'));
    await expect.poll(async () => (await store.findRemoteBindings({ tenant: 'acme', traceId: msg.traceId }))[0]?.status).toBe('cancelled');
    const [binding] = await store.findRemoteBindings({ tenant: 'acme', traceId: msg.traceId });
    expect(await remoteState(binding!.taskId)).toBe('canceled');
    await expect.poll(() => agent.aborted.includes(binding!.taskId)).toBe(true);
  });

  it('a trace cancel cancels the remote task', async () => {
    const { flow, store } = localFlow();
    const msg = message('slow:10000', { tenant: 'acme' });
    await flow.emit(msg);
    await expect.poll(async () => (await store.findRemoteBindings({ tenant: 'acme', traceId: msg.traceId })).length).toBe(1);
    expect(await flow.cancel(msg.traceId)).toBe(true);
    const [binding] = await store.findRemoteBindings({ tenant: 'acme', traceId: msg.traceId });
    await expect.poll(() => remoteState(binding!.taskId)).toBe('canceled');
    await expect.poll(() => agent.aborted.includes(binding!.taskId)).toBe(true);
  });

  it('a retry after a dropped connection does not run the remote flow twice', async () => {
    let dropped = 0;
    const dropping: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const body = typeof init?.body === 'string' ? init.body : '';
      if (dropped === 0 && body.includes('SendStreamingMessage')) {
        dropped++;
        await res.body?.cancel();
        throw new TypeError('fetch failed: socket hang up');
      }
      return res;
    };
    const { flow } = localFlow({ policy: { maxRetries: 2, backoff: { baseMs: 10, multiplier: 1, maxMs: 10, jitter: 0 } } }, createA2AClient({ fetch: dropping }));
    const unique = `once-${Date.now()}`;
    const out = await flow.call(message(unique, { tenant: 'acme' }));
    expect(dropped).toBe(1);
    expect(out.payload).toBe(unique);
    expect(agent.seen.filter((m) => m.payload === unique)).toHaveLength(1);
  });

  it('a stream cut mid-way resumes on retry from the last event id: every chunk once, one remote run', async () => {
    let cut = 0;
    const cutting: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const body = typeof init?.body === 'string' ? init.body : '';
      if (cut > 0 || !body.includes('SendStreamingMessage') || !res.body) return res;
      cut++;
      const reader = res.body.getReader();
      let seen = '';
      const truncated = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) return controller.close();
          seen += new TextDecoder().decode(value);
          controller.enqueue(value);
          if (seen.includes('"c2"')) {
            await reader.cancel();
            controller.error(new TypeError('terminated: other side closed'));
          }
        },
      });
      return new Response(truncated, { status: res.status, headers: res.headers });
    };
    const { flow } = localFlow({ streaming: true, policy: { maxRetries: 2, backoff: { baseMs: 10, multiplier: 1, maxMs: 10, jitter: 0 } } }, createA2AClient({ fetch: cutting }));
    const unique = `stream:6:30`;
    const before = agent.seen.filter((m) => m.payload === unique).length;
    const msg = message(unique, { tenant: 'acme' });
    await flow.emit(msg);
    const chunks: unknown[] = [];
    let result: unknown;
    for await (const o of flow.outputs(msg.traceId)) {
      if (o.kind === 'chunk') chunks.push(o.message.payload.data);
      if (o.kind === 'error') throw o.error;
      if (o.kind === 'result') {
        result = o.message.payload;
        break;
      }
    }
    expect(cut).toBe(1);
    expect(chunks).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5']);
    expect(result).toBe('streamed');
    expect(agent.seen.filter((m) => m.payload === unique).length - before).toBe(1);
    const history = await flow.history(msg.traceId);
    expect(history.some((e) => e.type === 'remote_stream_event' && e.extra?.kind === 'resume')).toBe(true);
  });

  it('a remote failure is a non-retryable RemoteError naming the task', async () => {
    const { flow } = localFlow({ policy: { maxRetries: 3 } });
    const err = await flow.call(message('fail', { tenant: 'acme' })).catch((e: unknown) => e);
    expect(isPenguiflowError(err, 'REMOTE_ERROR')).toBe(true);
    expect(agent.seen.filter((m) => m.payload === 'fail').length).toBe(1);
  });

  it('input-required comes back as the output; sending it back continues the same remote task', async () => {
    const { flow } = localFlow();
    const first = await flow.call(message('ask', { tenant: 'acme' }));
    const meta = first.meta.remote as RemoteResultMeta;
    expect(meta.state).toBe('input-required');
    expect(first.payload).toBe('Which city?');
    const second = await flow.call(message('city:Oslo', { tenant: 'acme', meta: { remote: meta } }));
    expect(second.payload).toBe('weather in Oslo');
    expect((second.meta.remote as RemoteResultMeta).taskId).toBe(meta.taskId);
  });
});

describe('overhead sanity', () => {
  it('a local node after the remote one sees the remote output with the original headers', async () => {
    const store = new InMemoryStateStore();
    const remote = remoteNode({ name: 'remote', transport: createA2AClient(), agentUrl: agent.url });
    const after = node('after', (m: Message) => `${String(m.payload)}!`);
    const flow = createFlow(remote.to(after), after, { stateStore: store });
    flow.run();
    flows.push(flow);
    const out = await flow.call(message('x', { tenant: 'globex' }));
    expect(out.payload).toBe('x!');
    expect(out.headers.tenant).toBe('globex');
  });
});
