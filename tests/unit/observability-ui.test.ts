import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryStateStore } from '../../src/adapters/memory/index.js';
import { createFlow, message, node, sleep, type FlowEvent, type Message } from '../../src/index.js';
import { buildTimeline, createUiServer, type UiServer } from '../../src/ui/index.js';

const servers: UiServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

const ev = (type: FlowEvent['type'], ts: number, more: Partial<FlowEvent> = {}): FlowEvent => ({ id: `${type}-${ts}-${Math.random()}`, type, ts, flow: 'f', traceId: 't', tenant: 'a', ...more });

describe('buildTimeline', () => {
  it('makes lanes per node and worker, bars per attempt with retries, remote calls, and markers', () => {
    const w = { worker: 'w-1' };
    const model = buildTimeline('t', [
      ev('node_start', 0, { node: 'a', messageId: 'm1', attempt: 0 }),
      ev('node_success', 5, { node: 'a', messageId: 'm1', attempt: 0, latencyMs: 4 }),
      ev('node_start', 6, { node: 'b', messageId: 'm2', attempt: 0, extra: w }),
      ev('node_error', 10, { node: 'b', messageId: 'm2', attempt: 0, extra: w, error: { name: 'Error', code: 'NODE_EXCEPTION', message: 'boom', retryable: true } }),
      ev('node_retry', 10, { node: 'b', messageId: 'm2', attempt: 1, extra: { ...w, delayMs: 20 } }),
      ev('node_start', 30, { node: 'b', messageId: 'm2', attempt: 1, extra: w }),
      ev('remote_call_start', 31, { node: 'b', messageId: 'm2', attempt: 1, extra: { ...w, agentUrl: 'http://agent' } }),
      ev('stream_chunk', 32, { node: 'b', messageId: 'm3', extra: { ...w, seq: 0 } }),
      ev('remote_call_success', 40, { node: 'b', messageId: 'm2', attempt: 1, extra: w }),
      ev('trace_cancel_start', 41),
      ev('node_trace_cancelled', 42, { node: 'b', messageId: 'm2', attempt: 1, extra: w }),
      ev('trace_cancel_finish', 43),
      ev('trace_complete', 43, { extra: { status: 'cancelled' } }),
    ]);
    expect(model.status).toBe('cancelled');
    expect(model.lanes.map((l) => [l.node, l.worker])).toEqual([['a', undefined], ['b', 'w-1']]);
    const bBars = model.bars.filter((b) => b.kind === 'attempt' && b.lane === model.lanes[1]!.id);
    expect(bBars.map((b) => [b.outcome, b.retry])).toEqual([['error', false], ['cancelled', true]]);
    expect(bBars[0]!.error).toEqual({ code: 'NODE_EXCEPTION', name: 'Error', message: 'boom' });
    expect(bBars[1]!.chunks).toBe(1);
    expect(model.bars.find((b) => b.kind === 'remote')).toMatchObject({ outcome: 'success', start: 31, end: 40, agentUrl: 'http://agent' });
    expect(model.markers.map((m) => m.kind)).toEqual(['retry', 'chunk', 'cancel_start', 'cancel_finish', 'complete']);
    expect(model.bars.find((b) => b.lane === model.lanes[0]!.id)).toMatchObject({ start: 0, end: 4, outcome: 'success' });
  });
});

describe('ui server', () => {
  it('serves a page with no inline script under a strict CSP, and a JSON API with filters', async () => {
    const store = new InMemoryStateStore();
    const flow = createFlow(node('<img src=x onerror=alert(1)>', async (m: Message<string>) => {
      await sleep(1);
      return m.payload;
    }), { name: 'ui-unit', stateStore: store });
    flow.run();
    const a = message('x', { tenant: 'acme' });
    const b = message('y', { tenant: 'globex' });
    await flow.call(a);
    await flow.call(b);
    await flow.stop();
    const ui = await createUiServer({ store, port: 0 });
    servers.push(ui);

    const page = await fetch(ui.url);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).not.toMatch(/<script>|<script [^>]*>[^<]/); // only <script src=… defer></script>
    expect((await fetch(`${ui.url}/app.js`)).headers.get('content-type')).toContain('text/javascript');

    const list = await fetch(`${ui.url}/api/traces?tenant=acme`);
    expect(list.headers.get('content-type')).toContain('application/json');
    expect(((await list.json()) as { traces: { traceId: string }[] }).traces.map((t) => t.traceId)).toEqual([a.traceId]);
    const byNode = (await (await fetch(`${ui.url}/api/traces?q=ONERROR`)).json()) as { traces: unknown[] };
    expect(byNode.traces).toHaveLength(2);
    expect(((await (await fetch(`${ui.url}/api/traces?q=nothing`)).json()) as { traces: unknown[] }).traces).toHaveLength(0);
    expect((await fetch(`${ui.url}/api/traces?status=bogus`)).status).toBe(400);

    const timeline = (await (await fetch(`${ui.url}/api/traces/${a.traceId}/timeline`)).json()) as { status: string; lanes: { node: string }[] };
    expect(timeline.status).toBe('succeeded');
    expect(timeline.lanes[0]!.node).toBe('<img src=x onerror=alert(1)>');
    expect((await fetch(`${ui.url}/api/traces/${a.traceId}?tenant=globex`)).status).toBe(404); // tenant-scoped read
    expect((await fetch(`${ui.url}/api/traces/nope`)).status).toBe(404);
  });

  it('refuses a Host header it does not serve (DNS rebinding)', async () => {
    const ui = await createUiServer({ store: new InMemoryStateStore(), port: 0 });
    servers.push(ui);
    const { port } = new URL(ui.url);
    const get = (host: string) =>
      new Promise<number>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path: '/api/traces', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject);
      });
    expect(await get(`127.0.0.1:${port}`)).toBe(200);
    expect(await get(`localhost:${port}`)).toBe(200);
    expect(await get(`evil.example:${port}`)).toBe(421);
  });

  it('streams a timeline over SSE and ends once the trace is complete', async () => {
    const store = new InMemoryStateStore();
    const flow = createFlow(node('a', (m: Message) => m.payload), node('b', async (m: Message) => {
      await sleep(300);
      return m.payload;
    }), { name: 'sse', stateStore: store });
    flow.run();
    const msg = message('x', { tenant: 'acme' });
    const done = flow.call(msg);
    await sleep(50);
    const ui = await createUiServer({ store, port: 0, pollMs: 50 });
    servers.push(ui);
    const res = await fetch(`${ui.url}/api/traces/${msg.traceId}/stream`);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text(); // the server closes the stream after `end`
    await done;
    await flow.stop();
    const timelines = text.split('\n').filter((l) => l.startsWith('data: {"traceId"')).map((l) => JSON.parse(l.slice(6)) as { status: string });
    expect(timelines.length).toBeGreaterThanOrEqual(2);
    expect(timelines[0]!.status).toBe('running');
    expect(timelines.at(-1)!.status).toBe('succeeded');
    expect(text).toContain('event: end');
  });
});
