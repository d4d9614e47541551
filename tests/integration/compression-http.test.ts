/**
 * HTTP compression and connection reuse on a real server on 127.0.0.1:
 * withHttpCompression around the A2A handler, createA2AFetch on the client.
 * A 1 MiB text and a 5 MiB binary cross compressed in both directions and
 * arrive byte-identical; corrupt / oversized / unknown encodings get typed
 * errors; a bounded pool keeps to its socket count.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { message } from '../../src/index.js';
import { createA2AClient, createA2AFetch, createA2AServer, withHttpCompression, type Task } from '../../src/a2a/index.js';
import { InMemoryStateStore } from '../../src/adapters/memory/index.js';
import { makeAgentFlow, startAgent, type RunningAgent } from './a2a-fixtures.js';

let agent: RunningAgent;
let http: Server;
let base: string;
const seenEncodings: string[] = [];
let sockets = 0;

beforeAll(async () => {
  agent = await startAgent({ limits: { maxBodyBytes: 32 * 1024 * 1024 } });
  const handler = withHttpCompression(agent.server.handler, { maxBodyBytes: 32 * 1024 * 1024, maxDecodedBytes: 32 * 1024 * 1024 });
  http = createServer((req, res) => {
    seenEncodings.push(String(req.headers['content-encoding'] ?? ''));
    handler(req, res);
  });
  http.on('connection', () => sockets++);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
afterAll(async () => {
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  await agent.close();
});

/** A raw request (so the test sees the wire: status, headers, compressed bytes). */
function raw(path: string, body: Buffer | undefined, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: body ? 'POST' : 'GET', headers: { 'a2a-version': '1.0', ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

const inflate = (r: { headers: IncomingHttpHeaders; body: Buffer }) =>
  r.headers['content-encoding'] === 'br' ? brotliDecompressSync(r.body) : r.headers['content-encoding'] === 'gzip' ? gunzipSync(r.body) : r.body;

const TEXT = Array.from({ length: 40_000 }, (_, i) => `line ${i} ünïcødé 🐧 penguiflow`).join('\n').slice(0, 1024 * 1024);

describe('HTTP compression', () => {
  it('a 1 MiB text crosses compressed both ways through createA2AClient + createA2AFetch, byte-identical', async () => {
    const pooled = createA2AFetch({ compressRequests: { thresholdBytes: 4096, encoding: 'gzip' } });
    const client = createA2AClient({ fetch: pooled, timeoutMs: 20_000 });
    seenEncodings.length = 0;
    const res = await client.send({ agentUrl: base, message: message(TEXT, { tenant: 'acme' }), idempotencyKey: randomUUID() });
    expect(res.payload).toBe(TEXT);
    expect(seenEncodings).toContain('gzip');
    // the same task read raw: the reply went brotli and is much smaller than the JSON
    const got = await raw(`/a2a/rest/tasks/${res.taskId}`, undefined, { 'accept-encoding': 'br, gzip', 'x-penguiflow-tenant': 'acme' });
    expect(got.headers['content-encoding']).toBe('br');
    expect(got.headers.vary).toContain('Accept-Encoding');
    const task = JSON.parse(inflate(got).toString('utf8')) as Task;
    expect(got.body.length).toBeLessThan(inflate(got).length / 4);
    expect(task.artifacts?.[0]?.parts[0]?.text).toBe(TEXT);
    await pooled.close();
  });

  it('a 5 MiB binary (raw part) crosses gzip in, brotli out, byte-identical', async () => {
    const block = randomBytes(4096);
    const bin = Buffer.alloc(5 * 1024 * 1024);
    for (let off = 0; off < bin.length; off += block.length) block.copy(bin, off);
    const body = Buffer.from(JSON.stringify({ message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ raw: bin.toString('base64'), mediaType: 'application/octet-stream' }] } }));
    const packed = gzipSync(body);
    expect(packed.length).toBeLessThan(body.length / 10);
    const res = await raw('/a2a/rest/message:send', packed, { 'content-encoding': 'gzip', 'accept-encoding': 'br' });
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe('br');
    const task = (JSON.parse(inflate(res).toString('utf8')) as { task: Task }).task;
    const echoed = task.artifacts?.[0]?.parts[0]?.data as { raw: string }[];
    expect(Buffer.compare(Buffer.from(echoed[0]!.raw, 'base64'), bin)).toBe(0);
  });

  it('small replies and clients without Accept-Encoding get identity', async () => {
    const card = await raw('/.well-known/agent-card.json', undefined, {});
    expect(card.headers['content-encoding']).toBeUndefined();
    JSON.parse(card.body.toString('utf8'));
  });

  it('a corrupt compressed body is a typed PARSE_ERROR (REST 400, JSON-RPC -32700)', async () => {
    const junk = Buffer.concat([gzipSync(Buffer.from('{"a":')).subarray(0, 10), randomBytes(50)]);
    const rest = await raw('/a2a/rest/message:send', junk, { 'content-encoding': 'gzip' });
    expect(rest.status).toBe(400);
    const restBody = JSON.parse(rest.body.toString('utf8')) as { error: { details: { reason: string }[] } };
    expect(restBody.error.details[0]?.reason).toBe('PARSE_ERROR');
    const rpc = await raw('/a2a/jsonrpc', junk, { 'content-encoding': 'br' });
    const rpcBody = JSON.parse(rpc.body.toString('utf8')) as { error: { code: number } };
    expect(rpcBody.error.code).toBe(-32700);
  });

  it('a decompression bomb is PAYLOAD_TOO_LARGE; an unknown encoding is 415', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
    const res = await raw('/a2a/rest/message:send', bomb, { 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect((JSON.parse(res.body.toString('utf8')) as { error: { details: { reason: string }[] } }).error.details[0]?.reason).toBe('PAYLOAD_TOO_LARGE');
    const odd = await raw('/a2a/rest/message:send', Buffer.from('{}'), { 'content-encoding': 'lzma' });
    expect(odd.status).toBe(415);
  });
});

