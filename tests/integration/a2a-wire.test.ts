/**
 * Raw wire checks with plain fetch: content types, SSE framing, the JSON-RPC
 * id echoed in every stream event, the spec error codes for bad input, the
 * version header, body limits, tenant scoping, and replay after a disconnect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from './a2a-fixtures.js';
import { readSse, type SseMessage } from '../../src/a2a/client/sse-reader.js';

let agent: RunningAgent;
let rpcUrl: string;
let restUrl: string;
beforeAll(async () => {
  agent = await startAgent({ limits: { maxBodyBytes: 64 * 1024 } });
  rpcUrl = `${agent.url}/a2a/jsonrpc`;
  restUrl = `${agent.url}/a2a/rest`;
});
afterAll(async () => {
  await agent.close();
});

const V1 = { 'A2A-Version': '1.0', 'Content-Type': 'application/json' };
let counter = 0;
const mid = () => `wire-${Date.now()}-${++counter}`;

async function rpc(body: unknown, headers: Record<string, string> = V1): Promise<{ status: number; type: string | null; json: any }> {
  const res = await fetch(rpcUrl, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, type: res.headers.get('content-type'), json: await res.json() };
}

function sendParams(text: string, extra: Record<string, unknown> = {}) {
  return { message: { messageId: mid(), role: 'ROLE_USER', parts: [{ text }] }, ...extra };
}

async function collect(res: Response, stopAfter?: (events: SseMessage[]) => boolean): Promise<SseMessage[]> {
  const out: SseMessage[] = [];
  for await (const e of readSse(res)) {
    out.push(e);
    if (stopAfter?.(out)) break;
  }
  return out;
}

describe('JSON-RPC wire', () => {
  it('answers with application/json, echoes the id, and carries ErrorInfo in error.data', async () => {
    const ok = await rpc({ jsonrpc: '2.0', id: 'abc', method: 'SendMessage', params: sendParams('x') });
    expect(ok.status).toBe(200);
    expect(ok.type).toMatch(/^application\/json/);
    expect(ok.json.id).toBe('abc');
    expect(ok.json.result.task.status.state).toBe('TASK_STATE_COMPLETED');

    const missing = await rpc({ jsonrpc: '2.0', id: 7, method: 'GetTask', params: { id: 'nope' } });
    expect(missing.json.id).toBe(7);
    expect(missing.json.error.code).toBe(-32001);
    expect(missing.json.error.data[0]).toMatchObject({ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'TASK_NOT_FOUND', domain: 'a2a-protocol.org' });
  });

  it('-32700 for malformed JSON, -32600 for a bad envelope, -32601 for an unknown method, -32602 for bad params', async () => {
    expect((await rpc('{"jsonrpc": "2.0", "id": 1, "method": ')).json.error.code).toBe(-32700);
    expect((await rpc('{"jsonrpc": "2.0", "id": 1, "method": ')).json.id).toBeNull();
    expect((await rpc({ jsonrpc: '1.0', id: 1, method: 'GetTask' })).json.error.code).toBe(-32600);
    expect((await rpc({ jsonrpc: '2.0', id: 1 })).json.error.code).toBe(-32600);
    expect((await rpc([{ jsonrpc: '2.0', id: 1, method: 'GetTask' }])).json.error.code).toBe(-32600);
    expect((await rpc({ jsonrpc: '2.0', id: { x: 1 }, method: 'GetTask' })).json.error.code).toBe(-32600);
    const unknown = await rpc({ jsonrpc: '2.0', id: 2, method: 'DoMagic', params: {} });
    expect(unknown.json).toMatchObject({ id: 2, error: { code: -32601 } });
    const wrongTypes = [
      { message: 'hello' },
      { message: { messageId: 1, role: 'ROLE_USER', parts: [{ text: 'x' }] } },
      { message: { messageId: mid(), role: 'user', parts: [{ text: 'x' }] } },
      { message: { messageId: mid(), role: 'ROLE_USER', parts: [] } },
      { message: { messageId: mid(), role: 'ROLE_USER', parts: [{}] } },
      { message: { messageId: mid(), role: 'ROLE_USER', parts: [{ text: 'a', data: {} }] } },
      { message: { messageId: mid(), role: 'ROLE_USER', parts: [{ text: 42 }] } },
      { message: { messageId: mid(), role: 'ROLE_USER', parts: [{ text: 'x' }] }, configuration: { historyLength: -1 } },
      { message: { messageId: mid(), role: 'ROLE_USER', parts: [{ text: 'x' }] }, configuration: 'fast' },
    ];
    for (const params of wrongTypes) {
      const r = await rpc({ jsonrpc: '2.0', id: 3, method: 'SendMessage', params });
      expect(r.json.error?.code, JSON.stringify(params)).toBe(-32602);
      expect(r.json.error.data.some((d: any) => d['@type'] === 'type.googleapis.com/google.rpc.BadRequest')).toBe(true);
    }
    const emptyParts = await rpc({ jsonrpc: '2.0', id: 4, method: 'SendMessage', params: { message: { messageId: mid(), role: 'ROLE_USER', parts: [] } } });
    expect(emptyParts.json.error.data[1].fieldViolations[0].field).toBe('message.parts');
    expect((await rpc({ jsonrpc: '2.0', id: 5, method: 'ListTasks', params: { pageSize: 1000 } })).json.error.code).toBe(-32602);
  });

  it('ignores unknown fields (spec §5.7) and keeps unicode intact', async () => {
    const text = 'naïve 🐧 \u202Eright-to-left\u202C 中文 \ud83d\ude00 \u0000 end';
    const r = await rpc({
      jsonrpc: '2.0',
      id: 9,
      method: 'SendMessage',
      extraEnvelope: true,
      params: { message: { messageId: mid(), role: 'ROLE_USER', parts: [{ text, surprise: 1 }], novel: { a: 1 } }, future: 'field' },
    });
    expect(r.json.result.task.artifacts[0].parts[0].text).toBe(text);
  });

  it('refuses non-JSON content types with -32005', async () => {
    const r = await rpc(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: 'x' } }), { 'A2A-Version': '1.0', 'Content-Type': 'text/plain' });
    expect(r.json.error.code).toBe(-32005);
  });

  it('a v1.0 method without A2A-Version is -32009 listing the supported versions; unknown versions too', async () => {
    const noHeader = await rpc({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: sendParams('x') }, { 'Content-Type': 'application/json' });
    expect(noHeader.json.error.code).toBe(-32009);
    expect(noHeader.json.error.data[0].metadata.supportedVersions).toBe('1.0,0.3');
    const future = await rpc({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: sendParams('x') }, { ...V1, 'A2A-Version': '2.0' });
    expect(future.json.error.code).toBe(-32009);
    expect(future.json.error.data[0].reason).toBe('VERSION_NOT_SUPPORTED');
  });

  it('serves v0.3 requests (no header): message/send with kind, lower-case states, tasks/get', async () => {
    const headers = { 'Content-Type': 'application/json' };
    const sent = await rpc({ jsonrpc: '2.0', id: 1, method: 'message/send', params: { message: { kind: 'message', messageId: mid(), role: 'user', parts: [{ kind: 'text', text: 'legacy' }] } } }, headers);
    expect(sent.json.result).toMatchObject({ kind: 'task', status: { state: 'completed' } });
    expect(sent.json.result.artifacts[0].parts[0]).toEqual({ kind: 'text', text: 'legacy' });
    const got = await rpc({ jsonrpc: '2.0', id: 2, method: 'tasks/get', params: { id: sent.json.result.id } }, headers);
    expect(got.json.result.kind).toBe('task');
    const stream = await fetch(rpcUrl, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 'L', method: 'message/stream', params: { message: { kind: 'message', messageId: mid(), role: 'user', parts: [{ kind: 'text', text: 'stream:2' }] } } }) });
    const events = (await collect(stream)).map((e) => JSON.parse(e.data).result);
    expect(events[0].kind).toBe('task');
    expect(events.at(-1)).toMatchObject({ kind: 'status-update', final: true, status: { state: 'completed' } });
  });

  it('refuses bodies over the limit with 413 and -32600, and stays up', async () => {
    const huge = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: sendParams('x'.repeat(200 * 1024)) });
    const r = await fetch(rpcUrl, { method: 'POST', headers: V1, body: huge });
    expect(r.status).toBe(413);
    expect((await r.json()).error.code).toBe(-32600);
    const after = await rpc({ jsonrpc: '2.0', id: 2, method: 'SendMessage', params: sendParams('still up') });
    expect(after.json.result.task.artifacts[0].parts[0].text).toBe('still up');
  });

  it('streams SSE frames with ids, each event echoing the JSON-RPC id, and closes by itself', async () => {
    const res = await fetch(rpcUrl, { method: 'POST', headers: { ...V1, Accept: 'text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: 'req-42', method: 'SendStreamingMessage', params: sendParams('stream:3') }) });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const raw = await res.text();
    const frames = raw.split('\n\n').filter((f) => f.startsWith('id:') || f.startsWith('data:'));
    expect(frames.length).toBeGreaterThanOrEqual(6);
    for (const f of frames) {
      expect(f).toMatch(/^id: \d+\ndata: \{.*\}$/s);
      const data = JSON.parse(f.split('\ndata: ')[1]!);
      expect(data.jsonrpc).toBe('2.0');
      expect(data.id).toBe('req-42');
    }
    const ids = frames.map((f) => Number(/^id: (\d+)/.exec(f)![1]));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('a stream error before the first event is a plain JSON-RPC error, not SSE', async () => {
    const res = await fetch(rpcUrl, { method: 'POST', headers: V1, body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'SubscribeToTask', params: { id: 'missing' } }) });
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await res.json()).error.code).toBe(-32001);
  });
});

describe('REST wire', () => {
  it('uses application/a2a+json, spec HTTP statuses and google.rpc.Status bodies', async () => {
    const ok = await fetch(`${restUrl}/message:send`, { method: 'POST', headers: { 'A2A-Version': '1.0', 'Content-Type': 'application/a2a+json' }, body: JSON.stringify(sendParams('rest')) });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('application/a2a+json');
    const { task } = await ok.json();
    const got = await fetch(`${restUrl}/tasks/${task.id}?historyLength=0`, { headers: { 'A2A-Version': '1.0' } });
    expect((await got.json()).history).toBeUndefined();
    const missing = await fetch(`${restUrl}/tasks/nope`, { headers: { 'A2A-Version': '1.0' } });
    expect(missing.status).toBe(404);
    expect((await missing.json()).error).toMatchObject({ code: 404, status: 'NOT_FOUND', details: [{ reason: 'TASK_NOT_FOUND' }] });
    const notCancelable = await fetch(`${restUrl}/tasks/${task.id}:cancel`, { method: 'POST', headers: { 'A2A-Version': '1.0' } });
    expect(notCancelable.status).toBe(400);
    expect((await notCancelable.json()).error.details[0].reason).toBe('TASK_NOT_CANCELABLE');
    const bad = await fetch(`${restUrl}/message:send`, { method: 'POST', headers: { 'A2A-Version': '1.0', 'Content-Type': 'application/json' }, body: '{oops' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.details[0].reason).toBe('PARSE_ERROR');
    const plain = await fetch(`${restUrl}/message:send`, { method: 'POST', headers: { 'A2A-Version': '1.0' }, body: JSON.stringify(sendParams('x')) });
    expect((await plain.json()).error.details[0].reason).toBe('CONTENT_TYPE_NOT_SUPPORTED');
    const noVersion = await fetch(`${restUrl}/tasks/${task.id}`);
    expect(noVersion.status).toBe(400);
    expect((await noVersion.json()).error.details[0].reason).toBe('VERSION_NOT_SUPPORTED');
    const big = await fetch(`${restUrl}/message:send`, { method: 'POST', headers: { 'A2A-Version': '1.0', 'Content-Type': 'application/json' }, body: JSON.stringify(sendParams('y'.repeat(100 * 1024))) });
    expect(big.status).toBe(413);
  });

  it('malformed paths and deeply nested payloads get spec errors, never a crash', async () => {
    const bad = await fetch(`${restUrl}/tasks/%E0%A4%A`, { headers: { 'A2A-Version': '1.0' } });
    expect(bad.status).toBe(400);
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    const r = await fetch(rpcUrl, { method: 'POST', headers: V1, body: `{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"${mid()}","role":"ROLE_USER","parts":[{"data":${deep}}]}}}` });
    expect(r.status).toBeLessThan(600);
    const body = await r.json();
    expect(body.result ?? body.error).toBeDefined();
    const after = await rpc({ jsonrpc: '2.0', id: 2, method: 'SendMessage', params: sendParams('alive') });
    expect(after.json.result.task.artifacts[0].parts[0].text).toBe('alive');
  });

  it('scopes tasks by tenant: /{tenant}/ routes see only their own tasks', async () => {
    const h = { 'A2A-Version': '1.0', 'Content-Type': 'application/json' };
    const r = await fetch(`${restUrl}/acme/message:send`, { method: 'POST', headers: h, body: JSON.stringify(sendParams('tenant data')) });
    const { task } = await r.json();
    expect((await fetch(`${restUrl}/acme/tasks/${task.id}`, { headers: h })).status).toBe(200);
    expect((await fetch(`${restUrl}/globex/tasks/${task.id}`, { headers: h })).status).toBe(404);
    expect((await fetch(`${restUrl}/tasks/${task.id}`, { headers: h })).status).toBe(404);
    const list = await (await fetch(`${restUrl}/globex/tasks`, { headers: h })).json();
    expect(list.tasks ?? []).toEqual([]);
    expect(list.nextPageToken).toBe('');
    expect(agent.seen.find((m) => m.traceId === task.id)?.headers.tenant).toBe('acme');
  });
});

describe('replay', () => {
  it('a client that disconnects after 3 of 10 chunks and resubscribes with Last-Event-ID gets the other 7, none twice', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendStreamingMessage', params: sendParams('stream:10:40') });
    const ac = new AbortController();
    const res = await fetch(rpcUrl, { method: 'POST', headers: V1, body, signal: ac.signal });
    const chunkOf = (e: SseMessage) => JSON.parse(e.data).result?.artifactUpdate?.artifact?.parts?.[0]?.text as string | undefined;
    const isChunk = (e: SseMessage) => chunkOf(e)?.startsWith('c') === true;
    const first = await collect(res, (evs) => evs.filter(isChunk).length === 3);
    ac.abort();
    const lastId = first.at(-1)!.id!;
    const taskId = JSON.parse(first[0]!.data).result.task.id as string;

    const subscribe = () =>
      fetch(rpcUrl, { method: 'POST', headers: { ...V1, 'Last-Event-ID': lastId }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'SubscribeToTask', params: { id: taskId } }) });
    const [a, b] = await Promise.all([subscribe().then((r) => collect(r)), subscribe().then((r) => collect(r))]);
    expect(JSON.parse(a[0]!.data).result.task.id).toBe(taskId);
    const chunksA = a.filter(isChunk).map(chunkOf);
    expect([...first.filter(isChunk).map(chunkOf), ...chunksA]).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9']);
    // several subscribers see identical sequences
    expect(b.map((e) => [e.id, e.data])).toEqual(a.map((e) => [e.id, e.data]));
    expect(JSON.parse(a.at(-1)!.data).result.statusUpdate.status.state).toBe('TASK_STATE_COMPLETED');
  });

  it('replays a task that finished while the client was away, then closes', async () => {
    const res = await fetch(rpcUrl, { method: 'POST', headers: V1, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: sendParams('stream:4') }) });
    const taskId = (await res.json()).result.task.id as string;
    const r = await fetch(`${restUrl}/tasks/${taskId}:subscribe`, { method: 'POST', headers: { 'A2A-Version': '1.0', 'Last-Event-ID': '2' } });
    const events = (await collect(r)).map((e) => ({ id: Number(e.id), body: JSON.parse(e.data) }));
    expect(events[0]!.body.task.status.state).toBe('TASK_STATE_COMPLETED');
    expect(events.slice(1).map((e) => e.id)).toEqual(events.slice(1).map((_, i) => 3 + i));
    expect(events.at(-1)!.body.statusUpdate.status.state).toBe('TASK_STATE_COMPLETED');
  });
});
