/**
 * /readyz follows the store: a Postgres state store reached through a TCP
 * proxy; closing the proxy makes the store unreachable (503), reopening it on
 * the same port makes it ready again (200). /healthz stays 200 throughout.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStateStore } from '../../src/adapters/postgres/index.js';
import { openMessageBus } from '../../src/distributed/index.js';
import type { MessageBus, StateStore } from '../../src/index.js';
import { createMetrics, readiness, serveOps, type OpsServer } from '../../src/observability/index.js';
import { serviceUrl } from '../helpers/services.js';

const pgUrl = await serviceUrl('postgres');
const redisUrl = await serviceUrl('redis');

/** A TCP proxy to Postgres that can be cut (listener closed, every connection destroyed) and restored. */
class CuttableProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  async open(): Promise<void> {
    if (this.server?.listening) return;
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async cut(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server?.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

describe.skipIf(!pgUrl)('/readyz follows the store (Postgres through a TCP proxy)', () => {
  let proxy: CuttableProxy;
  let store: StateStore;
  let ops: OpsServer;

  beforeAll(async () => {
    const u = new URL(pgUrl!);
    proxy = new CuttableProxy({ host: u.hostname, port: Number(u.port) || 5432 });
    await proxy.open();
    u.hostname = '127.0.0.1';
    u.port = String(proxy.port);
    store = await createPostgresStateStore({ url: u.toString(), schema: `obs_readyz_${Date.now().toString(36)}`, connectTimeoutMs: 500, retryForMs: 200 });
    ops = await serveOps({ port: 0, host: '127.0.0.1', metrics: createMetrics(), ready: readiness({ store }), readyTimeoutMs: 1_000 });
  });

  afterAll(async () => {
    await ops?.close();
    await store?.close?.();
    await proxy?.cut();
  });

  const status = async (path: string) => (await fetch(ops.url + path)).status;
  const until = async (path: string, want: number) => {
    let got = 0;
    for (let i = 0; i < 40 && got !== want; i++) {
      got = await status(path);
      if (got !== want) await new Promise((r) => setTimeout(r, 250));
    }
    return got;
  };

  it('is ready with the store up, unready while it is unreachable, ready again when it returns', async () => {
    expect(await until('/readyz', 200)).toBe(200);
    await proxy.cut();
    expect(await until('/readyz', 503)).toBe(503);
    expect(await status('/healthz')).toBe(200); // alive: the process is fine, only a dependency is not
    expect(await status('/metrics')).toBe(200);
    await proxy.open();
    expect(await until('/readyz', 200)).toBe(200);
  });
});

describe.skipIf(!redisUrl)('/readyz follows the bus (Redis through a TCP proxy)', () => {
  let proxy: CuttableProxy;
  let bus: MessageBus;
  let ops: OpsServer;

  beforeAll(async () => {
    const u = new URL(redisUrl!);
    proxy = new CuttableProxy({ host: u.hostname, port: Number(u.port) || 6379 });
    await proxy.open();
    bus = await openMessageBus(`redis://127.0.0.1:${proxy.port}?prefix=obsready${Date.now().toString(36)}`);
    ops = await serveOps({ port: 0, host: '127.0.0.1', ready: readiness({ bus }), readyTimeoutMs: 500 });
  });

  afterAll(async () => {
    await ops?.close();
    await proxy?.open();
    await bus?.close();
    await proxy?.cut();
  });

  const status = async (path: string) => (await fetch(ops.url + path)).status;
  const until = async (want: number) => {
    let got = 0;
    for (let i = 0; i < 60 && got !== want; i++) {
      got = await status('/readyz');
      if (got !== want) await new Promise((r) => setTimeout(r, 250));
    }
    return got;
  };

  it('is unready while the broker is unreachable and ready again after the adapter reconnects', async () => {
    expect(await until(200)).toBe(200);
    await proxy.cut();
    expect(await until(503)).toBe(503);
    await proxy.open();
    expect(await until(200)).toBe(200);
  });
});

