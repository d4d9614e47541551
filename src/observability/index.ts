/**
 * Observability for penguiflow: Prometheus metrics and OpenTelemetry spans
 * from FlowEvents, and the `/metrics`, `/healthz`, `/readyz` routes.
 *
 * @module penguiflow/observability
 */
export { createMetrics, type Metrics, type MetricsOptions } from './metrics.js';
export { createOpsHandler, serveOps, type OpsHandlerOptions, type OpsServer, type ServeOpsOptions } from './ops-server.js';
export { readiness, type ReadinessOptions } from './readiness.js';
export { adoptTraceparent, createTracing, withTraceContext, type Tracing, type TracingOptions } from './tracing.js';
export { otelTraceIdOf, parseTraceparent, PenguiflowIdGenerator, rootSpanIdOf, traceparentOf } from './trace-ids.js';
export { observabilityFromEnv, type EnvObservability } from './from-env.js';
export { parsePrometheusText, sumSamples, type PromSample } from './prom-text.js';
export { joinCallerTrace } from './join-caller.js';
export { redisBusLag, type BusLagSample, type BusLagSource, type RedisBusLike } from './bus-lag.js';
export { otelIdsOf } from './trace-ids.js';
