import type { MessageBus } from '../protocols/message-bus.js';
import type { StateStore } from '../protocols/state-store.js';

export interface ReadinessOptions {
  store?: StateStore;
  bus?: MessageBus;
}

const PROBE_TRACE = '__penguiflow_readyz__';

/** Probes a bus through what its adapter exposes: `ping()`, its Redis client's `ping()`, or a RabbitMQ connection. */
function busProbe(bus: MessageBus): Promise<unknown> | undefined {
  const b = bus as { ping?: () => Promise<unknown>; client?: { ping?: () => Promise<unknown> }; connection?: unknown };
  if (typeof b.ping === 'function') return b.ping();
  if (typeof b.client?.ping === 'function') return b.client.ping();
  if ('connection' in b) return b.connection === undefined ? Promise.reject(new Error('bus not connected')) : Promise.resolve();
  return undefined;
}

/**
 * A readiness check for {@link serveOps}: the store answers a one-row history
 * read (a real round trip to SQLite/Postgres), and the bus answers a ping
 * (`ping()`, the Redis client's `PING`, or a live RabbitMQ connection). A bus
 * with none of these counts as reachable: its adapter reconnects on its own
 * and reports failures as `bus_error` events.
 *
 * @example
 * serveOps({ port: 9464, metrics, ready: readiness({ store, bus }) });
 */
export function readiness(options: ReadinessOptions): () => Promise<boolean> {
  return async () => {
    const checks: Promise<unknown>[] = [];
    if (options.store) checks.push(options.store.loadHistory(PROBE_TRACE, { tenant: PROBE_TRACE, limit: 1 }));
    const ping = options.bus ? busProbe(options.bus) : undefined;
    if (ping) checks.push(ping);
    try {
      await Promise.all(checks);
      return true;
    } catch {
      return false;
    }
  };
}
