/**
 * Limits and access: auth and tenant isolation, bounded concurrent streams
 * (and that a client abort releases its slot), the stream idle timeout,
 * capability gating (streaming off, extended card).
 */
import { describe, expect, it } from 'vitest';
import { readSse } from '../../src/a2a/client/sse-reader.js';
import { startAgent } from './a2a-fixtures.js';

const V1 = { 'A2A-Version': '1.0', 'Content-Type': 'application/json' };
let n = 0;
const body = (method: string, params: unknown) => JSON.stringify({ jsonrpc: '2.0', id: ++n, method, params });
const send = (text: string, extra: Record<string, unknown> = {}) => ({ message: { messageId: `lim-${Date.now()}-${++n}`, role: 'ROLE_USER', parts: [{ text }] }, ...extra });

describe('auth and tenants', () => {
  it('the auth hook decides the tenant: 401 without credentials, 403 for another tenant, invisible across tenants', async () => {
    const tokens: Record<string, string> = { 'Bearer a-token': 'acme', 'Bearer g-token': 'globex' };
    const agent = await startAgent({ auth: (req) => (req.headers.authorization ? (tokens[req.headers.authorization] ? { tenant: tokens[req.headers.authorization]! } : undefined) : undefined) });
    try {
      const rpc = `${agent.url}/a2a/jsonrpc`;
      const anon = await fetch(rpc, { method: 'POST', headers: V1, body: body('SendMessage', send('x')) });
      expect(anon.status).toBe(401);
      expect((await anon.json()).error.data[0].reason).toBe('UNAUTHENTICATED');

      const ok = await fetch(rpc, { method: 'POST', headers: { ...V1, Authorization: 'Bearer a-token' }, body: body('SendMessage', send('secret')) });
      const taskId = (await ok.json()).result.task.id as string;
      expect(agent.seen.find((m) => m.traceId === taskId)?.headers.tenant).toBe('acme');

      const spoof = await fetch(`${agent.url}/a2a/rest/acme/tasks/${taskId}`, { headers: { ...V1, Authorization: 'Bearer g-token' } });
      expect(spoof.status).toBe(403);
      const other = await fetch(`${agent.url}/a2a/rest/tasks/${taskId}`, { headers: { ...V1, Authorization: 'Bearer g-token' } });
      expect(other.status).toBe(404);
      const own = await fetch(`${agent.url}/a2a/rest/tasks/${taskId}`, { headers: { ...V1, Authorization: 'Bearer a-token' } });
      expect(own.status).toBe(200);
    } finally {
      await agent.close();
    }
  });
});

describe('streams', () => {
  it('bounds concurrent streams (503 RESOURCE_EXHAUSTED) and a client abort frees the slot', async () => {
    const agent = await startAgent({ limits: { maxStreams: 1 } });
    try {
      const rpc = `${agent.url}/a2a/jsonrpc`;
      const ac = new AbortController();
      const first = await fetch(rpc, { method: 'POST', headers: V1, body: body('SendStreamingMessage', send('slow:5000')), signal: ac.signal });
      expect(first.headers.get('content-type')).toBe('text/event-stream');
      const second = await fetch(rpc, { method: 'POST', headers: V1, body: body('SendStreamingMessage', send('x')) });
      expect(second.status).toBe(503);
      expect((await second.json()).error.data[0].reason).toBe('RESOURCE_EXHAUSTED');
      ac.abort();
      const t = Date.now();
      let admitted = false;
      while (!admitted && Date.now() - t < 2_000) {
        await new Promise((r) => setTimeout(r, 50));
        const r = await fetch(rpc, { method: 'POST', headers: V1, body: body('SendStreamingMessage', send('ok')) });
        admitted = r.headers.get('content-type') === 'text/event-stream';
        await r.text();
      }
      expect(admitted).toBe(true); // well before the aborted task's 5 s
    } finally {
      await agent.close();
    }
  });

  it('closes a stream idle past the limit; resubscribing with Last-Event-ID continues it', async () => {
    const agent = await startAgent({ limits: { streamIdleTimeoutMs: 200, heartbeatMs: 50 } });
    try {
      const rpc = `${agent.url}/a2a/jsonrpc`;
      const started = Date.now();
      const res = await fetch(rpc, { method: 'POST', headers: V1, body: body('SendStreamingMessage', send('slow:800')) });
      const events = [];
      for await (const e of readSse(res)) events.push(e);
      expect(Date.now() - started).toBeLessThan(700); // closed by the idle timeout, not by the task
      const taskId = JSON.parse(events[0]!.data).result.task.id as string;
      await new Promise((r) => setTimeout(r, 800)); // the task finishes while nobody listens
      const again = await fetch(rpc, { method: 'POST', headers: { ...V1, 'Last-Event-ID': events.at(-1)!.id! }, body: body('SubscribeToTask', { id: taskId }) });
      const rest = [];
      for await (const e of readSse(again)) rest.push(JSON.parse(e.data).result);
      expect(rest.at(-1)?.statusUpdate?.status.state).toBe('TASK_STATE_COMPLETED');
    } finally {
      await agent.close();
    }
  });
});

describe('capabilities gate behaviour', () => {
  it('streaming off: the card says so and streaming methods are UnsupportedOperation', async () => {
    const agent = await startAgent({ card: { name: 'quiet', description: 'no streams', streaming: false } });
    try {
      const card = await (await fetch(`${agent.url}/.well-known/agent-card.json`, { headers: V1 })).json();
      expect(card.capabilities.streaming).toBe(false);
      const r = await fetch(`${agent.url}/a2a/jsonrpc`, { method: 'POST', headers: V1, body: body('SendStreamingMessage', send('x')) });
      expect((await r.json()).error.code).toBe(-32004);
      const p = await fetch(`${agent.url}/a2a/jsonrpc`, { method: 'POST', headers: V1, body: body('CreateTaskPushNotificationConfig', { taskId: 't', url: 'http://127.0.0.1:1/hook' }) });
      expect((await p.json()).error.code).toBe(-32003);
      const ext = await fetch(`${agent.url}/a2a/jsonrpc`, { method: 'POST', headers: V1, body: body('GetExtendedAgentCard', {}) });
      expect((await ext.json()).error.code).toBe(-32004);
    } finally {
      await agent.close();
    }
  });

  it('GetExtendedAgentCard answers when configured', async () => {
    const agent = await startAgent({ extendedCard: { name: 'full', description: 'more skills', version: '1', supportedInterfaces: [], capabilities: {}, defaultInputModes: [], defaultOutputModes: [], skills: [] } });
    try {
      const card = await (await fetch(`${agent.url}/.well-known/agent-card.json`, { headers: V1 })).json();
      expect(card.capabilities.extendedAgentCard).toBe(true);
      const r = await fetch(`${agent.url}/a2a/rest/extendedAgentCard`, { headers: V1 });
      expect((await r.json()).name).toBe('full');
    } finally {
      await agent.close();
    }
  });
});
