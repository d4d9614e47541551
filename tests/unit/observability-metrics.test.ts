import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryStateStore } from '../../src/adapters/memory/index.js';
import { createFlow, message, node, sleep, type FlowEvent, type Message } from '../../src/index.js';
import { createMetrics, parsePrometheusText, serveOps, sumSamples, type OpsServer } from '../../src/observability/index.js';

const servers: OpsServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describe('createMetrics', () => {
  it('counts node outcomes, retries, timeouts, chunks and trace completions, and serves parseable Prometheus text', async () => {
    const metrics = createMetrics();
    const store = new InMemoryStateStore();
    const flow = createFlow(
      node('flaky', (() => {
        let calls = 0;
        return (m: Message<string>) => {
          if (calls++ % 3 < 2) throw new Error(`secret payload ${m.payload}`);
          return m.payload;
        };
      })(), { maxRetries: 3, backoff: { baseMs: 1, multiplier: 1, maxMs: 1, jitter: 0 } }),
      { name: 'metrics-unit', middlewares: [metrics.middleware], stateStore: store },
    );
    flow.run();
    for (let i = 0; i < 4; i++) await flow.call(message(`p${i}`, { tenant: 'acme' }));
    await flow.stop();

    const ops = await serveOps({ port: 0, host: '127.0.0.1', metrics, ready: async () => true });
    servers.push(ops);
    const res = await fetch(`${ops.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    const samples = parsePrometheusText(text);
    expect(sumSamples(samples, 'penguiflow_node_success_total', { flow: 'metrics-unit', node: 'flaky' })).toBe(4);
    expect(sumSamples(samples, 'penguiflow_node_errors_total', { node: 'flaky' })).toBe(8);
    expect(sumSamples(samples, 'penguiflow_node_retries_total', { node: 'flaky' })).toBe(8);
    expect(sumSamples(samples, 'penguiflow_traces_completed_total', { status: 'succeeded' })).toBe(4);
    expect(sumSamples(samples, 'penguiflow_node_latency_seconds_count', { node: 'flaky', status: 'success' })).toBe(4);
    expect(sumSamples(samples, 'penguiflow_traces_in_flight')).toBe(0);
    expect(sumSamples(samples, 'penguiflow_node_attempts_in_flight')).toBe(0);
    // the retry counter equals the node_retry events stored
    const stored = (await Promise.all((await store.listTraces({ tenant: null })).traces.map((t) => store.loadHistory(t.traceId, { tenant: null })))).flat();
    expect(stored.filter((e) => e.type === 'node_retry').length).toBe(sumSamples(samples, 'penguiflow_node_retries_total'));
    // no payload text, no trace ids, no tenant label unless asked
    expect(text).not.toContain('secret payload');
    for (const e of stored) expect(text).not.toContain(e.traceId);
    expect(samples.some((s) => 'tenant' in s.labels)).toBe(false);
  });

  it('counts timeouts, stream chunks, cancels and in-flight traces; tenant label only when switched on', async () => {
    const metrics = createMetrics({ tenantLabel: true });
    const one = (n: ReturnType<typeof node>) => createFlow(n, { name: 'metrics-unit', middlewares: [metrics.middleware] });
    const slow = one(node('slow', async (_m: Message, ctx) => sleep(200, ctx.signal), { timeoutMs: 20 }));
    const chat = one(node('chat', async (_m: Message, ctx) => {
      for (let i = 0; i < 3; i++) await ctx.stream(`token ${i}`, { done: i === 2 });
      return 'done';
    }));
    const long = one(node('long', async (_m: Message, ctx) => sleep(10_000, ctx.signal)));
    for (const f of [slow, chat, long]) f.run();
    expect(await slow.call(message('s', { tenant: 'acme' })).catch((e: { code?: string }) => e.code)).toBe('NODE_TIMEOUT');
    await chat.call(message('c', { tenant: 'acme' }));
    const msg = message('l', { tenant: 'acme' });
    await long.emit(msg);
    await sleep(20);
    let samples = parsePrometheusText(await metrics.text());
    expect(sumSamples(samples, 'penguiflow_traces_in_flight', { flow: 'metrics-unit', tenant: 'acme' })).toBe(1);
    expect(sumSamples(samples, 'penguiflow_node_attempts_in_flight', { node: 'long' })).toBe(1);
    expect(await long.cancel(msg.traceId)).toBe(true);
    for (const f of [slow, chat, long]) await f.stop();
    samples = parsePrometheusText(await metrics.text());
    expect(sumSamples(samples, 'penguiflow_trace_cancel_start_total', { tenant: 'acme' })).toBe(1);
    expect(sumSamples(samples, 'penguiflow_trace_cancel_finish_total')).toBe(1);
    expect(sumSamples(samples, 'penguiflow_node_cancelled_total', { node: 'long' })).toBe(1);
    expect(sumSamples(samples, 'penguiflow_node_timeouts_total', { node: 'slow' })).toBe(1);
    expect(sumSamples(samples, 'penguiflow_node_failures_total', { node: 'slow' })).toBe(1);
    expect(sumSamples(samples, 'penguiflow_stream_chunks_total', { node: 'chat' })).toBe(3);
    expect(sumSamples(samples, 'penguiflow_traces_completed_total', { status: 'cancelled' })).toBe(1);
    expect(sumSamples(samples, 'penguiflow_traces_in_flight')).toBe(0);
    expect(sumSamples(samples, 'penguiflow_node_attempts_in_flight')).toBe(0);
    expect(samples.filter((x) => x.name === 'penguiflow_node_success_total').every((x) => x.labels.tenant === 'acme')).toBe(true);
  });

  it('counts remote calls by status, remote cancels, redeliveries, dead letters, load shedding and deadline skips from events', async () => {
    const metrics = createMetrics();
    const base = { flow: 'f', traceId: 't1', tenant: 'a', node: 'agent', ts: Date.now() };
    const ev = (type: FlowEvent['type'], more: Partial<FlowEvent> = {}): FlowEvent => ({ id: Math.random().toString(36), type, ...base, ...more });
    for (const e of [
      ev('remote_call_start'),
      ev('remote_call_success', { latencyMs: 120 }),
      ev('remote_call_error', { latencyMs: 30 }),
      ev('remote_call_cancelled'),
      ev('remote_cancel_error'),
      ev('bus_redelivery'),
      ev('bus_dead_letter'),
      ev('load_shed', { extra: { depth: 42, priority: 0 } }),
      ev('deadline_skip'),
      // resilience events from the balanced transport (typed loosely: they may be newer than this file)
      ev('breaker_open' as string as FlowEvent['type'], { extra: { instanceId: 'i1', target: 'agent://x' } }),
      ev('breaker_open' as string as FlowEvent['type'], { extra: { instanceId: 'i2' } }),
      ev('breaker_half_open' as string as FlowEvent['type'], { extra: { instanceId: 'i1' } }),
      ev('failover' as string as FlowEvent['type']),
      ev('fallback_used' as string as FlowEvent['type']),
      ev('retry_budget_exhausted' as string as FlowEvent['type']),
      ev('remote_instance_down' as string as FlowEvent['type']),
      ev('some_future_event' as string as FlowEvent['type']),
    ]) await metrics.middleware(e);
    const s = parsePrometheusText(await metrics.text());
    expect(sumSamples(s, 'penguiflow_remote_calls_total', { status: 'success' })).toBe(1);
    expect(sumSamples(s, 'penguiflow_remote_calls_total', { status: 'error' })).toBe(1);
    expect(sumSamples(s, 'penguiflow_remote_calls_total', { status: 'cancelled' })).toBe(1);
    expect(sumSamples(s, 'penguiflow_remote_cancels_total', { status: 'success' })).toBe(1);
    expect(sumSamples(s, 'penguiflow_remote_cancels_total', { status: 'failure' })).toBe(1);
    expect(sumSamples(s, 'penguiflow_remote_call_latency_seconds_count')).toBe(2);
    expect(sumSamples(s, 'penguiflow_bus_redeliveries_total')).toBe(1);
    expect(sumSamples(s, 'penguiflow_bus_dead_letters_total')).toBe(1);
    expect(sumSamples(s, 'penguiflow_load_shed_total')).toBe(1);
    expect(sumSamples(s, 'penguiflow_queue_depth', { node: 'agent' })).toBe(42);
    expect(sumSamples(s, 'penguiflow_deadline_skips_total')).toBe(1);
    expect(sumSamples(s, 'penguiflow_breakers', { state: 'open' })).toBe(1);
    expect(sumSamples(s, 'penguiflow_breakers', { state: 'half_open' })).toBe(1);
    expect(sumSamples(s, 'penguiflow_breaker_transitions_total')).toBe(3);
    expect(sumSamples(s, 'penguiflow_failovers_total')).toBe(1);
    expect(sumSamples(s, 'penguiflow_fallbacks_total')).toBe(1);
    expect(sumSamples(s, 'penguiflow_retry_budget_exhausted_total')).toBe(1);
    expect(sumSamples(s, 'penguiflow_remote_instance_changes_total', { status: 'down' })).toBe(1);
  });

  it('serves /healthz always and /readyz from the readiness callback (503 on false, throw or timeout)', async () => {
    let state: 'ok' | 'down' | 'throw' | 'hang' = 'ok';
    const ops = await serveOps({
      port: 0,
      host: '127.0.0.1',
      readyTimeoutMs: 100,
      ready: () => (state === 'ok' ? Promise.resolve(true) : state === 'down' ? Promise.resolve(false) : state === 'throw' ? Promise.reject(new Error('x')) : new Promise<boolean>(() => undefined)),
    });
    servers.push(ops);
    const status = async (path: string) => (await fetch(ops.url + path)).status;
    expect(await status('/healthz')).toBe(200);
    expect(await status('/readyz')).toBe(200);
    for (const s of ['down', 'throw', 'hang'] as const) {
      state = s;
      expect(await status('/readyz')).toBe(503);
      expect(await status('/healthz')).toBe(200);
    }
    state = 'ok';
    expect(await status('/readyz')).toBe(200);
    expect(await status('/metrics')).toBe(404); // no metrics given
    expect(await status('/nope')).toBe(404);
  });
});

describe('parsePrometheusText', () => {
  it('rejects malformed lines', () => {
    expect(() => parsePrometheusText('ok_metric 1\nnot a sample line\n')).toThrow(/line 2/);
    expect(parsePrometheusText('# HELP a b\n# TYPE a counter\na{x="1\\"y"} 2\n')).toEqual([{ name: 'a', labels: { x: '1"y' }, value: 2 }]);
  });
});
