/**
 * Transports: envelope encode+decode (JSON, msgpack, compressed), SendMessage
 * requests/s over gRPC vs JSON-RPC vs REST against one server (same task
 * manager), and Redis publish throughput one-at-a-time vs batched per tick.
 * Everything runs in this process on 127.0.0.1 (load and server share the
 * CPU, so the ratios are the point, not the absolute numbers).
 */
import { randomUUID } from 'node:crypto';
import { fmt, table, type BenchSection } from '../suite.js';

const DURATION_MS = Number(process.env.BENCH_TRANSPORTS_DURATION_MS ?? 3_000);
const CONCURRENCY = Number(process.env.BENCH_TRANSPORTS_CONCURRENCY ?? 16);

async function codecRows(): Promise<(string | number)[][]> {
  const { message } = await import('../../src/index.js');
  const { createJsonSerializer, createMsgpackSerializer, createCompressedSerializer } = await import('../../src/distributed/index.js');
  const json = createJsonSerializer();
  const msgpack = await createMsgpackSerializer();
  const typical = {
    id: randomUUID(),
    topic: 'summarize',
    key: randomUUID(),
    source: 'fetch',
    target: 'summarize',
    message: message({ url: 'https://example.org/doc', title: 'A document', text: 'lorem ipsum dolor sit amet '.repeat(80), scores: Array.from({ length: 32 }, (_, i) => i / 7) }, { tenant: 'acme' }),
  };
  const binary = { ...typical, message: message({ image: new Uint8Array(64 * 1024).map((_, i) => (i * 31) & 0xff) }, { tenant: 'acme' }) };
  const serializers = [
    ['JSON', json],
    ['msgpack', msgpack],
    ['JSON + gzip', createCompressedSerializer(json, { thresholdBytes: 0, encoding: 'gzip' })],
    ['msgpack + brotli', createCompressedSerializer(msgpack, { thresholdBytes: 0, encoding: 'br' })],
  ] as const;
  const rows: (string | number)[][] = [];
  for (const [label, env] of [
    ['typical (2 KiB text)', typical],
    ['64 KiB binary', binary],
  ] as const) {
    for (const [name, s] of serializers) {
      const bytes = s.encode(env).byteLength;
      let n = 0;
      const start = performance.now();
      while (performance.now() - start < 300) {
        s.decode(s.encode(env));
        n++;
      }
      rows.push([label, name, fmt(bytes), fmt(((performance.now() - start) * 1000) / n, 1)]);
    }
  }
  return rows;
}

async function closedLoop(call: () => Promise<unknown>): Promise<number> {
  let done = 0;
  const end = performance.now() + DURATION_MS;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        await call();
        done++;
      }
    }),
  );
  return (done * 1000) / DURATION_MS;
}

async function bindingRows(): Promise<(string | number)[][]> {
  const { createFlow, node } = await import('../../src/index.js');
  const { InMemoryStateStore } = await import('../../src/adapters/memory/index.js');
  const { createA2AServer, createA2AFetch } = await import('../../src/a2a/index.js');
  const { createA2AGrpcServer, createA2AGrpcClient } = await import('../../src/a2a/grpc/index.js');
  const flow = createFlow(node('echo', async (msg) => msg.payload, { concurrency: 256 }), { name: 'echo', queueSize: 4096 });
  flow.run();
  const http = createA2AServer({ flow, store: new InMemoryStateStore(), card: { name: 'echo', description: 'echo' }, onError: () => undefined });
  const { url } = await http.listen();
  const grpcServer = createA2AGrpcServer({ server: http, onError: () => undefined });
  const { target } = await grpcServer.listen();
  const grpc = createA2AGrpcClient(target);
  const pooled = createA2AFetch({ connections: CONCURRENCY });
  const msg = () => ({ messageId: randomUUID(), role: 'ROLE_USER' as const, parts: [{ text: 'hello' }] });
  const headers = { 'content-type': 'application/json', 'a2a-version': '1.0' };
  const post = async (path: string, body: unknown) => {
    const res = await pooled(url + path, { method: 'POST', headers, body: JSON.stringify(body) });
    await res.arrayBuffer();
  };
  const rows: (string | number)[][] = [];
  try {
    rows.push(['gRPC', fmt(await closedLoop(() => grpc.sendMessage({ message: msg() })))]);
    rows.push(['JSON-RPC', fmt(await closedLoop(() => post('/a2a/jsonrpc', { jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: msg() } })))]);
    rows.push(['REST', fmt(await closedLoop(() => post('/a2a/rest/message:send', { message: msg() })))]);
  } finally {
    grpc.close();
    await pooled.close();
    await grpcServer.close();
    await http.close();
    await flow.stop();
  }
  return rows;
}

async function publishRows(): Promise<(string | number)[][] | string> {
  const { serviceUrl } = await import('../../tests/helpers/services.js');
  const url = await serviceUrl('redis');
  if (!url) return 'Redis was not reachable: skipped.';
  const { createRedisMessageBus } = await import('../../src/adapters/redis/index.js');
  const { message } = await import('../../src/index.js');
  const prefix = `pfb-${randomUUID().slice(0, 8)}`;
  const bus = await createRedisMessageBus({ url, prefix });
  const N = 5_000;
  const env = (i: number) => ({ id: `e${i}`, topic: 'bench', message: message({ i }, { tenant: 'acme' }) });
  try {
    let t = performance.now();
    for (let i = 0; i < N; i++) await bus.publish(env(i));
    const serial = (N * 1000) / (performance.now() - t);
    t = performance.now();
    await Promise.all(Array.from({ length: N }, (_, i) => bus.publish(env(N + i))));
    const batched = (N * 1000) / (performance.now() - t);
    return [
      ['one at a time (await each)', fmt(serial)],
      ['batched (one pipeline per tick)', fmt(batched)],
    ];
  } finally {
    await bus.purge();
    await bus.close();
  }
}

export default async function transports(): Promise<BenchSection> {
  const codec = await codecRows();
  const bindings = await bindingRows();
  const publishes = await publishRows();
  const markdown = [
    '**Envelope encode + decode** (one envelope, µs per round trip; compression forced with threshold 0):',
    '',
    table(['envelope', 'serializer', 'bytes', 'µs'], codec),
    '',
    `**SendMessage requests/s** (blocking, echo flow, ${CONCURRENCY} concurrent callers, ${DURATION_MS / 1000} s each, one server for the three bindings):`,
    '',
    table(['binding', 'req/s'], bindings),
    '',
    '**Redis publishes/s** (5,000 small envelopes):',
    '',
    typeof publishes === 'string' ? publishes : table(['publishing', 'envelopes/s'], publishes),
  ].join('\n');
  return { title: 'Transports: serialization, gRPC vs JSON-RPC vs REST, batching', markdown };
}
