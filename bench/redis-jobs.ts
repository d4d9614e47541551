/**
 * End-to-end jobs through a distributed node on Redis (emit → worker →
 * reply → fetch, `WINDOW` in flight), for any build of penguiflow: the
 * distributed suite runs it on this checkout's dist, bench/before-after.ts on
 * two builds side by side.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { percentile } from './suite.js';

// two builds of the library share no types: the seam is loose on purpose
export interface Penguiflow {
  createRedisMessageBus: (options: { url: string; prefix: string }) => Promise<any>;
  runWorker: (options: any) => Promise<{ stop(): Promise<void> }>;
  createFlow: (...args: any[]) => any;
  message: (payload: number, init: { tenant: string }) => any;
  node: (name: string, fn: (m: { payload: number }) => number, policy: any) => any;
}

export interface JobsResult {
  rate: number;
  p50: number;
  p99: number;
  cmds: number;
}

export async function commands(redis: Redis): Promise<number> {
  const text = await redis.info('commandstats');
  let total = 0;
  for (const m of text.matchAll(/calls=(\d+)/g)) total += Number(m[1]);
  return total;
}

export async function penguiflowJobs(pf: Penguiflow, url: string, concurrency: number, N: number, WINDOW: number): Promise<JobsResult> {
  const { createRedisMessageBus, runWorker, createFlow, message, node } = pf;
  const prefix = `bd${randomBytes(3).toString('hex')}`;
  const make = () => createFlow(node('noop', (m: { payload: number }) => m.payload, { placement: 'distributed' }), { name: prefix, queueSize: 1024 });
  const workerBus = await createRedisMessageBus({ url, prefix });
  const bus = await createRedisMessageBus({ url, prefix });
  const worker = await runWorker({ flow: make(), bus: workerBus, concurrency, workerId: 'bench' });
  const flow = make();
  flow.run({ distributed: { bus } });
  await flow.ready();
  const redis = new Redis(url);
  const before = await commands(redis);
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (next < N) {
      next++;
      const t = performance.now();
      await flow.call(message(next, { tenant: 'bench' }));
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, lane));
  const rate = (N / (performance.now() - t0)) * 1000;
  const cmds = ((await commands(redis)) - before) / N;
  await flow.stop();
  await worker.stop();
  await bus.close();
  await workerBus.close();
  await redis.quit();
  latencies.sort((a, b) => a - b);
  return { rate, p50: percentile(latencies, 50), p99: percentile(latencies, 99), cmds };
}

