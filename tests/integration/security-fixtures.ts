/**
 * Shared pieces of the security tests: a JWKS served over real HTTP on
 * 127.0.0.1, tokens minted at test time, and an agent behind createA2ASecurity.
 * Not a test file itself.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { createA2ASecurity, createJwtAuthenticator, type A2ASecurityOptions } from '../../src/security/index.js';
import type { A2AServerOptions } from '../../src/a2a/index.js';
import { startAgent, type RunningAgent } from './a2a-fixtures.js';

export const ISSUER = 'https://idp.test/';
export const AUDIENCE = 'penguiflow-test';

export interface Issuer {
  jwksUrl: string;
  mint(claims: { tenants: string[]; scope: string; sub?: string; expSec?: number; aud?: string }): Promise<string>;
  /** A token signed with a key that is not in the JWKS. */
  forge(claims: { tenants: string[]; scope: string }): Promise<string>;
  close(): Promise<void>;
}

export async function startIssuer(): Promise<Issuer> {
  const good = await generateKeyPair('ES256');
  const rogue = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(good.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const server: Server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const sign = (key: CryptoKey, c: { tenants: string[]; scope: string; sub?: string; expSec?: number; aud?: string }) =>
    new SignJWT({ tenants: c.tenants, scope: c.scope })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(c.aud ?? AUDIENCE)
      .setSubject(c.sub ?? `user-${c.tenants.join('+')}`)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + (c.expSec ?? 300))
      .sign(key);
  return {
    jwksUrl: `http://127.0.0.1:${port}/jwks.json`,
    mint: (c) => sign(good.privateKey, c),
    forge: (c) => sign(rogue.privateKey, c),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export async function startSecuredAgent(issuer: Issuer, extra: Partial<A2ASecurityOptions> = {}, overrides: Partial<A2AServerOptions> = {}): Promise<RunningAgent> {
  const security = createA2ASecurity({
    authenticators: [createJwtAuthenticator({ jwksUrl: issuer.jwksUrl, issuer: ISSUER, audience: AUDIENCE, clockToleranceSec: 5 })],
    ...extra,
  });
  return startAgent({
    auth: security.auth,
    authorize: security.authorize,
    card: { name: 'secured agent', description: 'Echo behind auth', ...security.card },
    push: { enabled: true, outbound: { allowLoopback: true } },
    extendedCard: { name: 'secured agent (extended)', description: 'more', version: '1.0.0', supportedInterfaces: [], capabilities: {}, defaultInputModes: [], defaultOutputModes: [], skills: [] },
    ...overrides,
  });
}
