/**
 * Part 1, every entry point: every operation over every transport (JSON-RPC
 * v1.0 and v0.3, REST, SSE, gRPC, WebSocket, push configs, the ops endpoint
 * and the trace viewer API) × {none, no scopes, read, send, cancel, admin,
 * other tenant} gives the same answer table. The table is built from the
 * server's own registries (METHODS, the v0.3 names, the REST routes, the gRPC
 * service, the WebSocket ops, A2A_TRANSPORTS), so an operation or a
 * transport added without a row fails here.
 *
 * Part 2, credential forms: every A2A operation, on JSON-RPC (v1.0 and the v0.3 names) and on REST,
 * × {no credential, invalid, expired, right credential of another tenant,
 * right credential without the scope, right credential}. Each cell gets its
 * status and error reason, and no denied response carries the other
 * tenant's data. Tokens are ES256 JWTs verified against a JWKS served over
 * HTTP on 127.0.0.1, minted at test time.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createA2ASecurity, createApiKeyAuthenticator, generateApiKey, hashApiKey, OPERATION_SCOPES, type Scope } from '../../src/security/index.js';
import { A2A_TRANSPORTS, LEGACY_METHODS, METHODS, type A2AMethod } from '../../src/a2a/index.js';
import { REST_METHODS } from '../../src/a2a/server/rest-binding.js';
import { createA2AGrpcServer, type A2AGrpcServer } from '../../src/a2a/grpc/index.js';
import { createA2AWebSocketEndpoint, WS_OPERATIONS, type A2AWebSocketEndpoint } from '../../src/a2a/ws/index.js';
import { createMetrics, serveOps, type OpsServer } from '../../src/observability/index.js';
import { createUiServer, type UiServer } from '../../src/ui/index.js';
import { startAgent, type RunningAgent } from './a2a-fixtures.js';
import { startIssuer, startSecuredAgent, type Issuer } from './security-fixtures.js';
import { fromHttpStatus, grpcCall, grpcClient, GRPC_SERVICE_METHODS, jsonRpc, rest as restCall, wsFrame, wsOpen, type OpInput, type Outcome, type WsOp } from './security-matrix-drivers.js';

// ============================================================== part 1: every entry point

type Credential = 'none' | 'noScopes' | 'read' | 'send' | 'cancel' | 'admin' | 'otherTenant';
const CREDENTIALS: Credential[] = ['none', 'noScopes', 'read', 'send', 'cancel', 'admin', 'otherTenant'];
const KEYS: Record<Exclude<Credential, 'none'>, { key: string; tenants: string[]; scopes: string[] }> = {
  noScopes: { key: generateApiKey(), tenants: ['acme'], scopes: [] },
  read: { key: generateApiKey(), tenants: ['acme'], scopes: ['read'] },
  send: { key: generateApiKey(), tenants: ['acme'], scopes: ['send'] },
  cancel: { key: generateApiKey(), tenants: ['acme'], scopes: ['cancel'] },
  admin: { key: generateApiKey(), tenants: ['acme'], scopes: ['admin'] },
  otherTenant: { key: generateApiKey(), tenants: ['globex'], scopes: ['send', 'read', 'cancel'] },
};
const keyOf = (c: Credential) => (c === 'none' ? undefined : KEYS[c].key);

/** The one answer table: what every transport must say for a credential and the scope an operation needs. */
function expected(c: Credential, scope: string): Outcome {
  if (c === 'none') return 'unauthenticated';
  if (c === 'admin') return 'allowed';
  if (c === 'noScopes' || c === 'otherTenant') return 'denied';
  return c === scope ? 'allowed' : 'denied';
}

/** Operations outside A2A, with the scope they need. */
const OPS_OPERATIONS = { GetMetrics: 'admin' } as const;
const UI_OPERATIONS = { ListTraces: 'admin', GetTrace: 'admin', GetTraceTimeline: 'admin', StreamTrace: 'admin' } as const;
const TRANSPORTS = [...A2A_TRANSPORTS, 'OPS', 'UI'] as const;
type Transport = (typeof TRANSPORTS)[number];

interface Row {
  transport: Transport;
  operation: string;
  scope: string;
  run(c: Credential): Promise<{ outcome: Outcome; text: string }>;
}

