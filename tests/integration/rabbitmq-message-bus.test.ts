import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import amqp from 'amqplib';
import { expect, it } from 'vitest';
import { createRabbitMessageBus, type RabbitMessageBus } from '../../src/adapters/rabbitmq/index.js';
import { isPenguiflowError } from '../../src/errors/index.js';
import { describeMessageBus } from '../../src/testing/message-bus-suite.js';
import { serviceUrl } from '../helpers/services.js';

const url = await serviceUrl('rabbitmq');

/** Simulates a network failure on the bus's own connection (amqplib keeps the socket as `stream`). */
function dropConnection(bus: RabbitMessageBus): void {
  (bus.connection!.connection as unknown as { stream: Socket }).stream.destroy(new Error('network down'));
}

describeMessageBus<RabbitMessageBus>({
  name: 'RabbitMQ',
  skip: url ? false : 'RabbitMQ is not reachable',
  create: () => createRabbitMessageBus({ url: url!, prefix: `pft-${randomBytes(4).toString('hex')}` }),
  // a second process: its own connection, same broker and prefix
  connect: (bus) => createRabbitMessageBus({ url: url!, prefix: bus.prefix }),
  destroy: (bus) => bus.purge(),
  capabilities: {
    rawPublish: (bus, topic, bytes) => bus.publishRaw(topic, bytes),
    orderedPerKey: true,
    retainsBeforeGroup: true,
    crash: (bus) => bus.crash(),
    leaseMs: 500,
  },
  additionalTests: (ctx) => {
    it('requeues what a dead connection held unacked (broker delivery count)', async () => {
      const bus = ctx.bus();
      const topic = ctx.topic();
      const group = ctx.group();
      await bus.ensureGroup(topic, group);
      // another process takes the message and dies before acking
      const ghost = await amqp.connect(url!);
      ghost.on('error', () => {});
      const channel = await ghost.createChannel();
      channel.on('error', () => {});
      let held = 0;
      await channel.consume(bus.names(topic).queue(group), () => void held++, { noAck: false });
      const envelope = ctx.envelope(topic);
      await bus.publish(envelope);
      await ctx.waitFor(() => held === 1, 10_000, 'the ghost delivery');
      (ghost.connection as unknown as { stream: Socket }).stream.destroy(new Error('process died'));
      const got: { id: string; count: number }[] = [];
      await bus.consume(topic, group, async (d) => void got.push({ id: d.envelope.id, count: d.deliveryCount }));
      await ctx.waitFor(() => got.length === 1, 10_000, 'the requeued delivery');
      expect(got[0]).toEqual({ id: envelope.id, count: 2 });
    });

    it('reconnects after the connection is lost and keeps publishing and consuming', async () => {
      const bus = ctx.bus();
      const topic = ctx.topic();
      const got: string[] = [];
      await bus.consume(topic, ctx.group(), async (d) => void got.push(d.envelope.id));
      const first = ctx.envelope(topic);
      await bus.publish(first);
      await ctx.waitFor(() => got.includes(first.id), 10_000, 'the first delivery');
      dropConnection(bus);
      const second = ctx.envelope(topic);
      await bus.publish(second); // waits for the reconnect
      await ctx.waitFor(() => got.includes(second.id), 15_000, 'the delivery after reconnect');
    });

    it('ensureGroup keeps envelopes published before the first consume', async () => {
      const bus = ctx.bus();
      const topic = ctx.topic();
      const group = ctx.group();
      await bus.ensureGroup(topic, group);
      const envelope = ctx.envelope(topic);
      await bus.publish(envelope);
      const got: string[] = [];
      await bus.consume(topic, group, async (d) => void got.push(d.envelope.id));
      await ctx.waitFor(() => got.length === 1, 10_000, 'the early envelope');
    });

    it('purgeDeadLetters(topic, ids) deletes only those ids and says how many', async () => {
      const bus = ctx.bus();
      const topic = ctx.topic();
      await bus.consume(topic, ctx.group(), async (d) => void (await d.deadLetter(new Error('poison'))));
      for (let i = 0; i < 3; i++) await bus.publish(ctx.envelope(topic, { i }));
      await ctx.waitFor(async () => (await bus.listDeadLetters(topic)).length === 3, 10_000, 'three dead letters');
      const [a, b, c] = await bus.listDeadLetters(topic);
      await expect(bus.purgeDeadLetters(topic, [a!.id, c!.id, 'no-such-id'])).resolves.toBe(2);
      expect((await bus.listDeadLetters(topic)).map((d) => d.id)).toEqual([b!.id]);
      await expect(bus.purgeDeadLetters(topic)).resolves.toBe(1);
      expect(await bus.listDeadLetters(topic)).toEqual([]);
    });

    it('an unreachable RabbitMQ gives one clear BusUnavailableError naming host:port, not the password', async () => {
      const start = Date.now();
      const error = await createRabbitMessageBus({ url: 'amqp://guest:s3cret@127.0.0.1:1', connectTimeoutMs: 2_000 }).catch((e: unknown) => e);
      expect(Date.now() - start).toBeLessThan(5_000);
      expect(isPenguiflowError(error, 'BUS_UNAVAILABLE')).toBe(true);
      expect((error as Error).message).toContain('127.0.0.1:1');
      expect(JSON.stringify(error) + (error as Error).message).not.toContain('s3cret');
    });
  },
});

// Classic queues (what priorities need): the broker counts one redelivery at most, so the adapter carries the count.
describeMessageBus<RabbitMessageBus>({
  name: 'RabbitMQ (classic queues)',
  skip: url ? false : 'RabbitMQ is not reachable',
  create: () => createRabbitMessageBus({ url: url!, prefix: `pftc-${randomBytes(4).toString('hex')}`, queueType: 'classic' }),
  connect: (bus) => createRabbitMessageBus({ url: url!, prefix: bus.prefix, queueType: 'classic' }),
  destroy: (bus) => bus.purge(),
  capabilities: {
    rawPublish: (bus, topic, bytes) => bus.publishRaw(topic, bytes),
    orderedPerKey: true,
    retainsBeforeGroup: true,
    crash: (bus) => bus.crash(),
    leaseMs: 500,
  },
});
