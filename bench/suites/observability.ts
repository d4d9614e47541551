/**
 * Cost of the observability middlewares on the hot path: a three-node flow's
 * throughput with no middleware, with the Prometheus metrics middleware, with
 * the OpenTelemetry span middleware (SDK provider, batch processor, an
 * exporter that drops spans), and with both. Same process, same run.
 */
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { createFlow, message, node, type Flow, type FlowMiddleware, type Message } from '../../dist/index.js';
import { createMetrics, createTracing, PenguiflowIdGenerator } from '../../dist/observability/index.js';
import { fmt, table, type BenchSection } from '../suite.js';

const N = Number(process.env.BENCH_OBS_N ?? 100_000);
const WINDOW = 512;
const RUNS = 5;

const dropExporter: SpanExporter = {
  export: (_spans: ReadableSpan[], done) => done({ code: 0 }),
  shutdown: async () => undefined,
};

function linearFlow(middlewares: FlowMiddleware[]): Flow {
  const a = node('a', (m: Message<number>) => m.payload + 1);
  const b = node('b', (m: Message<number>) => m.payload * 2);
  const c = node('c', (m: Message<number>) => m.payload - 1);
  const flow = createFlow(a.to(b), b.to(c), { queueSize: 1024, middlewares, name: 'bench' });
  flow.run();
  return flow;
}

async function throughput(flow: Flow, n: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (next < n) {
      next++;
      const msg = message(next, { tenant: 'bench' });
      const result = flow.fetch({ traceId: msg.traceId });
      await flow.emit(msg);
      await result;
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, lane));
  return (n / (performance.now() - t0)) * 1000;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

export default async function observabilitySuite(): Promise<BenchSection> {
  const provider = new BasicTracerProvider({ idGenerator: new PenguiflowIdGenerator(), spanProcessors: [new BatchSpanProcessor(dropExporter, { maxQueueSize: 100_000 })] });
  const tracer = provider.getTracer('bench');
  const variants: [string, () => FlowMiddleware[]][] = [
    ['no middleware (events not built)', () => []],
    ['no-op middleware (events built)', () => [() => undefined]],
    ['metrics (prom-client)', () => [createMetrics().middleware]],
    ['tracing (OTel SDK, batch, dropped)', () => [createTracing({ tracer }).middleware]],
    ['tracing, sampleRatio 0.1', () => [createTracing({ tracer, sampleRatio: 0.1 }).middleware]],
    ['metrics + tracing', () => [createMetrics().middleware, createTracing({ tracer }).middleware]],
  ];
  const results = new Map<string, number[]>();
  for (let run = 0; run < RUNS; run++) {
    for (const [name, make] of variants) {
      const flow = linearFlow(make());
      await throughput(flow, Math.min(5_000, N)); // warm-up
      const r = await throughput(flow, N);
      await flow.stop();
      results.set(name, [...(results.get(name) ?? []), r]);
    }
  }
  await provider.shutdown();
  const base = median(results.get(variants[1]![0])!);
  const rows = variants.map(([name]) => {
    const m = median(results.get(name)!);
    return [name, fmt(m), name.startsWith('no ') ? '' : `${fmt(((base - m) / base) * 100, 1)} %`];
  });
  return {
    title: 'Observability middlewares',
    markdown: [
      `Three-node flow (a → b → c), ${fmt(N)} messages with ${WINDOW} round trips in flight, median of ${RUNS} runs. Overhead is against the no-op middleware row (the cost of building events is the runtime's, paid by any listener or store).`,
      '',
      table(['variant', 'messages/s', 'overhead'], rows),
    ].join('\n'),
  };
}
