/**
 * End-to-end jobs through a distributed node on Redis, side by side with
 * BullMQ on the same Redis in the same run:
 * - N no-op jobs, each a round trip (penguiflow: emit → worker → reply →
 *   fetch; BullMQ: add → worker → `completed` event), with 512 in flight;
 * - a fan-out of 1,000 children joined by a parent (penguiflow: a node
 *   emitting 1,000 messages to a distributed node, joined by `joinK`; BullMQ:
 *   FlowProducer with 1,000 children, the parent runs when they are done).
 * Worker and controller share this process, as BullMQ's Worker and Queue do.
 */
import { randomBytes } from 'node:crypto';
import { FlowProducer, Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createRedisMessageBus } from '../../dist/adapters/redis/index.js';
import { runWorker } from '../../dist/distributed/index.js';
import { createFlow, joinK, message, node, type Message } from '../../dist/index.js';
import { commands, penguiflowJobs as jobsOf } from '../redis-jobs.js';
import { serviceUrl } from '../../tests/helpers/services.js';
import { fmt, percentile, table, type BenchSection } from '../suite.js';

const N = Number(process.env.BENCH_DIST_N ?? 10_000);
const WINDOW = 512;
const penguiflowJobs = (url: string, concurrency: number) => jobsOf({ createRedisMessageBus, runWorker, createFlow, message, node }, url, concurrency, N, WINDOW);
const CHILDREN = 1_000;

async function bullJobs(url: string, concurrency: number): Promise<{ rate: number; p50: number; p99: number; cmds: number }> {
  const name = `bd${randomBytes(3).toString('hex')}`;
  const connection = { url, maxRetriesPerRequest: null } as const;
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  await events.waitUntilReady();
  const worker = new Worker(name, async (job) => job.data as number, { connection, concurrency });
  await worker.waitUntilReady();
  const waiting = new Map<string, () => void>();
  events.on('completed', ({ jobId }) => waiting.get(jobId)?.());
  const redis = new Redis(url);
  const before = await commands(redis);
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (next < N) {
      const i = next++;
      const t = performance.now();
      const done = new Promise<void>((resolve) => waiting.set(`j${i}`, resolve));
      await queue.add('job', i, { jobId: `j${i}`, removeOnComplete: true });
      await done;
      waiting.delete(`j${i}`);
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, lane));
  const rate = (N / (performance.now() - t0)) * 1000;
  const cmds = ((await commands(redis)) - before) / N;
  await worker.close();
  await events.close();
  await queue.obliterate({ force: true });
  await queue.close();
  await redis.quit();
  latencies.sort((a, b) => a - b);
  return { rate, p50: percentile(latencies, 50), p99: percentile(latencies, 99), cmds };
}

async function penguiflowFanIn(url: string): Promise<number> {
  const prefix = `bf${randomBytes(3).toString('hex')}`;
  const make = () => {
    const split = node('split', async (m: Message<number>, ctx) => {
      for (let i = 0; i < m.payload; i++) await ctx.emit(i);
      return undefined;
    });
    const child = node('child', (m: Message<number>) => m.payload, { placement: 'distributed' });
    const parent = joinK<number>('parent', CHILDREN);
    return createFlow(split.to(child), child.to(parent), { name: prefix, queueSize: 2048 });
  };
  const workerBus = await createRedisMessageBus({ url, prefix });
  const bus = await createRedisMessageBus({ url, prefix });
  const worker = await runWorker({ flow: make(), bus: workerBus, concurrency: 50, workerId: 'bench' });
  const flow = make();
  flow.run({ distributed: { bus } });
  await flow.ready();
  const t0 = performance.now();
  await flow.call(message(CHILDREN, { tenant: 'bench' }), { timeoutMs: 120_000 });
  const ms = performance.now() - t0;
  await flow.stop();
  await worker.stop();
  await bus.close();
  await workerBus.close();
  return ms;
}

async function bullFanIn(url: string): Promise<number> {
  const name = `bf${randomBytes(3).toString('hex')}`;
  const connection = { url, maxRetriesPerRequest: null } as const;
  const producer = new FlowProducer({ connection });
  const events = new QueueEvents(name, { connection });
  await events.waitUntilReady();
  const worker = new Worker(name, async (job) => (job.name === 'parent' ? Object.keys(await job.getChildrenValues()).length : job.data), {
    connection,
    concurrency: 50,
  });
  await worker.waitUntilReady();
  const t0 = performance.now();
  const done = new Promise<void>((resolve) => events.on('completed', ({ jobId }) => jobId === 'parent-job' && resolve()));
  await producer.add({
    name: 'parent',
    queueName: name,
    opts: { jobId: 'parent-job' },
    children: Array.from({ length: CHILDREN }, (_, i) => ({ name: 'child', queueName: name, data: i })),
  });
  await done;
  const ms = performance.now() - t0;
  await worker.close();
  await events.close();
  await producer.close();
  const queue = new Queue(name, { connection });
  await queue.obliterate({ force: true });
  await queue.close();
  return ms;
}

export default async function distributedSuite(): Promise<BenchSection> {
  const url = await serviceUrl('redis');
  if (url === undefined) return { title: 'Distributed jobs on Redis vs BullMQ', markdown: 'Skipped: Redis was not reachable.' };
  const rows: (string | number)[][] = [];
  const ratios: string[] = [];
  for (const concurrency of [1, 50]) {
    const ours = await penguiflowJobs(url, concurrency);
    const bull = await bullJobs(url, concurrency);
    rows.push(['penguiflow distributed node', concurrency, fmt(ours.rate), fmt(ours.p50, 2), fmt(ours.p99, 2), fmt(ours.cmds, 1)]);
    rows.push(['BullMQ 5 (add + worker + completed event)', concurrency, fmt(bull.rate), fmt(bull.p50, 2), fmt(bull.p99, 2), fmt(bull.cmds, 1)]);
    ratios.push(`concurrency ${concurrency}: ${fmt(ours.rate / bull.rate, 2)}× BullMQ's jobs/s, ${fmt(bull.cmds / ours.cmds, 1)}× fewer Redis commands per job`);
  }
  const fanOurs = await penguiflowFanIn(url);
  const fanBull = await bullFanIn(url);
  return {
    title: 'Distributed jobs on Redis vs BullMQ (end to end)',
    markdown: [
      `${fmt(N)} no-op jobs, ${WINDOW} in flight, one worker in the same process (both sides). Latency is enqueue to result at the producer.`,
      '',
      table(['system', 'worker concurrency', 'jobs/s', 'p50 ms', 'p99 ms', 'Redis commands/job'], rows),
      '',
      ratios.map((r) => `- ${r}`).join('\n'),
      '',
      table(
        ['fan-out of 1,000 children joined by a parent', 'ms'],
        [
          ['penguiflow (node emits 1,000 → distributed child → joinK)', fmt(fanOurs, 0)],
          ['BullMQ 5 FlowProducer (1,000 children, parent after them)', fmt(fanBull, 0)],
        ],
      ),
    ].join('\n'),
  };
}
