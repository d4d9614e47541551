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
});
