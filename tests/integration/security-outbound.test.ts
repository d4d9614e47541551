/**
 * Outbound safety over real sockets on 127.0.0.1: webhook URLs to internal
 * addresses are refused when configured (A2A -32602) and at delivery, with
 * the checked address pinned so DNS rebinding cannot slip through; loopback
 * only with the explicit test option; a remote agent URL off the allowlist
 * is refused before any connection.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlow, message } from '../../src/index.js';
import { createA2AClient } from '../../src/a2a/index.js';
import { remoteNode } from '../../src/remote/index.js';
import { allowlistTransport, createWebhookGuard } from '../../src/security/index.js';
import { startAgent } from './a2a-fixtures.js';

const V1 = { 'A2A-Version': '1.0', 'Content-Type': 'application/json' };
let hook: Server;
let hookPort = 0;
const received: IncomingMessage[] = [];

beforeAll(async () => {
  hook = createServer((req, res) => {
    received.push(req);
    req.resume();
    res.writeHead(200).end();
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookPort = (hook.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => hook.close(() => r())));

describe('webhook URLs (push notifications)', () => {
  it('refuses 127.0.0.1, ::1, 10.0.0.1, 169.254.169.254, a hostname resolving to loopback and a non-http scheme', async () => {
    const guard = createWebhookGuard();
    const agent = await startAgent({ push: { enabled: true, allowUrl: guard.allowUrl, fetch: guard.fetch } });
    try {
      const send = await fetch(`${agent.url}/a2a/rest/message:send`, { method: 'POST', headers: V1, body: JSON.stringify({ message: { messageId: 'o-1', role: 'ROLE_USER', parts: [{ text: 'x' }] } }) });
      const taskId = ((await send.json()) as { task: { id: string } }).task.id;
      for (const url of [`http://127.0.0.1:${hookPort}/h`, `http://[::1]:${hookPort}/h`, 'http://10.0.0.1/h', 'http://169.254.169.254/latest/meta-data/', `http://localhost:${hookPort}/h`, 'ftp://example.com/h', 'file:///etc/passwd']) {
        const r = await fetch(`${agent.url}/a2a/rest/tasks/${taskId}/pushNotificationConfigs`, { method: 'POST', headers: V1, body: JSON.stringify({ url }) });
        const body = (await r.json()) as { error?: { details: { reason: string }[]; message: string } };
        expect(r.status, url).toBe(400);
        expect(body.error?.details[0]?.reason, url).toBe('INVALID_PARAMS');
        // also as SendMessage configuration
        const r2 = await fetch(`${agent.url}/a2a/rest/message:send`, {
          method: 'POST',
          headers: V1,
          body: JSON.stringify({ message: { messageId: `o-${url}`, role: 'ROLE_USER', parts: [{ text: 'x' }] }, configuration: { taskPushNotificationConfig: { url } } }),
        });
        expect(r2.status, url).toBe(400);
      }
      expect(received).toHaveLength(0);
    } finally {
      await agent.close();
      await guard.close();
    }
  });

  it('pins the checked address: a DNS answer that flips to loopback (rebinding) never reaches the receiver', async () => {
    let calls = 0;
    // First answer public (passes the config-time check), every later answer loopback.
    const resolver = (host: string) => Promise.resolve(host === 'rebind.test' && calls++ === 0 ? [{ address: '93.184.216.34', family: 4 }] : [{ address: '127.0.0.1', family: 4 }]);
    const guard = createWebhookGuard({ resolver, connectTimeoutMs: 1_000 });
    const before = received.length;
    try {
      expect(await guard.allowUrl(new URL(`http://rebind.test:${hookPort}/h`))).toBe(true);
      await expect(guard.fetch(`http://rebind.test:${hookPort}/h`, { method: 'POST', body: '{}' })).rejects.toThrow();
      expect(received.length).toBe(before);
    } finally {
      await guard.close();
    }
  });

  it('delivers to loopback only with the explicit test option, to the pinned address, without following redirects', async () => {
    const guard = createWebhookGuard({ allowLoopback: true, resolver: () => Promise.resolve([{ address: '127.0.0.1', family: 4 }]) });
    const before = received.length;
    try {
      const r = await guard.fetch(`http://hooks.test:${hookPort}/h`, { method: 'POST', body: '{}' });
      expect(r.status).toBe(200);
      expect(received.length).toBe(before + 1);
      expect(received.at(-1)!.headers.host).toBe(`hooks.test:${hookPort}`); // the name is kept; only the address is pinned
    } finally {
      await guard.close();
    }
  });
});

describe('remote agent URL allowlist', () => {
  it('a disallowed agent URL is refused before any connection; an allowed one works', async () => {
    let connections = 0;
    const trap = createTcpServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    const trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
    const agent = await startAgent();
    const transport = allowlistTransport(createA2AClient({ timeoutMs: 2_000 }), [agent.url]);
    const bad = remoteNode({ name: 'bad', transport, agentUrl: trapUrl, policy: { maxRetries: 2 } });
    const good = remoteNode({ name: 'good', transport, agentUrl: agent.url });
    const badFlow = createFlow(bad);
    const goodFlow = createFlow(good);
    badFlow.run();
    goodFlow.run();
    try {
      await expect(badFlow.call(message('hi', { tenant: 't' }))).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(transport.cancel({ agentUrl: trapUrl, taskId: 'x' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
      const iter = transport.stream({ agentUrl: `${trapUrl}/`, message: message('x', { tenant: 't' }), idempotencyKey: 'k' });
      await expect(iter[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'FORBIDDEN' });
      expect(connections).toBe(0);
      expect((await goodFlow.call(message('hello', { tenant: 't' }))).payload).toBe('hello');
    } finally {
      await badFlow.stop();
      await goodFlow.stop();
      await agent.close();
      await new Promise<void>((r) => trap.close(() => r()));
    }
  });
});

describe('remote agent URL allowlist through the agent card (every hop checked, no redirects, bounded bodies)', () => {
  let trap: Server;
  let trapUrl = '';
  let trapConnections = 0;
  let fake: Server;
  let fakeUrl = '';
  const fakeSeen: { path: string; auth: string | undefined }[] = [];
  const card = (url: string) => ({
    name: 'fake',
    description: 'card pointing elsewhere',
    version: '1.0.0',
    supportedInterfaces: [{ url, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
    capabilities: { streaming: true },
    defaultInputModes: [],
    defaultOutputModes: [],
    skills: [],
  });

  beforeAll(async () => {
    trap = createServer((req, res) => res.writeHead(200).end('{}'));
    trap.on('connection', () => trapConnections++);
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
    fake = createServer((req, res) => {
      fakeSeen.push({ path: req.url ?? '', auth: req.headers.authorization });
      req.resume();
      const path = req.url ?? '';
      if (path.startsWith('/elsewhere/')) return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(card(`${trapUrl}/a2a/jsonrpc`)));
      if (path.startsWith('/redirect/')) return res.writeHead(302, { location: `${trapUrl}/.well-known/agent-card.json` }).end();
      if (path.startsWith('/huge/')) {
        // an endless card: the client must stop reading at its bound
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const pump = () => {
          while (res.write(chunk)) if (res.writableLength > 1 << 20) break;
        };
        res.on('drain', pump);
        pump();
        res.on('close', () => res.removeAllListeners('drain'));
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    fake.closeAllConnections();
    await new Promise<void>((r) => fake.close(() => r()));
    await new Promise<void>((r) => trap.close(() => r()));
  });

  const req = (agentUrl: string) => ({ agentUrl, message: message('secret payload', { tenant: 'acme' }), idempotencyKey: `k-${Math.random()}` });

  it("a card whose interface URL points elsewhere: the call fails FORBIDDEN and the other address gets zero connections", async () => {
    const transport = allowlistTransport(createA2AClient({ timeoutMs: 2_000, headers: { Authorization: 'Bearer client-token' } }), [`${fakeUrl}/elsewhere`]);
    await expect(transport.send(req(`${fakeUrl}/elsewhere/agent-card.json`))).rejects.toMatchObject({ code: 'FORBIDDEN', details: { reason: 'AGENT_URL_NOT_ALLOWED' } });
    expect(trapConnections).toBe(0);
    expect(fakeSeen.filter((s) => s.path.startsWith('/elsewhere/')).every((s) => s.path.includes('agent'))).toBe(true); // only the card was fetched
  });

  it('a 302 on the card path is not followed: FORBIDDEN, zero connections to the target', async () => {
    const transport = allowlistTransport(createA2AClient({ timeoutMs: 2_000, headers: { Authorization: 'Bearer client-token' } }), [`${fakeUrl}/redirect`]);
    await expect(transport.send(req(`${fakeUrl}/redirect/agent-card.json`))).rejects.toMatchObject({ code: 'FORBIDDEN', details: { reason: 'REDIRECT_NOT_FOLLOWED' } });
    expect(trapConnections).toBe(0);
  });

  it('without an allowlist a redirect is still not followed', async () => {
    await expect(createA2AClient({ timeoutMs: 2_000 }).send(req(`${fakeUrl}/redirect/agent-card.json`))).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(trapConnections).toBe(0);
  });

  it('an endless card is cut at maxResponseBytes (PAYLOAD_TOO_LARGE), memory stays flat', async () => {
    const before = process.memoryUsage().rss;
    const client = createA2AClient({ timeoutMs: 10_000, maxResponseBytes: 1024 * 1024 });
    await expect(client.send(req(`${fakeUrl}/huge/agent-card.json`))).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });
});

