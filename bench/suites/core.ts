/**
 * Core runtime throughput and latency, side by side with the floor (a bare
 * await chain) and the plainest alternative (a three-stage async-queue
 * pipeline with no features), in the same process and run.
 */
import { createFlow, joinK, message, node, type Flow, type Message } from '../../dist/index.js';
import { fmt, percentile, table, type BenchSection } from '../suite.js';

const N = 200_000;
const WINDOW = 512;
const RUNS = 5;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Messages/s through `flow` with WINDOW round trips in flight. */
async function flowThroughput(flow: Flow, n: number): Promise<number> {
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

/** Sequential round trips: latency distribution in µs. */
async function roundTrips(call: (i: number) => Promise<unknown>, n: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await call(i);
    samples.push((performance.now() - t) * 1000);
  }
  return samples.sort((a, b) => a - b);
}

function linearFlow(): Flow {
  const a = node('a', (m: Message<number>) => m.payload + 1);
  const b = node('b', (m: Message<number>) => m.payload * 2);
  const c = node('c', (m: Message<number>) => m.payload - 1);
  const flow = createFlow(a.to(b), b.to(c), { queueSize: 1024 });
  flow.run();
  return flow;
}

function fanOutFlow(): Flow {
  const split = node('split', (m: Message<number>) => m.payload);
  const workers = [1, 2, 3, 4].map((i) => node(`w${i}`, (m: Message<number>) => m.payload * i));
  const join = joinK<number>('join', 4);
  const flow = createFlow(split.to(...workers), ...workers.map((w) => w.to(join)), { queueSize: 1024 });
  flow.run();
  return flow;
}

// ---- peers

const stageA = async (x: number) => x + 1;
const stageB = async (x: number) => x * 2;
const stageC = async (x: number) => x - 1;

async function awaitChainThroughput(n: number): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < n) {
      next++;
      await stageC(await stageB(await stageA(next)));
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, lane));
  return (n / (performance.now() - t0)) * 1000;
}

/** The plainest hand-written pipeline: three unbounded async queues, one consumer each. */
class AsyncQueue<T> {
  private items: T[] = [];
  private waiters: ((v: T) => void)[] = [];
  push(v: T): void {
    const w = this.waiters.shift();
    if (w) w(v);
    else this.items.push(v);
  }
  pop(): Promise<T> {
    const v = this.items.shift();
    if (v !== undefined) return Promise.resolve(v);
    return new Promise((r) => this.waiters.push(r));
  }
}

async function queuePipelineThroughput(n: number): Promise<number> {
  type Item = { v: number; done: (v: number) => void };
  const q1 = new AsyncQueue<Item>();
  const q2 = new AsyncQueue<Item>();
  const q3 = new AsyncQueue<Item>();
  let running = true;
  const stage = async (from: AsyncQueue<Item>, fn: (x: number) => Promise<number>, to: AsyncQueue<Item> | undefined) => {
    while (running) {
      const item = await from.pop();
      if (item.v < 0) return;
      item.v = await fn(item.v);
      if (to) to.push(item);
      else item.done(item.v);
    }
  };
  const stages = [stage(q1, stageA, q2), stage(q2, stageB, q3), stage(q3, stageC, undefined)];
  const t0 = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < n) {
      next++;
      await new Promise<number>((done) => q1.push({ v: next, done }));
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, lane));
  const rate = (n / (performance.now() - t0)) * 1000;
  running = false;
  for (const q of [q1, q2, q3]) q.push({ v: -1, done: () => undefined });
  await Promise.all(stages);
  return rate;
}

export default async function coreSuite(): Promise<BenchSection> {
  const rows: Record<string, number[]> = { chain: [], pipeline: [], linear: [], fanout: [] };
  const linear = linearFlow();
  const fanout = fanOutFlow();
  await flowThroughput(linear, 20_000); // warm-up
  await flowThroughput(fanout, 10_000);
  for (let r = 0; r < RUNS; r++) {
    rows.chain!.push(await awaitChainThroughput(N));
    rows.pipeline!.push(await queuePipelineThroughput(N));
    rows.linear!.push(await flowThroughput(linear, N));
    rows.fanout!.push(await flowThroughput(fanout, N / 4));
  }
  const memory = process.memoryUsage().rss / 2 ** 20;

  const rtFlow = await roundTrips((i) => linear.call(message(i, { tenant: 'bench' })), 20_000);
  const rtChain = await roundTrips((i) => stageC(0).then(() => stageB(i)).then(stageA), 20_000);
  await linear.stop();
  await fanout.stop();
  const perHop = (percentile(rtFlow, 50) - percentile(rtChain, 50)) / 3;

  const through = table(
    ['workload', 'messages/s (median of 5)', 'aim'],
    [
      ['bare `await` chain, 3 steps (floor)', fmt(median(rows.chain!)), '—'],
      ['3-stage async-queue pipeline, no features (peer)', fmt(median(rows.pipeline!)), '—'],
      ['penguiflow 3-node linear flow', fmt(median(rows.linear!)), '≥ 500,000'],
      ['penguiflow 4-way fan-out + joinK', fmt(median(rows.fanout!)), '≥ 150,000'],
    ],
  );
  const latency = table(
    ['round trip (sequential, 20,000)', 'p50 µs', 'p99 µs', 'aim'],
    [
      ['bare `await` chain, 3 steps', fmt(percentile(rtChain, 50), 2), fmt(percentile(rtChain, 99), 2), '—'],
      ['penguiflow 3-node flow (`call`)', fmt(percentile(rtFlow, 50), 2), fmt(percentile(rtFlow, 99), 2), 'p50 ≤ 10'],
      ['penguiflow overhead per hop (p50, vs chain)', fmt(perHop, 2), '', '≤ 1'],
    ],
  );
  return {
    title: 'Core runtime (no store, no bus)',
    markdown: [
      `${WINDOW} round trips in flight; ${fmt(N)} messages per run (fan-out: ${fmt(N / 4)} traces, each 6 node runs). RSS after: ${fmt(memory)} MiB.`,
      '',
      through,
      '',
      latency,
    ].join('\n'),
  };
}
