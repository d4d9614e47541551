/** The contract every credential check implements (API keys, JWTs, client certificates). */
import type { IncomingMessage } from 'node:http';
import type { A2APrincipal } from '../a2a/server/a2a-server.js';

/** Why a presented credential was refused. */
export type AuthFailure = 'invalid' | 'expired';

export type AuthOutcome = { ok: true; principal: A2APrincipal } | { ok: false; failure: AuthFailure };

/**
 * Checks one kind of credential.
 *
 * `authenticate` MUST return `undefined` when the request carries no
 * credential of its kind (so the next authenticator is tried), and an
 * outcome otherwise. It MUST NOT throw for a bad credential, and MUST be
 * time-bound (a remote JWKS fetch has a timeout).
 */
export interface Authenticator {
  /** Key in the agent card's `securitySchemes`. */
  readonly schemeName: string;
  /** The A2A v1.0 SecurityScheme JSON for the card. */
  readonly securityScheme: Record<string, unknown>;
  authenticate(req: IncomingMessage): Promise<AuthOutcome | undefined>;
}

/** `Authorization: <scheme> <value>` → value (case-insensitive scheme). */
export function authorizationValue(req: IncomingMessage, scheme: string): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const space = h.indexOf(' ');
  if (space < 0 || h.slice(0, space).toLowerCase() !== scheme.toLowerCase()) return undefined;
  const v = h.slice(space + 1).trim();
  return v === '' ? undefined : v;
}
