import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { expect, it } from 'vitest';
import { createPostgresQueue, type PostgresQueue } from '../../src/adapters/postgres/postgres-queue.js';
import { isPenguiflowError } from '../../src/errors/index.js';
import type { Delivery } from '../../src/protocols/message-bus.js';
import { describeMessageBus } from '../../src/testing/message-bus-suite.js';
import { serviceUrl } from '../helpers/services.js';

const url = await serviceUrl('postgres');

describeMessageBus<PostgresQueue>({
  name: 'PostgreSQL queue',
  skip: url ? false : 'PostgreSQL is not reachable',
  create: () => createPostgresQueue({ url: url!, schema: `pft_${randomBytes(4).toString('hex')}`, maxConnections: 4 }),
  connect: (queue) => createPostgresQueue({ url: url!, schema: queue.schema, maxConnections: 4 }),
  destroy: (queue) => queue.purge(),
  capabilities: {
    rawPublish: (queue, topic, bytes) => queue.publishRaw(topic, bytes),
    orderedPerKey: true,
    retainsBeforeGroup: true,
    leaseMs: 600,
    crash: (queue) => queue.crash(),
  },
  additionalTests: (ctx) => {
    it('wakes an idle consumer with NOTIFY (well before the next poll)', async () => {
      const queue = ctx.bus();
      const topic = ctx.topic();
      const got: number[] = [];
      await queue.consume(topic, ctx.group(), async () => void got.push(Date.now()), { leaseMs: 60_000 });
      await new Promise((r) => setTimeout(r, 1_500)); // let the loop back off to its longest poll
      const start = Date.now();
      await queue.publish(ctx.envelope(topic));
      await ctx.waitFor(() => got.length === 1, 5_000, 'the delivery');
      expect(got[0]! - start).toBeLessThan(500);
    });

    it('publishing one envelope id twice queues it once (queued, in one tick, while it runs); once acked the id may come again', async () => {
      const queue = ctx.bus();
      const topic = ctx.topic();
      const group = ctx.group();
      await queue.ensureGroup(topic, group);
      const queued = ctx.envelope(topic, { n: 1 });
      await queue.publish(queued);
      await queue.publish(queued); // a retried publish of a queued envelope
      const sameTick = ctx.envelope(topic, { n: 2 });
      await Promise.all([queue.publish(sameTick), queue.publish(sameTick)]); // one INSERT with the id twice
      const running = ctx.envelope(topic, { n: 3 });
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const got: string[] = [];
      await queue.consume(topic, group, async (d) => {
        got.push(d.envelope.id);
        if (d.envelope.id === running.id) await held;
      });
      await ctx.waitFor(() => got.length === 2, 10_000, 'the two queued envelopes');
      await queue.publish(running);
      await ctx.waitFor(() => got.length === 3, 10_000, 'the running envelope');
      await queue.publish(running); // a late copy while the first one runs
      release();
      await new Promise((r) => setTimeout(r, 500));
      expect(got).toEqual([queued.id, sameTick.id, running.id]);
      // the dedup covers an id while its row exists (queued, delayed, running); a completed id is the worker's done-markers' job
      await queue.publish(queued);
      await ctx.waitFor(() => got.length === 4, 10_000, 'the republished envelope');
      expect(got).toEqual([queued.id, sameTick.id, running.id, queued.id]);
    });

    it('acks of one tick go in one statement and are still fenced: a stale ack next to a good one is refused alone', async () => {
      const queue = ctx.bus();
      const topic = ctx.topic();
      const group = ctx.group();
      const mine: Delivery[] = [];
      const hold: (() => void)[] = [];
      await queue.consume(
        topic,
        group,
        async (d) => {
          mine.push(d);
          await new Promise<void>((r) => hold.push(r));
        },
        { leaseMs: 600, renewLease: false, concurrency: 2 },
      );
      const other = await createPostgresQueue({ url: url!, schema: queue.schema, maxConnections: 2 });
      try {
        const stolen = ctx.envelope(topic);
        await queue.publish(stolen);
        await ctx.waitFor(() => mine.length === 1, 10_000, 'the first delivery');
        await queue.publish(ctx.envelope(topic)); // fills this queue's second slot, so it cannot take the first back itself
        await ctx.waitFor(() => mine.length === 2, 10_000, 'a second delivery to this queue');
        const theirs: Delivery[] = [];
        await other.consume(
          topic,
          group,
          async (d) => {
            theirs.push(d);
            await new Promise<void>((r) => hold.push(r));
          },
          { leaseMs: 60_000 },
        );
        await ctx.waitFor(() => theirs.length === 1, 10_000, 'the other queue to take the expired lease');
        expect(theirs[0]!.envelope.id).toBe(stolen.id); // the oldest expired row; the second one's lease ran out too, but nobody claimed it
        let statements = 0;
        const count = () => void statements++;
        queue.pool.on('acquire', count);
        const results = await Promise.all([mine[0]!.ack(), mine[1]!.ack()]);
        queue.pool.off('acquire', count);
        expect(results).toEqual([false, true]);
        expect(statements).toBe(1);
        const { rows } = await queue.pool.query(`SELECT count(*)::int AS n FROM "${queue.schema}".pf_queue_jobs WHERE topic = $1`, [topic]);
        expect(rows[0].n).toBe(1); // the stolen envelope, still held by the other queue
      } finally {
        hold.forEach((r) => r());
        await other.close();
      }
    });

    it('purgeDeadLetters(topic, ids) deletes only those ids', async () => {
      const queue = ctx.bus();
      const topic = ctx.topic();
      await queue.consume(topic, ctx.group(), async (d) => void (await d.deadLetter(new Error('poison'))));
      for (let n = 0; n < 3; n++) await queue.publish(ctx.envelope(topic, { n }));
      await ctx.waitFor(async () => (await queue.listDeadLetters(topic)).length === 3, 10_000, 'three dead letters');
      const [first, , third] = await queue.listDeadLetters(topic);
      await expect(queue.purgeDeadLetters(topic, [first!.id, third!.id, 'not-an-id'])).resolves.toBe(2);
      expect((await queue.listDeadLetters(topic)).map((d) => (d.envelope?.message.payload as { n: number }).n)).toEqual([1]);
      await expect(queue.purgeDeadLetters(topic, [first!.id])).resolves.toBe(0);
      await expect(queue.purgeDeadLetters(topic)).resolves.toBe(1);
    });

    it('upgrades queue tables of an earlier version in place (no lease_token / env_id columns): queued rows are delivered, acks are fenced', async () => {
      const schema = `pft_old_${randomBytes(4).toString('hex')}`;
      const admin = new pg.Pool({ connectionString: url!, max: 1 });
      try {
        await admin.query(`
          CREATE SCHEMA "${schema}";
          CREATE TABLE "${schema}".pf_queue_jobs (id bigserial PRIMARY KEY, topic text NOT NULL, grp text, body bytea NOT NULL,
            deliveries integer NOT NULL DEFAULT 0, visible_at bigint NOT NULL, locked_by text, last_code text, last_message text);
          CREATE TABLE "${schema}".pf_queue_groups (topic text NOT NULL, grp text NOT NULL, expires_at bigint, PRIMARY KEY (topic, grp));
          CREATE TABLE "${schema}".pf_queue_dead (id bigserial PRIMARY KEY, topic text NOT NULL, grp text NOT NULL, body bytea NOT NULL,
            deliveries integer NOT NULL, code text NOT NULL, message text NOT NULL, raw boolean NOT NULL, dead_at bigint NOT NULL);`);
        const topic = ctx.topic();
        const group = ctx.group();
        const old = ctx.envelope(topic);
        await admin.query(`INSERT INTO "${schema}".pf_queue_groups (topic, grp) VALUES ($1, $2)`, [topic, group]);
        await admin.query(`INSERT INTO "${schema}".pf_queue_jobs (topic, grp, body, visible_at) VALUES ($1, $2, $3, 0)`, [
          topic,
          group,
          Buffer.from(JSON.stringify(old)),
        ]);
        const upgraded = await createPostgresQueue({ url: url!, schema, maxConnections: 2 });
        try {
          const got: Delivery[] = [];
          await upgraded.consume(topic, group, async (d) => void got.push(d));
          await ctx.waitFor(() => got.length === 1, 10_000, 'the row queued before the upgrade');
          expect(got[0]!.envelope.id).toBe(old.id);
          expect(got[0]!.deliveryCount).toBe(1);
          await ctx.waitFor(async () => (await admin.query(`SELECT 1 FROM "${schema}".pf_queue_jobs`)).rowCount === 0, 5_000, 'the ack');
          const { rows } = await admin.query(
            `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'pf_queue_jobs' AND column_name IN ('lease_token', 'env_id') ORDER BY 1`,
            [schema],
          );
          expect(rows.map((r: { column_name: string }) => r.column_name)).toEqual(['env_id', 'lease_token']);
        } finally {
          await upgraded.close();
        }
      } finally {
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await admin.end();
      }
    });

    it('claims with SKIP LOCKED: two queues on one schema never run the same job twice', async () => {
      const queue = ctx.bus();
      const other = await createPostgresQueue({ url: url!, schema: queue.schema, maxConnections: 4 });
      try {
        const topic = ctx.topic();
        const group = ctx.group();
        const seen: string[] = [];
        const handler = async (d: { envelope: { id: string } }) => {
          seen.push(d.envelope.id);
          await new Promise((r) => setTimeout(r, 2));
        };
        await queue.consume(topic, group, handler, { concurrency: 8, leaseMs: 60_000 });
        await other.consume(topic, group, handler, { concurrency: 8, leaseMs: 60_000 });
        await Promise.all(Array.from({ length: 300 }, (_, n) => queue.publish(ctx.envelope(topic, { n }))));
        await ctx.waitFor(() => seen.length >= 300, 20_000, '300 deliveries');
        await new Promise((r) => setTimeout(r, 200));
        expect(seen.length).toBe(300);
        expect(new Set(seen).size).toBe(300);
      } finally {
        await other.close();
      }
    });

    it('an ephemeral group removes itself and its queued rows on close', async () => {
      const queue = ctx.bus();
      const topic = ctx.topic();
      const group = ctx.group();
      const hold: (() => void)[] = [];
      const sub = await queue.consume(topic, group, () => new Promise<void>((r) => hold.push(r)), { ephemeral: true, leaseMs: 60_000 });
      await queue.publish(ctx.envelope(topic));
      await queue.publish(ctx.envelope(topic));
      await ctx.waitFor(() => hold.length === 1, 5_000, 'the first delivery');
      const closing = sub.close(); // stops claiming while the first handler still runs: the second row stays queued
      hold.forEach((r) => r());
      await closing;
      const { rows } = await queue.pool.query(
        `SELECT (SELECT count(*) FROM "${queue.schema}".pf_queue_groups WHERE grp = $1)::int AS groups,
                (SELECT count(*) FROM "${queue.schema}".pf_queue_jobs WHERE grp = $1)::int AS jobs`,
        [group],
      );
      expect(rows[0]).toEqual({ groups: 0, jobs: 0 });
    });

    it('a worker process killed with SIGKILL mid-job: after its lease another process gets the job', async () => {
      const queue = ctx.bus();
      const topic = ctx.topic();
      const group = ctx.group();
      const module = fileURLToPath(new URL('../../src/adapters/postgres/postgres-queue.ts', import.meta.url));
      const code = `
        import { createPostgresQueue } from ${JSON.stringify(module)};
        const q = await createPostgresQueue({ url: ${JSON.stringify(url)}, schema: ${JSON.stringify(queue.schema)} });
        await q.consume(${JSON.stringify(topic)}, ${JSON.stringify(group)}, async (d) => {
          console.log('got ' + d.envelope.id);
          await new Promise(() => {});
        }, { leaseMs: 1000 });
        console.log('ready');`;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      try {
        await ctx.waitFor(() => out.includes('ready'), 20_000, 'the child worker');
        const envelope = ctx.envelope(topic);
        await queue.publish(envelope);
        await ctx.waitFor(() => out.includes(`got ${envelope.id}`), 10_000, 'the child to take the job');
        child.kill('SIGKILL');
        const got: { id: string; count: number }[] = [];
        await queue.consume(topic, group, async (d) => void got.push({ id: d.envelope.id, count: d.deliveryCount }), { leaseMs: 1000 });
        await ctx.waitFor(() => got.length === 1, 10_000, 'the reclaimed job');
        expect(got[0]).toEqual({ id: envelope.id, count: 2 });
      } finally {
        child.kill('SIGKILL');
      }
    });

    it('an unreachable PostgreSQL gives one clear BusUnavailableError naming host:port, not the password', async () => {
      const start = Date.now();
      const error = await createPostgresQueue({ url: 'postgres://app:s3cret@127.0.0.1:1/test', timeoutMs: 2_000 }).catch((e: unknown) => e);
      expect(Date.now() - start).toBeLessThan(5_000);
      expect(isPenguiflowError(error, 'BUS_UNAVAILABLE')).toBe(true);
      expect((error as Error).message).toContain('127.0.0.1:1');
      expect(JSON.stringify(error) + (error as Error).message).not.toContain('s3cret');
    });
  },
});
