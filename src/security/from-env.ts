/**
 * Security settings from environment variables, so a deployment configures
 * them without code (secrets stay in the environment / mounted files):
 *
 * | variable | meaning |
 * | --- | --- |
 * | `PENGUIFLOW_JWKS_URL`, `PENGUIFLOW_JWT_ISSUER`, `PENGUIFLOW_JWT_AUDIENCE` | bearer JWTs (all three) |
 * | `PENGUIFLOW_API_KEYS` | JSON array of `{ id, hash, tenants, scopes, expiresAt? }` (hashes from `hashApiKey`) |
 * | `PENGUIFLOW_API_KEY_PEPPER` | pepper used for those hashes |
 * | `PENGUIFLOW_RATE_TENANT`, `PENGUIFLOW_RATE_CREDENTIAL` | `<points>/<seconds>`, e.g. `100/1` |
 * | `PENGUIFLOW_TLS_CERT`, `PENGUIFLOW_TLS_KEY`, `PENGUIFLOW_TLS_CA` | PEM file paths; with `PENGUIFLOW_TLS_CLIENT_AUTH=1` client certificates are required |
 * | `PENGUIFLOW_TLS_CLIENTS` | JSON object: certificate subject CN or SHA-256 fingerprint → `{ tenants, scopes }` (client certificates as credentials) |
 * | `PENGUIFLOW_WEBHOOK_ALLOW_LOOPBACK`, `PENGUIFLOW_WEBHOOK_ALLOW_PRIVATE` | `1` lets webhooks reach loopback / private addresses (tests, trusted networks) |
 *
 * A configuration that authenticates but cannot bind a tenant refuses to
 * start: `PENGUIFLOW_TLS_CLIENT_AUTH=1` alone verifies certificates but says
 * nothing about which tenant each may act for, so it needs
 * `PENGUIFLOW_TLS_CLIENTS` (or API keys / JWTs, which carry tenants).
 */
import { readFileSync } from 'node:fs';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import { InvalidOptionsError } from '../errors/index.js';
import { createA2ASecurity, type A2ASecurity } from './a2a-security.js';
import { createApiKeyAuthenticator, type ApiKeyRecord } from './api-keys.js';
import type { Authenticator } from './authenticator.js';
import { createClientCertAuthenticator, type ClientCertGrant } from './client-cert.js';
import { createJwtAuthenticator } from './jwt.js';
import type { OutboundPolicy } from './ssrf.js';
import { createRateLimiter, type RateLimitRule } from './rate-limiter.js';
import { tlsServerOptions } from './tls.js';

export interface SecurityFromEnv {
  /** Undefined when no authenticator is configured. */
  security?: A2ASecurity;
  /** Options for `listen({ tls })`, when a certificate is configured. */
  tls?: HttpsServerOptions;
  /** Address policy for webhooks (`push.outbound`), when loosened by env. */
  webhookPolicy?: OutboundPolicy;
}

/** `expiresAt` as epoch ms: a number, or an ISO-8601 string. */
function expiryOf(value: unknown, id: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw new InvalidOptionsError(`PENGUIFLOW_API_KEYS: expiresAt of key ${id} must be epoch ms or an ISO-8601 date`);
  return ms;
}

function clientGrants(raw: string): Record<string, ClientCertGrant> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const bad = () => new InvalidOptionsError('PENGUIFLOW_TLS_CLIENTS must be a JSON object of "<CN or SHA-256 fingerprint>": { tenants: [...], scopes: [...] }');
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw bad();
  const out: Record<string, ClientCertGrant> = Object.create(null) as Record<string, ClientCertGrant>;
  for (const [k, v] of Object.entries(parsed)) {
    const g = v as Partial<ClientCertGrant> | null;
    if (!g || !Array.isArray(g.tenants) || g.tenants.length === 0 || !Array.isArray(g.scopes) || ![...g.tenants, ...g.scopes].every((x) => typeof x === 'string')) throw bad();
    out[k] = { tenants: g.tenants, scopes: g.scopes };
  }
  return out;
}

function rule(value: string | undefined, name: string): RateLimitRule | undefined {
  if (!value) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  if (!m) throw new InvalidOptionsError(`${name} must look like <points>/<seconds>, e.g. 100/1`);
  return { points: Number(m[1]), durationSec: Number(m[2]) };
}

/**
 * @example
 * const { security, tls } = securityFromEnv();
 * const server = createA2AServer({ flow, store, card: { name, description, ...security?.card }, auth: security?.auth, authorize: security?.authorize });
 * await server.listen({ port: 8443, tls });
 */
