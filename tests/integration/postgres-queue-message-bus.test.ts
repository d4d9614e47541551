import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { createPostgresQueue, type PostgresQueue } from '../../src/adapters/postgres/postgres-queue.js';
import { isPenguiflowError } from '../../src/errors/index.js';
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
