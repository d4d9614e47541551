/**
 * Bounded fuzz with fast-check: 10,000 malformed or hostile requests (bad
 * JSON, deep nesting, huge strings, wrong types, random envelopes and paths,
 * header injection, broken framing) sent as raw bytes over TCP to a real
 * server on 127.0.0.1. Every answer is a spec error (JSON-RPC error object or
 * google.rpc.Status, or Node's own 400 for unparseable HTTP), never a 5xx;
 * the server never crashes and logs no internal fault; its heap is flat
 * afterwards. Slow request bodies and slow headers time out.
 */
import { connect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METHODS, LEGACY_METHODS } from '../../src/a2a/index.js';
import { startAgent, type RunningAgent } from './a2a-fixtures.js';
import { createA2ASecurity, createApiKeyAuthenticator, createJwtAuthenticator, generateApiKey, hashApiKey } from '../../src/security/index.js';
import { AUDIENCE, ISSUER, startIssuer, type Issuer } from './security-fixtures.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let agent: RunningAgent;
let port = 0;
const faults: unknown[] = [];
const statuses = new Map<number, number>();

beforeAll(async () => {
  agent = await startAgent({ onError: (e) => faults.push(e), limits: { requestTimeoutMs: 1_000 } });
  port = Number(new URL(agent.url).port);
});
afterAll(() => agent?.close());

interface RawResponse {
  status: number;
  head: string;
  body: string;
}

/** Sends raw bytes, reads until the server closes the connection (every request says Connection: close). */
function raw(bytes: Buffer, timeoutMs = 10_000, toPort = port): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(toPort, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => undefined); // a reset after the answer is fine
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = end < 0 ? text : text.slice(0, end);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body: end < 0 ? '' : text.slice(end + 4) });
    });
    socket.write(bytes); // no half-close: Node's server drops a half-closed request whose answer is still pending
  });
}

const methodNames = [...Object.values(METHODS), ...Object.keys(LEGACY_METHODS)];
const paths = ['/a2a/jsonrpc', '/', '/a2a/rest/message:send', '/a2a/rest/message:stream', '/a2a/rest/tasks', '/a2a/rest/tasks/t-1', '/a2a/rest/tasks/t-1:cancel', '/a2a/rest/tasks/t-1:subscribe', '/a2a/rest/tasks/t-1/pushNotificationConfigs', '/a2a/rest/acme/tasks/%E0%A4%A', '/a2a/rest/%ZZ/tasks', '/.well-known/agent-card.json'];

const deepArray = fc.integer({ min: 50, max: 50_000 }).map((n) => '['.repeat(n) + ']'.repeat(n));
const deepParams = fc.integer({ min: 50, max: 5_000 }).map((n) => `{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`);
const huge = fc.integer({ min: 1_100_000, max: 1_400_000 }).map((n) => JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { messageId: 'h', role: 'ROLE_USER', parts: [{ text: 'a'.repeat(n) }] } } }));
const hugeField = fc.integer({ min: 50_000, max: 200_000 }).chain((n) =>
  fc.constantFrom('method', 'role', 'id', 'tenant').map((where) => {
    const big = 'x'.repeat(n);
    const msg = { messageId: 'm', role: where === 'role' ? big : 'ROLE_USER', parts: [{ text: 'hi' }] };
    return JSON.stringify({ jsonrpc: '2.0', id: where === 'id' ? big : 1, method: where === 'method' ? big : 'GetTask', params: where === 'tenant' ? { id: 't', tenant: big } : { message: msg } });
  }),
);
const envelope = fc
  .record({
    jsonrpc: fc.oneof(fc.constant('2.0'), fc.anything()),
    id: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.anything()),
    method: fc.oneof(fc.constantFrom(...methodNames), fc.string()),
    params: fc.oneof(fc.anything(), fc.record({ id: fc.anything(), message: fc.anything(), taskId: fc.anything(), historyLength: fc.anything(), tenant: fc.anything() })),
  })
  .map((o) => JSON.stringify(o));
