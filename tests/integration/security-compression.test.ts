/**
 * Compression does not open a door before authentication: with `compression`
 * on and auth configured, an anonymous (or badly authenticated) compressed
 * body is refused 401 without being inflated — the process-wide inflate
 * counter does not move — while an authenticated one is inflated (bounded).
 */
import { brotliCompressSync, constants } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inflateCount } from '../../src/a2a/index.js';
import { createA2ASecurity, createApiKeyAuthenticator, generateApiKey, hashApiKey } from '../../src/security/index.js';
import { startAgent, type RunningAgent } from './a2a-fixtures.js';

const KEY = generateApiKey();
// ~15 MiB of one byte: a few dozen bytes once compressed
const BOMB = brotliCompressSync(Buffer.alloc(15 * 1024 * 1024, 0x20), { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
let agent: RunningAgent;

beforeAll(async () => {
  const security = createA2ASecurity({ authenticators: [createApiKeyAuthenticator({ keys: [{ id: 'k', hash: hashApiKey(KEY), tenants: ['acme'], scopes: ['admin'] }] })] });
  agent = await startAgent({ auth: security.auth, authorize: security.authorize, card: { name: 'c', description: 'c', ...security.card }, compression: {} });
});
afterAll(() => agent.close());

const post = (path: string, headers: Record<string, string>) =>
  fetch(`${agent.url}${path}`, { method: 'POST', headers: { 'A2A-Version': '1.0', 'Content-Type': 'application/json', 'Content-Encoding': 'br', ...headers }, body: BOMB });

describe('compressed bodies and authentication', () => {
  it(`a ${BOMB.byteLength}-byte brotli bomb from an anonymous or forged caller is 401 and never inflated (JSON-RPC and REST)`, async () => {
    expect(BOMB.byteLength).toBeLessThan(200);
    const before = inflateCount();
    for (let i = 0; i < 20; i++) {
      const rpc = await post('/a2a/jsonrpc', {});
      expect(rpc.status).toBe(401);
      expect(rpc.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const rest = await post('/a2a/rest/message:send', { 'X-API-Key': 'pfk_forged' });
      expect(rest.status).toBe(401);
      expect(((await rest.json()) as { error: { details: { reason: string }[] } }).error.details[0]!.reason).toBe('UNAUTHENTICATED');
    }
    expect(inflateCount()).toBe(before);
  });

  it('an authenticated caller is inflated, bounded: the bomb is 413, a normal compressed request works', async () => {
    const before = inflateCount();
    const bomb = await post('/a2a/jsonrpc', { 'X-API-Key': KEY });
    expect(bomb.status).toBe(413);
    expect(inflateCount()).toBe(before + 1);
    const ok = await fetch(`${agent.url}/a2a/rest/message:send`, {
      method: 'POST',
      headers: { 'A2A-Version': '1.0', 'Content-Type': 'application/json', 'Content-Encoding': 'br', 'X-API-Key': KEY },
      body: brotliCompressSync(Buffer.from(JSON.stringify({ message: { messageId: 'c-1', role: 'ROLE_USER', parts: [{ text: 'hello' }] } }))),
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { task: { artifacts: { parts: { text: string }[] }[] } }).task.artifacts[0]!.parts[0]!.text).toBe('hello');
    expect(inflateCount()).toBe(before + 2);
  });
});
