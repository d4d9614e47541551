/**
 * Tenant isolation through the server: with tenant A's task id in hand,
 * tenant B gets nothing — not the task, its history, artifacts, push
 * configs, events, nor a continuation of it — and the store's own reads of
 * that trace id for B are empty (the tenant is in the query).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from './a2a-fixtures.js';
import { startIssuer, startSecuredAgent, type Issuer } from './security-fixtures.js';

const V1 = { 'A2A-Version': '1.0', 'Content-Type': 'application/json' };
const SECRET = 'tenant-a-only-9c1e';
let issuer: Issuer;
let agent: RunningAgent;
let a = '';
let b = '';
let taskId = '';

beforeAll(async () => {
  issuer = await startIssuer();
  agent = await startSecuredAgent(issuer);
  a = await issuer.mint({ tenants: ['tenant-a'], scope: 'admin' });
  b = await issuer.mint({ tenants: ['tenant-b'], scope: 'admin' });
  const r = await fetch(`${agent.url}/a2a/rest/message:send`, {
    method: 'POST',
    headers: { ...V1, Authorization: `Bearer ${a}` },
    body: JSON.stringify({ message: { messageId: 'iso-1', role: 'ROLE_USER', parts: [{ text: SECRET }] } }),
  });
  taskId = ((await r.json()) as { task: { id: string } }).task.id;
  await fetch(`${agent.url}/a2a/rest/tasks/${taskId}/pushNotificationConfigs`, { method: 'POST', headers: { ...V1, Authorization: `Bearer ${a}` }, body: JSON.stringify({ id: 'cfg-a', url: 'http://127.0.0.1:9/a' }) });
});

afterAll(async () => {
  await agent?.close();
  await issuer?.close();
});

describe('a trace id of tenant A never yields tenant B anything', () => {
  it('through the server (REST and JSON-RPC)', async () => {
    const asB = { ...V1, Authorization: `Bearer ${b}` };
    const own = await fetch(`${agent.url}/a2a/rest/tasks/${taskId}`, { headers: { ...V1, Authorization: `Bearer ${a}` } });
    expect(await own.text()).toContain(SECRET); // A sees it

    const probes: Promise<Response>[] = [
      fetch(`${agent.url}/a2a/rest/tasks/${taskId}?historyLength=10`, { headers: asB }),
      fetch(`${agent.url}/a2a/rest/tasks/${taskId}:subscribe`, { headers: { ...asB, 'Last-Event-ID': '0' } }),
      fetch(`${agent.url}/a2a/rest/tasks/${taskId}:cancel`, { method: 'POST', headers: asB }),
      fetch(`${agent.url}/a2a/rest/tasks/${taskId}/pushNotificationConfigs`, { headers: asB }),
      fetch(`${agent.url}/a2a/rest/tasks/${taskId}/pushNotificationConfigs/cfg-a`, { headers: asB }),
      fetch(`${agent.url}/a2a/rest/message:send`, { method: 'POST', headers: asB, body: JSON.stringify({ message: { messageId: 'iso-b', taskId, role: 'ROLE_USER', parts: [{ text: 'continue' }] } }) }),
      fetch(`${agent.url}/a2a/rest/message:send`, { method: 'POST', headers: asB, body: JSON.stringify({ message: { messageId: 'iso-1', role: 'ROLE_USER', parts: [{ text: 'same message id as A' }] } }) }),
      fetch(`${agent.url}/a2a/jsonrpc`, { method: 'POST', headers: asB, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: taskId, historyLength: 10 } }) }),
    ];
    const responses = await Promise.all(probes);
    for (const [i, res] of responses.entries()) {
      const text = await res.text();
      expect(text, `probe ${i}`).not.toContain(SECRET);
      if (i < 6) expect(res.status === 404 || text.includes('TASK_NOT_FOUND'), `probe ${i}: ${res.status} ${text.slice(0, 160)}`).toBe(true);
      if (i === 6) expect(JSON.parse(text).task.id).not.toBe(taskId); // B's own message id space: a new task of B's
    }
    const list = await (await fetch(`${agent.url}/a2a/rest/tasks?includeArtifacts=true`, { headers: asB })).text();
    expect(list).not.toContain(taskId);
    expect(list).not.toContain(SECRET);
  });

  it('in the store: history, bindings, the task (with its artifacts and history) and its events for B are empty', async () => {
    const store = agent.store;
    const now = Date.now();
    await store.saveRemoteBinding({ traceId: taskId, tenant: 'tenant-a', node: 'n', agentUrl: 'http://127.0.0.1:9', taskId: 'remote-1', status: 'running', createdAt: now, updatedAt: now });
    expect(await store.findRemoteBindings({ tenant: 'tenant-a', traceId: taskId })).toHaveLength(1);
    expect((await store.loadTaskEvents(taskId, { tenant: 'tenant-a' })).length).toBeGreaterThan(0);
    expect(await store.loadHistory(taskId, { tenant: 'tenant-b' })).toEqual([]);
    expect(await store.findRemoteBindings({ tenant: 'tenant-b', traceId: taskId })).toEqual([]);
    expect(await store.getTask(taskId, { tenant: 'tenant-b' })).toBeUndefined();
    expect(await store.loadTaskEvents(taskId, { tenant: 'tenant-b' })).toEqual([]);
  });
});
