import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStateStore, type PostgresStateStore } from '../../src/adapters/postgres/index.js';
import { isPenguiflowError } from '../../src/errors/index.js';
import { describeStateStore, makeEvent } from '../../src/testing/index.js';
import { serviceUrl } from '../helpers/services.js';

const url = await serviceUrl('postgres');
const schema = `pf_it_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
let admin: pg.Pool | undefined;

beforeAll(() => {
  if (url) admin = new pg.Pool({ connectionString: url, max: 2 });
});
afterAll(async () => {
  await admin?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin?.end();
});

describeStateStore<PostgresStateStore>({
  name: 'PostgresStateStore',
  skip: url ? undefined : 'postgres is not reachable (see tests/helpers/services.ts)',
  create: () => createPostgresStateStore({ url: url!, schema, poolSize: 4 }),
  additionalTests: (ctx) => {
    it('shares one schema between two stores: writes of one are read by the other, counted once', async () => {
      const other = await createPostgresStateStore({ url: url!, schema, poolSize: 2 });
      const tenant = ctx.tenant();
      const events = Array.from({ length: 50 }, (_, i) => makeEvent({ traceId: 'shared', tenant, ts: ctx.base + i }));
      await Promise.all([ctx.store().saveEvents(events), other.saveEvents(events), other.saveEvents(events.slice(10, 20))]);
      expect(await other.loadHistory('shared', { tenant })).toHaveLength(50);
      expect((await ctx.store().listTraces({ tenant })).traces[0]?.eventCount).toBe(50);
      await other.close();
    });

    it('works with an injected pool and leaves it open on close', async () => {
      const pool = new pg.Pool({ connectionString: url!, max: 2 });
      const store = await createPostgresStateStore({ pool, schema });
      const tenant = ctx.tenant();
      await store.saveEvent(makeEvent({ traceId: 'pooled', tenant, ts: ctx.base }));
      await store.close();
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      const again = await createPostgresStateStore({ pool, schema });
      expect(await again.loadHistory('pooled', { tenant })).toHaveLength(1);
      await pool.end();
    });

    it('works with one injected client, serializing transactions on it', async () => {
      const client = new pg.Client({ connectionString: url! });
      await client.connect();
      const store = await createPostgresStateStore({ client, schema });
      const tenant = ctx.tenant();
      await Promise.all(Array.from({ length: 10 }, (_, i) => store.saveEvent(makeEvent({ traceId: 'single', tenant, ts: ctx.base + i }))));
      expect(await store.loadHistory('single', { tenant })).toHaveLength(10);
      await client.end();
    });

    it('writes batches larger than one INSERT chunk', async () => {
      const store = await createPostgresStateStore({ url: url!, schema, insertChunkSize: 100, poolSize: 2 });
      const tenant = ctx.tenant();
      await store.saveEvents(Array.from({ length: 350 }, (_, i) => makeEvent({ traceId: 'chunks', tenant, ts: ctx.base + i })));
      expect(await store.loadHistory('chunks', { tenant })).toHaveLength(350);
      expect(store.stats.written).toBe(350);
      await store.close();
    });
  },
});

describe.skipIf(!url)('PostgresStateStore: connection errors and schemas', () => {
  it('names host:port but never the password when the server is unreachable', async () => {
    const started = Date.now();
    const error = await createPostgresStateStore({ url: 'postgres://alice:s3cr3t-pw@127.0.0.1:1/test', schema }).catch((e: unknown) => e);
    expect(isPenguiflowError(error, 'STORE_UNAVAILABLE')).toBe(true);
    const text = JSON.stringify((error as { toJSON(): unknown }).toJSON()) + String((error as Error).message);
    expect((error as Error).message).toContain('127.0.0.1:1');
    expect(text).not.toContain('s3cr3t-pw');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('refuses a schema that holds somebody else’s tables', async () => {
    const foreign = `${schema}_foreign`;
    await admin!.query(`CREATE SCHEMA "${foreign}"; CREATE TABLE "${foreign}".orders (id int)`);
    try {
      const error = await createPostgresStateStore({ url: url!, schema: foreign }).catch((e: unknown) => e);
      expect(isPenguiflowError(error, 'STORE_CORRUPT')).toBe(true);
      expect((error as Error).message).toMatch(/not a penguiflow store/);
    } finally {
      await admin!.query(`DROP SCHEMA "${foreign}" CASCADE`);
    }
  });

  it("shares a schema with penguiflow's queue tables", async () => {
    const shared = `${schema}_queue`;
    await admin!.query(`CREATE SCHEMA "${shared}"; CREATE TABLE "${shared}".pf_queue_jobs (id int)`);
    try {
      const store = await createPostgresStateStore({ url: url!, schema: shared, poolSize: 1 });
      expect(store.openedAtVersion).toBe(0);
      await store.close();
    } finally {
      await admin!.query(`DROP SCHEMA "${shared}" CASCADE`);
    }
  });

  it('migrates once when several stores open a new schema at the same time', async () => {
    const fresh = `${schema}_race`;
    try {
      const stores = await Promise.all(Array.from({ length: 4 }, () => createPostgresStateStore({ url: url!, schema: fresh, poolSize: 1 })));
      expect(stores.map((s) => s.openedAtVersion).filter((v) => v === 0)).toHaveLength(1);
      await Promise.all(stores.map((s) => s.close()));
    } finally {
      await admin!.query(`DROP SCHEMA IF EXISTS "${fresh}" CASCADE`);
    }
  });

  it('rejects an invalid schema name before connecting', async () => {
    const error = await createPostgresStateStore({ url: url!, schema: 'x"; drop table y; --' }).catch((e: unknown) => e);
    expect(isPenguiflowError(error, 'INVALID_OPTIONS')).toBe(true);
  });
});
