/**
 * API keys, stored hashed: the server keeps only `hashApiKey(key)` (SHA-256,
 * optionally HMAC'd with a pepper from the environment), never the key.
 * API keys are long random strings, so a fast hash is enough; a stolen hash
 * table does not give the keys back.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { authorizationValue, type AuthOutcome, type Authenticator } from './authenticator.js';

/** One stored key: its hash and what it grants. */
export interface ApiKeyRecord {
  /** Stable id (for logs and rate limits); never the key itself. */
  id: string;
  /** `hashApiKey(key, pepper)`. */
  hash: string;
  tenants: readonly string[];
  scopes: readonly string[];
  /** Epoch ms after which the key is refused as `expired`. */
  expiresAt?: number;
  subject?: string;
}

export interface ApiKeyAuthenticatorOptions {
  keys: readonly ApiKeyRecord[];
  /** Header carrying the key. Default `X-API-Key`; `Authorization: ApiKey <key>` is also read. */
  header?: string;
  /** Secret mixed into the hash (HMAC-SHA256), from env/options. */
  pepper?: string;
  schemeName?: string;
}

/**
 * Hash of an API key as stored: `sha256:<hex>` or, with a pepper, `hmac-sha256:<hex>`.
 *
 * @example
 * const hash = hashApiKey(process.env.ACME_KEY!, process.env.API_KEY_PEPPER);
 */
export function hashApiKey(key: string, pepper?: string): string {
  return pepper ? `hmac-sha256:${createHmac('sha256', pepper).update(key).digest('hex')}` : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

/** A new random key (`pfk_` + 32 random bytes, base64url). Show it once; store only its hash. */
export function generateApiKey(): string {
  return `pfk_${randomBytes(32).toString('base64url')}`;
}

/**
 * Authenticates requests by API key. Lookup is by the hash of the presented
 * key, so no comparison against stored secrets depends on their content.
 *
 * @example
 * const apiKeys = createApiKeyAuthenticator({ keys: [{ id: 'k1', hash: process.env.K1_HASH!, tenants: ['acme'], scopes: ['send', 'read'] }] });
 */
export function createApiKeyAuthenticator(options: ApiKeyAuthenticatorOptions): Authenticator {
  const header = (options.header ?? 'X-API-Key').toLowerCase();
  const byHash = new Map(options.keys.map((k) => [k.hash, k]));
  const read = (req: IncomingMessage): string | undefined => {
    const h = req.headers[header];
    const v = Array.isArray(h) ? h[0] : h;
    return v !== undefined && v !== '' ? v : authorizationValue(req, 'ApiKey');
  };
  return {
    schemeName: options.schemeName ?? 'apiKey',
    securityScheme: { apiKeySecurityScheme: { location: 'header', name: options.header ?? 'X-API-Key', description: 'API key' } },
    authenticate(req): Promise<AuthOutcome | undefined> {
      const key = read(req);
      if (key === undefined) return Promise.resolve(undefined);
      if (key.length > 512) return Promise.resolve({ ok: false, failure: 'invalid' });
      const rec = byHash.get(hashApiKey(key, options.pepper));
      if (!rec || rec.tenants.length === 0) return Promise.resolve({ ok: false, failure: 'invalid' });
      if (rec.expiresAt !== undefined && Date.now() >= rec.expiresAt) return Promise.resolve({ ok: false, failure: 'expired' });
      return Promise.resolve({
        ok: true,
        principal: { tenant: rec.tenants[0]!, tenants: rec.tenants, scopes: rec.scopes, credentialId: `key:${rec.id}`, subject: rec.subject ?? rec.id },
      });
    },
  };
}
