/**
 * Bearer JWTs verified with `jose`: signature against a JWKS (remote URL,
 * fetched with a timeout and cached, or a local key set), `iss`, `aud`,
 * `exp`/`nbf` with a clock skew tolerance, and an algorithm allowlist.
 */
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTPayload } from '../peers/jose.js';
import { InvalidOptionsError } from '../errors/index.js';
import { authorizationValue, type AuthOutcome, type Authenticator } from './authenticator.js';
import { parseScopes } from './scopes.js';

export interface JwtAuthenticatorOptions {
  /** Where the issuer publishes its keys (https in production). */
  jwksUrl?: string | URL;
  /** A local key set instead of a URL. */
  jwks?: JSONWebKeySet;
  issuer: string | string[];
  audience: string | string[];
  /** Tolerated clock skew for exp/nbf/iat. Default 30 s. */
  clockToleranceSec?: number;
  /** Accepted algorithms. Default ['RS256', 'ES256', 'EdDSA', 'PS256']; never 'none' or HMAC with a public key. */
  algorithms?: string[];
  /** Claim with the tenant(s): a string or an array. Default `tenants`, falling back to `tenant`. */
  tenantClaim?: string;
  /** Claim with the scopes: an OAuth space-separated string or an array. Default `scope`, falling back to `scp`. */
  scopeClaim?: string;
  /** JWKS fetch timeout. Default 5 s. */
  jwksTimeoutMs?: number;
  /** JWKS cache age. Default 10 min. */
  jwksCacheMaxAgeMs?: number;
  schemeName?: string;
}

function tenantsOf(payload: JWTPayload, claim: string | undefined): string[] {
  const v = claim ? payload[claim] : (payload.tenants ?? payload.tenant);
  if (typeof v === 'string') return v === '' ? [] : [v];
  return Array.isArray(v) ? v.filter((t): t is string => typeof t === 'string' && t !== '') : [];
}

/**
 * @example
 * const jwt = createJwtAuthenticator({ jwksUrl: 'https://idp.example.com/.well-known/jwks.json', issuer: 'https://idp.example.com/', audience: 'penguiflow' });
 */
export function createJwtAuthenticator(options: JwtAuthenticatorOptions): Authenticator {
  if (!options.jwks && !options.jwksUrl) throw new InvalidOptionsError('createJwtAuthenticator needs jwksUrl or jwks');
  const keys = options.jwks
    ? createLocalJWKSet(options.jwks)
    : createRemoteJWKSet(new URL(options.jwksUrl!), { timeoutDuration: options.jwksTimeoutMs ?? 5_000, cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000 });
  const verifyOptions = {
    issuer: options.issuer,
    audience: options.audience,
    clockTolerance: options.clockToleranceSec ?? 30,
    algorithms: options.algorithms ?? ['RS256', 'ES256', 'EdDSA', 'PS256'],
    requiredClaims: ['exp'],
  };
  return {
    schemeName: options.schemeName ?? 'bearer',
    securityScheme: { httpAuthSecurityScheme: { scheme: 'Bearer', bearerFormat: 'JWT', description: 'JWT from the configured issuer' } },
    async authenticate(req): Promise<AuthOutcome | undefined> {
      const token = authorizationValue(req, 'Bearer');
      if (token === undefined) return undefined;
      if (token.length > 16_384) return { ok: false, failure: 'invalid' };
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys, verifyOptions));
      } catch (error) {
        return { ok: false, failure: error instanceof errors.JWTExpired ? 'expired' : 'invalid' };
      }
      const tenants = tenantsOf(payload, options.tenantClaim);
      if (tenants.length === 0) return { ok: false, failure: 'invalid' };
      const scopes = parseScopes(options.scopeClaim ? payload[options.scopeClaim] : (payload.scope ?? payload.scp));
      const subject = payload.sub ?? 'unknown';
      return { ok: true, principal: { tenant: tenants[0]!, tenants, scopes, subject, credentialId: `jwt:${payload.iss ?? ''}:${subject}` } };
    },
  };
}