const body = fc.oneof(
  { weight: 5, arbitrary: fc.string({ maxLength: 300 }) },
  { weight: 5, arbitrary: fc.json() },
  { weight: 10, arbitrary: envelope },
  { weight: 2, arbitrary: deepArray },
  { weight: 2, arbitrary: deepParams },
  { weight: 1, arbitrary: huge },
  { weight: 2, arbitrary: hugeField },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u).toString('latin1')) },
);
const headerValue = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('1.0', '0.3', '', '2.0', 'a\r\nX-Injected: 1', 'v\u0000x', 'é'.repeat(10)));
const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'POST', 'POST', 'DELETE', 'PUT', 'OPTIONS', 'G E T'),
  path: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...paths) }, { weight: 1, arbitrary: fc.webPath() }, { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((s) => '/a2a/rest/' + s) }),
  version: headerValue,
  contentType: fc.oneof(fc.constantFrom('application/json', 'application/a2a+json', 'text/plain', 'application/json; charset=utf-8'), headerValue),
  extra: fc.array(fc.tuple(fc.constantFrom('Authorization', 'Last-Event-ID', 'X-Penguiflow-Tenant', 'X-Penguiflow-Deadline', 'Transfer-Encoding', 'X-Fuzz', 'Content-Length'), headerValue), { maxLength: 3 }),
  framing: fc.constantFrom('exact', 'exact', 'exact', 'short', 'chunked'),
  body,
});

