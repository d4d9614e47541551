import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteStateStore } from '../../src/adapters/sqlite/index.js';
import { finished, spawnWriter } from '../helpers/store-child.js';

const dir = mkdtempSync(join(tmpdir(), 'pf-e2e-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BATCH = 50;

describe('SQLite store across processes', () => {
  it('two processes writing one file at once lose nothing and duplicate nothing', async () => {
    const path = join(dir, 'shared.db');
    const common = { mode: 'batches', tenant: 'acme', batches: 60, batchSize: BATCH, shared: 40, pauseMs: 10 };
    const writers = ['p1', 'p2'].map((prefix) => spawnWriter({ ...common, prefix, store: { kind: 'sqlite', path, durability: 'batched' } }));
    await Promise.all(writers.map(finished));

    const store = createSqliteStateStore({ path });
    for (const prefix of ['p1', 'p2']) {
      for (const k of [0, 31, 59]) {
        const events = await store.loadHistory(`${prefix}-b${k}`, { tenant: 'acme' });
        expect(events.map((e) => e.id)).toEqual(Array.from({ length: BATCH }, (_, i) => `${prefix}-b${k}-e${i}`));
      }
    }
    const shared = await store.loadHistory('shared', { tenant: 'acme' });
    expect(shared.map((e) => e.id).sort()).toEqual(Array.from({ length: 40 }, (_, k) => `shared-${k}`).sort());
    const { traces } = await store.listTraces({ tenant: 'acme', limit: 1000 });
    expect(traces).toHaveLength(121);
    expect(traces.reduce((n, t) => n + t.eventCount, 0)).toBe(2 * 60 * BATCH + 40);
    expect(traces.find((t) => t.traceId === 'shared')?.eventCount).toBe(40);
    await store.close();
    const db = new Database(path, { readonly: true });
    // The writers really overlapped: their batches interleave in commit order.
    const span = db.prepare(`SELECT substr(trace_id, 1, 2) AS p, min(seq) AS lo, max(seq) AS hi FROM events WHERE trace_id <> 'shared' GROUP BY p ORDER BY p`).all() as {
      lo: number;
      hi: number;
    }[];
    expect(span[0]!.lo < span[1]!.hi && span[1]!.lo < span[0]!.hi).toBe(true);
    expect(db.prepare('SELECT count(*) AS n, count(DISTINCT id) AS ids, count(DISTINCT seq) AS seqs FROM events').get()).toEqual({
      n: 2 * 60 * BATCH + 40,
      ids: 2 * 60 * BATCH + 40,
      seqs: 2 * 60 * BATCH + 40,
    });
    db.close();
  });

  for (const durability of ['sync', 'batched'] as const) {
    it(`SIGKILL mid-run (${durability}): the file opens cleanly, no partial batch, every acknowledged batch is there`, async () => {
      const path = join(dir, `crash-${durability}.db`);
      const writer = spawnWriter({ mode: 'batches', prefix: 'c', tenant: 'acme', batches: 1_000_000, batchSize: BATCH, store: { kind: 'sqlite', path, durability } });
      await writer.waitFor((l) => l === 'ack 200');
      writer.child.kill('SIGKILL');
      const { signal } = await writer.exited;
      expect(signal).toBe('SIGKILL');
      const acked = writer.lines.filter((l) => l.startsWith('ack ')).map((l) => Number(l.slice(4)));
      const lastAck = Math.max(...acked);

      const store = createSqliteStateStore({ path });
      const db = new Database(path, { readonly: true });
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const perBatch = db.prepare('SELECT trace_id, count(*) AS n FROM events GROUP BY trace_id').all() as { trace_id: string; n: number }[];
      db.close();
      // All or nothing per batch: a killed transaction leaves no trace.
      expect(perBatch.filter((b) => b.n !== BATCH)).toEqual([]);
      const written = new Set(perBatch.map((b) => b.trace_id));
      for (let k = 0; k <= lastAck; k++) expect(written.has(`c-b${k}`), `acknowledged batch ${k}`).toBe(true);
      // At most the batch in flight was written without its ack reaching us.
      expect(written.size - (lastAck + 1)).toBeLessThanOrEqual(1);
      const { traces } = await store.listTraces({ tenant: 'acme', limit: 100_000 });
      expect(traces).toHaveLength(written.size);
      expect(traces.every((t) => t.eventCount === BATCH)).toBe(true);
      await store.close();
    });
  }

  it('SIGKILL while a flow runs with durability sync: every trace that returned has its events', async () => {
    const path = join(dir, 'crash-flow.db');
    const writer = spawnWriter({ mode: 'flow', prefix: 'f', tenant: 'acme', batches: 100_000, batchSize: 20, store: { kind: 'sqlite', path, durability: 'sync' } });
    await writer.waitFor((l) => l.startsWith('done ') && writer.lines.filter((x) => x.startsWith('done ')).length >= 200);
    writer.child.kill('SIGKILL');
    await writer.exited;
    const done = writer.lines.filter((l) => l.startsWith('done ')).map((l) => l.slice(5));
    const store = createSqliteStateStore({ path });
    for (const traceId of done) {
      const events = await store.loadHistory(traceId, { tenant: 'acme' });
      const succeeded = events.filter((e) => e.type === 'node_success').map((e) => e.node);
      expect(succeeded, `trace ${traceId}`).toEqual(['a', 'b', 'c']);
    }
    await store.close();
  });
});
