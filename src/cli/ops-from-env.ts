import type { MessageBus } from '../protocols/message-bus.js';
import type { StateStore } from '../protocols/state-store.js';
import type { FlowMiddleware } from '../core/events.js';
import type { Message } from '../core/message.js';
import type { Authenticator } from '../security/authenticator.js';

/**
 * Metrics, health and tracing for a long-running CLI process, switched on by
 * env: PENGUIFLOW_METRICS_PORT serves /metrics, /healthz and /readyz (on
 * 127.0.0.1 unless PENGUIFLOW_METRICS_HOST says otherwise; `/metrics` needs an
 * `admin` credential when `authenticators` are given);
 * PENGUIFLOW_TRACING=1 exports spans. Loads the observability layer (prom-client,
 * OpenTelemetry) only when asked, so a plain worker starts fast.
 */
export async function opsFromEnv(options: { store?: StateStore; bus?: MessageBus; topics?: readonly string[]; authenticators?: readonly Authenticator[] }): Promise<{
  middlewares: FlowMiddleware[];
  wrap<F extends { emit(msg: Message): Promise<void> }>(flow: F): F;
  close(): Promise<void>;
}> {
  const env = process.env;
  if (!env.PENGUIFLOW_METRICS_PORT && !env.PENGUIFLOW_TRACING) {
    return { middlewares: [], wrap: (flow) => flow, close: async () => undefined };
  }
  const { observabilityFromEnv, joinCallerTrace } = await import('../observability/index.js');
  const obs = await observabilityFromEnv(options);
  return {
    middlewares: obs.middlewares,
    wrap: (flow) => joinCallerTrace(flow),
    close: () => obs.close(),
  };
}
