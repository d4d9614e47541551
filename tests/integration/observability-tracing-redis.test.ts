/**
 * One trace crossing two worker processes (on Redis) and one remote A2A agent
 * is one connected OpenTelemetry span tree: the controller, each worker
 * process and the agent export their spans separately (in-memory exporters),
 * and the spans link up by the ids derived from the penguiflow trace id.
 * Each worker process also serves its own /metrics and /readyz.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createA2AClient, createA2AServer, type A2AServer } from '../../src/a2a/index.js';
import { InMemoryStateStore } from '../../src/adapters/memory/index.js';
import { openMessageBus } from '../../src/distributed/index.js';
import { createFlow, message, node, sleep, type ConsumableBus, type Flow, type Message } from '../../src/index.js';
import { createTracing, joinCallerTrace, otelTraceIdOf, parsePrometheusText, PenguiflowIdGenerator, rootSpanIdOf, sumSamples } from '../../src/observability/index.js';
import { remoteNode } from '../../src/remote/index.js';
import { serviceUrl } from '../helpers/services.js';
import { ROOT } from '../helpers/spawn.js';

const redis = await serviceUrl('redis');

interface SpanRow {
  name: string;
  traceId: string;
  spanId: string;
  parent?: string;
  attributes: Record<string, unknown>;
  process: string;
}

const src = (p: string) => pathToFileURL(path.join(ROOT, p)).href;

/** The flow module shared by the controller and the workers (written to a temp file). */
const FLOW_MODULE = `
import { createFlow, node } from ${JSON.stringify(src('src/index.ts'))};
let calls = 0;
// \`ask\` runs in the controller; a worker only needs a node of that name to know the edge.
export default (ask = node('ask', (m) => m.payload), middlewares = []) => {
  const plan = node('plan', (m) => m.payload);
  const fetch = node('fetch', (m) => { if (calls++ === 0) throw new Error('first fetch fails'); return m.payload + ' fetched'; },
    { placement: 'distributed', maxRetries: 1, backoff: { baseMs: 5, multiplier: 1, maxMs: 5, jitter: 0 } });
  const rank = node('rank', (m) => m.payload + ' ranked', { placement: 'distributed' });
  return createFlow(plan.to(fetch), fetch.to(rank), rank.to(ask), { name: process.env.OBS_FLOW, middlewares });
};
`;

/** A worker process: runWorker with the tracing middleware; prints its spans as JSON on SIGTERM. */
const WORKER = (flowFile: string, busUrl: string, nodeName: string) => `
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
const { createTracing, PenguiflowIdGenerator, observabilityFromEnv } = await import(${JSON.stringify(src('src/observability/index.ts'))});
const { runWorker, openMessageBus } = await import(${JSON.stringify(src('src/distributed/index.ts'))});
const { default: make } = await import(${JSON.stringify(pathToFileURL(flowFile).href)});
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ idGenerator: new PenguiflowIdGenerator(), spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracing = createTracing({ tracer: provider.getTracer('worker') });
const bus = await openMessageBus(${JSON.stringify(busUrl)});
const flow = make();
// metrics + /metrics /healthz /readyz on a free port, the way the worker CLI can switch them on
const obs = await observabilityFromEnv({ bus, topics: [flow.name + '.' + ${JSON.stringify(nodeName)}], env: { PENGUIFLOW_METRICS_PORT: '0', PENGUIFLOW_METRICS_HOST: '127.0.0.1' } });
const worker = await runWorker({ flow, bus, nodes: [${JSON.stringify(nodeName)}], middlewares: [tracing.middleware, ...obs.middlewares], leaseMs: 5000, workerId: 'w-${nodeName}-' + process.pid });
process.stdout.write('ops ' + obs.ops.url + '\\n');
process.stdout.write('ready\\n');
process.once('SIGTERM', async () => {
  await worker.stop();
  await obs.close();
  await bus.close();
  const spans = exporter.getFinishedSpans().map((s) => ({ name: s.name, traceId: s.spanContext().traceId, spanId: s.spanContext().spanId, parent: s.parentSpanContext?.spanId, attributes: s.attributes, process: String(process.pid) }));
  process.stdout.write('SPANS ' + JSON.stringify(spans) + '\\n', () => process.exit(0));
});
`;

function startWorker(flowFile: string, busUrl: string, nodeName: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', WORKER(flowFile, busUrl, nodeName)], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const ready = (async () => {
    for (let i = 0; i < 400 && !out.includes('ready'); i++) await sleep(50);
    if (!out.includes('ready')) throw new Error(`worker ${nodeName} did not start: ${out}`);
  })();
  const spans = async (): Promise<SpanRow[]> => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    const line = out.split('\n').find((l) => l.startsWith('SPANS '));
    if (!line) throw new Error(`worker ${nodeName} printed no spans: ${out}`);
    return JSON.parse(line.slice(6)) as SpanRow[];
  };
  const opsUrl = () => /ops (http:\/\/\S+)/.exec(out)?.[1];
  return { child, ready, spans, opsUrl };
}

