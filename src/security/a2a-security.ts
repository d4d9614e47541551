/**
 * `createA2ASecurity`: authentication, scopes per operation, tenant binding
 * and rate limits for `createA2AServer`, plus the card's `securitySchemes` /
 * `securityRequirements` that declare what is enforced.
 */
import type { IncomingMessage } from 'node:http';
import { A2AProtocolError } from '../a2a/protocol/errors.js';
import type { A2AAuthorizeRequest, A2APrincipal } from '../a2a/server/a2a-server.js';
import { InvalidOptionsError } from '../errors/index.js';
import type { Authenticator } from './authenticator.js';
import type { RateLimiter } from './rate-limiter.js';
import { hasScope, OPERATION_SCOPES } from './scopes.js';

export interface A2ASecurityOptions {
  /** Tried in order; the first that recognises a credential decides. At least one. */
  authenticators: readonly Authenticator[];
  rateLimiter?: RateLimiter;
}

/** Spread into `createA2AServer` options (`auth`, `authorize`) and into `card` (`card`). */
export interface A2ASecurity {
  /** The authenticators, for `protectHandler` / ops and UI servers (one set of credentials everywhere). */
  readonly authenticators: readonly Authenticator[];
  readonly auth: (req: IncomingMessage) => Promise<A2APrincipal>;
  readonly authorize: (request: A2AAuthorizeRequest) => Promise<void>;
  /** `securitySchemes` and `securityRequirements` for the card options. */
  readonly card: { securitySchemes: Record<string, unknown>; securityRequirements: unknown[] };
}

/**
 * @example
 * const security = createA2ASecurity({ authenticators: [jwt, apiKeys], rateLimiter });
 * const server = createA2AServer({ flow, store, auth: security.auth, authorize: security.authorize,
 *   card: { name: 'agent', description: '…', ...security.card } });
 */
export function createA2ASecurity(options: A2ASecurityOptions): A2ASecurity {
  if (options.authenticators.length === 0) throw new InvalidOptionsError('createA2ASecurity needs at least one authenticator');
  const securitySchemes: Record<string, unknown> = {};
  for (const a of options.authenticators) securitySchemes[a.schemeName] = a.securityScheme;
  const allScopes = [...new Set(Object.values(OPERATION_SCOPES))];
  // Any one scheme suffices (a list of alternatives), each with the scopes it may grant.
  const securityRequirements = options.authenticators.map((a) => ({ schemes: { [a.schemeName]: { list: allScopes } } }));
  const bearer = options.authenticators.some((a) => 'httpAuthSecurityScheme' in a.securityScheme);
  return {
    authenticators: options.authenticators,
    card: { securitySchemes, securityRequirements },
    async auth(req) {
      for (const a of options.authenticators) {
        const outcome = await a.authenticate(req);
        if (outcome === undefined) continue;
        if (outcome.ok) return outcome.principal;
        throw new A2AProtocolError('UNAUTHENTICATED', {
          message: outcome.failure === 'expired' ? 'The credential has expired' : 'The credential is not valid',
          metadata: { failure: outcome.failure, ...(bearer ? { wwwAuthenticate: `Bearer error="invalid_token"` } : {}) },
        });
      }
      throw new A2AProtocolError('UNAUTHENTICATED', { message: 'Authentication required' });
    },
    async authorize({ principal, tenant, operation }) {
      if (!principal) throw new A2AProtocolError('UNAUTHENTICATED', { message: 'Authentication required' });
      const tenants = principal.tenants ?? [principal.tenant];
      if (!tenants.includes(tenant)) throw new A2AProtocolError('PERMISSION_DENIED');
      if (!hasScope(principal.scopes, operation)) {
        throw new A2AProtocolError('PERMISSION_DENIED', {
          message: operation === undefined ? 'Operation not recognised' : `The credential lacks the "${OPERATION_SCOPES[operation]}" scope`,
          ...(operation === undefined ? {} : { metadata: { requiredScope: OPERATION_SCOPES[operation] } }),
        });
      }
      if (options.rateLimiter) {
        const d = await options.rateLimiter.consume(principal.credentialId === undefined ? { tenant } : { tenant, credentialId: principal.credentialId });
        if (!d.allowed) {
          throw new A2AProtocolError('RATE_LIMITED', {
            message: `Rate limit of this ${d.limit} exceeded`,
            metadata: { limit: d.limit, retryAfterSeconds: String(Math.max(1, Math.ceil(d.retryAfterMs / 1000))) },
          });
        }
      }
    },
  };
}
