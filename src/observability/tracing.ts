import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace as otel, TraceFlags, type Context, type Span, type Tracer } from '../peers/opentelemetry.js';
import type { FlowEvent, FlowMiddleware } from '../core/events.js';
import { otelIdsOf, otelTraceIdOf, parseTraceparent, rootSpanIdOf, withPinnedIds } from './trace-ids.js';

export interface TracingOptions {
  /** Default: `trace.getTracer('penguiflow')` from the global provider. */
  tracer?: Tracer;
  /** Spans kept open at most (attempts whose end event never came); the oldest are ended first. Default 10,000. */
  maxOpenSpans?: number;
  /**
   * Share of traces to record, 0..1 (default 1). The decision is a hash of the
   * penguiflow trace id, so every process keeps or drops the same traces and a
   * kept tree is complete. Unsampled traces cost one hash per event.
   */
  sampleRatio?: number;
}

/** FNV-1a of the trace id, mixed (murmur3 finalizer) and scaled to [0, 1): the same in every process. */
function sampleKey(traceId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < traceId.length; i++) {
    h ^= traceId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}

export interface Tracing {
  /** Give to `createFlow({ middlewares })` or `runWorker({ middlewares })` in every process of the flow. */
  middleware: FlowMiddleware;
  /** Spans still open (attempts and roots). */
  readonly openSpans: number;
}

interface Adopted {
  otelTraceId: string;
  parentSpanId: string;
}

const adopted = new Map<string, Adopted>();
const MAX_ADOPTED = 10_000;

/**
 * Makes a local trace a child of a caller's span: its OTel trace id becomes
 * the caller's and its root span gets `traceparent`'s span as parent. An A2A
 * server calls it with the request's `traceparent` before it emits the
 * task's first message, so a remote agent's spans join the caller's tree.
 * Process-wide; ignored when the header is malformed.
 *
 * @example
 * adoptTraceparent(taskTraceId, req.headers.traceparent);
 */
export function adoptTraceparent(traceId: string, traceparent: string | undefined): boolean {
  const parent = parseTraceparent(traceparent);
  if (!parent) return false;
  if (adopted.size >= MAX_ADOPTED) adopted.delete(adopted.keys().next().value!);
  adopted.set(traceId, { otelTraceId: parent.traceId, parentSpanId: parent.spanId });
  return true;
}

function remoteContext(traceId: string, spanId: string): Context {
  return otel.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });
}


/**
 * OpenTelemetry spans from FlowEvents: a root span per trace (in the process
 * that started it), a span per node attempt (`node_start` → success, error,
 * timeout, cancel), a client span per remote call, zero-length spans for
 * deadline skips and load shedding, and span events for cancels, retries and
 * stream chunks. The OTel trace id and root span id are derived from the
 * penguiflow trace id, so spans made on workers join the controller's tree
 * with no context on the wire. Install {@link PenguiflowIdGenerator} in the
 * tracer provider of the controller so its root span carries the derived id.
 * Spans carry ids, names, attempts, error codes and timings — never payloads
 * or error messages.
 *
 * @example
 * const tracing = createTracing();
 * createFlow(a.to(b), { middlewares: [tracing.middleware] });
 * runWorker({ flow, bus, middlewares: [createTracing().middleware] });
 */
