import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import type { SqliteQueue } from '../../src/adapters/sqlite/sqlite-queue.js';
import { createSqliteQueue } from '../../src/adapters/sqlite/sqlite-queue.js';
import { isPenguiflowError } from '../../src/errors/index.js';
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
