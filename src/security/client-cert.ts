/**
 * Mutual TLS: the HTTPS server (`listen({ tls: tlsServerOptions({ …, requestClientCert: true }) })`)
 * verifies client certificates against its CA; this authenticator maps a
 * verified certificate to a principal. A connection without a verified
 * certificate yields no principal (a refused handshake never gets here when
 * `rejectUnauthorized` is on).
 */
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { AuthOutcome, Authenticator } from './authenticator.js';

export interface ClientCertGrant {
  tenants: readonly string[];
  scopes: readonly string[];
}

export interface ClientCertAuthenticatorOptions {
  /** Grants by certificate subject CN or by SHA-256 fingerprint (`AA:BB:…`, as Node prints it). */
  clients?: Record<string, ClientCertGrant>;
  /** Or decide from the certificate. */
  map?: (cert: PeerCertificate) => ClientCertGrant | undefined;
  schemeName?: string;
}

/**
 * @example
 * const mtls = createClientCertAuthenticator({ clients: { 'worker-1': { tenants: ['acme'], scopes: ['send', 'read'] } } });
 */
export function createClientCertAuthenticator(options: ClientCertAuthenticatorOptions): Authenticator {
  return {
    schemeName: options.schemeName ?? 'mtls',
    securityScheme: { mtlsSecurityScheme: { description: 'TLS client certificate issued by the configured CA' } },
    authenticate(req): Promise<AuthOutcome | undefined> {
      const socket = req.socket as Partial<TLSSocket>;
      if (typeof socket.getPeerCertificate !== 'function') return Promise.resolve(undefined);
      const cert = socket.getPeerCertificate();
      if (!cert || Object.keys(cert).length === 0) return Promise.resolve(undefined);
      if (socket.authorized !== true) return Promise.resolve({ ok: false, failure: 'invalid' });
      const cn = typeof cert.subject?.CN === 'string' ? cert.subject.CN : undefined;
      // own keys only: a CN such as `constructor` or `__proto__` must not reach Object.prototype
      const clients = options.clients;
      const own = (k: string | undefined) => (k !== undefined && clients !== undefined && Object.hasOwn(clients, k) ? clients[k] : undefined);
      const grant = options.map?.(cert) ?? own(cert.fingerprint256) ?? own(cn);
      if (grant !== undefined && (!Array.isArray(grant.tenants) || !Array.isArray(grant.scopes))) return Promise.resolve({ ok: false, failure: 'invalid' });
      if (!grant || grant.tenants.length === 0) return Promise.resolve({ ok: false, failure: 'invalid' });
      if (Date.parse(cert.valid_to) <= Date.now()) return Promise.resolve({ ok: false, failure: 'expired' });
      return Promise.resolve({
        ok: true,
        principal: { tenant: grant.tenants[0]!, tenants: grant.tenants, scopes: grant.scopes, subject: cn ?? cert.fingerprint256, credentialId: `cert:${cert.fingerprint256}` },
      });
    },
  };
}
