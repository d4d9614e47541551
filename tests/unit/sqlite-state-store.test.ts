import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteStateStore, type SqliteStateStore } from '../../src/adapters/sqlite/index.js';
import { isPenguiflowError } from '../../src/errors/index.js';
import { describeStateStore, makeEvent } from '../../src/testing/index.js';

const dir = mkdtempSync(join(tmpdir(), 'pf-sqlite-'));
let n = 0;
const freshPath = () => join(dir, `store-${++n}.db`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const failure = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
};

describeStateStore({
  name: 'SqliteStateStore',
  create: () => createSqliteStateStore({ path: freshPath() }),
  additionalTests: (ctx) => {
    it('keeps history across close and reopen', async () => {
      const path = freshPath();
      const tenant = ctx.tenant();
      const first = createSqliteStateStore({ path, durability: 'sync' });
      expect(first.durability).toBe('sync');
      await first.saveEvents([makeEvent({ traceId: 'tr', tenant, ts: ctx.base }), makeEvent({ traceId: 'tr', tenant, ts: ctx.base + 1 })]);
      await first.close();
      const again = createSqliteStateStore({ path });
      expect(again.openedAtVersion).toBeGreaterThan(0);
      expect(await again.loadHistory('tr', { tenant })).toHaveLength(2);
      expect((await again.listTraces({ tenant })).traces[0]?.eventCount).toBe(2);
      await again.close();
    });
  },
});

describeStateStore({
  name: "SqliteStateStore, writer 'worker'",
  create: () => createSqliteStateStore({ path: freshPath(), writer: 'worker' }),
  additionalTests: (ctx) => {
    it('commits batches in the order they were sent and reads them from the main connection', async () => {
      const tenant = ctx.tenant();
      const writes = Array.from({ length: 20 }, (_, k) =>
        ctx.store().saveEvents(Array.from({ length: 25 }, (_, i) => makeEvent({ traceId: 'ordered', tenant, ts: ctx.base, id: `o-${k}-${i}` }))),
      );
      await Promise.all(writes);
      const ids = (await ctx.store().loadHistory('ordered', { tenant })).map((e) => e.id);
      expect(ids).toEqual(Array.from({ length: 20 * 25 }, (_, n) => `o-${Math.floor(n / 25)}-${n % 25}`));
      expect(ctx.store().stats.written).toBe(500);
    });

    it('rejects writes after close with STORE_UNAVAILABLE', async () => {
      const store = createSqliteStateStore({ path: freshPath(), writer: 'worker' });
      await store.saveEvent(makeEvent({ traceId: 'x', tenant: 't', ts: 1 }));
      await store.close();
      const error = await store.saveEvent(makeEvent({ traceId: 'x', tenant: 't', ts: 2 })).catch((e: unknown) => e);
      expect(isPenguiflowError(error, 'STORE_UNAVAILABLE')).toBe(true);
    });
  },
});

describe('SqliteStateStore: bad files and options', () => {
  it('reports a file of garbage as STORE_CORRUPT, naming the file', () => {
    const path = freshPath();
    writeFileSync(path, 'this is not a database '.repeat(500));
    const error = failure(() => createSqliteStateStore({ path }));
    expect(isPenguiflowError(error, 'STORE_CORRUPT')).toBe(true);
    expect((error as Error).message).toContain(path);
  });

  it("reports another application's SQLite database as STORE_CORRUPT and leaves it untouched", () => {
    const path = freshPath();
    const foreign = new Database(path);
    foreign.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)');
    foreign.close();
    const error = failure(() => createSqliteStateStore({ path }));
    expect(isPenguiflowError(error, 'STORE_CORRUPT')).toBe(true);
    expect((error as Error).message).toMatch(/not a penguiflow store/);
    const check = new Database(path);
    expect(check.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all()).toEqual(['customers']);
    check.close();
  });

  it("shares a file with penguiflow's SQLite queue tables", async () => {
    const path = freshPath();
    const db = new Database(path);
    db.exec('CREATE TABLE pf_queue_jobs (id INTEGER PRIMARY KEY)');
    db.close();
    const store = createSqliteStateStore({ path });
    expect(store.openedAtVersion).toBe(0);
    await store.close();
  });

  it('refuses a file written by a newer schema version', async () => {
    const path = freshPath();
    await createSqliteStateStore({ path }).close();
    const db = new Database(path);
    db.prepare(`UPDATE penguiflow_meta SET value = '999' WHERE key = 'schema_version'`).run();
    db.close();
    const error = failure(() => createSqliteStateStore({ path }));
    expect(isPenguiflowError(error, 'STORE_CORRUPT')).toBe(true);
    expect((error as Error).message).toMatch(/newer/);
  });

  it('reports a file whose pages were overwritten as STORE_CORRUPT when read, not a crash', async () => {
    const path = freshPath();
    const store = createSqliteStateStore({ path });
    const tenant = 't';
    await store.saveEvents(Array.from({ length: 2000 }, (_, i) => makeEvent({ traceId: 'tr', tenant, ts: i, extra: { pad: 'p'.repeat(200) } })));
    await store.close();
    const bytes = readFileSync(path);
    bytes.fill(0xab, 8192, bytes.length - 4096);
    writeFileSync(path, bytes);
    let error: unknown;
    try {
      const reopened = createSqliteStateStore({ path });
      await reopened.loadHistory('tr', { tenant });
      await reopened.close();
    } catch (e) {
      error = e;
    }
    expect(isPenguiflowError(error, 'STORE_CORRUPT')).toBe(true);
  });

  it('uses synchronous=FULL for durability sync and NORMAL for batched', async () => {
    const pragma = (store: SqliteStateStore) => (store as unknown as { db: Database.Database }).db.pragma('synchronous', { simple: true });
    const sync = createSqliteStateStore({ path: freshPath(), durability: 'sync' });
    const batched = createSqliteStateStore({ path: freshPath() });
    expect([sync.durability, pragma(sync)]).toEqual(['sync', 2]);
    expect([batched.durability, pragma(batched)]).toEqual(['batched', 1]);
    await sync.close();
    await batched.close();
  });

  it('rejects calls after close with STORE_UNAVAILABLE', async () => {
    const store = createSqliteStateStore({ path: freshPath() });
    await store.close();
    await store.close();
    const error = await store.loadHistory('x', { tenant: 't' }).catch((e: unknown) => e);
    expect(isPenguiflowError(error, 'STORE_UNAVAILABLE')).toBe(true);
  });

  it('honours a smaller maxEventBytes', async () => {
    const store = createSqliteStateStore({ path: freshPath(), maxEventBytes: 1000 });
    const error = await store.saveEvent(makeEvent({ traceId: 'tr', tenant: 't', ts: 1, extra: { s: 'x'.repeat(1000) } })).catch((e: unknown) => e);
    expect(isPenguiflowError(error, 'PAYLOAD_TOO_LARGE')).toBe(true);
    expect(store.stats).toEqual({ written: 0, rejected: 1 });
    await store.close();
  });
});
