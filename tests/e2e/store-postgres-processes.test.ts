import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresStateStore } from '../../src/adapters/postgres/index.js';
import { createFlow, message, node, type FlowEvent, type Message } from '../../src/index.js';
import { restartPostgres } from '../helpers/restart-postgres.js';
import { serviceUrl } from '../helpers/services.js';
import { finished, spawnWriter } from '../helpers/store-child.js';

const url = await serviceUrl('postgres');
const base = `pf_e2e_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
const schemas: string[] = [];
const schemaFor = (name: string) => {
  const s = `${base}_${name}`;
  schemas.push(s);
  return s;
};

afterAll(async () => {
  if (!url) return;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await admin.end();
});

const BATCH = 50;

describe.skipIf(!url)('Postgres store across processes and restarts', () => {
  it('two processes writing one schema at once lose nothing and duplicate nothing', async () => {
    const schema = schemaFor('two');
    const common = { mode: 'batches', tenant: 'acme', batches: 80, batchSize: BATCH, shared: 60, pauseMs: 5, store: { kind: 'postgres', url, schema } };
    const writers = ['p1', 'p2'].map((prefix) => spawnWriter({ ...common, prefix }));
    await Promise.all(writers.map(finished));

    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const counts = await admin.query(`SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM "${schema}".events`);
    expect(counts.rows[0]).toEqual({ n: 2 * 80 * BATCH + 60, ids: 2 * 80 * BATCH + 60 });
    const spans = await admin.query(
      `SELECT left(trace_id, 2) AS p, min(seq)::int AS lo, max(seq)::int AS hi FROM "${schema}".events WHERE trace_id <> 'shared' GROUP BY p ORDER BY p`,
    );
    const [s1, s2] = spans.rows as { lo: number; hi: number }[];
    expect(s1!.lo < s2!.hi && s2!.lo < s1!.hi).toBe(true); // the writers overlapped
    await admin.end();

    const store = await createPostgresStateStore({ url: url!, schema, poolSize: 2 });
    const { traces } = await store.listTraces({ tenant: 'acme', limit: 1000 });
    expect(traces).toHaveLength(2 * 80 + 1);
    expect(traces.find((t) => t.traceId === 'shared')?.eventCount).toBe(60);
    expect(traces.reduce((n, t) => n + t.eventCount, 0)).toBe(2 * 80 * BATCH + 60);
    expect((await store.loadHistory('p2-b79', { tenant: 'acme' })).map((e) => e.id)).toEqual(Array.from({ length: BATCH }, (_, i) => `p2-b79-e${i}`));
    await store.close();
  });

  it('survives a server restart while a flow and a batch writer run: every event written once, the flow finishes', async () => {
    const schema = schemaFor('restart');
    const store = await createPostgresStateStore({ url: url!, schema, poolSize: 4 });

    const a = node('a', (m: Message<number>) => m.payload + 1);
    const b = node('b', (m: Message<number>) => m.payload * 2);
    const c = node('c', (m: Message<number>) => m.payload - 1);
    const flow = createFlow(a.to(b), b.to(c), c, { name: 'restart', stateStore: store });
    flow.run();

    let restarted = false;
    const traceIds: string[] = [];
    const flowRuns = (async () => {
      for (let round = 0; !restarted || round < 20; round++) {
        const msgs = Array.from({ length: 10 }, (_, i) => message(round * 10 + i, { tenant: 'acme' }));
        traceIds.push(...msgs.map((m) => m.traceId));
        const results = await Promise.all(msgs.map((m) => flow.call(m)));
        expect(results.map((r) => r.payload)).toEqual(msgs.map((m) => ((m.payload) + 1) * 2 - 1));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    let acked = 0;
    const batches = (async () => {
      for (let k = 0; !restarted || k < 40; k++) {
        const traceId = `batch-${k}`;
        const events: FlowEvent[] = Array.from({ length: BATCH }, (_, i) => ({ id: `${traceId}-${i}`, type: 'node_success', ts: Date.now(), flow: 'x', traceId, tenant: 'acme' }));
        await store.saveEvents(events);
        acked = k + 1;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();

    await new Promise((r) => setTimeout(r, 300));
    const { downMs } = await restartPostgres(url!);
    restarted = true;
    await Promise.all([flowRuns, batches]);
    await flow.stop();

    expect(store.connectionErrors, `restart took ${downMs} ms`).toBeGreaterThan(0);
    expect(flow.stats.store?.dropped ?? 0).toBe(0);
    for (let k = 0; k < acked; k++) {
      expect((await store.loadHistory(`batch-${k}`, { tenant: 'acme' })).length, `batch ${k}`).toBe(BATCH);
    }
    for (const traceId of traceIds) {
      const nodes = (await store.loadHistory(traceId, { tenant: 'acme' })).filter((e) => e.type === 'node_success').map((e) => e.node);
      expect(nodes, traceId).toEqual(['a', 'b', 'c']);
    }
    const { traces } = await store.listTraces({ tenant: 'acme', limit: 10_000 });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const perTrace = new Map(
      ((await admin.query(`SELECT trace_id, count(*)::int AS n FROM "${schema}".events GROUP BY trace_id`)).rows as { trace_id: string; n: number }[]).map((r) => [
        r.trace_id,
        r.n,
      ]),
    );
    await admin.end();
    // Written once: every summary counts exactly the rows that exist (a double-applied retry would over-count).
    expect(traces.filter((t) => perTrace.get(t.traceId) !== t.eventCount)).toEqual([]);
    await store.close();
  });
});
