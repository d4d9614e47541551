/**
 * Real services for integration and e2e tests. A test that needs one calls
 * `await requireService('postgres')` in `beforeAll`:
 * - reachable → returns the URL;
 * - unreachable and CI=true → throws (CI must never silently skip);
 * - unreachable on a laptop → prints a loud warning and returns undefined; the
 *   caller then skips (`describe.skipIf(!url)` via `serviceUrl` at collection time).
 */
import net from 'node:net';

export type ServiceName = 'postgres' | 'redis' | 'nats' | 'rabbitmq';

const DEFAULTS: Record<ServiceName, { env: string; url: string }> = {
  postgres: { env: 'PENGUIFLOW_PG_URL', url: 'postgres://postgres@127.0.0.1:5432/test' },
  redis: { env: 'PENGUIFLOW_REDIS_URL', url: 'redis://127.0.0.1:6379' },
  nats: { env: 'PENGUIFLOW_NATS_URL', url: 'nats://127.0.0.1:4222' },
  rabbitmq: { env: 'PENGUIFLOW_AMQP_URL', url: 'amqp://guest:guest@127.0.0.1:5672' },
};

export function serviceUrlFor(name: ServiceName): string {
  const row = DEFAULTS[name];
  return process.env[row.env] ?? row.url;
}

function probe(url: string, timeoutMs = 1500): Promise<boolean> {
  const u = new URL(url);
  const port = Number(u.port) || { 'postgres:': 5432, 'redis:': 6379, 'nats:': 4222, 'amqp:': 5672 }[u.protocol] || 0;
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const reachable = new Map<ServiceName, Promise<boolean>>();

/**
 * Resolves to the service URL when it answers. Use at module top level with
 * top-level await so `describe.skipIf(!url)` can decide at collection time.
 */
export async function serviceUrl(name: ServiceName): Promise<string | undefined> {
  const url = serviceUrlFor(name);
  let p = reachable.get(name);
  if (!p) {
    p = probe(url);
    reachable.set(name, p);
  }
  if (await p) return url;
  const msg = `\n!!! ${name} is not reachable at ${new URL(url).host}: its tests are SKIPPED. Start it (see docs/development.md) to run them.\n`;
  if (process.env.CI === 'true') throw new Error(`${name} is required under CI=true but is not reachable at ${new URL(url).host}`);
  console.warn(msg);
  return undefined;
}
