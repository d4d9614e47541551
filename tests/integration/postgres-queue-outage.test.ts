/**
 * The PostgreSQL queue across database outages, on a PostgreSQL server of
 * this file's own (tests/helpers/own-postgres.ts: initdb + pg_ctl on a free
 * port). The shared server on 5432 is never stopped.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { InMemoryStateStore } from '../../src/adapters/memory/memory-state-store.js';
import { openMessageBus } from '../../src/adapters/bus-url.js';
import { createFlow } from '../../src/core/flow.js';
import { message, type Message } from '../../src/core/message.js';
import { node } from '../../src/core/node.js';
import { Worker } from '../../src/distributed/worker.js';
import { createPostgresQueue, type PostgresQueue } from '../../src/adapters/postgres/postgres-queue.js';
import { isPenguiflowError } from '../../src/errors/index.js';
import type { BusEnvelope, Delivery } from '../../src/protocols/message-bus.js';
import { startOwnPostgres, type OwnPostgres } from '../helpers/own-postgres.js';

const own: OwnPostgres | undefined = await startOwnPostgres().catch((error: unknown) => {
  if (process.env.CI === 'true') throw error;
  console.warn(`\n!!! could not start a private PostgreSQL (${String(error)}): the outage tests are SKIPPED.\n`);
  return undefined;
});
afterAll(async () => own?.destroy());

const unique = (kind: string) => `${kind}-${randomBytes(4).toString('hex')}`;
const envelope = (topic: string, n: number): BusEnvelope => ({ id: unique('e'), topic, message: message({ n }, { tenant: 'acme' }) });
const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(20);
  }
}

/** Rejection (or undefined) and how long it took. */
async function timed(p: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const start = Date.now();
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, ms: Date.now() - start };
}

