/**
 * Logs captured during a full run — a remoteNode calling a JWT-protected
 * agent with a secret-looking payload, a node that fails quoting its input,
 * an encoder that throws with the payload in its message (an internal
 * fault), and a webhook carrying credentials that keeps failing — contain
 * neither the secret nor the token. The server's default error logger is
 * used (nothing injected); everything written to stdout/stderr/console is
 * captured.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlow, message, node, type Message } from '../../src/index.js';
import { InMemoryStateStore } from '../../src/adapters/memory/index.js';
import { createA2AClient, createA2AServer, type A2AServer } from '../../src/a2a/index.js';
import { remoteNode } from '../../src/remote/index.js';
import { createA2ASecurity, createJwtAuthenticator } from '../../src/security/index.js';
import { AUDIENCE, ISSUER, startIssuer, type Issuer } from './security-fixtures.js';

const SECRET = 'sk_live_4f9aZQ7hT2mX8pL3vR6nW1cY5bK0dE';
const captured: string[] = [];
let issuer: Issuer;
let server: A2AServer;
let hook: Server;
let url = '';
let hookUrl = '';
const restore: (() => void)[] = [];

function capture(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
      return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
    });
    restore.push(() => (stream.write = original));
  }
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    const original = console[level];
    console[level] = (...args: unknown[]) => {
      captured.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    };
    restore.push(() => (console[level] = original));
  }
}

/** A store whose idempotency claim fails, quoting the key (a messageId holding the secret), as a driver error might. */
function faultyStore(): InMemoryStateStore {
  const store = new InMemoryStateStore();
  const claim = store.claimIdempotencyKey.bind(store);
  store.claimIdempotencyKey = (scope, key, taskId) => (key.startsWith('boom-') ? Promise.reject(new Error(`duplicate key value violates constraint: ${key}`)) : claim(scope, key, taskId));
  return store;
}

beforeAll(async () => {
  issuer = await startIssuer();
  hook = createServer((req, res) => {
    req.resume();
    res.writeHead(500).end();
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
  const agent = node('agent', (m: Message) => {
    const p = String(m.payload);
    if (p.startsWith('fail:')) throw new Error(`cannot handle input ${p}`);
    return p;
  });
  const flow = createFlow(agent);
  flow.run();
  const security = createA2ASecurity({ authenticators: [createJwtAuthenticator({ jwksUrl: issuer.jwksUrl, issuer: ISSUER, audience: AUDIENCE })] });
  server = createA2AServer({
    flow,
    store: faultyStore(),
    auth: security.auth,
    authorize: security.authorize,
    card: { name: 'logged', description: 'logged', ...security.card },
    push: { enabled: true, outbound: { allowLoopback: true }, maxAttempts: 2, backoffMs: 5 },
    codec: {
      encode: (payload) => {
        if (typeof payload === 'string' && payload.startsWith('encode-fail:')) throw new Error(`cannot encode ${payload}`);
        return [{ text: String(payload) }];
      },
    },
  });
  ({ url } = await server.listen());
  restore.push(() => void flow.stop());
});

afterAll(async () => {
  for (const r of restore.reverse()) r();
  await server?.close();
  await issuer?.close();
  await new Promise<void>((r) => hook.close(() => r()));
});

describe('logs carry no payloads, tokens or secrets', () => {
  it('a full run with a secret payload and a bearer token', async () => {
    const token = await issuer.mint({ tenants: ['acme'], scope: 'send read cancel' });
    capture();
    const client = createA2AClient({ headers: { Authorization: `Bearer ${token}` }, timeoutMs: 10_000 });
    const caller = createFlow(remoteNode({ name: 'call', transport: client, agentUrl: url, policy: { maxRetries: 0 } }));
    caller.run();
    try {
      expect((await caller.call(message(`hello ${SECRET}`, { tenant: 'acme' }))).payload).toBe(`hello ${SECRET}`);
      await expect(caller.call(message(`fail:${SECRET}`, { tenant: 'acme' }))).rejects.toThrow();
      await expect(caller.call(message(`encode-fail:${SECRET}`, { tenant: 'acme' }))).rejects.toThrow();
      // A webhook with credentials that always fails → the notifier reports it.
      const r = await fetch(`${url}/a2a/rest/message:send`, {
        method: 'POST',
        headers: { 'A2A-Version': '1.0', 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: JSON.stringify({
          message: { messageId: 'logs-1', role: 'ROLE_USER', parts: [{ text: SECRET }] },
          configuration: { taskPushNotificationConfig: { url: hookUrl, token: SECRET, authentication: { scheme: 'Bearer', credentials: token } } },
        }),
      });
      expect(r.status).toBe(200);
      await server.pushIdle();
      // An internal fault whose error message quotes the secret.
      const fault = await fetch(`${url}/a2a/rest/message:send`, {
        method: 'POST',
        headers: { 'A2A-Version': '1.0', 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: JSON.stringify({ message: { messageId: `boom-${SECRET}`, role: 'ROLE_USER', parts: [{ text: 'x' }] } }),
      });
      expect(fault.status).toBe(500);
      expect(await fault.text()).not.toContain(SECRET);
      // Bad credentials on the wire too.
      await fetch(`${url}/a2a/rest/tasks`, { headers: { 'A2A-Version': '1.0', Authorization: `Bearer ${token}x` } });
    } finally {
      await caller.stop();
      for (const r of restore.splice(0).reverse()) r();
    }
    const all = captured.join('\n');
    const lines = all.split('\n').filter((l) => l.includes('penguiflow/a2a'));
    expect(lines.length).toBeGreaterThanOrEqual(2); // the internal fault and the failed webhook were logged…
    expect(all).toContain('messageSha256');
    expect(lines.some((l) => l.includes('"binding":"rest"'))).toBe(true); // the store fault was logged
    expect(all).not.toContain(SECRET); // …without the payload,
    expect(all).not.toContain(token); // the token,
    expect(all).not.toContain(token.split('.')[2]!); // or even its signature
  });
});