export function securityFromEnv(env: NodeJS.ProcessEnv = process.env, options: { redis?: unknown } = {}): SecurityFromEnv {
  const authenticators: Authenticator[] = [];
  const jwt = [env.PENGUIFLOW_JWKS_URL, env.PENGUIFLOW_JWT_ISSUER, env.PENGUIFLOW_JWT_AUDIENCE];
  if (jwt.some(Boolean)) {
    if (!jwt.every(Boolean)) throw new InvalidOptionsError('PENGUIFLOW_JWKS_URL, PENGUIFLOW_JWT_ISSUER and PENGUIFLOW_JWT_AUDIENCE go together');
    authenticators.push(createJwtAuthenticator({ jwksUrl: jwt[0]!, issuer: jwt[1]!, audience: jwt[2]! }));
  }
  if (env.PENGUIFLOW_API_KEYS) {
    let keys: ApiKeyRecord[];
    try {
      keys = JSON.parse(env.PENGUIFLOW_API_KEYS) as ApiKeyRecord[];
    } catch {
      throw new InvalidOptionsError('PENGUIFLOW_API_KEYS must be a JSON array of { id, hash, tenants, scopes }');
    }
    if (!Array.isArray(keys) || keys.some((k) => typeof k?.id !== 'string' || typeof k.hash !== 'string' || !Array.isArray(k.tenants) || !Array.isArray(k.scopes))) {
      throw new InvalidOptionsError('PENGUIFLOW_API_KEYS must be a JSON array of { id, hash, tenants, scopes }');
    }
    keys = keys.map((k) => {
      const expiresAt = expiryOf(k.expiresAt, k.id);
      const { expiresAt: _raw, ...rest } = k;
      return expiresAt === undefined ? rest : { ...rest, expiresAt };
    });
    authenticators.push(createApiKeyAuthenticator(env.PENGUIFLOW_API_KEY_PEPPER ? { keys, pepper: env.PENGUIFLOW_API_KEY_PEPPER } : { keys }));
  }
  const mutual = env.PENGUIFLOW_TLS_CLIENT_AUTH === '1';
  if (env.PENGUIFLOW_TLS_CLIENTS) {
    if (!mutual) throw new InvalidOptionsError('PENGUIFLOW_TLS_CLIENTS needs PENGUIFLOW_TLS_CLIENT_AUTH=1');
    authenticators.push(createClientCertAuthenticator({ clients: clientGrants(env.PENGUIFLOW_TLS_CLIENTS) }));
  } else if (mutual && authenticators.length === 0) {
    throw new InvalidOptionsError(
      'PENGUIFLOW_TLS_CLIENT_AUTH=1 verifies client certificates but binds no tenant: set PENGUIFLOW_TLS_CLIENTS (CN or fingerprint → tenants and scopes), or API keys / JWTs',
    );
  }
  const out: SecurityFromEnv = {};
  if (authenticators.length > 0) {
    const perTenant = rule(env.PENGUIFLOW_RATE_TENANT, 'PENGUIFLOW_RATE_TENANT');
    const perCredential = rule(env.PENGUIFLOW_RATE_CREDENTIAL, 'PENGUIFLOW_RATE_CREDENTIAL');
    const rateLimiter =
      perTenant || perCredential
        ? createRateLimiter({ ...(perTenant ? { perTenant } : {}), ...(perCredential ? { perCredential } : {}), ...(options.redis !== undefined ? { redis: options.redis } : {}) })
        : undefined;
    out.security = createA2ASecurity(rateLimiter ? { authenticators, rateLimiter } : { authenticators });
  }
  if (env.PENGUIFLOW_TLS_CERT || env.PENGUIFLOW_TLS_KEY) {
    if (!env.PENGUIFLOW_TLS_CERT || !env.PENGUIFLOW_TLS_KEY) throw new InvalidOptionsError('PENGUIFLOW_TLS_CERT and PENGUIFLOW_TLS_KEY go together');
    if (mutual && !env.PENGUIFLOW_TLS_CA) throw new InvalidOptionsError('PENGUIFLOW_TLS_CLIENT_AUTH=1 needs PENGUIFLOW_TLS_CA');
    out.tls = tlsServerOptions({
      cert: readFileSync(env.PENGUIFLOW_TLS_CERT),
      key: readFileSync(env.PENGUIFLOW_TLS_KEY),
      ...(env.PENGUIFLOW_TLS_CA ? { ca: readFileSync(env.PENGUIFLOW_TLS_CA) } : {}),
      requestClientCert: mutual,
    });
  }
  if (env.PENGUIFLOW_WEBHOOK_ALLOW_LOOPBACK === '1' || env.PENGUIFLOW_WEBHOOK_ALLOW_PRIVATE === '1') {
    out.webhookPolicy = { allowLoopback: env.PENGUIFLOW_WEBHOOK_ALLOW_LOOPBACK === '1', allowPrivate: env.PENGUIFLOW_WEBHOOK_ALLOW_PRIVATE === '1' };
  }
  return out;
}