describe('connection reuse', () => {
  it('createA2AFetch keeps to its per-origin pool: 24 concurrent calls over at most 2 sockets', async () => {
    const pooled = createA2AFetch({ connections: 2 });
    const client = createA2AClient({ fetch: pooled, timeoutMs: 20_000 });
    await client.resolve(base);
    const before = sockets;
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => client.send({ agentUrl: base, message: message(`n${i}`, { tenant: 'acme' }), idempotencyKey: randomUUID() })));
    expect(results.map((r) => r.payload)).toEqual(Array.from({ length: 24 }, (_, i) => `n${i}`));
    expect(sockets - before).toBeLessThanOrEqual(2);
    // and the sockets stay for the next burst
    const again = sockets;
    await client.send({ agentUrl: base, message: message('again', { tenant: 'acme' }), idempotencyKey: randomUUID() });
    expect(sockets).toBe(again);
    await pooled.close();
  });
});

describe('createA2AServer({ compression, onListen })', () => {
  it('listen() serves compressed replies and the WebSocket endpoint attached through onListen', async () => {
    const { createA2AWebSocketEndpoint } = await import('../../src/a2a/ws/index.js');
    const { default: WebSocket } = await import('ws');
    const flow = makeAgentFlow([], []);
    flow.run();
    const late: { ws?: ReturnType<typeof createA2AWebSocketEndpoint> } = {};
    const server = createA2AServer({ flow, store: new InMemoryStateStore(), card: { name: 'c', description: 'c' }, compression: { thresholdBytes: 512 }, onListen: (srv) => late.ws?.attach(srv), onError: () => undefined });
    const ws = createA2AWebSocketEndpoint({ server, onError: () => undefined });
    late.ws = ws;
    const { url } = await server.listen();
    try {
      const res = await fetch(`${url}/a2a/rest/message:send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'a2a-version': '1.0', 'accept-encoding': 'gzip' },
        body: JSON.stringify({ message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text: 'z'.repeat(4096) }] } }),
      });
      expect(res.headers.get('content-encoding')).toBe('gzip');
      expect(((await res.json()) as { task: Task }).task.artifacts?.[0]?.parts[0]?.text).toBe('z'.repeat(4096));
      const socket = new WebSocket(`${url.replace('http', 'ws')}/a2a/ws`);
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      });
      socket.close();
    } finally {
      await ws.close();
      await server.close();
      await flow.stop();
    }
  });
});
