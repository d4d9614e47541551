/**
 * Our client transport against @a2a-js/sdk servers started here: pure v1.0,
 * v1.0 with the SDK's legacy compat on, and our v0.3 dialect against the
 * compat server; plus against our own server (forwarded context).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { message } from '../../src/index.js';
import { createA2AClient, type A2AClientOptions } from '../../src/a2a/index.js';
import { isPenguiflowError, type PenguiflowError } from '../../src/errors/index.js';
import type { RemoteStreamEvent } from '../../src/protocols/remote-transport.js';
import { startSdkAgent, type SdkAgent } from './a2a-sdk-server.js';
import { startAgent, type RunningAgent } from './a2a-fixtures.js';

let plain: SdkAgent;
let compat: SdkAgent;
let ours: RunningAgent;
beforeAll(async () => {
  [plain, compat, ours] = await Promise.all([startSdkAgent(), startSdkAgent({ legacyCompat: true }), startAgent()]);
});
afterAll(async () => {
  await Promise.all([plain.close(), compat.close(), ours.close()]);
});

let n = 0;
const key = () => `idem-${Date.now()}-${++n}`;
const msg = (payload: unknown) => message(payload, { tenant: 'acme', deadlineMs: 20_000 });

const cases: [string, () => SdkAgent, A2AClientOptions, string, string][] = [
  ['v1.0 JSON-RPC vs SDK server', () => plain, { binding: 'JSONRPC' }, 'JSONRPC', '1.0'],
  ['v1.0 REST vs SDK server', () => plain, { binding: 'HTTP+JSON' }, 'HTTP+JSON', '1.0'],
  ['v1.0 JSON-RPC vs SDK compat server', () => compat, {}, 'JSONRPC', '1.0'],
  ['v0.3 dialect vs SDK compat server', () => compat, { protocolVersion: '0.3' }, 'JSONRPC', '0.3'],
];

describe.each(cases)('%s', (_name, peer, options, binding, version) => {
  const client = createA2AClient({ timeoutMs: 10_000, ...options });

  it('discovers the card and picks the binding', async () => {
    const r = await client.resolve(peer().url);
    expect(r.card.name).toBe('sdk test agent');
    expect([r.binding, r.protocolVersion]).toEqual([binding, version]);
  });

  it('sends and decodes the artifact; request/response bytes are counted', async () => {
    const res = await client.send({ agentUrl: peer().url, message: msg('hello 🐧'), idempotencyKey: key() });
    expect(res.state).toBe('completed');
    expect(res.payload).toBe('hello 🐧');
    expect(res.taskId).toBeTruthy();
    expect(res.requestBytes).toBeGreaterThan(0);
    expect(res.responseBytes).toBeGreaterThan(0);
    const seen = peer().received.at(-1)!;
    expect(seen.metadata?.['https://penguiflow.dev/a2a/extensions/context/v1']).toMatchObject({ tenant: 'acme' });
  });

  it('streams task, chunks and the final status', async () => {
    const events: RemoteStreamEvent[] = [];
    for await (const ev of client.stream({ agentUrl: peer().url, message: msg('stream:3'), idempotencyKey: key() })) events.push(ev);
    expect(events[0]?.kind).toBe('task');
    expect(events.filter((e) => e.kind === 'artifact').map((e) => e.payload)).toEqual(['c0', 'c1', 'c2']);
    expect(events.filter((e) => e.kind === 'artifact').map((e) => e.append)).toEqual([false, true, true]);
    expect(events.at(-1)).toMatchObject({ kind: 'status', state: 'completed', final: true });
  });

  it('gets a task, and maps an unknown task to NotFoundError keeping the A2A code', async () => {
    const res = await client.send({ agentUrl: peer().url, message: msg('x'), idempotencyKey: key() });
    const task = await client.getTask(peer().url, res.taskId!);
    expect(task.status.state).toBe('TASK_STATE_COMPLETED');
    const err = (await client.getTask(peer().url, 'missing-task').catch((e: unknown) => e)) as PenguiflowError;
    expect(isPenguiflowError(err, 'NOT_FOUND')).toBe(true);
    expect(err.details).toMatchObject({ a2aCode: -32001, reason: 'TASK_NOT_FOUND' });
    expect(err.retryable).toBe(false);
  });

  it('cancels a running task (observed by the server) and treats a finished one as done', async () => {
    const events = client.stream({ agentUrl: peer().url, message: msg('slow'), idempotencyKey: key() });
    let taskId: string | undefined;
    let last: RemoteStreamEvent | undefined;
    for await (const ev of events) {
      last = ev;
      if (ev.kind === 'task' && !taskId) {
        taskId = ev.taskId!;
        await client.cancel({ agentUrl: peer().url, taskId });
      }
    }
    expect(peer().cancelled.has(taskId!)).toBe(true);
    expect(last).toMatchObject({ state: 'canceled', final: true });
    await expect(client.cancel({ agentUrl: peer().url, taskId: taskId! })).resolves.toBeUndefined();
  });

  it('subscribes to a running task', async () => {
    const it0 = client.stream({ agentUrl: peer().url, message: msg('slow'), idempotencyKey: key() })[Symbol.asyncIterator]();
    const first = (await it0.next()).value as RemoteStreamEvent;
    const taskId = first.taskId!;
    const sub: RemoteStreamEvent[] = [];
    const subscribed = (async () => {
      for await (const ev of client.subscribe(peer().url, taskId)) sub.push(ev);
    })();
    await new Promise((r) => setTimeout(r, 100));
    await client.cancel({ agentUrl: peer().url, taskId });
    await subscribed;
    await it0.return?.(undefined);
    expect(sub.at(-1)).toMatchObject({ state: 'canceled', final: true });
  });
});

describe('time bounds and unreachable peers', () => {
  it('a per-call timeout is a retryable RemoteUnavailableError; the caller signal wins with its own reason', async () => {
    const client = createA2AClient();
    const err = (await client.send({ agentUrl: plain.url, message: msg('slow'), idempotencyKey: key(), timeoutMs: 100 }).catch((e: unknown) => e)) as PenguiflowError;
    expect(isPenguiflowError(err, 'REMOTE_UNAVAILABLE')).toBe(true);
    expect(err.details).toMatchObject({ reason: 'TIMEOUT', timeoutMs: 100 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('caller gave up')), 50);
    await expect(client.send({ agentUrl: plain.url, message: msg('slow'), idempotencyKey: key(), signal: ac.signal })).rejects.toThrow('caller gave up');
  });

  it('a passed deadline fails fast with DEADLINE_EXCEEDED; an unreachable agent is REMOTE_UNAVAILABLE', async () => {
    const client = createA2AClient();
    const late = message('x', { tenant: 'acme', deadline: Date.now() - 1 });
    await client.resolve(plain.url);
    await expect(client.send({ agentUrl: plain.url, message: late, idempotencyKey: key() })).rejects.toSatisfy((e) => isPenguiflowError(e, 'DEADLINE_EXCEEDED'));
    await expect(client.send({ agentUrl: 'http://127.0.0.1:9', message: msg('x'), idempotencyKey: key() })).rejects.toSatisfy((e) => isPenguiflowError(e, 'REMOTE_UNAVAILABLE'));
  });
});

describe('against our own server', () => {
  it('forwards tenant, trace id and deadline; the same idempotency key never runs twice', async () => {
    const client = createA2AClient();
    const m = msg('forwarded');
    const k = key();
    const a = await client.send({ agentUrl: ours.url, message: m, idempotencyKey: k });
    const b = await client.send({ agentUrl: ours.url, message: m, idempotencyKey: k });
    expect(b.taskId).toBe(a.taskId);
    const runs = ours.seen.filter((s) => s.traceId === a.taskId);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.headers.tenant).toBe('acme');
    expect(runs[0]!.deadline).toBe(m.deadline);
    expect((runs[0]!.meta.a2a as { callerTraceId?: string }).callerTraceId).toBe(m.traceId);
  });

  it('resumes a stream from its last event id', async () => {
    const client = createA2AClient();
    const seen: RemoteStreamEvent[] = [];
    for await (const ev of client.stream({ agentUrl: ours.url, message: msg('stream:6:30'), idempotencyKey: key() })) {
      seen.push(ev);
      if (seen.filter((e) => e.kind === 'artifact').length === 2) break;
    }
    const rest: RemoteStreamEvent[] = [];
    for await (const ev of client.subscribe(ours.url, seen[0]!.taskId!, { tenant: 'acme', lastEventId: seen.at(-1)!.eventId! })) rest.push(ev);
    const chunks = [...seen, ...rest.slice(1)].filter((e) => e.kind === 'artifact' && e.artifactId?.startsWith('stream-')).map((e) => e.payload);
    expect(chunks).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5']);
  });
});