describe.skipIf(!redis)('one span tree across two worker processes and a remote agent (Redis)', () => {
  const tag = `obs${Date.now().toString(36)}`;
  const busUrl = `${redis}?prefix=${tag}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'pf-obs-'));
  const flowFile = path.join(dir, 'flow.mjs');
  const children: ChildProcess[] = [];
  let bus: ConsumableBus;
  let flow: Flow;
  let agentFlow: Flow;
  let server: A2AServer;
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ idGenerator: new PenguiflowIdGenerator(), spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let workers: ReturnType<typeof startWorker>[] = [];

  beforeAll(async () => {
    writeFileSync(flowFile, FLOW_MODULE);
    process.env.OBS_FLOW = tag;
    // the remote agent: its own flow and tracing, served over A2A; joins the caller's tree
    agentFlow = createFlow(node('answer', async (m: Message<string>) => {
      await sleep(5);
      return `${m.payload} answered`;
    }), { name: 'agent', middlewares: [createTracing({ tracer: provider.getTracer('agent') }).middleware] });
    agentFlow.run();
    server = createA2AServer({ flow: joinCallerTrace(agentFlow), store: new InMemoryStateStore(), card: { name: 'agent', description: 'answers', skills: [{ id: 'answer', name: 'answer', description: 'answers', tags: [] }] }, onError: () => undefined });
    const { url } = await server.listen();

    workers = [startWorker(flowFile, busUrl, 'fetch', { OBS_FLOW: tag }), startWorker(flowFile, busUrl, 'rank', { OBS_FLOW: tag })];
    children.push(...workers.map((w) => w.child));
    await Promise.all(workers.map((w) => w.ready));

    const { default: make } = (await import(pathToFileURL(flowFile).href)) as { default: (ask?: unknown, middlewares?: unknown[]) => Flow };
    const ask = remoteNode({ name: 'ask', transport: createA2AClient({ timeoutMs: 10_000 }), agentUrl: url, skill: 'answer' });
    flow = make(ask, [createTracing({ tracer: provider.getTracer('controller') }).middleware]);
    bus = await openMessageBus(busUrl);
    flow.run({ distributed: { bus } });
    await flow.ready();
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await flow?.stop({ timeoutMs: 2_000 });
    await bus?.close();
    await server?.close();
    await agentFlow?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('links controller, both workers and the agent under the trace root', async () => {
    const msg = message('question', { tenant: 'acme' });
    const out = await flow.call(msg, { timeoutMs: 30_000 });
    expect(out.payload).toBe('question fetched ranked answered');
    await sleep(100);
    const local: SpanRow[] = exporter.getFinishedSpans().map((s) => ({ name: s.name, traceId: s.spanContext().traceId, spanId: s.spanContext().spanId, parent: s.parentSpanContext?.spanId, attributes: s.attributes, process: 'controller+agent' }));
    // every worker process serves its own /metrics: the retry and the error happened on the fetch worker only
    const [fetchWorker, rankWorker] = workers as [ReturnType<typeof startWorker>, ReturnType<typeof startWorker>];
    const scrape = async (w: ReturnType<typeof startWorker>) => parsePrometheusText(await (await fetch(`${w.opsUrl()!}/metrics`)).text());
    const fm = await scrape(fetchWorker);
    const rm = await scrape(rankWorker);
    expect(sumSamples(fm, 'penguiflow_node_retries_total', { flow: tag, node: 'fetch' })).toBe(1);
    expect(sumSamples(fm, 'penguiflow_node_errors_total', { node: 'fetch' })).toBe(1);
    expect(sumSamples(fm, 'penguiflow_node_success_total', { node: 'fetch' })).toBe(1);
    expect(sumSamples(fm, 'penguiflow_node_success_total', { node: 'rank' })).toBe(0);
    expect(sumSamples(rm, 'penguiflow_node_success_total', { node: 'rank' })).toBe(1);
    expect(sumSamples(rm, 'penguiflow_bus_pending', { topic: `${tag}.rank` })).toBe(0);
    expect((await fetch(`${rankWorker.opsUrl()!}/readyz`)).status).toBe(200);

    const remote = (await Promise.all(workers.map((w) => w.spans()))).flat();
    const spans = [...local, ...remote].filter((s) => s.traceId === otelTraceIdOf(msg.traceId));

    // every span of the trace in every process shares the derived trace id and reaches one root
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const roots = spans.filter((s) => s.parent === undefined);
    expect(roots.map((r) => r.name)).toEqual([`trace ${tag}`]);
    expect(roots[0]!.spanId).toBe(rootSpanIdOf(msg.traceId));
    for (const s of spans) {
      let cur: SpanRow | undefined = s;
      for (let i = 0; cur?.parent !== undefined && i < 10; i++) cur = byId.get(cur.parent);
      expect(cur, `${s.name} (${s.process}) is not connected`).toBe(roots[0]);
    }
    // the tree covers two worker processes, a retry on one of them, the remote call and the agent's own trace
    const workerSpans = spans.filter((s) => typeof s.attributes['penguiflow.worker'] === 'string');
    expect(new Set(workerSpans.map((s) => s.process)).size).toBe(2);
    expect(workerSpans.filter((s) => s.name === 'node fetch').map((s) => s.attributes['penguiflow.outcome']).sort()).toEqual(['error', 'success']);
    expect(workerSpans.filter((s) => s.name === 'node rank')).toHaveLength(1);
    expect(spans.find((s) => s.name === 'remote ask')).toBeDefined();
    const agentRoot = spans.find((s) => s.name === 'trace agent')!;
    expect(agentRoot.parent).toBe(roots[0]!.spanId);
    expect(spans.find((s) => s.name === 'node answer')!.parent).toBe(agentRoot.spanId);
    expect(spans.map((s) => s.name)).toEqual(expect.arrayContaining(['node plan', 'node ask']));
  });
});
