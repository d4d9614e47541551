import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import type { SqliteQueue } from '../../src/adapters/sqlite/sqlite-queue.js';
import { createSqliteQueue } from '../../src/adapters/sqlite/sqlite-queue.js';
import { isPenguiflowError } from '../../src/errors/index.js';
import type { Delivery } from '../../src/protocols/message-bus.js';
import { describeMessageBus } from '../../src/testing/message-bus-suite.js';

const dir = mkdtempSync(join(tmpdir(), 'pf-sqlite-queue-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** The file each suite bus opened, so `connect` opens the same one (as a second process would). */
const pathOf = new WeakMap<SqliteQueue, string>();

describeMessageBus<SqliteQueue>({
  name: 'SQLite queue',
  create: () => {
    const path = join(dir, `suite-${++files}.db`);
    const queue = createSqliteQueue({ path, pollMs: 100 });
    pathOf.set(queue, path);
    return queue;
  },
  connect: (queue) => createSqliteQueue({ path: pathOf.get(queue)!, pollMs: 100 }),
  destroy: (queue) => rmSync(pathOf.get(queue)!, { force: true }),
  capabilities: {
    rawPublish: (queue, topic, bytes) => queue.publishRaw(topic, bytes),
    orderedPerKey: true,
    retainsBeforeGroup: true,
    leaseMs: 400,
    crash: (queue) => queue.crash(),
  },
  additionalTests: (ctx) => {
    it('publishing one envelope id twice queues it once (queued, in one tick, while it runs); once acked the id may come again', async () => {
      const queue = ctx.bus();
      const topic = ctx.topic();
      const group = ctx.group();
      await queue.ensureGroup(topic, group);
      const queued = ctx.envelope(topic, { n: 1 });
      await queue.publish(queued);
      await queue.publish(queued); // a retried publish of a queued envelope
      const sameTick = ctx.envelope(topic, { n: 2 });
      await Promise.all([queue.publish(sameTick), queue.publish(sameTick)]); // one transaction with the id twice
      const running = ctx.envelope(topic, { n: 3 });
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const got: string[] = [];
      await queue.consume(topic, group, async (d) => {
        got.push(d.envelope.id);
        if (d.envelope.id === running.id) await held;
      });
      await ctx.waitFor(() => got.length === 2, 5_000, 'the two queued envelopes');
      await queue.publish(running);
      await ctx.waitFor(() => got.length === 3, 5_000, 'the running envelope');
      await queue.publish(running); // a late copy while the first one runs
      release();
      await new Promise((r) => setTimeout(r, 300));
      expect(got).toEqual([queued.id, sameTick.id, running.id]);
      // the dedup covers an id while its row exists (queued, delayed, running); a completed id is the worker's done-markers' job
      await queue.publish(queued);
      await ctx.waitFor(() => got.length === 4, 5_000, 'the republished envelope');
      expect(got).toEqual([queued.id, sameTick.id, running.id, queued.id]);
    });

    it('purgeDeadLetters(topic, ids) deletes only those ids', async () => {
      const queue = ctx.bus();
      const topic = ctx.topic();
      await queue.consume(topic, ctx.group(), async (d) => void (await d.deadLetter(new Error('poison'))));
      for (let n = 0; n < 3; n++) await queue.publish(ctx.envelope(topic, { n }));
      await ctx.waitFor(async () => (await queue.listDeadLetters(topic)).length === 3, 5_000, 'three dead letters');
      const [first, , third] = await queue.listDeadLetters(topic);
      await expect(queue.purgeDeadLetters(topic, [first!.id, third!.id, 'not-an-id'])).resolves.toBe(2);
      expect((await queue.listDeadLetters(topic)).map((d) => (d.envelope?.message.payload as { n: number }).n)).toEqual([1]);
      await expect(queue.purgeDeadLetters(topic, [first!.id])).resolves.toBe(0);
      await expect(queue.purgeDeadLetters(topic)).resolves.toBe(1);
    });

    it('upgrades queue tables of an earlier version in place (no lease_token / env_id columns): queued rows are delivered, acks are fenced', async () => {
      const path = join(dir, `old-${Date.now()}.db`);
      const topic = ctx.topic();
      const group = ctx.group();
      const old = ctx.envelope(topic);
      const db = new Database(path);
      db.exec(`
        CREATE TABLE pf_queue_jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, grp TEXT, body BLOB NOT NULL,
          deliveries INTEGER NOT NULL DEFAULT 0, visible_at INTEGER NOT NULL, locked_by TEXT, last_code TEXT, last_message TEXT);
        CREATE INDEX pf_queue_jobs_claim ON pf_queue_jobs (topic, grp, visible_at, id);
        CREATE TABLE pf_queue_groups (topic TEXT NOT NULL, grp TEXT NOT NULL, expires_at INTEGER, PRIMARY KEY (topic, grp));
        CREATE TABLE pf_queue_dead (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, grp TEXT NOT NULL, body BLOB NOT NULL,
          deliveries INTEGER NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL, raw INTEGER NOT NULL, dead_at INTEGER NOT NULL);`);
      db.prepare(`INSERT INTO pf_queue_groups (topic, grp) VALUES (?, ?)`).run(topic, group);
      db.prepare(`INSERT INTO pf_queue_jobs (topic, grp, body, visible_at) VALUES (?, ?, ?, 0)`).run(topic, group, Buffer.from(JSON.stringify(old)));
      db.close();
      const queue = createSqliteQueue({ path });
      try {
        const got: Delivery[] = [];
        await queue.consume(topic, group, async (d) => void got.push(d));
        await ctx.waitFor(() => got.length === 1, 5_000, 'the row queued before the upgrade');
        expect(got[0]!.envelope.id).toBe(old.id);
        expect(got[0]!.deliveryCount).toBe(1);
        await queue.close();
        const check = new Database(path, { readonly: true });
        const columns = check.prepare(`PRAGMA table_info(pf_queue_jobs)`).all() as { name: string }[];
        const rows = (check.prepare(`SELECT count(*) AS n FROM pf_queue_jobs`).get() as { n: number }).n;
        check.close();
        expect(columns.map((c) => c.name).filter((n) => n === 'lease_token' || n === 'env_id').sort()).toEqual(['env_id', 'lease_token']);
        expect(rows).toBe(0); // acked
      } finally {
        await queue.close();
      }
    });

    it('two queues on one file (as two processes) share the work and never run a job twice', async () => {
      const path = join(dir, `shared-${Date.now()}.db`);
      const a = createSqliteQueue({ path, pollMs: 50 });
      const b = createSqliteQueue({ path, pollMs: 50 });
      try {
        const topic = ctx.topic();
        const group = ctx.group();
        const seen: string[] = [];
        const by = { a: 0, b: 0 };
        const handler = (name: 'a' | 'b') => async (d: { envelope: { id: string } }) => {
          seen.push(d.envelope.id);
          by[name]++;
          await new Promise((r) => setTimeout(r, 3));
        };
        await a.consume(topic, group, handler('a'), { concurrency: 4, leaseMs: 60_000 });
        await b.consume(topic, group, handler('b'), { concurrency: 4, leaseMs: 60_000 });
        await Promise.all(Array.from({ length: 200 }, (_, n) => a.publish(ctx.envelope(topic, { n }))));
        await ctx.waitFor(() => seen.length >= 200, 20_000, '200 deliveries');
        await new Promise((r) => setTimeout(r, 200));
        expect(seen.length).toBe(200);
        expect(new Set(seen).size).toBe(200);
        expect(by.a).toBeGreaterThan(0);
        expect(by.b).toBeGreaterThan(0);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('a worker process killed with SIGKILL mid-job: after its lease another process gets the job', async () => {
      const path = join(dir, `crash-${Date.now()}.db`);
      const queue = createSqliteQueue({ path, pollMs: 50 });
      const topic = ctx.topic();
      const group = ctx.group();
      const module = fileURLToPath(new URL('../../src/adapters/sqlite/sqlite-queue.ts', import.meta.url));
      const code = `
        import { createSqliteQueue } from ${JSON.stringify(module)};
        const q = createSqliteQueue({ path: ${JSON.stringify(path)}, pollMs: 20 });
        await q.consume(${JSON.stringify(topic)}, ${JSON.stringify(group)}, async (d) => {
          console.log('got ' + d.envelope.id);
          await new Promise(() => {});
        }, { leaseMs: 500 });
        console.log('ready');`;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      try {
        await ctx.waitFor(() => out.includes('ready'), 8_000, 'the child worker');
        const envelope = ctx.envelope(topic);
        await queue.publish(envelope);
        await ctx.waitFor(() => out.includes(`got ${envelope.id}`), 5_000, 'the child to take the job');
        child.kill('SIGKILL');
        const got: { id: string; count: number }[] = [];
        await queue.consume(topic, group, async (d) => void got.push({ id: d.envelope.id, count: d.deliveryCount }), { leaseMs: 500 });
        await ctx.waitFor(() => got.length === 1, 5_000, 'the reclaimed job');
        expect(got[0]).toEqual({ id: envelope.id, count: 2 });
      } finally {
        child.kill('SIGKILL');
        await queue.close();
      }
    });

    it('keeps queued envelopes across a restart (durable file)', async () => {
      const path = join(dir, `restart-${Date.now()}.db`);
      const topic = ctx.topic();
      const group = ctx.group();
      const first = createSqliteQueue({ path });
      await first.consume(topic, group, async () => {}, { leaseMs: 60_000 }).then((s) => s.close());
      const envelope = ctx.envelope(topic);
      await first.publish(envelope);
      await first.close();
      const second = createSqliteQueue({ path });
      const got: string[] = [];
      await second.consume(topic, group, async (d) => void got.push(d.envelope.id));
      await ctx.waitFor(() => got.length === 1, 5_000, 'the delivery after restart');
      expect(got).toEqual([envelope.id]);
      await second.close();
    });

    it('a path that cannot be opened gives one clear BusUnavailableError', () => {
      let error: unknown;
      try {
        createSqliteQueue({ path: join(dir, 'no-such-dir', 'x', 'q.db') });
      } catch (e) {
        error = e;
      }
      expect(isPenguiflowError(error, 'BUS_UNAVAILABLE')).toBe(true);
    });
  },
});