describe('security matrix: every operation × every transport × every credential, one answer table', () => {
  let agent: RunningAgent;
  let grpcServer: A2AGrpcServer;
  let grpcTarget = '';
  let ws: A2AWebSocketEndpoint | undefined;
  let ops: OpsServer;
  let ui: UiServer;
  let doneTask = '';
  let n = 0;
  const adminHeaders = () => ({ 'A2A-Version': '1.0', 'Content-Type': 'application/json', 'X-API-Key': KEYS.admin.key });
  const message = (text: string) => ({ messageId: `mx-${Date.now()}-${++n}`, role: 'ROLE_USER', parts: [{ text }] });
  /** Cancel must find a running task when it is allowed; a denied call never reaches it. */
  const inputFor = async (op: A2AMethod, c: Credential): Promise<OpInput> => {
    let taskId = doneTask;
    if (op === METHODS.cancelTask && expected(c, 'cancel') === 'allowed') {
      const r = await fetch(`${agent.url}/a2a/rest/acme/message:send`, { method: 'POST', headers: adminHeaders(), body: JSON.stringify({ message: message('slow:20000'), configuration: { returnImmediately: true } }) });
      taskId = ((await r.json()) as { task: { id: string } }).task.id;
    }
    return { taskId, message, pushUrl: 'http://127.0.0.1:9/hook' };
  };

  beforeAll(async () => {
    const authenticators = [createApiKeyAuthenticator({ keys: Object.entries(KEYS).map(([id, k]) => ({ id, hash: hashApiKey(k.key), tenants: k.tenants, scopes: k.scopes })) })];
    const security = createA2ASecurity({ authenticators });
    agent = await startAgent({
      auth: security.auth,
      authorize: security.authorize,
      card: { name: 'matrix', description: 'every entry point', ...security.card },
      push: { enabled: true, outbound: { allowLoopback: true }, maxAttempts: 1 },
      extendedCard: { name: 'matrix (extended)', description: 'more', version: '1.0.0', supportedInterfaces: [], capabilities: {}, defaultInputModes: [], defaultOutputModes: [], skills: [] },
      onListen: (srv) => srv.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => ws?.handleUpgrade(req, socket, head)),
    });
    ws = createA2AWebSocketEndpoint({ server: agent.server, onError: () => undefined });
    // gRPC and WebSocket get no auth options: they inherit the HTTP server's gate
    grpcServer = createA2AGrpcServer({ server: agent.server, onError: () => undefined });
    grpcTarget = (await grpcServer.listen()).target;
    ops = await serveOps({ port: 0, metrics: createMetrics(), authenticators });
    ui = await createUiServer({ store: agent.store, port: 0, authenticators });
    const r = await fetch(`${agent.url}/a2a/rest/acme/message:send`, { method: 'POST', headers: adminHeaders(), body: JSON.stringify({ message: message('hello') }) });
    doneTask = ((await r.json()) as { task: { id: string } }).task.id;
    const cfg = await fetch(`${agent.url}/a2a/rest/acme/tasks/${doneTask}/pushNotificationConfigs`, { method: 'POST', headers: adminHeaders(), body: JSON.stringify({ id: 'cfg-1', url: 'http://127.0.0.1:9/hook' }) });
    expect(cfg.status).toBe(200);
  });
  afterAll(async () => {
    await ws?.close();
    await grpcServer?.close();
    await ops?.close();
    await ui?.close();
    await agent?.close();
  });

  const a2aOps = Object.values(METHODS);
  const grpc = () => grpcClient(grpcTarget);
  const wsOps = Object.keys(WS_OPERATIONS) as WsOp[];
  const rows: Row[] = [
    ...a2aOps.map((op): Row => ({ transport: 'JSONRPC', operation: op, scope: OPERATION_SCOPES[op], run: async (c) => jsonRpc(agent.url, op, keyOf(c), await inputFor(op, c), false) })),
    ...Object.keys(LEGACY_METHODS).map((name): Row => {
      const op = LEGACY_METHODS[name]!;
      return { transport: 'JSONRPC-0.3', operation: name, scope: OPERATION_SCOPES[op], run: async (c) => jsonRpc(agent.url, op, keyOf(c), await inputFor(op, c), true) };
    }),
    ...Object.entries(REST_METHODS).map(([route, op]): Row => ({ transport: 'HTTP+JSON', operation: `${route} (${op})`, scope: OPERATION_SCOPES[op], run: async (c) => restCall(agent.url, op, keyOf(c), await inputFor(op, c)) })),
    ...GRPC_SERVICE_METHODS.map((name): Row => {
      const op = name as A2AMethod;
      return {
        transport: 'GRPC',
        operation: name,
        scope: OPERATION_SCOPES[op],
        run: async (c) => {
          const client = grpc();
          try {
            return await grpcCall(client, op, keyOf(c), await inputFor(op, c));
          } finally {
            client.close();
          }
        },
      };
    }),
    ...wsOps.map((wop): Row => {
      const op = WS_OPERATIONS[wop];
      return {
        transport: 'WEBSOCKET',
        operation: wop,
        scope: OPERATION_SCOPES[op],
        run: async (c) => {
          const conn = await wsOpen(agent.url, keyOf(c));
          if (typeof conn === 'string') return { outcome: conn, text: 'upgrade refused' };
          try {
            return await wsFrame(conn, wop, (await inputFor(op, c)).taskId);
          } finally {
            conn.close();
          }
        },
      };
    }),
    ...Object.entries(OPS_OPERATIONS).map(([op, scope]): Row => ({
      transport: 'OPS',
      operation: op,
      scope,
      run: async (c) => {
        const res = await fetch(`${ops.url}/metrics`, { headers: keyOf(c) ? { 'X-API-Key': keyOf(c)! } : {} });
        return { outcome: fromHttpStatus(res.status), text: (await res.text()).slice(0, 200) };
      },
    })),
    ...Object.entries(UI_OPERATIONS).map(([op, scope]): Row => ({
      transport: 'UI',
      operation: op,
      scope,
      run: async (c) => {
        const path = { ListTraces: '/api/traces', GetTrace: `/api/traces/${doneTask}`, GetTraceTimeline: `/api/traces/${doneTask}/timeline`, StreamTrace: `/api/traces/${doneTask}/stream` }[op]!;
        const res = await fetch(`${ui.url}${path}?tenant=acme`, { headers: keyOf(c) ? { 'X-API-Key': keyOf(c)! } : {} });
        await res.body?.cancel();
        return { outcome: fromHttpStatus(res.status), text: String(res.status) };
      },
    })),
  ];

  it('has a row for every registered operation of every transport (adding one without a row fails)', () => {
    const has = (t: Transport, op: string) => rows.some((r) => r.transport === t && (r.operation === op || r.operation.endsWith(`(${op})`)));
    for (const t of TRANSPORTS) expect(rows.some((r) => r.transport === t), `transport ${t} has no rows`).toBe(true);
    for (const t of A2A_TRANSPORTS) expect((TRANSPORTS as readonly string[]).includes(t), t).toBe(true);
    for (const op of Object.values(METHODS)) {
      expect(has('JSONRPC', op), `JSON-RPC ${op}`).toBe(true);
      expect(has('HTTP+JSON', op), `REST ${op}`).toBe(true);
      expect(has('GRPC', op), `gRPC ${op}`).toBe(true);
      expect(OPERATION_SCOPES[op], `scope of ${op}`).toBeDefined();
    }
    for (const name of Object.keys(LEGACY_METHODS)) expect(has('JSONRPC-0.3', name), `v0.3 ${name}`).toBe(true);
    for (const name of GRPC_SERVICE_METHODS) expect(has('GRPC', name), `gRPC service method ${name}`).toBe(true);
    for (const wop of Object.keys(WS_OPERATIONS)) expect(has('WEBSOCKET', wop), `WebSocket ${wop}`).toBe(true);
  });

  it.each(TRANSPORTS.map((t) => [t] as const))('%s answers the table for every operation and credential', async (transport) => {
    const mismatches: string[] = [];
    for (const row of rows.filter((r) => r.transport === transport)) {
      for (const c of CREDENTIALS) {
        const got = await row.run(c);
        const want = expected(c, row.scope);
        if (got.outcome !== want) mismatches.push(`${row.transport} ${row.operation} × ${c}: want ${want}, got ${got.outcome} (${got.text.slice(0, 160)})`);
      }
    }
    expect(mismatches).toEqual([]);
  });
});

// ============================================================== part 2: credential forms (JWT)

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
