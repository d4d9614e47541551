/** API keys (stored hashed), scopes per operation, and the auth/authorize pair of createA2ASecurity, without a network. */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { A2AProtocolError } from '../../src/a2a/index.js';
import { createA2ASecurity, createApiKeyAuthenticator, generateApiKey, hasScope, hashApiKey, parseScopes } from '../../src/security/index.js';

const req = (headers: Record<string, string>) => ({ headers, socket: {} }) as unknown as IncomingMessage;

describe('API keys', () => {
  const key = generateApiKey();
  const expiredKey = generateApiKey();
  const pepper = 'pepper-from-env';
  const apiKeys = createApiKeyAuthenticator({
    pepper,
    keys: [
      { id: 'k1', hash: hashApiKey(key, pepper), tenants: ['acme'], scopes: ['read'] },
      { id: 'k2', hash: hashApiKey(expiredKey, pepper), tenants: ['acme'], scopes: ['read'], expiresAt: Date.now() - 1 },
    ],
  });

  it('stores only a hash: the record holds no key material', () => {
    expect(key).toMatch(/^pfk_[A-Za-z0-9_-]{43}$/);
    const h = hashApiKey(key, pepper);
    expect(h).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(h).not.toContain(key.slice(4, 20));
    expect(hashApiKey(key)).not.toBe(h); // the pepper matters
  });

  it('recognises the right key (header or Authorization: ApiKey), refuses wrong and expired keys, ignores requests without one', async () => {
    expect(await apiKeys.authenticate(req({ 'x-api-key': key }))).toMatchObject({ ok: true, principal: { tenant: 'acme', credentialId: 'key:k1', scopes: ['read'] } });
    expect(await apiKeys.authenticate(req({ authorization: `ApiKey ${key}` }))).toMatchObject({ ok: true });
    expect(await apiKeys.authenticate(req({ 'x-api-key': key + 'x' }))).toEqual({ ok: false, failure: 'invalid' });
    expect(await apiKeys.authenticate(req({ 'x-api-key': expiredKey }))).toEqual({ ok: false, failure: 'expired' });
    expect(await apiKeys.authenticate(req({}))).toBeUndefined();
    expect(await apiKeys.authenticate(req({ authorization: 'Bearer abc' }))).toBeUndefined();
  });

  it('createA2ASecurity: 401 reasons, tenant binding, scopes, fail closed on an unknown operation', async () => {
    const security = createA2ASecurity({ authenticators: [apiKeys] });
    expect(security.card.securitySchemes).toEqual({ apiKey: { apiKeySecurityScheme: { location: 'header', name: 'X-API-Key', description: 'API key' } } });
    await expect(security.auth(req({}))).rejects.toMatchObject({ reason: 'UNAUTHENTICATED' });
    await expect(security.auth(req({ 'x-api-key': 'nope' }))).rejects.toMatchObject({ reason: 'UNAUTHENTICATED', metadata: { failure: 'invalid' } });
    const principal = await security.auth(req({ 'x-api-key': key }));
    const r = req({});
    await expect(security.authorize({ req: r, principal, tenant: 'acme', operation: 'GetTask' })).resolves.toBeUndefined();
    await expect(security.authorize({ req: r, principal, tenant: 'globex', operation: 'GetTask' })).rejects.toMatchObject({ reason: 'PERMISSION_DENIED' });
    await expect(security.authorize({ req: r, principal, tenant: 'acme', operation: 'SendMessage' })).rejects.toMatchObject({ reason: 'PERMISSION_DENIED', metadata: { requiredScope: 'send' } });
    await expect(security.authorize({ req: r, principal, tenant: 'acme', operation: undefined })).rejects.toBeInstanceOf(A2AProtocolError);
  });
});

describe('scopes', () => {
  it('maps operations to scopes; admin covers all', () => {
    expect(hasScope(['read'], 'ListTasks')).toBe(true);
    expect(hasScope(['read'], 'CancelTask')).toBe(false);
    expect(hasScope(['cancel'], 'CancelTask')).toBe(true);
    expect(hasScope(['admin'], 'SendStreamingMessage')).toBe(true);
    expect(hasScope(undefined, 'GetTask')).toBe(false);
    expect(parseScopes('send  read')).toEqual(['send', 'read']);
    expect(parseScopes(['send', 3])).toEqual(['send']);
  });
});