describe.skipIf(own === undefined)('PostgreSQL queue outages (private server)', () => {
  const queues: PostgresQueue[] = [];
  const open = async (options: { lazyConnect?: boolean; schema?: string } = {}) => {
    const queue = await createPostgresQueue({ url: own!.url, schema: options.schema ?? unique('pfo').replace(/-/g, '_'), timeoutMs: 1_500, pollMs: 200, ...options });
    queues.push(queue);
    return queue;
  };

  afterAll(async () => {
    for (const q of queues) await q.close().catch(() => undefined);
  });

  it('database down at start: a lazyConnect queue is created at once; consume and publish reject with BUS_UNAVAILABLE within the bound; once it is up they work', async () => {
    await own!.stop();
    try {
      const created = await timed(open({ lazyConnect: true }));
      expect(created.error).toBeUndefined();
      expect(created.ms).toBeLessThan(500);
      const queue = queues.at(-1)!;
      const topic = unique('topic');
      const got: string[] = [];
      const consumed = await timed(queue.consume(topic, 'workers', async (d) => void got.push(d.envelope.id), { leaseMs: 5_000 }));
      expect(isPenguiflowError(consumed.error, 'BUS_UNAVAILABLE')).toBe(true);
      expect(consumed.ms).toBeLessThan(1_500 + 1_500);
      const published = await timed(queue.publish(envelope(topic, 0)));
      expect(isPenguiflowError(published.error, 'BUS_UNAVAILABLE')).toBe(true);
      expect(published.ms).toBeLessThan(1_500 + 1_500);
      // the eager form still says so at once
      const eager = await timed(createPostgresQueue({ url: own!.url, timeoutMs: 1_500 }));
      expect(isPenguiflowError(eager.error, 'BUS_UNAVAILABLE')).toBe(true);

      await own!.start();
      await queue.consume(topic, 'workers', async (d) => void got.push(d.envelope.id), { leaseMs: 5_000 });
      const after = envelope(topic, 1);
      await queue.publish(after);
      await waitFor(() => got.length === 1, 10_000, 'the delivery once the database is up');
      expect(got).toEqual([after.id]); // the publish that was refused during the outage was never sent later
    } finally {
      await own!.start().catch(() => undefined);
    }
  });

  it('a worker started while the database is down (bus from a postgres:// URL) waits for it, then serves', async () => {
    await own!.stop();
    const schema = unique('pfw').replace(/-/g, '_');
    const name = unique('flow').replace(/-/g, '');
    const make = () => createFlow(node('double', (m: Message<number>) => m.payload * 2, { placement: 'distributed' }), { name });
    const workerBus = (await openMessageBus(`${own!.url}?schema=${schema}`)) as PostgresQueue; // resolves while the database is down
    queues.push(workerBus);
    const warnings: unknown[] = [];
    const worker = new Worker({
      flow: make(),
      bus: workerBus,
      store: new InMemoryStateStore(),
      leaseMs: 5_000,
      heartbeatMs: 60_000,
      logger: { info: () => undefined, warn: (fields: Record<string, unknown>) => void warnings.push(fields) },
    });
    const starting = worker.start();
    let started = false;
    void starting.then(() => (started = true));
    try {
      await waitFor(() => warnings.length >= 2, 20_000, 'two retries logged while the database is down');
      expect(started).toBe(false);
      await own!.start();
      await starting;
      const controllerBus = await open({ schema });
      const flow = make();
      flow.run({ distributed: { bus: controllerBus } });
      await flow.ready();
      try {
        const result = await flow.call(message(21, { tenant: 'acme' }), { timeoutMs: 15_000 });
        expect(result.payload).toBe(42);
      } finally {
        await flow.stop({ timeoutMs: 2_000 });
      }
    } finally {
      await own!.start().catch(() => undefined);
      await starting.catch(() => undefined);
      await worker.stop();
    }
  });

  it('a running consumer rides out a restart: work that finished during the outage is acked after it, nothing is lost or run twice', async () => {
    const queue = await open();
    const topic = unique('topic');
    const runs = new Map<string, number>();
    let running = 0;
    await queue.consume(
      topic,
      'workers',
      async (d) => {
        running++;
        runs.set(d.envelope.id, (runs.get(d.envelope.id) ?? 0) + 1);
        await delay((d.envelope.message.payload as { n: number }).n < 4 ? 1_500 : 5);
        running--;
      },
      { leaseMs: 8_000, concurrency: 4 },
    );
    const before = Array.from({ length: 10 }, (_, n) => envelope(topic, n));
    await Promise.all(before.map((e) => queue.publish(e)));
    await waitFor(() => running === 4, 10_000, 'four slow handlers in flight');
    await own!.stop('immediate'); // as if the server crashed
    const during = await timed(queue.publish(envelope(topic, 100)));
    expect(isPenguiflowError(during.error, 'BUS_UNAVAILABLE')).toBe(true);
    expect(during.ms).toBeLessThan(1_500 + 1_500);
    await delay(1_000); // the slow handlers finish while the database is down; their acks wait for it
    await own!.start();
    const after = Array.from({ length: 10 }, (_, n) => envelope(topic, 10 + n));
    await Promise.all(after.map((e) => queue.publish(e)));
    const all = [...before, ...after].map((e) => e.id);
    await waitFor(() => all.every((id) => runs.has(id)), 20_000, 'every envelope');
    await waitFor(
      async () => (await queue.pool.query(`SELECT 1 FROM "${queue.schema}".pf_queue_jobs WHERE topic = $1`, [topic])).rowCount === 0,
      10_000,
      'every row acked',
    );
    expect(runs.size).toBe(20);
    expect([...runs.values()].filter((n) => n !== 1)).toEqual([]);
    expect(await queue.listDeadLetters(topic)).toEqual([]);
  });

  it('an ack that cannot reach the database within its lease is given up: the envelope comes back with the next count (nothing lost)', async () => {
    const queue = await open();
    const topic = unique('topic');
    const deliveries: { id: string; count: number }[] = [];
    let first: Delivery | undefined;
    await queue.consume(
      topic,
      'workers',
      async (d) => {
        deliveries.push({ id: d.envelope.id, count: d.deliveryCount });
        if (d.deliveryCount === 1) {
          first = d;
          await delay(300);
        }
      },
      { leaseMs: 1_000 },
    );
    const e = envelope(topic, 0);
    await queue.publish(e);
    await waitFor(() => first !== undefined, 10_000, 'the first delivery');
    await own!.stop('immediate');
    await delay(2_500); // longer than the lease: the ack's retries stop
    await own!.start();
    await waitFor(() => deliveries.length === 2, 15_000, 'the redelivery');
    expect(deliveries).toEqual([
      { id: e.id, count: 1 },
      { id: e.id, count: 2 },
    ]);
    await waitFor(
      async () => (await queue.pool.query(`SELECT 1 FROM "${queue.schema}".pf_queue_jobs WHERE topic = $1`, [topic])).rowCount === 0,
      10_000,
      'the second delivery acked',
    );
  });
});
