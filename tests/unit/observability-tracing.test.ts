import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { createFlow, message, node, sleep, type Message } from '../../src/index.js';
import { adoptTraceparent, createTracing, otelTraceIdOf, parseTraceparent, PenguiflowIdGenerator, rootSpanIdOf, traceparentOf } from '../../src/observability/index.js';

function setup() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ idGenerator: new PenguiflowIdGenerator(), spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { exporter, tracer: provider.getTracer('test') };
}

/** Every span reaches the root by parent links within the exported set. */
function assertOneTree(spans: ReadableSpan[]): ReadableSpan {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  const roots = spans.filter((s) => s.parentSpanContext === undefined);
  expect(roots.map((r) => r.name)).toHaveLength(1);
  for (const s of spans) {
    let cur: ReadableSpan | undefined = s;
    for (let i = 0; cur?.parentSpanContext && i < 10; i++) cur = byId.get(cur.parentSpanContext.spanId);
    expect(cur, `span ${s.name} is not connected`).toBe(roots[0]);
    expect(s.spanContext().traceId).toBe(roots[0]!.spanContext().traceId);
  }
  return roots[0]!;
}

describe('trace ids', () => {
  it('are derived from the penguiflow trace id, stable, and form a valid traceparent', () => {
    expect(otelTraceIdOf('t-1')).toMatch(/^[0-9a-f]{32}$/);
    expect(rootSpanIdOf('t-1')).toMatch(/^[0-9a-f]{16}$/);
    expect(otelTraceIdOf('t-1')).toBe(otelTraceIdOf('t-1'));
    expect(otelTraceIdOf('t-1')).not.toBe(otelTraceIdOf('t-2'));
    expect(parseTraceparent(traceparentOf('t-1'))).toEqual({ traceId: otelTraceIdOf('t-1'), spanId: rootSpanIdOf('t-1'), sampled: true });
    expect(parseTraceparent('00-00000000000000000000000000000000-0000000000000001-01')).toBeUndefined();
    expect(parseTraceparent('garbage')).toBeUndefined();
  });
});

describe('createTracing', () => {
  it('makes one tree per trace: root, node attempts (retries marked), with ids and codes but no payload text', async () => {
    const { exporter, tracer } = setup();
    const tracing = createTracing({ tracer });
    let calls = 0;
    const a = node('a', (m: Message<string>) => m.payload);
    const b = node('b', (m: Message<string>) => {
      if (calls++ === 0) throw new Error(`secret ${m.payload}`);
      return m.payload;
    }, { maxRetries: 1, backoff: { baseMs: 1, multiplier: 1, maxMs: 1, jitter: 0 } });
    const flow = createFlow(a.to(b), { name: 'tr', middlewares: [tracing.middleware] });
    flow.run();
    const msg = message('hello-payload', { tenant: 'acme' });
    await flow.call(msg);
    await flow.stop();
    const spans = exporter.getFinishedSpans();
    const root = assertOneTree(spans);
    expect(root.name).toBe('trace tr');
    expect(root.spanContext().traceId).toBe(otelTraceIdOf(msg.traceId));
    expect(root.spanContext().spanId).toBe(rootSpanIdOf(msg.traceId));
    expect(spans.map((s) => s.name).sort()).toEqual(['node a', 'node b', 'node b', 'trace tr']);
    const bs = spans.filter((s) => s.name === 'node b');
    expect(bs.map((s) => s.attributes['penguiflow.outcome']).sort()).toEqual(['error', 'success']);
    expect(bs.find((s) => s.attributes['penguiflow.attempt'] === 1)!.attributes['penguiflow.retry']).toBe(true);
    expect(JSON.stringify(spans.map((s) => ({ a: s.attributes, e: s.events, st: s.status })))).not.toContain('secret');
    expect(JSON.stringify(spans.map((s) => s.attributes))).not.toContain('hello-payload');
    expect(tracing.openSpans).toBe(0);
  });

  it('marks a cancel on the root and ends the running attempt as cancelled', async () => {
    const { exporter, tracer } = setup();
    const tracing = createTracing({ tracer });
    const flow = createFlow(node('long', async (_m: Message, ctx) => sleep(5_000, ctx.signal)), { name: 'tr', middlewares: [tracing.middleware] });
    flow.run();
    const msg = message('x', { tenant: 'acme' });
    await flow.emit(msg);
    await sleep(10);
    await flow.cancel(msg.traceId);
    await flow.stop();
    const spans = exporter.getFinishedSpans();
    const root = assertOneTree(spans);
    expect(root.events.map((e) => e.name)).toEqual(expect.arrayContaining(['trace_cancel_start', 'trace_cancel_finish']));
    expect(root.attributes['penguiflow.status']).toBe('cancelled');
    expect(spans.find((s) => s.name === 'node long')!.attributes['penguiflow.outcome']).toBe('cancelled');
  });

  it('an adopted trace (remote agent) hangs under the caller span named by its traceparent', async () => {
    const { exporter, tracer } = setup();
    const caller = createTracing({ tracer });
    const agent = createTracing({ tracer });
    const callerFlow = createFlow(node('ask', async (m: Message<string>) => {
      const child = message(m.payload, { tenant: 'acme' });
      adoptTraceparent(child.traceId, traceparentOf(m.traceId)); // what the A2A server does with the header
      return agentFlow.call(child).then((r) => r.payload);
    }), { name: 'caller', middlewares: [caller.middleware] });
    const agentFlow = createFlow(node('answer', (m: Message<string>) => m.payload), { name: 'agent', middlewares: [agent.middleware] });
    agentFlow.run();
    callerFlow.run();
    await callerFlow.call(message('q', { tenant: 'acme' }));
    await callerFlow.stop();
    await agentFlow.stop();
    const root = assertOneTree(exporter.getFinishedSpans());
    expect(root.name).toBe('trace caller');
    expect(exporter.getFinishedSpans().find((s) => s.name === 'trace agent')!.parentSpanContext!.spanId).toBe(root.spanContext().spanId);
  });

  it('samples whole traces by a hash of the trace id: two processes keep the same ones', async () => {
    const { exporter, tracer } = setup();
    const a = createTracing({ tracer, sampleRatio: 0.3 });
    const b = createTracing({ tracer, sampleRatio: 0.3 });
    const ids = Array.from({ length: 200 }, (_, i) => `trace-${i}`);
    for (const traceId of ids) {
      const e = { id: 'x', flow: 'f', traceId, tenant: 't', node: 'n', messageId: 'm', attempt: 0 };
      await a.middleware({ ...e, type: 'node_start', ts: 1 });
      await a.middleware({ ...e, type: 'node_success', ts: 2 });
      await b.middleware({ ...e, type: 'node_start', ts: 1, extra: { worker: 'w' } });
      await b.middleware({ ...e, type: 'node_success', ts: 2, extra: { worker: 'w' } });
    }
    const spans = exporter.getFinishedSpans();
    const keptBy = (worker: boolean) => new Set(spans.filter((s) => s.name === 'node n' && ('penguiflow.worker' in s.attributes) === worker).map((s) => s.attributes['penguiflow.trace_id']));
    expect(keptBy(false)).toEqual(keptBy(true));
    expect(keptBy(false).size).toBeGreaterThan(30);
    expect(keptBy(false).size).toBeLessThan(90);
  });
});
