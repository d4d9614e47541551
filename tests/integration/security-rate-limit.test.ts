/**
 * Rate limits in one process: a tenant over its budget gets 429 +
 * Retry-After (REST) or the JSON-RPC error -32043 + Retry-After, while
 * another tenant keeps its full rate; per-credential budgets inside one
 * tenant. (Across two processes sharing Redis: tests/e2e/security-rate-limit-processes.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { createA2ASecurity, createApiKeyAuthenticator, createRateLimiter, generateApiKey, hashApiKey, type RateLimiterOptions } from '../../src/security/index.js';
import { startAgent } from './a2a-fixtures.js';

const V1 = { 'A2A-Version': '1.0', 'Content-Type': 'application/json' };
const keys = { acme: generateApiKey(), acme2: generateApiKey(), globex: generateApiKey() };

async function limitedAgent(limits: RateLimiterOptions) {
  const security = createA2ASecurity({
    authenticators: [
      createApiKeyAuthenticator({
        keys: [
          { id: 'acme-1', hash: hashApiKey(keys.acme), tenants: ['acme'], scopes: ['admin'] },
          { id: 'acme-2', hash: hashApiKey(keys.acme2), tenants: ['acme'], scopes: ['admin'] },
          { id: 'globex-1', hash: hashApiKey(keys.globex), tenants: ['globex'], scopes: ['admin'] },
        ],
      }),
    ],
    rateLimiter: createRateLimiter(limits),
  });
  return startAgent({ auth: security.auth, authorize: security.authorize, card: { name: 'limited', description: 'rate limited', ...security.card } });
}

const list = (url: string, key: string) => fetch(`${url}/a2a/rest/tasks`, { headers: { ...V1, 'X-API-Key': key } });

describe('rate limits per tenant and per credential', () => {
  it('a tenant over budget gets 429 + Retry-After; another tenant keeps its full rate meanwhile', async () => {
    const agent = await limitedAgent({ perTenant: { points: 30, durationSec: 60 } });
    try {
      const flood = Promise.all(Array.from({ length: 80 }, () => list(agent.url, keys.acme)));
      const other = Promise.all(Array.from({ length: 30 }, () => list(agent.url, keys.globex)));
      const [a, g] = await Promise.all([flood, other]);
      expect(a.filter((r) => r.status === 200)).toHaveLength(30);
      const refused = a.filter((r) => r.status === 429);
      expect(refused).toHaveLength(50);
      const retry = Number(refused[0]!.headers.get('retry-after'));
      expect(retry).toBeGreaterThanOrEqual(1);
      expect(retry).toBeLessThanOrEqual(60);
      const body = (await refused[0]!.json()) as { error: { status: string; details: { reason: string; metadata: Record<string, string> }[] } };
      expect(body.error.status).toBe('RESOURCE_EXHAUSTED');
      expect(body.error.details[0]).toMatchObject({ reason: 'RATE_LIMITED', metadata: { limit: 'tenant' } });
      expect(g.map((r) => r.status)).toEqual(Array.from({ length: 30 }, () => 200)); // globex: all 30 at once, none refused

      const rpc = await fetch(`${agent.url}/a2a/jsonrpc`, { method: 'POST', headers: { ...V1, 'X-API-Key': keys.acme }, body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'ListTasks', params: {} }) });
      expect(rpc.status).toBe(429);
      expect(Number(rpc.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const err = (await rpc.json()) as { id: number; error: { code: number; data: { reason: string }[] } };
      expect(err.id).toBe(7);
      expect(err.error.code).toBe(-32043);
      expect(err.error.data[0]!.reason).toBe('RATE_LIMITED');
    } finally {
      await agent.close();
    }
  });

  it('a credential over its own budget is refused while another credential of the same tenant passes', async () => {
    const agent = await limitedAgent({ perTenant: { points: 100, durationSec: 60 }, perCredential: { points: 3, durationSec: 60 } });
    try {
      const first = await Promise.all(Array.from({ length: 5 }, () => list(agent.url, keys.acme)));
      expect(first.map((r) => r.status).sort()).toEqual([200, 200, 200, 429, 429]);
      const body = (await first.find((r) => r.status === 429)!.json()) as { error: { details: { metadata: Record<string, string> }[] } };
      expect(body.error.details[0]!.metadata.limit).toBe('credential');
      expect((await list(agent.url, keys.acme2)).status).toBe(200);
    } finally {
      await agent.close();
    }
  });
});
