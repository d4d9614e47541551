/** securityFromEnv: authenticators, rate limits and TLS from environment variables; misconfigurations fail loudly. */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey, securityFromEnv } from '../../src/security/index.js';

const req = (headers: Record<string, string>) => ({ headers, socket: {} }) as unknown as IncomingMessage;

describe('securityFromEnv', () => {
  it('nothing configured → no security, no TLS', () => {
    expect(securityFromEnv({})).toEqual({});
  });

  it('API keys (hashed, peppered) and a per-tenant rate', async () => {
    const key = generateApiKey();
    const env = {
      PENGUIFLOW_API_KEYS: JSON.stringify([{ id: 'k', hash: hashApiKey(key, 'pep'), tenants: ['acme'], scopes: ['read'] }]),
      PENGUIFLOW_API_KEY_PEPPER: 'pep',
      PENGUIFLOW_RATE_TENANT: '1/60',
    };
    const { security } = securityFromEnv(env);
    const principal = await security!.auth(req({ 'x-api-key': key }));
    expect(principal.tenant).toBe('acme');
    const r = req({});
    await expect(security!.authorize({ req: r, principal, tenant: 'acme', operation: 'GetTask' })).resolves.toBeUndefined();
    await expect(security!.authorize({ req: r, principal, tenant: 'acme', operation: 'GetTask' })).rejects.toMatchObject({ reason: 'RATE_LIMITED' });
    expect(security!.card.securitySchemes).toHaveProperty('apiKey');
  });

  it('refuses half configurations', () => {
    expect(() => securityFromEnv({ PENGUIFLOW_JWKS_URL: 'https://idp/jwks' })).toThrow(/go together/);
    expect(() => securityFromEnv({ PENGUIFLOW_API_KEYS: '{nope' })).toThrow(/JSON array/);
    expect(() => securityFromEnv({ PENGUIFLOW_API_KEYS: '[{"id":"k"}]' })).toThrow(/JSON array/);
    expect(() => securityFromEnv({ PENGUIFLOW_API_KEYS: '[]', PENGUIFLOW_RATE_TENANT: 'fast' })).toThrow(/points/);
    expect(() => securityFromEnv({ PENGUIFLOW_TLS_CERT: '/x.pem' })).toThrow(/go together/);
  });

  it('an ISO-8601 expiresAt is honoured (a past one refuses the key as expired); a malformed one refuses to start', async () => {
    const key = generateApiKey();
    const keys = (expiresAt: unknown) => JSON.stringify([{ id: 'k', hash: hashApiKey(key), tenants: ['acme'], scopes: ['read'], expiresAt }]);
    const past = securityFromEnv({ PENGUIFLOW_API_KEYS: keys('2020-01-01T00:00:00Z') }).security!;
    await expect(past.auth(req({ 'x-api-key': key }))).rejects.toMatchObject({ reason: 'UNAUTHENTICATED', metadata: { failure: 'expired' } });
    const future = securityFromEnv({ PENGUIFLOW_API_KEYS: keys(new Date(Date.now() + 3_600_000).toISOString()) }).security!;
    await expect(future.auth(req({ 'x-api-key': key }))).resolves.toMatchObject({ tenant: 'acme' });
    expect(() => securityFromEnv({ PENGUIFLOW_API_KEYS: keys('next tuesday') })).toThrow(/expiresAt/);
  });

  it('mTLS that binds no tenant refuses to start; PENGUIFLOW_TLS_CLIENTS maps certificates to tenants explicitly', () => {
    const tls = { PENGUIFLOW_TLS_CERT: '/nonexistent/c.pem', PENGUIFLOW_TLS_KEY: '/nonexistent/k.pem', PENGUIFLOW_TLS_CA: '/nonexistent/ca.pem', PENGUIFLOW_TLS_CLIENT_AUTH: '1' };
    expect(() => securityFromEnv(tls)).toThrow(/binds no tenant/);
    expect(() => securityFromEnv({ ...tls, PENGUIFLOW_TLS_CLIENTS: '{"worker-1":{"tenants":[],"scopes":["read"]}}' })).toThrow(/PENGUIFLOW_TLS_CLIENTS/);
    expect(() => securityFromEnv({ PENGUIFLOW_TLS_CLIENTS: '{"worker-1":{"tenants":["acme"],"scopes":["read"]}}' })).toThrow(/CLIENT_AUTH/);
    // with a mapping the authenticator exists (the PEM files are read after it, hence ENOENT here)
    expect(() => securityFromEnv({ ...tls, PENGUIFLOW_TLS_CLIENTS: '{"worker-1":{"tenants":["acme"],"scopes":["read"]}}' })).toThrow(/ENOENT/);
  });

  it('a client certificate whose CN is an Object.prototype name is refused, not a crash', async () => {
    const { createClientCertAuthenticator } = await import('../../src/security/index.js');
    const mtls = createClientCertAuthenticator({ clients: { 'worker-1': { tenants: ['acme'], scopes: ['read'] } } });
    for (const cn of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const cert = { subject: { CN: cn }, fingerprint256: 'AA:BB', valid_to: 'Jan 1 00:00:00 2099 GMT' };
      const r = { headers: {}, socket: { getPeerCertificate: () => cert, authorized: true } } as unknown as IncomingMessage;
      await expect(mtls.authenticate(r)).resolves.toEqual({ ok: false, failure: 'invalid' });
    }
  });

  it('webhook address policy is loosened only by explicit env', () => {
    expect(securityFromEnv({}).webhookPolicy).toBeUndefined();
    expect(securityFromEnv({ PENGUIFLOW_WEBHOOK_ALLOW_LOOPBACK: '1' }).webhookPolicy).toEqual({ allowLoopback: true, allowPrivate: false });
  });
});
