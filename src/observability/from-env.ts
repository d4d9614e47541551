import type { FlowMiddleware } from '../core/events.js';
import type { MessageBus } from '../protocols/message-bus.js';
import type { StateStore } from '../protocols/state-store.js';
import { redisBusLag, type RedisBusLike } from './bus-lag.js';
import { createMetrics, type Metrics } from './metrics.js';
import { serveOps, type OpsServer } from './ops-server.js';
import { readiness } from './readiness.js';
import { createTracing } from './tracing.js';
import type { Authenticator } from '../security/authenticator.js';

export interface EnvObservability {
  /** Pass to `runWorker({ middlewares })` / `createFlow({ middlewares })`; empty when nothing is switched on. */
  middlewares: FlowMiddleware[];
  metrics: Metrics | undefined;
  ops: OpsServer | undefined;
  close(): Promise<void>;
}

/**
 * Observability switched on by environment variables, for processes started
 * from the CLI (`penguiflow worker`) or a container:
 * - `PENGUIFLOW_METRICS_PORT=9464` serves `/metrics`, `/healthz`, `/readyz` (store and bus) on that port
 *   (`PENGUIFLOW_METRICS_HOST`, default 127.0.0.1; `PENGUIFLOW_METRICS_TENANT=1` adds the tenant label);
 * - `PENGUIFLOW_TRACING=1` adds the OpenTelemetry span middleware (spans go to the global tracer provider,
 *   which the process sets up, e.g. with `--import ./otel-setup.js`).
 *
 * @example
 * const obs = await observabilityFromEnv({ store, bus, topics: nodes.map((n) => `${flow.name}.${n}`) });
 * const worker = await runWorker({ flow, bus, store, middlewares: obs.middlewares });
 * // on shutdown, after worker.stop():
 * await obs.close();
 */
export async function observabilityFromEnv(
  options: {
    store?: StateStore;
    bus?: MessageBus;
    /** Topics (`<flow>.<node>`) whose broker backlog to export; Redis Streams buses only. */
    topics?: readonly string[];
    env?: NodeJS.ProcessEnv;
    /** Credentials for `/metrics` (the `admin` scope); the probes stay open. Pass the A2A server's when it authenticates. */
    authenticators?: readonly Authenticator[];
  } = {},
): Promise<EnvObservability> {
  const env = options.env ?? process.env;
  const middlewares: FlowMiddleware[] = [];
  let metrics: Metrics | undefined;
  let ops: OpsServer | undefined;
  const port = env.PENGUIFLOW_METRICS_PORT;
  if (port !== undefined && port !== '') {
    const redisLike = options.bus as Partial<RedisBusLike> | undefined;
    const busLag = options.topics?.length && typeof redisLike?.client?.xinfo === 'function' && typeof redisLike.keys === 'function' ? redisBusLag(redisLike as RedisBusLike, options.topics) : undefined;
    metrics = createMetrics({ tenantLabel: env.PENGUIFLOW_METRICS_TENANT === '1', ...(busLag ? { busLag } : {}) });
    middlewares.push(metrics.middleware);
    ops = await serveOps({
      port: Number(port),
      host: env.PENGUIFLOW_METRICS_HOST ?? '127.0.0.1',
      metrics,
      ready: readiness({ store: options.store, bus: options.bus }),
      ...(options.authenticators?.length ? { authenticators: options.authenticators } : {}),
    });
  }
  if (env.PENGUIFLOW_TRACING === '1' || env.PENGUIFLOW_TRACING === 'true') middlewares.push(createTracing().middleware);
  return { middlewares, metrics, ops, close: async () => ops?.close() };
}