export function createTracing(options: TracingOptions = {}): Tracing {
  const tracer = options.tracer ?? otel.getTracer('penguiflow');
  const maxOpen = options.maxOpenSpans ?? 10_000;
  const ratio = options.sampleRatio ?? 1;
  const roots = new Map<string, Span>();
  const attempts = new Map<string, Span>();
  const remotes = new Map<string, Span>();
  const lastAttempt = new Map<string, string>();
  const retryDelay = new Map<string, number>();

  const parentOf = (traceId: string): Context => {
    const root = roots.get(traceId);
    if (root) return otel.setSpan(ROOT_CONTEXT, root);
    const ids = otelIdsOf(traceId);
    return remoteContext(adopted.get(traceId)?.otelTraceId ?? ids.traceId, ids.spanId);
  };

  const common = (e: FlowEvent) => {
    const attrs: Record<string, string | number | boolean> = { 'penguiflow.flow': e.flow, 'penguiflow.trace_id': e.traceId, 'penguiflow.tenant': e.tenant };
    if (e.node !== undefined) attrs['penguiflow.node'] = e.node;
    if (e.messageId !== undefined) attrs['penguiflow.message_id'] = e.messageId;
    if (e.attempt !== undefined) attrs['penguiflow.attempt'] = e.attempt;
    if (typeof e.extra?.worker === 'string') attrs['penguiflow.worker'] = e.extra.worker;
    return attrs;
  };

  const ensureRoot = (e: FlowEvent) => {
    if (roots.has(e.traceId) || e.extra?.worker !== undefined) return;
    const a = adopted.get(e.traceId);
    const parent = a ? remoteContext(a.otelTraceId, a.parentSpanId) : ROOT_CONTEXT;
    const ids = otelIdsOf(e.traceId);
    const span = withPinnedIds({ ...(a ? {} : { traceId: ids.traceId }), spanId: ids.spanId }, () =>
      tracer.startSpan(`trace ${e.flow}`, { root: !a, kind: SpanKind.INTERNAL, startTime: e.ts, attributes: { 'penguiflow.flow': e.flow, 'penguiflow.trace_id': e.traceId, 'penguiflow.tenant': e.tenant } }, parent),
    );
    roots.set(e.traceId, span);
    trim();
  };

  const trim = () => {
    for (const map of [attempts, remotes, roots]) {
      while (map.size > maxOpen) {
        const [key, span] = map.entries().next().value!;
        span.setAttribute('penguiflow.truncated', true);
        span.end();
        map.delete(key);
      }
    }
  };

  const attemptKey = (e: FlowEvent) => `${e.traceId}|${e.node ?? ''}|${e.messageId ?? ''}|${e.attempt ?? 0}`;
  const started = new WeakMap<Span, number>();
  const start = (name: string, e: FlowEvent, attributes: Record<string, string | number | boolean>, parent: Context, kind = SpanKind.INTERNAL): Span => {
    const span = tracer.startSpan(name, { kind, startTime: e.ts, attributes }, parent);
    started.set(span, e.ts);
    return span;
  };
  /** Start + the event's measured latency when it has one (sub-ms precision), else the event's time. */
  const endTime = (span: Span, e: FlowEvent) => {
    const t0 = started.get(span);
    return e.latencyMs !== undefined && t0 !== undefined ? t0 + e.latencyMs : e.ts;
  };

  const endAttempt = (e: FlowEvent, outcome: 'success' | 'error' | 'timeout' | 'cancelled' | 'deadline') => {
    const key = attemptKey(e);
    const span = attempts.get(key);
    if (!span) return;
    attempts.delete(key);
    const lk = `${e.traceId}|${e.node ?? ''}`;
    if (lastAttempt.get(lk) === key) lastAttempt.delete(lk);
    span.setAttribute('penguiflow.outcome', outcome);
    if (e.error) {
      span.setAttribute('penguiflow.error_code', e.error.code);
      span.setAttribute('error.type', e.error.code);
    }
    if (outcome === 'error' || outcome === 'timeout' || outcome === 'deadline') span.setStatus({ code: SpanStatusCode.ERROR, message: e.error?.code ?? outcome });
    else if (outcome === 'success') span.setStatus({ code: SpanStatusCode.OK });
    const end = endTime(span, e);
    for (const [rk, remote] of remotes) {
      if (rk.startsWith(key + '|')) {
        remote.setAttribute('penguiflow.outcome', 'abandoned');
        remote.end(end);
        remotes.delete(rk);
      }
    }
    span.end(end);
  };

  const point = (e: FlowEvent, name: string, error: boolean) => {
    const span = tracer.startSpan(name, { startTime: e.ts, attributes: common(e) }, parentOf(e.traceId));
    if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: e.error?.code ?? name });
    span.end(e.ts);
  };

  const endRemote = (e: FlowEvent, status: 'success' | 'error' | 'cancelled') => {
    const key = `${attemptKey(e)}|remote`;
    const span = remotes.get(key);
    if (!span) return;
    remotes.delete(key);
    span.setAttribute('penguiflow.remote.status', status);
    if (typeof e.extra?.taskId === 'string') span.setAttribute('penguiflow.remote.task_id', e.extra.taskId);
    if (e.error) span.setAttribute('error.type', e.error.code);
    span.setStatus(status === 'error' ? { code: SpanStatusCode.ERROR, message: e.error?.code ?? 'remote error' } : { code: SpanStatusCode.OK });
    span.end(endTime(span, e));
  };

  const middleware: FlowMiddleware = (e) => {
    if (e.traceId === '' || (ratio < 1 && sampleKey(e.traceId) >= ratio)) return;
    ensureRoot(e);
    // A plain string: event types added by other layers fall through instead of breaking this switch.
    const type: string = e.type;
    switch (type) {
      case 'node_start': {
        const attrs = common(e);
        const rk = `${e.traceId}|${e.node ?? ''}|${e.messageId ?? ''}`;
        const delay = retryDelay.get(rk);
        if (delay !== undefined) {
          attrs['penguiflow.retry_delay_ms'] = delay;
          retryDelay.delete(rk);
        }
        if ((e.attempt ?? 0) > 0) attrs['penguiflow.retry'] = true;
        const span = start(`node ${e.node ?? ''}`, e, attrs, parentOf(e.traceId));
        const key = attemptKey(e);
        attempts.set(key, span);
        lastAttempt.set(`${e.traceId}|${e.node ?? ''}`, key);
        trim();
        return;
      }
      case 'node_success':
        return endAttempt(e, 'success');
      case 'node_error':
        return endAttempt(e, 'error');
      case 'node_timeout':
        return endAttempt(e, 'timeout');
      case 'node_trace_cancelled':
        if (attempts.has(attemptKey(e))) return endAttempt(e, 'cancelled');
        return point(e, `cancelled ${e.node ?? ''}`, false);
      case 'node_retry': {
        if (typeof e.extra?.delayMs === 'number') retryDelay.set(`${e.traceId}|${e.node ?? ''}|${e.messageId ?? ''}`, Math.round(e.extra.delayMs));
        if (retryDelay.size > maxOpen) retryDelay.delete(retryDelay.keys().next().value!);
        return;
      }
      case 'node_failed':
        roots.get(e.traceId)?.addEvent('node_failed', { 'penguiflow.node': e.node ?? '', 'penguiflow.error_code': e.error?.code ?? '' }, e.ts);
        return;
      case 'deadline_skip':
        if (e.extra?.during === 'run' && attempts.has(attemptKey(e))) return endAttempt(e, 'deadline');
        return point(e, `deadline_skip ${e.node ?? ''}`, true);
      case 'load_shed':
        return point(e, `load_shed ${e.node ?? ''}`, true);
      case 'stream_chunk': {
        const key = lastAttempt.get(`${e.traceId}|${e.node ?? ''}`);
        const span = key === undefined ? undefined : attempts.get(key);
        span?.addEvent('stream_chunk', { 'penguiflow.stream_seq': Number(e.extra?.seq ?? 0), 'penguiflow.stream_done': e.extra?.done === true }, e.ts);
        return;
      }
      case 'remote_call_start': {
        const key = attemptKey(e);
        const parentSpan = attempts.get(key);
        const parent = parentSpan ? otel.setSpan(ROOT_CONTEXT, parentSpan) : parentOf(e.traceId);
        const attrs = common(e);
        if (typeof e.extra?.agentUrl === 'string') attrs['penguiflow.remote.agent_url'] = e.extra.agentUrl;
        if (typeof e.extra?.skill === 'string') attrs['penguiflow.remote.skill'] = e.extra.skill;
        remotes.set(`${key}|remote`, start(`remote ${e.node ?? ''}`, e, attrs, parent, SpanKind.CLIENT));
        trim();
        return;
      }
      case 'remote_call_success':
        return endRemote(e, 'success');
      case 'remote_call_error':
        return endRemote(e, 'error');
      case 'remote_call_cancelled':
        return endRemote(e, 'cancelled');
      case 'remote_stream_event':
      case 'remote_cancel_error':
        remotes.get(`${attemptKey(e)}|remote`)?.addEvent(type, {}, e.ts);
        return;
      case 'trace_cancel_start':
      case 'trace_cancel_drop':
      case 'trace_cancel_finish':
        roots.get(e.traceId)?.addEvent(type, typeof e.extra?.dropped === 'number' ? { 'penguiflow.dropped': e.extra.dropped } : {}, e.ts);
        return;
      case 'trace_complete': {
        const root = roots.get(e.traceId);
        if (!root) return;
        roots.delete(e.traceId);
        const status = String(e.extra?.status ?? 'succeeded');
        root.setAttribute('penguiflow.status', status);
        root.setStatus(status === 'failed' ? { code: SpanStatusCode.ERROR, message: 'failed' } : { code: SpanStatusCode.OK });
        root.end(e.ts);
        return;
      }
      case 'breaker_open':
      case 'failover':
      case 'fallback_used':
      case 'retry_budget_exhausted': {
        const attrs: Record<string, string> = { 'penguiflow.node': e.node ?? '' };
        if (typeof e.extra?.reason === 'string') attrs['penguiflow.reason'] = e.extra.reason;
        if (typeof e.extra?.target === 'string') attrs['penguiflow.remote.target'] = e.extra.target;
        roots.get(e.traceId)?.addEvent(type, attrs, e.ts);
        return;
      }
      default:
        return;
    }
  };

  return {
    middleware,
    get openSpans() {
      return roots.size + attempts.size + remotes.size;
    },
  };
}

/** Runs `fn` with the trace's root as the active OTel context (e.g. to instrument a driver call inside a node). */
export function withTraceContext<T>(traceId: string, fn: () => T): T {
  const a = adopted.get(traceId);
  return context.with(remoteContext(a?.otelTraceId ?? otelTraceIdOf(traceId), rootSpanIdOf(traceId)), fn);
}
