/**
 * Bounded fuzz with fast-check: 10,000 malformed or hostile requests (bad
 * JSON, deep nesting, huge strings, wrong types, random envelopes and paths,
 * header injection, broken framing) sent as raw bytes over TCP to a real
 * server on 127.0.0.1. Every answer is a spec error (JSON-RPC error object or
 * google.rpc.Status, or Node's own 400 for unparseable HTTP), never a 5xx;
 * the server never crashes and logs no internal fault; its heap is flat
 * afterwards. Slow request bodies and slow headers time out.
 */
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import * as grpc from '@grpc/grpc-js';
import { Packr } from 'msgpackr';
import WebSocket from 'ws';
import { createA2AGrpcServer, type A2AGrpcServer } from '../../src/a2a/grpc/index.js';
import { createA2AWebSocketEndpoint, WS_JSON_PROTOCOL, WS_MSGPACK_PROTOCOL, type A2AWebSocketEndpoint } from '../../src/a2a/ws/index.js';
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

describe('fuzz: gRPC requests and WebSocket frames', () => {
  let target = '';
  let grpcServer: A2AGrpcServer;
  let wsEndpoint: A2AWebSocketEndpoint | undefined;
  let fuzzed: RunningAgent;
  const fuzzFaults: unknown[] = [];
  beforeAll(async () => {
    fuzzed = await startAgent({
      onError: (e) => fuzzFaults.push(e),
      onListen: (srv) => srv.on('upgrade', (req: IncomingMessage, s: Duplex, head: Buffer) => wsEndpoint?.handleUpgrade(req, s, head)),
    });
    wsEndpoint = createA2AWebSocketEndpoint({ server: fuzzed.server, onError: (e) => fuzzFaults.push(e) });
    grpcServer = createA2AGrpcServer({ server: fuzzed.server, onError: (e) => fuzzFaults.push(e) });
    target = (await grpcServer.listen()).target;
  });
  afterAll(async () => {
    await wsEndpoint?.close();
    await grpcServer?.close();
    await fuzzed?.close();
  });

  it('5,000 malformed gRPC calls (random bytes, random paths, hostile metadata): a status every time, no internal fault', async () => {
    const client = new grpc.Client(target, grpc.credentials.createInsecure());
    const service = '/lf.a2a.v1.A2AService/';
    const names = [...Object.values(METHODS), 'Nope', 'constructor', '__proto__', ''];
    const codes = new Map<number, number>();
    const call = fc.record({
      name: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...names) }, { weight: 1, arbitrary: fc.string({ maxLength: 20 }) }),
      bytes: fc.oneof(fc.uint8Array({ maxLength: 400 }), fc.constant(new Uint8Array(0))),
      version: fc.oneof(fc.constantFrom('1.0', '1.0', '0.3', ''), fc.string({ maxLength: 10 })),
      tenant: fc.option(fc.oneof(fc.constantFrom('acme', '', '../x', 'a'.repeat(200)), fc.string({ maxLength: 20 })), { nil: undefined }),
      lastEventId: fc.option(fc.oneof(fc.string({ maxLength: 10 }), fc.constant('99999999999999999999')), { nil: undefined }),
    });
    const streaming = new Set<string>(['SendStreamingMessage', 'SubscribeToTask']);
    await fc.assert(
      fc.asyncProperty(call, async (c) => {
        const md = new grpc.Metadata();
        md.set('a2a-version', c.version.replace(/[^\x20-\x7e]/g, ''));
        if (c.tenant !== undefined) md.set('x-penguiflow-tenant', c.tenant.replace(/[^\x20-\x7e]/g, ''));
        if (c.lastEventId !== undefined) md.set('last-event-id', c.lastEventId.replace(/[^\x20-\x7e]/g, ''));
        const path = service + c.name.replace(/[^\x21-\x7e]/g, '');
        const id = (b: Buffer) => b;
        const code = await new Promise<{ code: number; details: string }>((resolve) => {
          const opts = { deadline: Date.now() + 5_000 };
          if (streaming.has(c.name)) {
            const s = client.makeServerStreamRequest(path, id, id, Buffer.from(c.bytes), md, opts);
            let done = false;
            const end = (code: number, details = '') => {
              if (done) return;
              done = true;
              s.cancel();
              resolve({ code, details });
            };
            s.on('data', () => end(0));
            s.on('error', (e: grpc.ServiceError) => end(e.code, e.details));
            s.on('end', () => end(0));
          } else client.makeUnaryRequest(path, id, id, Buffer.from(c.bytes), md, opts, (err) => resolve(err ? { code: err.code, details: err.details } : { code: 0, details: '' }));
        });
        codes.set(code.code, (codes.get(code.code) ?? 0) + 1);
        expect(code.code, `${c.name} → ${code.code}`).not.toBe(grpc.status.DEADLINE_EXCEEDED); // answered, never hung
        expect(code.code, `${c.name} → ${code.code}`).not.toBe(grpc.status.UNKNOWN);
        // INTERNAL only from grpc-js itself, for bytes that are not the method's protobuf message
        if ((code.code as grpc.status) === grpc.status.INTERNAL) expect(code.details, c.name).toMatch(/deserializ|parse|invalid wire|index out of range|premature|illegal/i);
      }),
      { numRuns: 5_000, seed: 11 },
    );
    client.close();
    console.info('grpc fuzz codes', JSON.stringify(Object.fromEntries(codes)));
    expect(fuzzFaults).toEqual([]);
    expect(codes.get(grpc.status.UNIMPLEMENTED) ?? 0).toBeGreaterThan(0); // random paths
    expect(codes.get(grpc.status.FAILED_PRECONDITION) ?? 0).toBeGreaterThan(0); // bad versions
  }, 300_000);

  it('5,000 malformed WebSocket frames (JSON and msgpack): one typed reply per frame, the connection survives, no internal fault', async () => {
    const open = (protocol: string) =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(`${fuzzed.url.replace(/^http/, 'ws')}/a2a/ws`, [protocol]);
        ws.once('open', () => resolve(ws));
        ws.once('error', reject);
      });
    const json = await open(WS_JSON_PROTOCOL);
    const mp = await open(WS_MSGPACK_PROTOCOL);
    const packr = new Packr({ useRecords: false });
    const replies = { json: [] as Record<string, unknown>[], mp: [] as Record<string, unknown>[] };
    json.on('message', (d) => replies.json.push(JSON.parse(d.toString()) as Record<string, unknown>));
    mp.on('message', (d) => replies.mp.push(packr.unpack(d as Buffer) as Record<string, unknown>));
    const frameValue = fc.oneof(
      { weight: 4, arbitrary: fc.record({ op: fc.oneof(fc.constantFrom('get', 'cancel', 'subscribe', 'unsubscribe', 'constructor', '__proto__', 'toString'), fc.string({ maxLength: 10 })), id: fc.anything(), taskId: fc.oneof(fc.string({ maxLength: 300 }), fc.anything()), lastEventId: fc.anything() }, { requiredKeys: [] }) },
      { weight: 2, arbitrary: fc.jsonValue() },
      { weight: 1, arbitrary: fc.anything() },
    );
    const frame = fc.oneof(
      { weight: 6, arbitrary: frameValue.map((v) => ({ text: JSON.stringify(v) ?? 'null', value: v })) },
      { weight: 2, arbitrary: fc.string({ maxLength: 200 }).map((t) => ({ text: t, value: t })) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((u) => ({ text: Buffer.from(u).toString('latin1'), value: u })) },
    );
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(frame, async (f) => {
        sent++;
        json.send(f.text);
        let packed: Buffer;
        try {
          packed = packr.pack(f.value);
        } catch {
          packed = Buffer.from(f.text, 'latin1');
        }
        if (sent % 7 === 0) mp.send(f.text); // some text frames on the msgpack protocol too
        else mp.send(packed, { binary: true });
        if (sent % 100 === 0) await expect.poll(() => Math.min(replies.json.length, replies.mp.length), { timeout: 10_000 }).toBe(sent);
      }),
      { numRuns: 5_000, seed: 13 },
    );
    await expect.poll(() => [replies.json.length, replies.mp.length], { timeout: 10_000 }).toEqual([sent, sent]);
    for (const r of [...replies.json, ...replies.mp]) {
      expect(typeof r.op).toBe('string');
      if (r.op === 'error') expect((r.error as { reason: string }).reason).not.toBe('INTERNAL_ERROR');
    }
    expect(json.readyState).toBe(WebSocket.OPEN);
    expect(mp.readyState).toBe(WebSocket.OPEN);
    expect(fuzzFaults).toEqual([]);
    json.close();
    mp.close();
  }, 300_000);
});
