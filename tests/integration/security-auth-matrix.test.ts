/**
 * The authorization matrix: every A2A operation, on JSON-RPC (v1.0 and the v0.3 names) and on REST,
 * × {no credential, invalid, expired, right credential of another tenant,
 * right credential without the scope, right credential}. Each cell gets its
 * status and error reason, and no denied response carries the other
 * tenant's data. Tokens are ES256 JWTs verified against a JWKS served over
 * HTTP on 127.0.0.1, minted at test time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATION_SCOPES, type Scope } from '../../src/security/index.js';
import type { A2AMethod } from '../../src/a2a/index.js';
import type { RunningAgent } from './a2a-fixtures.js';
import { startIssuer, startSecuredAgent, type Issuer } from './security-fixtures.js';

const SECRET = 'acme-secret-payload-7f3a';
const ALL: Scope[] = ['send', 'read', 'cancel'];
type Cell = 'none' | 'invalid' | 'expired' | 'otherTenant' | 'noScope' | 'right';
const CELLS: Cell[] = ['none', 'invalid', 'expired', 'otherTenant', 'noScope', 'right'];

let issuer: Issuer;
let agent: RunningAgent;
let acmeTask: string;
let n = 0;

interface Op {
  label: string;
  method: A2AMethod;
  call(auth: Record<string, string>): Promise<Response>;
  ok: number;
}

const V1 = { 'A2A-Version': '1.0', 'Content-Type': 'application/json' };
const msg = (text: string) => ({ messageId: `m-${Date.now()}-${++n}`, role: 'ROLE_USER', parts: [{ text }] });

async function slowTask(token: string): Promise<string> {
  const r = await fetch(`${agent.url}/a2a/rest/acme/message:send`, {
    method: 'POST',
    headers: { ...V1, Authorization: `Bearer ${token}` },
    body: JSON.stringify({ message: msg('slow:20000'), configuration: { returnImmediately: true } }),
  });
  return ((await r.json()) as { task: { id: string } }).task.id;
}

function rpc(method: A2AMethod, params: (fresh: boolean) => Promise<Record<string, unknown>> | Record<string, unknown>, extraHeaders: Record<string, string> = {}, legacyName?: string): Op {
  return {
    label: legacyName ? `JSON-RPC v0.3 ${legacyName}` : `JSON-RPC ${method}`,
    method,
    ok: 200,
    async call(auth) {
      const p = await params(auth.fresh === '1');
      const headers: Record<string, string> = { ...V1, ...extraHeaders, ...auth };
      delete headers.fresh;
      if (legacyName) delete headers['A2A-Version']; // no header: the v0.3 dialect
      return fetch(`${agent.url}/a2a/jsonrpc`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: ++n, method: legacyName ?? method, params: { tenant: 'acme', ...p } }) });
    },
  };
}

const legacyMsg = (text: string) => ({ kind: 'message', messageId: `l-${Date.now()}-${++n}`, role: 'user', parts: [{ kind: 'text', text }] });

function rest(method: A2AMethod, verb: string, path: (fresh: boolean) => Promise<string> | string, body?: () => unknown, ok = 200, extraHeaders: Record<string, string> = {}): Op {
  return {
    label: `REST ${verb} ${method}`,
    method,
    ok,
    async call(auth) {
      const p = await path(auth.fresh === '1');
      const headers: Record<string, string> = { ...V1, ...extraHeaders, ...auth };
      delete headers.fresh;
      const init: RequestInit = { method: verb, headers };
      if (body) init.body = JSON.stringify(body());
      return fetch(`${agent.url}/a2a/rest/acme${p}`, init);
    },
  };
}

let rightToken = '';
const ops: Op[] = [
  rpc('SendMessage', () => ({ message: msg('hello') })),
  rpc('SendStreamingMessage', () => ({ message: msg('stream:2:1') })),
  rpc('GetTask', () => ({ id: acmeTask })),
  rpc('ListTasks', () => ({})),
  rpc('CancelTask', async (fresh) => ({ id: fresh ? await slowTask(rightToken) : acmeTask })),
  rpc('SubscribeToTask', () => ({ id: acmeTask }), { 'Last-Event-ID': '0' }),
  rpc('CreateTaskPushNotificationConfig', () => ({ taskId: acmeTask, id: `cfg-${++n}`, url: 'http://127.0.0.1:9/hook' })),
  rpc('GetTaskPushNotificationConfig', () => ({ taskId: acmeTask, id: 'cfg-1' })),
  rpc('ListTaskPushNotificationConfigs', () => ({ taskId: acmeTask })),
  rpc('DeleteTaskPushNotificationConfig', () => ({ taskId: acmeTask, id: 'cfg-gone' })),
  rpc('GetExtendedAgentCard', () => ({})),
  rpc('SendMessage', () => ({ message: legacyMsg('hello') }), {}, 'message/send'),
  rpc('SendStreamingMessage', () => ({ message: legacyMsg('stream:2:1') }), {}, 'message/stream'),
  rpc('GetTask', () => ({ id: acmeTask }), {}, 'tasks/get'),
  rpc('CancelTask', async (fresh) => ({ id: fresh ? await slowTask(rightToken) : acmeTask }), {}, 'tasks/cancel'),
  rpc('SubscribeToTask', () => ({ id: acmeTask }), { 'Last-Event-ID': '0' }, 'tasks/resubscribe'),
  rpc('CreateTaskPushNotificationConfig', () => ({ taskId: acmeTask, pushNotificationConfig: { url: 'http://127.0.0.1:9/hook' } }), {}, 'tasks/pushNotificationConfig/set'),
  rpc('GetTaskPushNotificationConfig', () => ({ id: acmeTask, pushNotificationConfigId: 'cfg-1' }), {}, 'tasks/pushNotificationConfig/get'),
  rpc('ListTaskPushNotificationConfigs', () => ({ id: acmeTask }), {}, 'tasks/pushNotificationConfig/list'),
  rpc('DeleteTaskPushNotificationConfig', () => ({ id: acmeTask, pushNotificationConfigId: 'cfg-gone' }), {}, 'tasks/pushNotificationConfig/delete'),
  rpc('GetExtendedAgentCard', () => ({}), {}, 'agent/getAuthenticatedExtendedCard'),
  rest('SendMessage', 'POST', () => '/message:send', () => ({ message: msg('hello') })),
  rest('SendStreamingMessage', 'POST', () => '/message:stream', () => ({ message: msg('stream:2:1') })),
  rest('GetTask', 'GET', () => `/tasks/${acmeTask}`),
  rest('ListTasks', 'GET', () => '/tasks'),
  rest('CancelTask', 'POST', async (fresh) => `/tasks/${fresh ? await slowTask(rightToken) : acmeTask}:cancel`),
  rest('SubscribeToTask', 'GET', () => `/tasks/${acmeTask}:subscribe`, undefined, 200, { 'Last-Event-ID': '0' }),
  rest('CreateTaskPushNotificationConfig', 'POST', () => `/tasks/${acmeTask}/pushNotificationConfigs`, () => ({ url: 'http://127.0.0.1:9/hook', id: `cfg-${++n}` })),
  rest('GetTaskPushNotificationConfig', 'GET', () => `/tasks/${acmeTask}/pushNotificationConfigs/cfg-1`),
  rest('ListTaskPushNotificationConfigs', 'GET', () => `/tasks/${acmeTask}/pushNotificationConfigs`),
  rest('DeleteTaskPushNotificationConfig', 'DELETE', () => `/tasks/${acmeTask}/pushNotificationConfigs/cfg-gone`, undefined, 204),
  rest('GetExtendedAgentCard', 'GET', () => '/extendedAgentCard'),
];

beforeAll(async () => {
  issuer = await startIssuer();
  agent = await startSecuredAgent(issuer);
  rightToken = await issuer.mint({ tenants: ['acme'], scope: ALL.join(' ') });
  const r = await fetch(`${agent.url}/a2a/rest/acme/message:send`, { method: 'POST', headers: { ...V1, Authorization: `Bearer ${rightToken}` }, body: JSON.stringify({ message: msg(SECRET) }) });
  expect(r.status).toBe(200);
  acmeTask = ((await r.json()) as { task: { id: string } }).task.id;
  const cfg = await fetch(`${agent.url}/a2a/rest/acme/tasks/${acmeTask}/pushNotificationConfigs`, {
    method: 'POST',
    headers: { ...V1, Authorization: `Bearer ${rightToken}` },
    body: JSON.stringify({ id: 'cfg-1', url: 'http://127.0.0.1:9/hook' }),
  });
  expect(cfg.status).toBe(200);
});

afterAll(async () => {
  await agent?.close();
  await issuer?.close();
});

async function credential(cell: Cell, needed: Scope): Promise<Record<string, string>> {
  switch (cell) {
    case 'none':
      return {};
    case 'invalid':
      return { Authorization: `Bearer ${await issuer.forge({ tenants: ['acme'], scope: ALL.join(' ') })}` };
    case 'expired':
      return { Authorization: `Bearer ${await issuer.mint({ tenants: ['acme'], scope: ALL.join(' '), expSec: -120 })}` };
    case 'otherTenant':
      return { Authorization: `Bearer ${await issuer.mint({ tenants: ['globex'], scope: ALL.join(' ') })}` };
    case 'noScope':
      return { Authorization: `Bearer ${await issuer.mint({ tenants: ['acme'], scope: ALL.filter((s) => s !== needed).join(' ') })}` };
    case 'right':
      return { Authorization: `Bearer ${rightToken}`, fresh: '1' };
  }
}

function errorInfo(body: unknown): { reason?: string; metadata?: Record<string, string> } {
  const b = body as { error?: { data?: unknown[]; details?: unknown[] } };
  const list = (b.error?.data ?? b.error?.details ?? []) as { reason?: string; metadata?: Record<string, string> }[];
  return list[0] ?? {};
}

describe('authorization matrix: every operation × every credential case', () => {
  it.each(ops.map((op) => [op.label, op] as const))('%s', async (_label, op) => {
    const needed = OPERATION_SCOPES[op.method];
    for (const cell of CELLS) {
      const res = await op.call(await credential(cell, needed));
      const text = await res.text();
      const where = `${op.label} × ${cell}: ${res.status} ${text.slice(0, 200)}`;
      if (cell === 'right') {
        expect(res.status, where).toBe(op.ok);
        if (op.ok === 200 && !op.method.includes('Stream') && op.method !== 'SubscribeToTask') {
          expect(JSON.parse(text).error, where).toBeUndefined();
        }
        continue;
      }
      const expected = cell === 'otherTenant' || cell === 'noScope' ? 403 : 401;
      expect(res.status, where).toBe(expected);
      const info = errorInfo(JSON.parse(text));
      expect(info.reason, where).toBe(expected === 401 ? 'UNAUTHENTICATED' : 'PERMISSION_DENIED');
      if (cell === 'expired') expect(info.metadata?.failure, where).toBe('expired');
      if (cell === 'invalid') expect(info.metadata?.failure, where).toBe('invalid');
      if (cell === 'noScope') expect(info.metadata?.requiredScope, where).toBe(needed);
      if (expected === 401) expect(res.headers.get('www-authenticate'), where).toMatch(/^Bearer/);
      // No denied response carries the other tenant's data.
      expect(text, where).not.toContain(SECRET);
      expect(text, where).not.toContain(acmeTask);
    }
  });
});

describe('card and extended card', () => {
  it('the public card declares the schemes that are enforced; the extended card needs a credential', async () => {
    const card = (await (await fetch(`${agent.url}/.well-known/agent-card.json`, { headers: { 'A2A-Version': '1.0' } })).json()) as Record<string, unknown>;
    expect(card.securitySchemes).toEqual({ bearer: { httpAuthSecurityScheme: { scheme: 'Bearer', bearerFormat: 'JWT', description: expect.any(String) } } });
    expect(card.securityRequirements).toEqual([{ schemes: { bearer: { list: ['send', 'read', 'cancel'] } } }]);
    const legacy = (await (await fetch(`${agent.url}/.well-known/agent-card.json`)).json()) as Record<string, unknown>; // no A2A-Version: the v0.3 shape
    expect(legacy.securitySchemes).toEqual({ bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: expect.any(String) } });
    expect(legacy.security).toEqual([{ bearer: ['send', 'read', 'cancel'] }]);
    const anon = await fetch(`${agent.url}/a2a/rest/extendedAgentCard`, { headers: V1 });
    expect(anon.status).toBe(401);
    const ok = await fetch(`${agent.url}/a2a/rest/extendedAgentCard`, { headers: { ...V1, Authorization: `Bearer ${rightToken}` } });
    expect(((await ok.json()) as { name: string }).name).toBe('secured agent (extended)');
  });

  it('an anonymous request is refused before its body is read or parsed', async () => {
    const junk = '['.repeat(200_000); // would be -32700 if it were parsed
    const rpcRes = await fetch(`${agent.url}/a2a/jsonrpc`, { method: 'POST', headers: V1, body: junk });
    expect(rpcRes.status).toBe(401);
    const restRes = await fetch(`${agent.url}/a2a/rest/message:send`, { method: 'POST', headers: V1, body: junk });
    expect(restRes.status).toBe(401);
    expect(errorInfo(await restRes.json()).reason).toBe('UNAUTHENTICATED');
  });

  it('a wrong audience or issuer is invalid; admin covers every scope; a multi-tenant credential reaches each of its tenants only', async () => {
    const wrongAud = await issuer.mint({ tenants: ['acme'], scope: 'admin', aud: 'someone-else' });
    const r1 = await fetch(`${agent.url}/a2a/rest/acme/tasks`, { headers: { ...V1, Authorization: `Bearer ${wrongAud}` } });
    expect(r1.status).toBe(401);
    const admin = await issuer.mint({ tenants: ['acme', 'initech'], scope: 'admin' });
    const r2 = await fetch(`${agent.url}/a2a/rest/acme/tasks/${acmeTask}`, { headers: { ...V1, Authorization: `Bearer ${admin}` } });
    expect(r2.status).toBe(200);
    const r3 = await fetch(`${agent.url}/a2a/rest/initech/tasks/${acmeTask}`, { headers: { ...V1, Authorization: `Bearer ${admin}` } });
    expect(r3.status).toBe(404); // its own tenant, but the task is acme's
    const r4 = await fetch(`${agent.url}/a2a/rest/globex/tasks`, { headers: { ...V1, Authorization: `Bearer ${admin}` } });
    expect(r4.status).toBe(403);
  });
});
