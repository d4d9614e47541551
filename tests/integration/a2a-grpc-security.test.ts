/**
 * The gRPC binding behind mutual TLS with an `auth` hook reading the client
 * certificate (throwaway PKI made by `openssl` at test time): tenant-bound
 * credentials, UNAUTHENTICATED / PERMISSION_DENIED with ErrorInfo, a client
 * without the CA cannot connect, and an aborted stream releases the server side.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { createA2AGrpcClient, createA2AGrpcServer, type A2AGrpcServer } from '../../src/a2a/grpc/index.js';
import type { SendMessageRequest } from '../../src/a2a/index.js';
import { createA2ASecurity, createApiKeyAuthenticator, generateApiKey, hashApiKey } from '../../src/security/index.js';
import { startAgent, type RunningAgent } from './a2a-fixtures.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pf-grpc-pki-'));
const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
const file = (name: string) => readFileSync(path.join(dir, name));
const makeCa = (name: string) => ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '1', '-subj', `/CN=${name}`);
function issue(ca: string, name: string, ext: string): void {
  writeFileSync(path.join(dir, `${name}.ext`), ext);
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`);
}

const send = (text: string, tenant?: string, returnImmediately = false): SendMessageRequest => ({
  message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text }] },
  ...(tenant ? { tenant } : {}),
  configuration: { returnImmediately },
});
const reasonOf = (e: unknown) => (e as { details?: Record<string, unknown> }).details?.reason;

let agent: RunningAgent;
let grpcServer: A2AGrpcServer;
let target: string;
const creds = (name: string, ca = 'test-ca') => grpc.credentials.createSsl(file(`${ca}.crt`), file(`${name}.key`), file(`${name}.crt`));

beforeAll(async () => {
  makeCa('test-ca');
  makeCa('other-ca');
  issue('test-ca', 'server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  issue('test-ca', 'client-acme', 'extendedKeyUsage=clientAuth\n');
  issue('test-ca', 'client-nobody', 'extendedKeyUsage=clientAuth\n');
  agent = await startAgent();
  const tenantsByCn: Record<string, string[]> = { 'client-acme': ['acme', 'acme-eu'] };
  grpcServer = createA2AGrpcServer({
    server: agent.server,
    onError: () => undefined,
    auth: (_md, _peer, ctx) => {
      const raw = ctx.sslPeerCertificate?.subject?.CN;
      const cn = typeof raw === 'string' ? raw : undefined;
      const tenants = cn === undefined ? undefined : tenantsByCn[cn];
      return tenants ? { tenant: tenants[0]!, tenants, subject: cn } : undefined;
    },
  });
  ({ target } = await grpcServer.listen({ credentials: grpc.ServerCredentials.createSsl(file('test-ca.crt'), [{ private_key: file('server.key'), cert_chain: file('server.crt') }], true) }));
});
afterAll(async () => {
  await grpcServer.close();
  await agent.close();
});

describe('gRPC behind mutual TLS', () => {
  it('a known client certificate works, in its tenants only', async () => {
    const client = createA2AGrpcClient(target, { credentials: creds('client-acme'), timeoutMs: 10_000 });
    const out = await client.sendMessage(send('over mTLS'));
    const task = 'task' in out ? out.task : undefined;
    expect(task?.status.state).toBe('TASK_STATE_COMPLETED');
    expect(agent.seen.at(-1)?.headers.tenant).toBe('acme');
    await client.sendMessage(send('eu', 'acme-eu'));
    expect(agent.seen.at(-1)?.headers.tenant).toBe('acme-eu');
    expect(reasonOf(await client.sendMessage(send('x', 'globex')).catch((e: unknown) => e))).toBe('PERMISSION_DENIED');
    expect(reasonOf(await client.getTask({ id: task!.id, tenant: 'acme-eu' }).catch((e: unknown) => e))).toBe('TASK_NOT_FOUND');
    client.close();
  });

  it('an unknown certificate is UNAUTHENTICATED; a client that does not trust the server cannot connect', async () => {
    const nobody = createA2AGrpcClient(target, { credentials: creds('client-nobody'), timeoutMs: 5_000 });
    expect(reasonOf(await nobody.getTask({ id: 'x' }).catch((e: unknown) => e))).toBe('UNAUTHENTICATED');
    nobody.close();
    const untrusting = createA2AGrpcClient(target, { credentials: grpc.credentials.createSsl(file('other-ca.crt'), file('client-acme.key'), file('client-acme.crt')), timeoutMs: 3_000 });
    const err = await untrusting.getTask({ id: 'x' }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('REMOTE_UNAVAILABLE');
    untrusting.close();
    const plain = createA2AGrpcClient(target, { timeoutMs: 3_000 });
    expect((await plain.getTask({ id: 'x' }).catch((e: unknown) => e) as { code?: string }).code).toBe('REMOTE_UNAVAILABLE');
    plain.close();
  });

  it('aborting a stream releases it on the server', async () => {
    const client = createA2AGrpcClient(target, { credentials: creds('client-acme'), timeoutMs: 10_000 });
    const started = await client.sendMessage(send('slow:10000', undefined, true));
    const id = 'task' in started ? started.task.id : '';
    const ac = new AbortController();
    const it = client.subscribeStream({ id }, { signal: ac.signal });
    await it.next();
    expect(grpcServer.stats().streams).toBe(1);
    ac.abort(new Error('bye'));
    await expect(it.next()).rejects.toThrow('bye');
    await expect.poll(() => grpcServer.stats().streams).toBe(0);
    await client.cancelTask({ id });
    client.close();
  });
});

describe('gRPC with the HTTP security hooks (createA2ASecurity: API keys, scopes)', () => {
  it('the same credentials and scopes as HTTP: read-only key cannot send, unknown key is refused', async () => {
    const writer = generateApiKey();
    const reader = generateApiKey();
    const security = createA2ASecurity({
      authenticators: [
        createApiKeyAuthenticator({
          keys: [
            { id: 'w', hash: hashApiKey(writer), tenants: ['acme'], scopes: ['send', 'read', 'cancel'] },
            { id: 'r', hash: hashApiKey(reader), tenants: ['acme'], scopes: ['read'] },
          ],
        }),
      ],
    });
    const local = await startAgent();
    const server = createA2AGrpcServer({ server: local.server, httpAuth: security.auth, authorize: security.authorize, onError: () => undefined });
    const { target: t } = await server.listen();
    const as = (key: string) => createA2AGrpcClient(t, { metadata: { 'x-api-key': key }, timeoutMs: 5_000 });
    const w = as(writer);
    const r = as(reader);
    const nobody = as('pfk_wrong');
    try {
      const out = await w.sendMessage(send('with a key'));
      const id = 'task' in out ? out.task.id : '';
      expect(local.seen.at(-1)?.headers.tenant).toBe('acme');
      expect((await r.getTask({ id })).id).toBe(id);
      expect(reasonOf(await r.sendMessage(send('nope')).catch((e: unknown) => e))).toBe('PERMISSION_DENIED');
      expect(reasonOf(await nobody.getTask({ id }).catch((e: unknown) => e))).toBe('UNAUTHENTICATED');
      expect(reasonOf(await w.getTask({ id, tenant: 'globex' }).catch((e: unknown) => e))).toBe('PERMISSION_DENIED');
    } finally {
      for (const c of [w, r, nobody]) c.close();
      await server.close();
      await local.close();
    }
  });
});
