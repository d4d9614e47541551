import { expect, it } from 'vitest';
import { InMemoryMessageBus } from '../../src/adapters/memory/index.js';
import { createMsgpackSerializer } from '../../src/distributed/codec.js';
import { describeMessageBus } from '../../src/testing/message-bus-suite.js';

describeMessageBus({
  name: 'InMemoryMessageBus',
  create: () => new InMemoryMessageBus(),
  connect: (bus) => bus.connect(),
  capabilities: {
    rawPublish: (bus, topic, bytes) => bus.publishRaw(topic, bytes),
    orderedPerKey: true,
    retainsBeforeGroup: true,
    leaseMs: 200,
    crash: (bus) => bus.crash(),
  },
  additionalTests: (ctx) => {
    it('keeps every published envelope observable', async () => {
      const bus = ctx.bus();
      const topic = ctx.topic();
      const seen: string[] = [];
      const off = bus.onPublish((e) => seen.push(e.id));
      const a = ctx.envelope(topic);
      const b = ctx.envelope(ctx.topic());
      await bus.publish(a);
      await bus.publish(b);
      off();
      expect(bus.published).toEqual([a, b]);
      expect(bus.publishedTo(topic)).toEqual([a]);
      expect(seen).toEqual([a.id, b.id]);
    });

    it('dead-letters an envelope whose lease expires on every delivery', async () => {
      const bus = ctx.bus();
      const topic = ctx.topic();
      let calls = 0;
      const hung: (() => void)[] = [];
      const sub = await bus.consume(topic, ctx.group(), () => {
        calls++;
        return new Promise<void>((resolve) => hung.push(resolve)); // settles only at the end of the test
      }, { leaseMs: 50, maxDeliveries: 2, concurrency: 5, renewLease: false });
      await bus.publish(ctx.envelope(topic));
      await ctx.waitFor(async () => (await bus.listDeadLetters(topic)).length === 1, 5_000, 'the dead letter');
      const [dead] = await bus.listDeadLetters(topic);
      expect(calls).toBe(2);
      expect(dead!.error.code).toBe('LEASE_EXPIRED');
      expect(dead!.deliveryCount).toBe(2);
      for (const resolve of hung) resolve();
      await sub.close();
    });

    it('rejects publish after close', async () => {
      const bus = ctx.bus();
      await bus.close();
      await expect(bus.publish(ctx.envelope(ctx.topic()))).rejects.toMatchObject({ code: 'BUS_UNAVAILABLE' });
    });
  },
});

// the same contract with the MessagePack serializer (binary values travel as raw bytes)
describeMessageBus({
  name: 'InMemoryMessageBus + MessagePack',
  create: async () => new InMemoryMessageBus({ serializer: await createMsgpackSerializer() }),
  connect: (bus) => bus.connect(),
  capabilities: {
    rawPublish: (bus, topic, bytes) => bus.publishRaw(topic, bytes),
    orderedPerKey: true,
    retainsBeforeGroup: true,
    leaseMs: 200,
    crash: (bus) => bus.crash(),
  },
});
