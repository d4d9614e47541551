/**
 * Message bus throughput: N no-op messages published at once, then consumed
 * and acked by one consumer at concurrency 1 and 50. Our Redis Streams bus
 * against BullMQ (Queue.addBulk + Worker with a no-op processor) on the same
 * Redis in the same run: jobs/s, p50/p99 enqueue-to-done latency and Redis
 * commands per job (INFO commandstats deltas). Then NATS JetStream, RabbitMQ,
 * the SQLite queue and the PostgreSQL queue (each when reachable).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createNatsMessageBus } from '../../src/adapters/nats/index.js';
import { createPostgresQueue } from '../../src/adapters/postgres/postgres-queue.js';
import { createRabbitMessageBus } from '../../src/adapters/rabbitmq/index.js';
import { createRedisMessageBus } from '../../src/adapters/redis/index.js';
import { createSqliteQueue } from '../../src/adapters/sqlite/sqlite-queue.js';
import { message } from '../../src/core/message.js';
import type { BusEnvelope, ConsumableBus } from '../../src/protocols/message-bus.js';
import { serviceUrl } from '../../tests/helpers/services.js';
import { fmt, percentile, table, type BenchSection } from '../suite.js';

const N = Number(process.env.BENCH_BUS_N ?? 10_000);
const run = randomBytes(3).toString('hex');
const RUNS = Number(process.env.BENCH_BUS_RUNS ?? 3);

interface Result {
  jobsPerSec: number;
  p50: number;
  p99: number;
  commandsPerJob?: number;
  commands?: string;
}

/** Sum of `calls` per command from INFO commandstats. */
async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const text = await redis.info('commandstats');
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

const IGNORED = new Set(['info', 'ping', 'client', 'select', 'hello', 'config', 'scan', 'del', 'type', 'exists', 'keys']);

function delta(before: Map<string, number>, after: Map<string, number>): { total: number; top: string } {
  const rows: [string, number][] = [];
  for (const [cmd, calls] of after) {
    const d = calls - (before.get(cmd) ?? 0);
    if (d > 0 && !IGNORED.has(cmd)) rows.push([cmd, d]);
  }
  rows.sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((s, r) => s + r[1], 0);
  return { total, top: rows.slice(0, 5).map(([c, d]) => `${c} ${fmt(d / N, 2)}`).join(', ') };
}

