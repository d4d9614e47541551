import { randomBytes } from 'node:crypto';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { expect, it } from 'vitest';
import { createNatsMessageBus, type NatsMessageBus } from '../../src/adapters/nats/index.js';
import { isPenguiflowError } from '../../src/errors/index.js';
import { describeMessageBus } from '../../src/testing/message-bus-suite.js';
import { serviceUrl } from '../helpers/services.js';

const url = await serviceUrl('nats');

async function purge(prefix: string): Promise<void> {
  const nc = await connect({ servers: url!, timeout: 5_000 });
  try {
    const jsm = await jetstreamManager(nc);
    for await (const info of jsm.streams.list()) {
      if (info.config.name.startsWith(`${prefix}_`)) await jsm.streams.delete(info.config.name);
    }
  } finally {
    await nc.close();
  }
}

describeMessageBus<NatsMessageBus>({
  name: 'NATS JetStream',
  skip: url ? false : 'NATS is not reachable',
  create: () => createNatsMessageBus({ servers: url!, prefix: `pft${randomBytes(4).toString('hex')}`, storage: 'memory' }),
  // a second process: its own connection, the same prefix (streams, groups, leases)
  connect: (bus) => createNatsMessageBus({ servers: url!, prefix: bus.prefix, storage: 'memory' }),
  destroy: (bus) => purge(bus.prefix),
  capabilities: {
    rawPublish: (bus, topic, bytes) => bus.publishRaw(topic, bytes),
    crash: (bus) => bus.crash(),
    orderedPerKey: true,
    retainsBeforeGroup: true,
    leaseMs: 600,
  },
  additionalTests: (ctx) => {
    it('redelivers after ack wait what a dead process fetched and never acked', async () => {
      const bus = ctx.bus();
      const topic = ctx.topic();
      const group = ctx.group();
      const envelope = ctx.envelope(topic);
      // subscribe once so the durable exists with a 500 ms ack wait, then stop it
      const first = await bus.consume(topic, group, async () => {}, { leaseMs: 500 });
      await first.close();
      await bus.publish(envelope);
      // another process fetches the message and dies without acking
      const names = bus.names(topic);
      const ghost = await connect({ servers: url! });
      const consumer = await jetstream(ghost).consumers.get(names.stream, names.durable(group));
      const msg = await consumer.next({ expires: 2_000 });
      expect(msg).not.toBeNull();
      await ghost.close();
      const got: number[] = [];
      await bus.consume(topic, group, async (d) => void got.push(d.deliveryCount), { leaseMs: 500 });
      await ctx.waitFor(() => got.length === 1, 10_000, 'the redelivery');
      expect(got[0]).toBe(2);
    });

    it('de-duplicates a republished envelope id (idempotent publish)', async () => {
      const bus = ctx.bus();
      const topic = ctx.topic();
      const envelope = ctx.envelope(topic);
      await bus.publish(envelope);
      await bus.publish(envelope);
      const jsm = await jetstreamManager(bus.connection);
      const info = await jsm.streams.info(bus.names(topic).stream);
      expect(info.state.messages).toBe(1);
    });

    it('a publish retried with the same envelope id is delivered once (Nats-Msg-Id, 5 min window)', async () => {
      const bus = ctx.bus();
      const topic = ctx.topic();
      const envelope = ctx.envelope(topic);
      const got: string[] = [];
      await bus.consume(topic, ctx.group(), async (d) => void got.push(d.envelope.id), { leaseMs: 600 });
      await bus.publish(envelope);
      const late = await createNatsMessageBus({ servers: url!, prefix: bus.prefix, storage: 'memory' });
      await late.publish(envelope); // another connection, as a driver resend or a controller retry would
      await late.close();
      await ctx.waitFor(() => got.length === 1, 10_000, 'the delivery');
      await new Promise((r) => setTimeout(r, 1_500));
      expect(got).toEqual([envelope.id]);
      const jsm = await jetstreamManager(bus.connection);
      expect((await jsm.streams.info(bus.names(topic).stream)).config.duplicate_window).toBe(300_000 * 1_000_000);
    });

    it('a full topic refuses the publish with QUEUE_FULL and drops nothing; once the work is acked there is room again', async () => {
      const prefix = `pft${randomBytes(4).toString('hex')}`;
      const near: { topic: string; messages: number }[] = [];
      const small = await createNatsMessageBus({
        servers: url!,
        prefix,
        storage: 'memory',
        maxMsgs: 5,
        housekeepingMs: 200,
        onNearLimit: ({ topic, messages }) => near.push({ topic, messages }),
      });
      try {
        const topic = ctx.topic();
        await small.ensureGroup(topic, 'g');
        const first = Array.from({ length: 5 }, (_, n) => ctx.envelope(topic, { n }));
        await small.publish(first[0]!);
        await new Promise((r) => setTimeout(r, 300)); // its size check (1 of 5) is done: quiet
        for (const e of first.slice(1)) await small.publish(e);
        const refused = await small.publish(ctx.envelope(topic, { n: 5 })).catch((e: unknown) => e);
        expect(isPenguiflowError(refused, 'QUEUE_FULL')).toBe(true);
        expect((refused as Error).message).toContain('nothing was dropped');
        // checked after the first publish (1 of 5: quiet), then at most every 10 s; a refusal is always told
        await ctx.waitFor(() => near.length === 1, 5_000, 'the near-limit report');
        expect(near).toEqual([{ topic, messages: 5 }]);
        const got: string[] = [];
        await small.consume(topic, 'g', async (d) => void got.push(d.envelope.id), { leaseMs: 2_000 });
        await ctx.waitFor(() => got.length === 5, 10_000, 'the five retained envelopes');
        expect(got).toEqual(first.map((e) => e.id)); // the oldest included: nothing was discarded
        const later = ctx.envelope(topic, { n: 6 });
        await ctx.waitFor(() => small.publish(later).then(() => true, () => false), 10_000, 'room after the acked messages were purged');
        await ctx.waitFor(() => got.length === 6, 10_000, 'the later envelope');
        const jsm = await jetstreamManager(small.connection);
        const info = await jsm.streams.info(small.names(topic).stream);
        expect(info.config.discard).toBe('new');
        expect(info.config.max_age).toBe(0);
      } finally {
        await small.purge();
        await small.close();
      }
    });

    it('an ephemeral group of a process that died is removed by the server after inactive_threshold', async () => {
      const prefix = `pft${randomBytes(4).toString('hex')}`;
      const dying = await createNatsMessageBus({ servers: url!, prefix, storage: 'memory', ephemeralInactiveMs: 1_500 });
      const topic = ctx.topic();
      await dying.consume(topic, 'control', async () => {}, { ephemeral: true });
      const jsm = await jetstreamManager(ctx.bus().connection);
      const count = async () => {
        let n = 0;
        for await (const _ of jsm.consumers.list(dying.names(topic).stream)) n++;
        return n;
      };
      expect(await count()).toBe(1);
      await dying.crash();
      await ctx.waitFor(async () => (await count()) === 0, 10_000, 'the server to remove the ephemeral consumer');
      await jsm.streams.delete(dying.names(topic).stream);
    });

    it('a read-ahead message waiting for a slot is kept alive (not redelivered before it starts)', async () => {
      const prefix = `pft${randomBytes(4).toString('hex')}`;
      const ahead = await createNatsMessageBus({ servers: url!, prefix, storage: 'memory', prefetch: 1 });
      try {
        const topic = ctx.topic();
        const seen: [string, number][] = [];
        const first = ctx.envelope(topic, { n: 1 });
        const second = ctx.envelope(topic, { n: 2 });
        await ahead.publish(first);
        await ahead.publish(second);
        await ahead.consume(
          topic,
          'g',
          async (d) => {
            seen.push([d.envelope.id, d.deliveryCount]);
            if (d.envelope.id === first.id) await new Promise((r) => setTimeout(r, 600 * 3));
          },
          { leaseMs: 600 },
        );
        await ctx.waitFor(() => seen.length === 2, 10_000, 'both deliveries');
        await new Promise((r) => setTimeout(r, 600 * 2));
        expect(seen).toEqual([
          [first.id, 1],
          [second.id, 1],
        ]);
      } finally {
        await ahead.purge();
        await ahead.close();
      }
    });

    it('NATS 2.9 does not fence acks itself (why the bus fences locally): a stale ack settles the new delivery', async () => {
      const bus = ctx.bus();
      const version = bus.connection.info?.version ?? '';
      if (!version.startsWith('2.9.')) return; // the behaviour pinned here is 2.9's; the local fence is used on every version
      const topic = ctx.topic();
      const group = ctx.group();
      await (await bus.consume(topic, group, async () => {}, { leaseMs: 500 })).close();
      await bus.publish(ctx.envelope(topic));
      const names = bus.names(topic);
      const consumer = await bus.js.consumers.get(names.stream, names.durable(group));
      const stale = await consumer.next({ expires: 2_000 });
      await new Promise((r) => setTimeout(r, 700));
      const fresh = await consumer.next({ expires: 3_000 });
      expect(fresh?.info.deliveryCount).toBe(2);
      stale!.ack();
      await bus.connection.flush();
      await new Promise((r) => setTimeout(r, 100));
      const jsm = await jetstreamManager(bus.connection);
      expect((await jsm.consumers.info(names.stream, names.durable(group))).num_ack_pending).toBe(0);
    });

    it('bounds in-flight publishes and still delivers all of them', async () => {
      const small = await createNatsMessageBus({ servers: url!, prefix: `pft${randomBytes(4).toString('hex')}`, storage: 'memory', maxInFlight: 4 });
      try {
        const topic = ctx.topic();
        await Promise.all(Array.from({ length: 200 }, (_, n) => small.publish(ctx.envelope(topic, { n }))));
        const jsm = await jetstreamManager(small.connection);
        expect((await jsm.streams.info(small.names(topic).stream)).state.messages).toBe(200);
      } finally {
        await small.close();
        await purge(small.prefix);
      }
    });

    it('uses explicit acks with ack wait = lease on a durable consumer per group', async () => {
      const bus = ctx.bus();
      const topic = ctx.topic();
      const group = ctx.group();
      await (await bus.consume(topic, group, async () => {}, { leaseMs: 1_500 })).close();
      const jsm = await jetstreamManager(bus.connection);
      const info = await jsm.consumers.info(bus.names(topic).stream, bus.names(topic).durable(group));
      expect(info.config.ack_policy).toBe(AckPolicy.Explicit);
      expect(info.config.ack_wait).toBe(1_500 * 1_000_000);
    });

    it("a group's ack wait changes only while the group is idle; a consumer joining a busy group adopts it", async () => {
      const bus = ctx.bus();
      const topic = ctx.topic();
      const group = ctx.group();
      const jsm = await jetstreamManager(bus.connection);
      const ackWait = async () => (await jsm.consumers.info(bus.names(topic).stream, bus.names(topic).durable(group))).config.ack_wait;
      await (await bus.consume(topic, group, async () => {}, { leaseMs: 600 })).close();
      expect(await ackWait()).toBe(600 * 1_000_000);
      let release!: () => void;
      const holding = new Promise<void>((resolve) => (release = resolve));
      const runs: number[] = [];
      const busy = await bus.consume(topic, group, async (d) => {
        runs.push(d.deliveryCount);
        await holding;
      }, { leaseMs: 2_000 }); // idle group: its ack wait becomes 2 s
      expect(await ackWait()).toBe(2_000 * 1_000_000);
      await bus.publish(ctx.envelope(topic));
      await ctx.waitFor(() => runs.length === 1, 10_000, 'the delivery');
      const joiner = await bus.consume(topic, group, async () => {}, { leaseMs: 30_000 }); // busy group: adopts 2 s
      expect(await ackWait()).toBe(2_000 * 1_000_000);
      await new Promise((r) => setTimeout(r, 2_000 * 2)); // renewals at the group's pace keep the delivery
      expect(runs).toEqual([1]);
      release();
      await busy.close();
      await joiner.close();
    });

    it('an ephemeral group is a server-named consumer deleted on close (no durable left behind)', async () => {
      const bus = ctx.bus();
      const topic = ctx.topic();
      const sub = await bus.consume(topic, ctx.group(), async () => {}, { ephemeral: true });
      const jsm = await jetstreamManager(bus.connection);
      const list = async () => {
        const out = [];
        for await (const c of jsm.consumers.list(bus.names(topic).stream)) out.push(c);
        return out;
      };
      const during = await list();
      expect(during).toHaveLength(1);
      expect(during[0]!.config.durable_name).toBeUndefined();
      await sub.close();
      expect(await list()).toHaveLength(0);
    });

    it('with interest retention, a message is removed once every group acked it', async () => {
      const prefix = `pft${randomBytes(4).toString('hex')}`;
      const bus2 = await createNatsMessageBus({ servers: url!, prefix, storage: 'memory', retention: 'interest' });
      try {
        const topic = ctx.topic();
        let a = 0;
        let b = 0;
        await bus2.consume(topic, 'a', async () => void a++);
        await bus2.consume(topic, 'b', async () => void b++);
        await Promise.all(Array.from({ length: 20 }, (_, n) => bus2.publish(ctx.envelope(topic, { n }))));
        await ctx.waitFor(() => a === 20 && b === 20, 10_000, 'both groups');
        const jsm = await jetstreamManager(bus2.connection);
        await ctx.waitFor(async () => (await jsm.streams.info(bus2.names(topic).stream)).state.messages === 0, 5_000, 'an empty stream');
      } finally {
        await bus2.close();
        await purge(prefix);
      }
    });

    it('recovers when its stream is deleted under a running consumer', async () => {
      const bus = ctx.bus();
      const topic = ctx.topic();
      const got: string[] = [];
      await bus.consume(topic, ctx.group(), async (d) => void got.push(d.envelope.id));
      const first = ctx.envelope(topic);
      await bus.publish(first);
      await ctx.waitFor(() => got.includes(first.id), 10_000, 'the first delivery');
      const jsm = await jetstreamManager(bus.connection);
      await jsm.streams.delete(bus.names(topic).stream);
      const second = ctx.envelope(topic);
      await bus.publish(second);
      await ctx.waitFor(() => got.includes(second.id), 20_000, 'the delivery after the stream came back');
    });

    it('an unreachable NATS gives one clear BusUnavailableError naming host:port', async () => {
      const start = Date.now();
      const error = await createNatsMessageBus({ servers: 'nats://user:s3cret@127.0.0.1:1', connectTimeoutMs: 2_000 }).catch((e: unknown) => e);
      expect(Date.now() - start).toBeLessThan(5_000);
      expect(isPenguiflowError(error, 'BUS_UNAVAILABLE')).toBe(true);
      expect((error as Error).message).toContain('127.0.0.1:1');
      expect(JSON.stringify(error) + (error as Error).message).not.toContain('s3cret');
    });
  },
});
