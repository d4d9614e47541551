/**
 * Limits that hold on every entry point: Object.prototype method names are
 * answered -32601 at once (never a held socket); one tenant at its stream
 * quota does not stop another (SSE, gRPC and WebSocket share one per-tenant
 * budget); WebSocket frames spend the same rate-limit budget as HTTP; gRPC
 * serves the extended card; the card built from Host varies on Host.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import { createA2AGrpcClient, createA2AGrpcServer, type A2AGrpcServer } from '../../src/a2a/grpc/index.js';
import { createA2AWebSocketEndpoint, WS_JSON_PROTOCOL, type A2AWebSocketEndpoint } from '../../src/a2a/ws/index.js';
import { createA2ASecurity, createApiKeyAuthenticator, createRateLimiter, generateApiKey, hashApiKey } from '../../src/security/index.js';
import { startAgent, type RunningAgent } from './a2a-fixtures.js';

const V1 = { 'A2A-Version': '1.0', 'Content-Type': 'application/json' };

async function withWs(agentOpts: Parameters<typeof startAgent>[0], body: (agent: RunningAgent, ws: A2AWebSocketEndpoint) => Promise<void>): Promise<void> {
  const late: { ws?: A2AWebSocketEndpoint } = {};
  const agent = await startAgent({ ...agentOpts, onListen: (srv) => srv.on('upgrade', (req: IncomingMessage, s: Duplex, head: Buffer) => late.ws?.handleUpgrade(req, s, head)) });
  const ws = createA2AWebSocketEndpoint({ server: agent.server, onError: () => undefined });
  late.ws = ws;
  try {
    await body(agent, ws);
  } finally {
    await ws.close();
    await agent.close();
  }
}

function wsConnect(url: string, query: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/a2a/ws${query}`, [WS_JSON_PROTOCOL], { headers });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function frame(ws: WebSocket, f: Record<string, unknown>): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const on = (d: WebSocket.RawData) => {
      const m = JSON.parse(d.toString()) as Record<string, unknown>;
      if (m.id !== f.id) return;
      ws.off('message', on);
      resolve(m);
    };
    ws.on('message', on);
    ws.send(JSON.stringify(f));
  });
}

describe('v0.3 method names inherited from Object.prototype', () => {
  let agent: RunningAgent;
  const key = generateApiKey();
  beforeAll(async () => {
    const security = createA2ASecurity({ authenticators: [createApiKeyAuthenticator({ keys: [{ id: 'k', hash: hashApiKey(key), tenants: ['acme'], scopes: ['admin'] }] })] });
    agent = await startAgent({ auth: security.auth, authorize: security.authorize, limits: { requestTimeoutMs: 5_000 } });
  });
  afterAll(() => agent.close());

  it.each(['constructor', 'toString', '__proto__', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__'])('%s → -32601 at once; anonymous → 401', async (method) => {
    const started = Date.now();
    const res = await fetch(`${agent.url}/a2a/jsonrpc`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-API-Key': key }, body: JSON.stringify({ jsonrpc: '2.0', id: 7, method, params: {} }) });
    const body = (await res.json()) as { id: number; error: { code: number } };
    expect(body).toMatchObject({ id: 7, error: { code: -32601 } });
    expect(Date.now() - started).toBeLessThan(1_000);
    const anon = await fetch(`${agent.url}/a2a/jsonrpc`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 8, method, params: {} }) });
    expect(anon.status).toBe(401);
  });
});

describe('per-tenant stream quota, shared by SSE, gRPC and WebSocket', () => {
  it('tenant A at its quota gets 503 / RESOURCE_EXHAUSTED on every transport; tenant B still streams', async () => {
    await withWs({ limits: { maxStreams: 16, maxStreamsPerTenant: 2 } }, async (agent) => {
      const grpcServer: A2AGrpcServer = createA2AGrpcServer({ server: agent.server, onError: () => undefined });
      const { target } = await grpcServer.listen();
      const client = createA2AGrpcClient(target);
      const ctl = new AbortController();
      try {
        const slow = async (tenant: string) => {
          const r = await fetch(`${agent.url}/a2a/rest/${tenant}/message:send`, { method: 'POST', headers: V1, body: JSON.stringify({ message: { messageId: `q-${Math.random()}`, role: 'ROLE_USER', parts: [{ text: 'slow:4000' }] }, configuration: { returnImmediately: true } }) });
          return ((await r.json()) as { task: { id: string } }).task.id;
        };
        const subscribe = (tenant: string, id: string) => fetch(`${agent.url}/a2a/rest/${tenant}/tasks/${id}:subscribe`, { headers: V1, signal: ctl.signal });
        const a1 = await subscribe('tenant-a', await slow('tenant-a'));
        const a2 = await subscribe('tenant-a', await slow('tenant-a'));
        expect([a1.status, a2.status]).toEqual([200, 200]);
        const a3 = await subscribe('tenant-a', await slow('tenant-a'));
        expect(a3.status).toBe(503);
        expect(await a3.text()).toContain('RESOURCE_EXHAUSTED');
        // gRPC: the same budget
        const grpcStream = client.subscribeStream({ id: await slow('tenant-a'), tenant: 'tenant-a' });
        await expect(grpcStream.next()).rejects.toMatchObject({ details: { grpcCode: grpc.status.UNAVAILABLE } });
        // WebSocket: the same budget
        const ws = await wsConnect(agent.url, '?tenant=tenant-a');
        const refused = await frame(ws, { op: 'subscribe', id: 1, taskId: await slow('tenant-a') });
        expect(refused).toMatchObject({ op: 'error', error: { reason: 'RESOURCE_EXHAUSTED' } });
        ws.close();
        // tenant B is not affected, on any transport
        const b = await subscribe('tenant-b', await slow('tenant-b'));
        expect(b.status).toBe(200);
        const wsB = await wsConnect(agent.url, '?tenant=tenant-b');
        expect(await frame(wsB, { op: 'subscribe', id: 2, taskId: await slow('tenant-b') })).toMatchObject({ op: 'subscribed' });
        wsB.close();
        expect(agent.server.gate.streamCounts().byTenant['tenant-a']).toBe(2);
        // closing a stream gives the slot back
        await a1.body?.cancel();
        await expect.poll(() => agent.server.gate.streamCounts().byTenant['tenant-a']).toBe(1);
      } finally {
        ctl.abort();
        client.close();
        await grpcServer.close();
      }
    });
  });
});

describe('WebSocket frames go through authorize: scopes and rate limits', () => {
  it('a 5-per-minute tenant budget holds for frames (HTTP and WebSocket share it); a read-only key cannot cancel', async () => {
    const key = generateApiKey();
    const readKey = generateApiKey();
    const security = createA2ASecurity({
      authenticators: [createApiKeyAuthenticator({ keys: [{ id: 'k', hash: hashApiKey(key), tenants: ['acme'], scopes: ['admin'] }, { id: 'r', hash: hashApiKey(readKey), tenants: ['ro'], scopes: ['read'] }] })],
      rateLimiter: createRateLimiter({ perTenant: { points: 5, durationSec: 60 } }),
    });
    await withWs({ auth: security.auth, authorize: security.authorize }, async (agent) => {
      const ws = await wsConnect(agent.url, '', { 'x-api-key': key });
      const replies = [];
      for (let i = 0; i < 20; i++) replies.push(await frame(ws, { op: 'get', id: i, taskId: 'nope' }));
      const limited = replies.filter((r) => (r.error as { reason?: string } | undefined)?.reason === 'RATE_LIMITED');
      expect(limited.length).toBeGreaterThanOrEqual(15);
      ws.close();
      const http = await fetch(`${agent.url}/a2a/rest/tasks`, { headers: { ...V1, 'X-API-Key': key } });
      expect(http.status).toBe(429);
      const ro = await wsConnect(agent.url, '', { 'x-api-key': readKey });
      expect(await frame(ro, { op: 'cancel', id: 99, taskId: 'any' })).toMatchObject({ op: 'error', error: { reason: 'PERMISSION_DENIED' } });
      ro.close();
    });
  });
});

describe('cards', () => {
  let agent: RunningAgent;
  let grpcServer: A2AGrpcServer;
  beforeAll(async () => {
    agent = await startAgent({ extendedCard: { name: 'extended!', description: 'more', version: '1.0.0', supportedInterfaces: [], capabilities: {}, defaultInputModes: [], defaultOutputModes: [], skills: [] } });
    grpcServer = createA2AGrpcServer({ server: agent.server });
  });
  afterAll(async () => {
    await grpcServer.close();
    await agent.close();
  });

  it('gRPC GetExtendedAgentCard answers the configured extended card', async () => {
    const { target } = await grpcServer.listen();
    const client = createA2AGrpcClient(target);
    try {
      expect((await client.getExtendedAgentCard()).name).toBe('extended!');
    } finally {
      client.close();
    }
  });

  it('a card built from the Host header varies on Host; a malformed Host is not echoed', async () => {
    const res = await fetch(`${agent.url}/.well-known/agent-card.json`, { headers: { 'A2A-Version': '1.0' } });
    expect(res.headers.get('vary')).toMatch(/Host/);
    await res.body?.cancel();
    const { request } = await import('node:http');
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(`${agent.url}/.well-known/agent-card.json`, { headers: { 'A2A-Version': '1.0', Host: 'evil.example/"><script>' } }, (r) => {
        let t = '';
        r.on('data', (d: Buffer) => (t += d.toString()));
        r.on('end', () => resolve(t));
      });
      req.on('error', reject);
      req.end();
    });
    expect(body).not.toContain('evil.example');
    expect(body).toContain('http://127.0.0.1/a2a/jsonrpc');
  });
});