function summarize(latencies: number[], elapsedMs: number): Result {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { jobsPerSec: (N / elapsedMs) * 1000, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/** The run with the median jobs/s. */
function medianRun(results: Result[]): Result {
  return [...results].sort((x, y) => x.jobsPerSec - y.jobsPerSec)[Math.floor(results.length / 2)]!;
}

function envelope(topic: string, n: number): BusEnvelope {
  return { id: `e-${run}-${topic}-${n}`, topic, message: message({ n }, { tenant: 'bench' }) };
}

/** Publishes N envelopes at once into a bus with one consumer running; resolves when all were handled. */
async function busRun(bus: ConsumableBus, concurrency: number): Promise<Result> {
  const topic = `bench-${run}-${concurrency}-${randomBytes(2).toString('hex')}`;
  const sent = new Map<string, number>();
  const latencies: number[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const sub = await bus.consume(
    topic,
    'bench',
    async (d) => {
      latencies.push(performance.now() - sent.get(d.envelope.id)!);
      if (latencies.length === N) done();
    },
    { concurrency, leaseMs: 60_000 },
  );
  const start = performance.now();
  const envelopes = Array.from({ length: N }, (_, n) => envelope(topic, n));
  await Promise.all(
    envelopes.map((e) => {
      sent.set(e.id, performance.now());
      return bus.publish(e);
    }),
  );
  await finished;
  const elapsed = performance.now() - start;
  await sub.close();
  return summarize(latencies, elapsed);
}

async function redisBusRun(url: string, admin: Redis, concurrency: number): Promise<Result> {
  const prefix = `pfbench-${run}`;
  const bus = await createRedisMessageBus({ url, prefix });
  try {
    const before = await commandStats(admin);
    const result = await busRun(bus, concurrency);
    const d = delta(before, await commandStats(admin));
    return { ...result, commandsPerJob: d.total / N, commands: d.top };
  } finally {
    await bus.close();
    await purgeKeys(admin, `${prefix}:*`);
  }
}

async function bullRun(url: string, admin: Redis, concurrency: number): Promise<Result> {
  const prefix = `bullbench-${run}`;
  const name = `q${concurrency}`;
  const connection = { url, maxRetriesPerRequest: null } as const;
  const queue = new Queue(name, { connection, prefix });
  const sent = new Map<string, number>();
  const latencies: number[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const worker = new Worker(name, async () => {}, { connection, prefix, concurrency, autorun: false });
  worker.on('completed', (job) => {
    latencies.push(performance.now() - sent.get(job.id!)!);
    if (latencies.length === N) done();
  });
  await worker.waitUntilReady();
  await queue.waitUntilReady();
  try {
    const before = await commandStats(admin);
    void worker.run();
    const start = performance.now();
    const jobs = Array.from({ length: N }, (_, n) => ({ name: 'noop', data: { n }, opts: { jobId: `j${n}` } }));
    for (const job of jobs) sent.set(job.opts.jobId, performance.now());
    for (let i = 0; i < jobs.length; i += 1_000) await queue.addBulk(jobs.slice(i, i + 1_000));
    await finished;
    const elapsed = performance.now() - start;
    const d = delta(before, await commandStats(admin));
    return { ...summarize(latencies, elapsed), commandsPerJob: d.total / N, commands: d.top };
  } finally {
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
    await purgeKeys(admin, `${prefix}:*`);
  }
}

async function purgeKeys(admin: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
    cursor = next;
    if (keys.length > 0) await admin.del(...keys);
  } while (cursor !== '0');
}

function row(name: string, concurrency: number, r: Result): (string | number)[] {
  return [
    name,
    concurrency,
    fmt(r.jobsPerSec),
    fmt(r.p50, 1),
    fmt(r.p99, 1),
    r.commandsPerJob === undefined ? '—' : fmt(r.commandsPerJob, 2),
    r.commands ?? '—',
  ];
}

export default async function bus(): Promise<BenchSection> {
  const header = ['Queue', 'Concurrency', 'jobs/s', 'p50 ms', 'p99 ms', 'Redis cmds/job', 'top commands per job'];
  const rows: (string | number)[][] = [];
  const notes: string[] = [];
  const ratios: string[] = [];
  const redisUrl = await serviceUrl('redis');
  if (redisUrl) {
    const admin = new Redis(redisUrl);
    try {
      for (const concurrency of [1, 50]) {
        // alternate the two peers so machine noise hits both alike; keep the median run of each
        const ours: Result[] = [];
        const bull: Result[] = [];
        for (let i = 0; i < RUNS; i++) {
          ours.push(await redisBusRun(redisUrl, admin, concurrency));
          bull.push(await bullRun(redisUrl, admin, concurrency));
        }
        const a = medianRun(ours);
        const b = medianRun(bull);
        rows.push(row('penguiflow Redis Streams', concurrency, a));
        rows.push(row('BullMQ 5', concurrency, b));
        ratios.push(`concurrency ${concurrency}: ${fmt(a.jobsPerSec / b.jobsPerSec, 2)}× BullMQ's jobs/s with ${fmt(b.commandsPerJob! / a.commandsPerJob!, 1)}× fewer Redis commands per job`);
      }
    } finally {
      admin.disconnect();
    }
  } else notes.push('Redis was not reachable: Redis and BullMQ rows skipped.');

  const natsUrl = await serviceUrl('nats');
  if (natsUrl) {
    const prefix = `pfbench${run}`;
    const nats = await createNatsMessageBus({ servers: natsUrl, prefix, storage: 'memory' });
    try {
      for (const concurrency of [1, 50]) rows.push(row('penguiflow NATS JetStream', concurrency, await busRun(nats, concurrency)));
    } finally {
      await nats.purge().catch(() => {});
      await nats.close();
    }
  } else notes.push('NATS was not reachable: its rows are skipped.');

  const amqpUrl = await serviceUrl('rabbitmq');
  if (amqpUrl) {
    const rabbit = await createRabbitMessageBus({ url: amqpUrl, prefix: `pfbench-${run}` });
    try {
      rows.push(row('penguiflow RabbitMQ (quorum queue)', 50, await busRun(rabbit, 50)));
    } finally {
      await rabbit.close();
      await rabbit.purge().catch(() => {});
    }
  } else notes.push('RabbitMQ was not reachable: its row is skipped.');

  const dir = mkdtempSync(join(tmpdir(), 'pf-bench-queue-'));
  const sqlite = createSqliteQueue({ path: join(dir, 'queue.db') });
  try {
    rows.push(row('penguiflow SQLite queue (file, WAL)', 50, await busRun(sqlite, 50)));
  } finally {
    await sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const pgUrl = await serviceUrl('postgres');
  if (pgUrl) {
    const queue = await createPostgresQueue({ url: pgUrl, schema: `pfbench_${run}` });
    try {
      rows.push(row('penguiflow PostgreSQL queue', 50, await busRun(queue, 50)));
    } finally {
      await queue.close();
      await queue.purge().catch(() => {});
    }
  } else notes.push('PostgreSQL was not reachable: its row is skipped.');

  const markdown = [
    `${fmt(N)} no-op messages published at once (penguiflow: \`Promise.all\` of \`publish\`, pipelined per tick; BullMQ: \`addBulk\` in chunks of 1,000) into one consumer already running; time from the first publish to the last handler done. Latency is enqueue-to-done per message, so it is mostly time spent queued behind the batch. Redis and BullMQ rows: the median of ${RUNS} alternating runs; NATS, RabbitMQ, SQLite and PostgreSQL rows: one run each. Our consumers read ahead (\`prefetch\`, default = concurrency); BullMQ runs with its defaults (completed jobs kept). Redis commands per job are INFO commandstats deltas over the run (all clients: other users of the same Redis add noise; commands run inside Lua scripts count too).`,
    '',
    table(header, rows),
    '',
    ...ratios.map((r) => `- Redis Streams bus, ${r}.`),
    ...(notes.length > 0 ? ['', ...notes] : []),
  ].join('\n');
  return { title: 'Message buses (Redis Streams vs BullMQ; NATS, RabbitMQ, SQLite and PostgreSQL queues)', markdown };
}
