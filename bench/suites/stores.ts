/**
 * State store write throughput: events/s for the memory, SQLite (batched and
 * sync) and Postgres stores, with the naive peer (one INSERT per event, as
 * PenguiFlow writes) in the same run; then the 3-node flow's messages/s with
 * each store attached vs none. Batches are what the flow's recorder hands
 * the store (500 events by default).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { InMemoryStateStore } from '../../src/adapters/memory/memory-state-store.js';
import { createPostgresStateStore } from '../../src/adapters/postgres/index.js';
import { createSqliteStateStore } from '../../src/adapters/sqlite/index.js';
import { createFlow, message, node, type Flow, type FlowEvent, type Message } from '../../src/index.js';
import type { StateStore } from '../../src/protocols/state-store.js';
import { serviceUrl } from '../../tests/helpers/services.js';
import { fmt, percentile, table, type BenchSection } from '../suite.js';

const BATCH = 500;
const RUNS = 3;

let seq = 0;
const run = Math.random().toString(36).slice(2, 8);

/** A typical node_success event (~300 bytes of JSON). */
function event(trace: number): FlowEvent {
  seq++;
  return {
    id: `ev-${run}-${seq}`,
    type: 'node_success',
    ts: Date.now(),
    flow: 'bench',
    traceId: `tr-${run}-${trace}`,
    tenant: 'bench',
    node: `node-${seq % 3}`,
    messageId: `m-${run}-${seq}`,
    attempt: 0,
    latencyMs: 1.25,
    queueDepthIn: 3,
    queueDepthOut: 1,
    tracePending: 2,
    traceInflight: 1,
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Measured {
  eventsPerSec: number;
  p50: number;
  p99: number;
}

/** Writes `n` events in batches of `batch` (one trace per 20 events); events/s and per-write latency (ms). */
async function writeRate(store: StateStore, n: number, batch: number): Promise<Measured> {
  const latencies: number[] = [];
  const t0 = performance.now();
  for (let done = 0; done < n; done += batch) {
    const events = Array.from({ length: Math.min(batch, n - done) }, (_, i) => event(Math.floor((done + i) / 20)));
    const t = performance.now();
    if (batch === 1) await store.saveEvent(events[0]!);
    else await store.saveEvents(events);
    latencies.push(performance.now() - t);
  }
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return { eventsPerSec: n / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function medianOf(runs: number, once: () => Promise<Measured>): Promise<Measured> {
  const results: Measured[] = [];
  for (let i = 0; i < runs; i++) results.push(await once());
  const eventsPerSec = median(results.map((r) => r.eventsPerSec));
  return results.find((r) => r.eventsPerSec === eventsPerSec)!;
}

/** The naive peer: one awaited `INSERT … ON CONFLICT DO NOTHING` per event on one connection. */
async function naivePostgres(url: string, schema: string, n: number): Promise<Measured> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`CREATE TABLE IF NOT EXISTS "${schema}".naive_events (id text PRIMARY KEY, trace_id text, tenant text, type text, ts float8, body json)`);
  const latencies: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const e = event(Math.floor(i / 20));
    const t = performance.now();
    await client.query(`INSERT INTO "${schema}".naive_events VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, [
      e.id,
      e.traceId,
      e.tenant,
      e.type,
      e.ts,
      JSON.stringify(e),
    ]);
    latencies.push(performance.now() - t);
  }
  const seconds = (performance.now() - t0) / 1000;
  await client.end();
  latencies.sort((a, b) => a - b);
  return { eventsPerSec: n / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** Busy CPU work standing in for a node's own logic (parsing, templating, …). */
function work(us: number): void {
  if (us <= 0) return;
  const end = performance.now() + us / 1000;
  while (performance.now() < end);
}

/** Messages/s through a 3-node flow with 256 round trips in flight; each node spends `workUs` of CPU. */
async function flowRate(store: StateStore | undefined, n: number, workUs: number): Promise<number> {
  const a = node('a', (m: Message<number>) => (work(workUs), m.payload + 1));
  const b = node('b', (m: Message<number>) => (work(workUs), m.payload * 2));
  const c = node('c', (m: Message<number>) => (work(workUs), m.payload - 1));
  const flow: Flow = createFlow(a.to(b), b.to(c), c, { name: 'bench', queueSize: 1024, ...(store ? { stateStore: store } : {}) });
  flow.run();
  let next = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (next < n) {
      next++;
      await flow.call(message(next, { tenant: 'bench' }));
    }
  };
  await Promise.all(Array.from({ length: 256 }, lane));
  await flow.stop();
  return (n / (performance.now() - t0)) * 1000;
}

/** Accepts and forgets everything: isolates the cost of creating and batching events from the store's own. */
const NOOP_STORE: StateStore = {
  saveEvent: async () => {},
  saveEvents: async () => {},
  loadHistory: async () => [],
  saveRemoteBinding: async () => {},
  findRemoteBindings: async () => [],
};

const row = (name: string, m: Measured, note = ''): (string | number)[] => [name, fmt(m.eventsPerSec), fmt(m.p50, 2), fmt(m.p99, 2), note];

export default async function stores(): Promise<BenchSection> {
  const dir = mkdtempSync(join(tmpdir(), 'pf-bench-stores-'));
  let files = 0;
  const sqlite = (durability: 'batched' | 'sync', writer: 'inline' | 'worker' = 'inline') =>
    createSqliteStateStore({ path: join(dir, `s${++files}.db`), durability, writer });
  const url = await serviceUrl('postgres');
  const schema = `pf_bench_${process.pid}`;
  const rows: (string | number)[][] = [];
  const flowRows: (string | number)[][] = [];
  const notes: string[] = [];
  try {
    const once = async (open: () => StateStore | Promise<StateStore>, n: number, batch: number) => {
      const store = await open();
      try {
        return await writeRate(store, n, batch);
      } finally {
        await store.close?.();
      }
    };
    rows.push(row('memory', await medianOf(RUNS, () => once(() => new InMemoryStateStore(), 200_000, BATCH)), `batches of ${BATCH}`));
    rows.push(row('SQLite, batched (WAL, synchronous=NORMAL)', await medianOf(RUNS, () => once(() => sqlite('batched'), 200_000, BATCH)), `batches of ${BATCH}`));
    rows.push(row("SQLite, batched, writer: 'worker'", await medianOf(RUNS, () => once(() => sqlite('batched', 'worker'), 200_000, BATCH)), `batches of ${BATCH}, worker thread`));
    rows.push(row('SQLite, sync (WAL, synchronous=FULL)', await medianOf(RUNS, () => once(() => sqlite('sync'), 100_000, BATCH)), `batches of ${BATCH}`));
    rows.push(row('SQLite, sync, one event per write (naive)', await medianOf(1, () => once(() => sqlite('sync'), 3_000, 1)), 'one transaction per event'));
    if (url) {
      const pgStore = () => createPostgresStateStore({ url, schema, poolSize: 4 });
      rows.push(row('Postgres, batched (one INSERT … SELECT unnest per batch)', await medianOf(RUNS, () => once(pgStore, 100_000, BATCH)), `batches of ${BATCH}`));
      rows.push(row('Postgres, store.saveEvent one at a time', await medianOf(1, () => once(pgStore, 3_000, 1)), 'awaited, one statement each'));
      rows.push(row('Postgres, naive peer: one INSERT per event', await naivePostgres(url, schema, 3_000), 'raw pg, awaited, no summaries'));
    } else {
      notes.push('Postgres rows skipped: the server was not reachable in this run.');
    }

    // Trivial nodes show the recording cost at its worst; 20 µs of CPU per node is closer to real work.
    const shapes = [
      { n: 20_000, workUs: 0 },
      { n: 4_000, workUs: 20 },
    ];
    const none: number[] = [];
    for (const { n, workUs } of shapes) {
      none.push(median([await flowRate(undefined, n, workUs), await flowRate(undefined, n, workUs), await flowRate(undefined, n, workUs)]));
    }
    const withStore = async (label: string, open: () => StateStore | Promise<StateStore>) => {
      const cells: string[] = [label];
      for (const [i, { n, workUs }] of shapes.entries()) {
        const rates: number[] = [];
        for (let r = 0; r < RUNS; r++) {
          const store = await open();
          rates.push(await flowRate(store, n, workUs));
          await store.close?.();
        }
        const rate = median(rates);
        cells.push(fmt(rate), `${fmt((rate / none[i]!) * 100)} %`);
      }
      flowRows.push(cells);
    };
    flowRows.push(['no store', fmt(none[0]!), '100 %', fmt(none[1]!), '100 %']);
    await withStore('no-op store (recorder and event cost only)', () => NOOP_STORE);
    await withStore('memory', () => new InMemoryStateStore());
    await withStore('SQLite, batched', () => sqlite('batched'));
    await withStore("SQLite, batched, writer: 'worker'", () => sqlite('batched', 'worker'));
    if (url) await withStore('Postgres, batched', () => createPostgresStateStore({ url, schema, poolSize: 4 }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (url) {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    }
  }
  const markdown = [
    'Writes of `node_success` events (~300 bytes of JSON each), 20 events per trace, through `saveEvents` as the flow recorder calls it. ' +
      `Median of ${RUNS} runs for batched rows; latency is per write call (a batch or one event). Each store keeps its trace summary table up to date in the same transaction.`,
    '',
    table(['store', 'events/s', 'p50 ms / write', 'p99 ms / write', 'note'], rows),
    '',
    'The 3-node flow (a → b → c, 256 round trips in flight; each message records ~7 events) with each store attached through the default batched recorder, ' +
      'once with nodes that do nothing and once with nodes that spend 20 µs of CPU each:',
    '',
    table(['store attached', 'messages/s (trivial nodes)', 'of no-store', 'messages/s (20 µs nodes)', 'of no-store'], flowRows),
    ...(notes.length ? ['', ...notes] : []),
  ].join('\n');
  return { title: 'State stores', markdown };
}