function encode(r: { method: string; path: string; version: string; contentType: string; extra: [string, string][]; framing: string; body: string }): Buffer {
  const payload = Buffer.from(r.body, 'utf8');
  const lines = [`${r.method} ${r.path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close', `A2A-Version: ${r.version}`, `Content-Type: ${r.contentType}`];
  for (const [k, v] of r.extra) lines.push(`${k}: ${v}`);
  if (r.framing === 'chunked') {
    lines.push('Transfer-Encoding: chunked');
    return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), Buffer.from(`${payload.length.toString(16)}\r\n`), payload, Buffer.from('\r\n0\r\n\r\n')]);
  }
  lines.push(`Content-Length: ${r.framing === 'short' ? Math.floor(payload.length / 2) : payload.length}`);
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), payload]);
}

function checkSpecAnswer(res: RawResponse, label: string): void {
  expect(res.status, label).toBeGreaterThanOrEqual(200);
  expect(res.status, label).toBeLessThan(500);
  if (res.status === 200 || res.status === 204 || !/content-type: application\/(a2a\+)?json/i.test(res.head)) return; // success, SSE, or Node's own 400
  const parsed = JSON.parse(res.body) as { jsonrpc?: string; error?: { code?: number; status?: string; details?: unknown[]; data?: unknown[] } };
  expect(parsed.error, label).toBeDefined();
  if (parsed.jsonrpc === '2.0') expect(typeof parsed.error!.code, label).toBe('number');
  else expect(typeof parsed.error!.status, label).toBe('string');
}

describe('fuzz: hostile requests get spec errors, the server survives', () => {
  it('10,000 malformed/hostile requests: no 5xx, no crash, no internal fault, flat heap', async () => {
    const run = (numRuns: number, seed: number) =>
      fc.assert(
        fc.asyncProperty(request, async (r) => {
          const res = await raw(encode(r));
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          checkSpecAnswer(res, `${r.method} ${r.path.slice(0, 60)} [${r.framing}] ${r.body.slice(0, 80)} → ${res.head.split('\r\n')[0]} ${res.body.slice(0, 200)}`);
        }),
        { numRuns, seed, endOnFailure: true },
      );
    await run(1_000, 1); // warm-up: JIT, pools, caches
    gc();
    const before = process.memoryUsage().heapUsed;
    await run(10_000, 42);
    await new Promise((r) => setTimeout(r, 200));
    gc();
    const after = process.memoryUsage().heapUsed;
    expect(faults).toEqual([]);
    // The mix reached every layer: HTTP parser (400), JSON-RPC/REST validation (200 with error / 400), routing (404), body limit (413).
    console.info('fuzz statuses', JSON.stringify(Object.fromEntries(statuses)));
    for (const s of [200, 400, 404, 413]) expect(statuses.get(s) ?? 0, `status ${s}`).toBeGreaterThan(0);
    expect(after - before, `heap grew ${((after - before) / 1e6).toFixed(1)} MB`).toBeLessThan(16 * 1024 * 1024);
    // still serving
    const ok = await fetch(`${agent.url}/a2a/jsonrpc`, { method: 'POST', headers: { 'A2A-Version': '1.0', 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { messageId: 'after-fuzz', role: 'ROLE_USER', parts: [{ text: 'alive' }] } } }) });
    expect(((await ok.json()) as { result: { task: { status: { state: string } } } }).result.task.status.state).toBe('TASK_STATE_COMPLETED');
  }, 300_000);

  it('a slow request body times out (the connection is cut after requestTimeoutMs)', async () => {
    const socket = connect(port, '127.0.0.1');
    const started = Date.now();
    const closed = new Promise<{ ms: number; text: string }>((resolve) => {
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve({ ms: Date.now() - started, text }));
    });
    socket.write(`POST /a2a/jsonrpc HTTP/1.1\r\nHost: x\r\nA2A-Version: 1.0\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"jsonrpc":`);
    const drip = setInterval(() => socket.write(' '), 100); // a byte now and then: only the total time bound helps
    const { ms, text } = await closed;
    clearInterval(drip);
    expect(ms).toBeLessThan(4_000);
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(text === '' || /^HTTP\/1\.1 408/.test(text)).toBe(true);
  });

  it('slow headers time out too', async () => {
    const socket = connect(port, '127.0.0.1');
    const started = Date.now();
    const closed = new Promise<number>((resolve) => {
      socket.on('data', () => undefined);
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(Date.now() - started));
    });
    socket.write('POST /a2a/jsonrpc HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => socket.write('X-A: b\r\n'), 100);
    const ms = await closed;
    clearInterval(drip);
    expect(ms).toBeLessThan(4_000);
  });
});

describe('fuzz behind authentication: hostile credentials', () => {
  let issuer: Issuer;
  let secured: RunningAgent;
  const securedFaults: unknown[] = [];
  const key = generateApiKey();
  beforeAll(async () => {
    issuer = await startIssuer();
    const security = createA2ASecurity({
      authenticators: [
        createJwtAuthenticator({ jwksUrl: issuer.jwksUrl, issuer: ISSUER, audience: AUDIENCE }),
        createApiKeyAuthenticator({ keys: [{ id: 'k', hash: hashApiKey(key), tenants: ['acme'], scopes: ['admin'] }] }),
      ],
    });
    secured = await startAgent({ auth: security.auth, authorize: security.authorize, onError: (e) => securedFaults.push(e), card: { name: 's', description: 's', ...security.card } });
  });
  afterAll(async () => {
    await secured?.close();
    await issuer?.close();
  });

  it('2,000 requests with forged, truncated, oversized and injected credentials: 401/403/4xx, never 5xx', async () => {
    const securedPort = Number(new URL(secured.url).port);
    const token = await issuer.mint({ tenants: ['acme'], scope: 'read' });
    const [h, p, sig] = token.split('.') as [string, string, string];
    const credential = fc.oneof(
      fc.string({ maxLength: 200 }).map((s) => `Authorization: Bearer ${s}`),
      fc.constantFrom(`${h}.${p}.`, `${h}.${p}`, `${h}..${sig}`, `eyJhbGciOiJub25lIn0.${p}.`, `${h}.${p}.${sig}x`, 'x'.repeat(20_000), `${h}.${Buffer.from('{"exp":"soon","tenants":{}}').toString('base64url')}.${sig}`).map((t) => `Authorization: Bearer ${t}`),
      fc.string({ maxLength: 100 }).map((s) => `X-API-Key: ${s}`),
      fc.constantFrom(`X-API-Key: ${key}x`, `Authorization: ApiKey ${key.slice(0, -1)}`, 'Authorization: Basic Zm9vOmJhcg==', 'Authorization: Bearer', 'Authorization: bearer  ', `X-API-Key: ${'k'.repeat(10_000)}`),
    );
    await fc.assert(
      fc.asyncProperty(credential, fc.constantFrom('/a2a/rest/tasks', '/a2a/rest/acme/tasks', '/a2a/jsonrpc', '/a2a/rest/extendedAgentCard'), async (cred, path) => {
        const isRpc = path === '/a2a/jsonrpc';
        const payload = isRpc ? JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ListTasks', params: {} }) : '';
        const head = [`${isRpc ? 'POST' : 'GET'} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', 'A2A-Version: 1.0', 'Content-Type: application/json', cred, `Content-Length: ${Buffer.byteLength(payload)}`];
        const res = await raw(Buffer.from(head.join('\r\n') + '\r\n\r\n' + payload, 'latin1'), 10_000, securedPort);
        checkSpecAnswer(res, `${cred.slice(0, 80)} ${path} → ${res.head.split('\r\n')[0]} ${res.body.slice(0, 160)}`);
        expect(res.status, cred.slice(0, 80)).not.toBe(200); // none of these is a valid credential
      }),
      { numRuns: 2_000, seed: 7 },
    );
    expect(securedFaults).toEqual([]);
  }, 120_000);
});
