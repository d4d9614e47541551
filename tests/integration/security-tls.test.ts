/**
 * TLS and mutual TLS with a throwaway PKI made by `openssl` at test time: the
 * A2A server over HTTPS with client certificates required; a client without
 * a certificate or with one from another CA is refused at the handshake, the
 * right one gets through, is mapped to its tenant, and a remoteNode reaches
 * the agent over mTLS.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlow, message } from '../../src/index.js';
import { createA2AClient } from '../../src/a2a/index.js';
import { remoteNode } from '../../src/remote/index.js';
import { createA2ASecurity, createClientCertAuthenticator, createTlsFetch, tlsServerOptions } from '../../src/security/index.js';
import { startAgent, type RunningAgent } from './a2a-fixtures.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pf-pki-'));
const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
const file = (name: string) => readFileSync(path.join(dir, name));

function makeCa(name: string): void {
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '1', '-subj', `/CN=${name}`);
}

function issue(ca: string, name: string, ext: string): void {
  writeFileSync(path.join(dir, `${name}.ext`), ext);
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`);
}

let agent: RunningAgent;
let url = '';

beforeAll(async () => {
  makeCa('test-ca');
  makeCa('other-ca');
  issue('test-ca', 'server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  issue('test-ca', 'client-acme', 'extendedKeyUsage=clientAuth\n');
  issue('other-ca', 'client-rogue', 'extendedKeyUsage=clientAuth\n');
  const security = createA2ASecurity({
    authenticators: [createClientCertAuthenticator({ clients: { 'client-acme': { tenants: ['acme'], scopes: ['send', 'read', 'cancel'] } } })],
  });
  agent = await startAgent({ auth: security.auth, authorize: security.authorize, card: { name: 'mtls agent', description: 'behind mTLS', ...security.card } });
  await agent.server.close(); // re-listen over TLS
  ({ url } = await agent.server.listen({ tls: tlsServerOptions({ cert: file('server.crt'), key: file('server.key'), ca: file('test-ca.crt'), requestClientCert: true }) }));
});

afterAll(async () => {
  await agent?.close();
  rmSync(dir, { recursive: true, force: true });
});

const V1 = { 'A2A-Version': '1.0' };

describe('mutual TLS', () => {
  it('serves https and advertises https interfaces in the card', async () => {
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const tls = createTlsFetch({ ca: file('test-ca.crt'), cert: file('client-acme.crt'), key: file('client-acme.key') });
    try {
      const card = (await (await tls.fetch(`${url}/.well-known/agent-card.json`, { headers: V1 })).json()) as { supportedInterfaces: { url: string }[]; securitySchemes: unknown };
      expect(card.supportedInterfaces[0]!.url.startsWith('https://')).toBe(true);
      expect(card.securitySchemes).toEqual({ mtls: { mtlsSecurityScheme: { description: expect.any(String) } } });
    } finally {
      await tls.close();
    }
  });

  it('refuses a client without a certificate, and one with a certificate from another CA', async () => {
    const none = createTlsFetch({ ca: file('test-ca.crt') });
    const rogue = createTlsFetch({ ca: file('test-ca.crt'), cert: file('client-rogue.crt'), key: file('client-rogue.key') });
    try {
      await expect(none.fetch(`${url}/a2a/rest/tasks`, { headers: V1 }).then((r) => r.text())).rejects.toThrow();
      await expect(rogue.fetch(`${url}/a2a/rest/tasks`, { headers: V1 }).then((r) => r.text())).rejects.toThrow();
    } finally {
      await none.close();
      await rogue.close();
    }
  });

  it('a client that does not trust the server CA refuses the server', async () => {
    const untrusting = createTlsFetch({ ca: file('other-ca.crt'), cert: file('client-acme.crt'), key: file('client-acme.key') });
    try {
      await expect(untrusting.fetch(`${url}/a2a/rest/tasks`, { headers: V1 })).rejects.toThrow();
    } finally {
      await untrusting.close();
    }
  });

  it('the right certificate gets through, as its tenant; a remoteNode calls the agent over mTLS', async () => {
    const tls = createTlsFetch({ ca: file('test-ca.crt'), cert: file('client-acme.crt'), key: file('client-acme.key') });
    try {
      const ok = await tls.fetch(`${url}/a2a/rest/acme/tasks`, { headers: V1 });
      expect(ok.status).toBe(200);
      const other = await tls.fetch(`${url}/a2a/rest/globex/tasks`, { headers: V1 });
      expect(other.status).toBe(403);
      const node = remoteNode({ name: 'over-mtls', transport: createA2AClient({ fetch: tls.fetch, timeoutMs: 5_000 }), agentUrl: url });
      const flow = createFlow(node);
      flow.run();
      try {
        const out = await flow.call(message('over tls', { tenant: 'acme' }));
        expect(out.payload).toBe('over tls');
        expect(agent.seen.at(-1)!.headers.tenant).toBe('acme');
      } finally {
        await flow.stop();
      }
    } finally {
      await tls.close();
    }
  });
});
