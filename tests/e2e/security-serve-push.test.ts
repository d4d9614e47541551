/**
 * `penguiflow serve --push` as a user runs it (the CLI spawned from source, API keys from env):
 * webhooks at loopback, private, link-local/metadata and every IPv6 form that
 * hides one are refused at registration, by classification before any
 * connection; with loopback allowed on purpose, a webhook's 302 is not
 * followed (the redirect target, a second loopback listener, sees nothing).
 * Only loopback addresses ever receive traffic.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey } from '../../src/security/index.js';
import { ROOT, runCli } from '../helpers/spawn.js';

const BIN = path.join(ROOT, 'src/cli/bin.ts');
const AGENT = 'examples/a2a-researcher/agent.ts';
const KEY = generateApiKey();
const ENV = { PENGUIFLOW_API_KEYS: JSON.stringify([{ id: 'sender', hash: hashApiKey(KEY), tenants: ['acme'], scopes: ['send', 'read'] }]) };
const V1 = { 'A2A-Version': '1.0', 'Content-Type': 'application/json', 'X-API-Key': KEY };

interface Served {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

function serve(env: Record<string, string>): Promise<Served> {
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, 'serve', AGENT, '--port', '0', '--store', 'memory:', '--push'], {
    cwd: ROOT,
    env: { ...process.env, ...ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    let out = '';
    let started = false;
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out} ${err}`)), 60_000);
    const early = (code: number | null) => reject(new Error(`serve exited ${code}: ${err}`));
    child.once('exit', early);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /serving \S+ at (http:\/\/\S+)/.exec(out);
      if (!m || started) return;
      started = true;
      clearTimeout(timer);
      child.off('exit', early);
      resolve({
        url: m[1]!,
        child,
        stop: () =>
          new Promise<void>((r) => {
            if (child.exitCode !== null) return r();
            child.once('exit', () => r());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

interface Listener {
  url: string;
  hits: { method: string; path: string; token: string | undefined }[];
  connections: number;
  close(): Promise<void>;
}

async function listen(answer: (req: IncomingMessage) => { status: number; headers?: Record<string, string> }): Promise<Listener> {
  const hits: Listener['hits'] = [];
  const state = { connections: 0 };
  const server: Server = createServer((req, res) => {
    hits.push({ method: req.method ?? '', path: req.url ?? '', token: req.headers['x-a2a-notification-token'] as string | undefined });
    req.resume();
    const a = answer(req);
    res.writeHead(a.status, a.headers).end();
  });
  server.on('connection', () => state.connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function newTask(base: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await fetch(`${base}/a2a/rest/message:send`, {
    method: 'POST',
    headers: V1,
    body: JSON.stringify({ message: { messageId: `m-${Math.random()}`, role: 'ROLE_USER', parts: [{ text: 'krill' }] }, configuration: { returnImmediately: true, ...extra } }),
  });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return (JSON.parse(text) as { task: { id: string } }).task.id;
}

const register = (base: string, taskId: string, url: string) =>
  fetch(`${base}/a2a/rest/tasks/${taskId}/pushNotificationConfigs`, { method: 'POST', headers: V1, body: JSON.stringify({ url, token: 'notification-secret' }) });

// Every one of these must be refused by classification alone (literal addresses, or localhost from the hosts file).
const BLOCKED = [
  'http://127.0.0.1:9/hook',
  'http://localhost:9/hook',
  'http://[::1]:9/hook',
  'http://[::ffff:127.0.0.1]:9/hook',
  'http://169.254.169.254/latest/meta-data/',
  'http://10.0.0.1/hook',
  'http://[::ffff:0:7f00:1]/hook',
  'http://[64:ff9b:1::7f00:1]/hook',
  'http://[2002:7f00:1::]/hook',
  'http://[2002:a9fe:a9fe::]/hook',
  'http://[fec0::1]/hook',
  'http://[2001::1]/hook',
];

describe('penguiflow serve --push: webhooks behind the SSRF guard by default', () => {
  let served: Served;
  beforeAll(async () => {
    served = await serve({});
  });
  afterAll(async () => served?.stop());

  it.each(BLOCKED)('refuses %s at registration (400 INVALID_PARAMS), in the send request too', async (hook) => {
    const taskId = await newTask(served.url);
    const res = await register(served.url, taskId, hook);
    const body = await res.text();
    expect(res.status, body).toBe(400);
    expect(body).toContain('not an allowed webhook URL');
    const inline = await fetch(`${served.url}/a2a/rest/message:send`, {
      method: 'POST',
      headers: V1,
      body: JSON.stringify({ message: { messageId: `m-${Math.random()}`, role: 'ROLE_USER', parts: [{ text: 'krill' }] }, configuration: { taskPushNotificationConfig: { url: hook } } }),
    });
    expect(inline.status).toBe(400);
    const listed = await fetch(`${served.url}/a2a/rest/tasks/${taskId}/pushNotificationConfigs`, { headers: V1 });
    expect(((await listed.json()) as { configs: unknown[] }).configs).toEqual([]);
  });
});

describe('penguiflow serve --push with loopback allowed on purpose (PENGUIFLOW_WEBHOOK_ALLOW_LOOPBACK=1)', () => {
  let served: Served;
  let admin: Listener;
  let hook: Listener;
  beforeAll(async () => {
    admin = await listen(() => ({ status: 200 }));
    hook = await listen(() => ({ status: 302, headers: { Location: `${admin.url}/internal-admin` } }));
    served = await serve({ PENGUIFLOW_WEBHOOK_ALLOW_LOOPBACK: '1' });
  });
  afterAll(async () => {
    await served?.stop();
    await hook?.close();
    await admin?.close();
  });

  it("delivers to the allowed webhook but does not follow its 302: the redirect target gets no connection and never sees the token", async () => {
    const taskId = await newTask(served.url, { taskPushNotificationConfig: { url: `${hook.url}/events`, token: 'notification-secret' } });
    await expect.poll(() => hook.hits.length, { timeout: 20_000 }).toBeGreaterThan(0);
    expect(hook.hits[0]).toMatchObject({ method: 'POST', path: '/events', token: 'notification-secret' });
    // let the whole task run (researcher: 4 findings, ~250 ms) and every delivery settle
    await expect
      .poll(async () => ((await (await fetch(`${served.url}/a2a/rest/tasks/${taskId}`, { headers: V1 })).json()) as { status: { state: string } }).status.state, { timeout: 20_000 })
      .toBe('TASK_STATE_COMPLETED');
    await new Promise((r) => setTimeout(r, 500));
    expect(hook.hits.every((h) => h.method === 'POST' && h.path === '/events')).toBe(true);
    expect(admin.connections).toBe(0);
    expect(admin.hits).toEqual([]);
  });

  it('still refuses metadata and private addresses (loopback only was allowed)', async () => {
    const taskId = await newTask(served.url);
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/hook', 'http://[2002:7f00:1::]/hook']) {
      expect((await register(served.url, taskId, url)).status, url).toBe(400);
    }
  });
});

describe('penguiflow serve: secure-by-default configuration', () => {
  it('refuses to start with mTLS that binds no tenant (PENGUIFLOW_TLS_CLIENT_AUTH=1 alone)', async () => {
    const res = await runCli(['serve', AGENT, '--port', '0', '--store', 'memory:'], {
      timeoutMs: 60_000,
      env: { PENGUIFLOW_TLS_CERT: '/nonexistent/cert.pem', PENGUIFLOW_TLS_KEY: '/nonexistent/key.pem', PENGUIFLOW_TLS_CA: '/nonexistent/ca.pem', PENGUIFLOW_TLS_CLIENT_AUTH: '1' },
    });
    expect(res.code).not.toBe(0);
    expect(res.stdout).not.toContain('serving');
    expect(res.stderr).toMatch(/binds no tenant/);
  });

  it('the ops endpoint needs an admin credential for /metrics when API keys are configured; probes stay open', async () => {
    const port = await freePort();
    const admin = generateApiKey();
    const keys = JSON.stringify([
      { id: 'sender', hash: hashApiKey(KEY), tenants: ['acme'], scopes: ['send', 'read'] },
      { id: 'ops', hash: hashApiKey(admin), tenants: ['acme'], scopes: ['admin'] },
    ]);
    const served = await serve({ PENGUIFLOW_API_KEYS: keys, PENGUIFLOW_METRICS_PORT: String(port) });
    try {
      const ops = `http://127.0.0.1:${port}`;
      expect((await fetch(`${ops}/metrics`)).status).toBe(401);
      expect((await fetch(`${ops}/metrics`, { headers: { 'X-API-Key': KEY } })).status).toBe(403);
      const ok = await fetch(`${ops}/metrics`, { headers: { 'X-API-Key': admin } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('penguiflow_');
      expect((await fetch(`${ops}/healthz`)).status).toBe(200);
    } finally {
      await served.stop();
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}
