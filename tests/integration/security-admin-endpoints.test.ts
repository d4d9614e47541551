/** Admin/ops endpoints behind authentication: /metrics needs the admin scope, probes stay open. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpsHandler } from '../../src/observability/index.js';
import { createApiKeyAuthenticator, generateApiKey, hashApiKey, protectHandler } from '../../src/security/index.js';

const admin = generateApiKey();
const reader = generateApiKey();
let server: Server;
let url = '';

beforeAll(async () => {
  const apiKeys = createApiKeyAuthenticator({
    keys: [
      { id: 'ops', hash: hashApiKey(admin), tenants: ['ops'], scopes: ['admin'] },
      { id: 'reader', hash: hashApiKey(reader), tenants: ['acme'], scopes: ['read'] },
    ],
  });
  const ops = createOpsHandler({ metrics: { handler: (_req, res) => void res.end('penguiflow_up 1\n') }, ready: () => Promise.resolve(true) });
  server = createServer(protectHandler(ops, { authenticators: [apiKeys] }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('protectHandler', () => {
  it('401 without or with a wrong credential, 403 without the admin scope, 200 with it; probes open; unknown paths 404', async () => {
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: { 'X-API-Key': 'nope' } })).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: { 'X-API-Key': reader } })).status).toBe(403);
    const ok = await fetch(`${url}/metrics`, { headers: { 'X-API-Key': admin } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('penguiflow_up 1');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await fetch(`${url}/other`, { headers: { 'X-API-Key': admin } })).status).toBe(404);
  });
});
