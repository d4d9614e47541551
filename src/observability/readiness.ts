import type { MessageBus } from '../protocols/message-bus.js';
import type { StateStore } from '../protocols/state-store.js';

export interface ReadinessOptions {
  store?: StateStore;
  bus?: MessageBus;
}

const PROBE_TRACE = '__penguiflow_readyz__';

/**
 * A readiness check for {@link serveOps}: the store answers a one-row history
 * read (a real round trip to SQLite/Postgres), and the bus answers `ping()`
 * when its adapter has one. A bus without `ping` counts as reachable: its
 * adapter reconnects on its own and reports failures as `bus_error` events.
 *
 * @example
 * serveOps({ port: 9464, metrics, ready: readiness({ store, bus }) });
 */
export function readiness(options: ReadinessOptions): () => Promise<boolean> {
  return async () => {
    const checks: Promise<unknown>[] = [];
    if (options.store) checks.push(options.store.loadHistory(PROBE_TRACE, { tenant: PROBE_TRACE, limit: 1 }));
    const ping = (options.bus as { ping?: () => Promise<unknown> } | undefined)?.ping;
    if (ping) checks.push(ping.call(options.bus));
    try {
      await Promise.all(checks);
      return true;
    } catch {
      return false;
    }
  };
}
