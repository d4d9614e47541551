/**
 * The public conformance suite for {@link ConsumableBus} adapters. One call
 * per adapter runs every behaviour the runtime relies on against a real
 * instance: delivery intact, at-least-once, consumer groups, leases and
 * redelivery, nack, dead letters, idempotent ack, draining close.
 *
 * @example
 * // tests/integration/my-bus.test.ts
 * import { describeMessageBus } from 'penguiflow/testing';
 * describeMessageBus({
 *   name: 'MyBus',
 *   create: () => createMyBus({ url: process.env.MY_URL, prefix: `t${Date.now()}` }),
 *   destroy: (bus) => bus.deleteEverything(),
 * });
 *
 * @module penguiflow/testing/message-bus-suite
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from '../peers/vitest.js';
import { message } from '../core/message.js';
import type { BusEnvelope, ConsumableBus, Delivery, Subscription } from '../protocols/message-bus.js';
import { describeWorkerOnBus } from './worker-on-bus-suite.js';

export interface MessageBusCapabilities<B extends ConsumableBus = ConsumableBus> {
  /** Writes raw bytes to a topic as a foreign producer would; enables the undecodable-envelope test. */
  rawPublish?: (bus: B, topic: string, bytes: Uint8Array) => Promise<void>;
  /** With one consumer at concurrency 1, envelopes of one key arrive in publish order. */
  orderedPerKey?: boolean;
  /** A group's first consume also delivers envelopes published before it (a retained log). */
  retainsBeforeGroup?: boolean;
  /** Lease used by the lease tests (ms). Default 600. */
  leaseMs?: number;
  /** Largest payload tested (bytes). Default 1 MiB. */
  largePayloadBytes?: number;
  /**
   * Makes `bus` behave as if its process died (SIGKILL): nothing it holds is
   * renewed, acked or handed back any more, and it takes no new deliveries.
   * Enables the worker-death test; other tests keep using `create()` buses.
   */
  crash?: (bus: B) => void | Promise<void>;
  /** How late a delayed redelivery (nack delay) may come, beyond its delay (ms). Default 1,500. */
  delayToleranceMs?: number;
}

export interface MessageBusSuiteContext<B extends ConsumableBus> {
  /** The bus of the running test (created in `beforeEach`). */
  bus(): B;
  /** A topic name unique to this call. */
  topic(): string;
  /** A group name unique to this call. */
  group(): string;
  /** An envelope on `topic` with a fresh message. */
  envelope(topic: string, payload?: unknown, key?: string): BusEnvelope;
  /** Polls `condition` every 10 ms until true or `timeoutMs` (then throws). */
  waitFor(condition: () => boolean | Promise<boolean>, timeoutMs?: number, what?: string): Promise<void>;
}

export interface MessageBusSuiteOptions<B extends ConsumableBus> {
  name: string;
  /** A fresh bus per test. */
  create: () => B | Promise<B>;
  /**
   * Another client of the same broker and namespace as `bus`, as a second
   * process would open (closed after the test, not destroyed). Without it the
   * multi-consumer tests share one bus, and the crash test is skipped.
   */
  connect?: (bus: B) => B | Promise<B>;
  /** Removes what the bus created (streams, queues, tables); runs after `bus.close()`. */
  destroy?: (bus: B) => void | Promise<void>;
  /** A reason to skip the whole suite (e.g. the service is not reachable); `undefined`/`false` runs it. */
  skip?: string | false;
  capabilities?: MessageBusCapabilities<B>;
  /** Adapter-specific cases, run inside the same describe with the same per-test bus. */
  additionalTests?: (ctx: MessageBusSuiteContext<B>) => void;
}

/** Title suffix saying why a capability test is skipped. */
function unless(capability: unknown, name: string): string {
  return capability ? '' : ` (skipped: the adapter does not declare capabilities.${name})`;
}

function unique(kind: string): string {
  return `${kind}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function makeEnvelope(topic: string, payload: unknown = { n: 0 }, key?: string): BusEnvelope {
  const msg = message(payload, { tenant: 'acme', meta: { step: 1 } });
  const env: BusEnvelope = { id: unique('e'), topic, message: msg };
  if (key !== undefined) env.key = key;
  return env;
}

/**
 * Registers the conformance tests for a {@link ConsumableBus} adapter.
 * Each test gets a fresh bus from `create`, unique topic and group names (so
 * files run in parallel) and closes the bus and calls `destroy` afterwards.
 */
export function describeMessageBus<B extends ConsumableBus>(options: MessageBusSuiteOptions<B>): void {
  const caps = options.capabilities ?? {};
  const leaseMs = caps.leaseMs ?? 600;
  const skipReason = options.skip || undefined;
  const title = skipReason ? `MessageBus conformance: ${options.name} (skipped: ${skipReason})` : `MessageBus conformance: ${options.name}`;

  describe.skipIf(skipReason !== undefined)(title, () => {
    let current: B | undefined;
    const extra: B[] = [];
    let subs: Subscription[] = [];
    const releases: (() => void)[] = [];

    beforeEach(async () => {
      current = await options.create();
      subs = [];
    });

    afterEach(async () => {
      for (const release of releases.splice(0)) release();
      const bus = current;
      current = undefined;
      const others = extra.splice(0);
      if (!bus) return;
      await Promise.allSettled(subs.map((s) => s.close()));
      for (const other of others) await other.close().catch(() => undefined);
      await bus.close();
      await options.destroy?.(bus);
    });

    /** Another client of the test's broker, as a second process would have (the same bus without `connect`). */
    async function otherBus(): Promise<B> {
      if (!options.connect) return ctx.bus();
      const bus = await options.connect(ctx.bus());
      extra.push(bus);
      return bus;
    }

    const ctx: MessageBusSuiteContext<B> = {
      bus: () => {
        if (!current) throw new Error('No bus: ctx.bus() is only valid inside a test');
        return current;
      },
      topic: () => unique('topic'),
      group: () => unique('group'),
      envelope: makeEnvelope,
      waitFor,
    };

    async function consume(
      topic: string,
      group: string,
      handler: (d: Delivery) => Promise<void>,
      opts: Parameters<ConsumableBus['consume']>[3] = {},
    ): Promise<Subscription> {
      const sub = await ctx.bus().consume(topic, group, handler, { leaseMs: 30_000, ...opts });
      subs.push(sub);
      return sub;
    }

    /** A promise the afterEach resolves, for handlers that must hang until the test ends. */
    function gate(): Promise<void> {
      return new Promise((resolve) => releases.push(resolve));
    }

    it('publish resolves and the envelope is consumed intact (tenant, trace, deadline, meta, bytes, unicode)', async () => {
      const topic = ctx.topic();
      const bytes = new Uint8Array(256).map((_, i) => i);
      const payload = { text: 'héllo 🐧 你好 \u0000 "quoted"', bytes, nested: { list: [1, 'two', null, { deep: bytes.slice(0, 7) }] } };
      const msg = message(payload, { tenant: 'tenant-ü', deadline: Date.now() + 60_000, meta: { user: 'ana', tags: ['x'], n: 1.5 } });
      const envelope: BusEnvelope = {
        id: unique('e'),
        topic,
        key: 'k-1',
        source: 'a',
        target: 'b',
        message: msg,
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        attributes: { origin: 'suite' },
      };
      const received: Delivery[] = [];
      await consume(topic, ctx.group(), async (d) => void received.push(d));
      await expect(ctx.bus().publish(envelope)).resolves.toBeUndefined();
      await waitFor(() => received.length === 1, 10_000, 'the delivery');
      expect(received[0]!.envelope).toEqual(envelope);
      expect(received[0]!.deliveryCount).toBe(1);
      const got = received[0]!.envelope.message.payload as typeof payload;
      expect(got.bytes).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(got.bytes).equals(Buffer.from(bytes))).toBe(true);
    });

    it('carries a ~1 MiB payload intact', async () => {
      const topic = ctx.topic();
      const size = caps.largePayloadBytes ?? 1024 * 1024;
      const blob = randomBytes(Math.floor(size / 4));
      const text = 'x'.repeat(Math.floor(size / 2));
      const envelope = makeEnvelope(topic, { blob: new Uint8Array(blob), text });
      let got: BusEnvelope | undefined;
      await consume(topic, ctx.group(), async (d) => void (got = d.envelope));
      await ctx.bus().publish(envelope);
      await waitFor(() => got !== undefined, 20_000, 'the large delivery');
      const payload = got!.message.payload as { blob: Uint8Array; text: string };
      expect(payload.text.length).toBe(text.length);
      expect(Buffer.from(payload.blob).equals(blob)).toBe(true);
    });

    it('delivers every published envelope at least once', async () => {
      const topic = ctx.topic();
      const seen = new Set<string>();
      await consume(topic, ctx.group(), async (d) => void seen.add(d.envelope.id), { concurrency: 4 });
      const envelopes = Array.from({ length: 50 }, (_, n) => makeEnvelope(topic, { n }));
      await Promise.all(envelopes.map((e) => ctx.bus().publish(e)));
      await waitFor(() => seen.size === 50, 15_000, 'all 50 deliveries');
      expect([...seen].sort()).toEqual(envelopes.map((e) => e.id).sort());
    });

    it('two consumers in one group share the work; each envelope is handled once when all ack', async () => {
      const topic = ctx.topic();
      const group = ctx.group();
      const byConsumer: Record<string, string[]> = { a: [], b: [] };
      const handler = (name: 'a' | 'b') => async (d: Delivery) => {
        byConsumer[name]!.push(d.envelope.id);
        await delay(15);
      };
      await consume(topic, group, handler('a'), { consumer: 'a', concurrency: 2 });
      await consume(topic, group, handler('b'), { consumer: 'b', concurrency: 2 });
      const envelopes = Array.from({ length: 40 }, (_, n) => makeEnvelope(topic, { n }));
      await Promise.all(envelopes.map((e) => ctx.bus().publish(e)));
      await waitFor(() => byConsumer.a!.length + byConsumer.b!.length >= 40, 15_000, '40 deliveries');
      await delay(200);
      const all = [...byConsumer.a!, ...byConsumer.b!];
      expect(all.length).toBe(40);
      expect(new Set(all).size).toBe(40);
      expect(byConsumer.a!.length).toBeGreaterThan(0);
      expect(byConsumer.b!.length).toBeGreaterThan(0);
    });

    it('two groups each get every envelope', async () => {
      const topic = ctx.topic();
      const g1: string[] = [];
      const g2: string[] = [];
      await consume(topic, ctx.group(), async (d) => void g1.push(d.envelope.id));
      await consume(topic, ctx.group(), async (d) => void g2.push(d.envelope.id));
      const envelopes = Array.from({ length: 10 }, (_, n) => makeEnvelope(topic, { n }));
      for (const e of envelopes) await ctx.bus().publish(e);
      await waitFor(() => g1.length >= 10 && g2.length >= 10, 10_000, 'both groups');
      expect(new Set(g1)).toEqual(new Set(envelopes.map((e) => e.id)));
      expect(new Set(g2)).toEqual(new Set(envelopes.map((e) => e.id)));
    });

    it('redelivers to another consumer when the lease expires without an ack (delivery count increments)', async () => {
      const topic = ctx.topic();
      const group = ctx.group();
      const hang = gate();
      let deadGot = 0;
      await consume(
        topic,
        group,
        async () => {
          deadGot++;
          await hang; // this consumer "dies": it never acks while the test runs
        },
        { consumer: 'dying', leaseMs, concurrency: 1, renewLease: false },
      );
      const envelope = makeEnvelope(topic);
      await ctx.bus().publish(envelope);
      await waitFor(() => deadGot === 1, 10_000, 'the first delivery');
      const redelivered: Delivery[] = [];
      await consume(topic, group, async (d) => void redelivered.push(d), { consumer: 'survivor', leaseMs });
      await waitFor(() => redelivered.length >= 1, leaseMs * 10 + 5_000, 'the redelivery');
      expect(redelivered[0]!.envelope.id).toBe(envelope.id);
      expect(redelivered[0]!.deliveryCount).toBeGreaterThanOrEqual(2);
    });

    it(`a handler running 3× leaseMs keeps its delivery: the lease is renewed, nobody else gets it, one ack`, async () => {
      const topic = ctx.topic();
      const group = ctx.group();
      const runs: string[] = [];
      const handler = (name: string) => async () => {
        runs.push(name);
        await delay(leaseMs * 3);
      };
      await consume(topic, group, handler('a'), { consumer: 'a', leaseMs });
      const second = await otherBus();
      subs.push(await second.consume(topic, group, handler('b'), { consumer: 'b', leaseMs }));
      await ctx.bus().publish(makeEnvelope(topic));
      await waitFor(() => runs.length === 1, 10_000, 'the first run');
      await delay(leaseMs * 3 + leaseMs * 2 + 500);
      expect(runs.length).toBe(1);
      if (ctx.bus().listDeadLetters) expect(await ctx.bus().listDeadLetters!(topic)).toEqual([]);
    });

    it.skipIf(!caps.crash || !options.connect)(`a consumer whose process dies loses its delivery to another within leaseMs + a beat${unless(caps.crash && options.connect, 'crash (and options.connect)')}`, async () => {
      const topic = ctx.topic();
      const group = ctx.group();
      const dying = await otherBus();
      let dyingGot = 0;
      const hang = gate();
      await dying.consume(
        topic,
        group,
        async () => {
          dyingGot++;
          await hang;
        },
        { consumer: 'dying', leaseMs },
      );
      await dying.publish(makeEnvelope(topic));
      await waitFor(() => dyingGot === 1, 10_000, 'the first delivery');
      await delay(leaseMs * 2); // renewals keep it while the process lives
      const redelivered: { at: number; count: number }[] = [];
      await consume(topic, group, async (d) => void redelivered.push({ at: Date.now(), count: d.deliveryCount }), { consumer: 'survivor', leaseMs });
      await delay(leaseMs);
      expect(redelivered).toEqual([]);
      const diedAt = Date.now();
      await caps.crash!(dying);
      await waitFor(() => redelivered.length >= 1, leaseMs * 4 + 10_000, 'the redelivery');
      expect(redelivered[0]!.count).toBe(2);
      expect(redelivered[0]!.at - diedAt).toBeLessThan(leaseMs * 2 + 5_000);
    });

    it('a holder that lost its lease cannot ack, nack, extend or dead-letter it; the refusals are reported', async () => {
      const topic = ctx.topic();
      const group = ctx.group();
      const lost: string[] = [];
      let stale: Delivery | undefined;
      await consume(
        topic,
        group,
        async (d) => {
          stale = d;
          await new Promise<void>((resolve) => releases.push(resolve));
        },
        { consumer: 'stale', leaseMs, renewLease: false, onLeaseLost: (_d, op) => lost.push(op) },
      );
      await ctx.bus().publish(makeEnvelope(topic));
      await waitFor(() => stale !== undefined, 10_000, 'the first delivery');
      const second = await otherBus();
      const fresh: Delivery[] = [];
      let release!: () => void;
      const holding = new Promise<void>((resolve) => (release = resolve));
      subs.push(
        await second.consume(
          topic,
          group,
          async (d) => {
            fresh.push(d);
            await holding;
          },
          { consumer: 'fresh', leaseMs: 30_000 },
        ),
      );
      await waitFor(() => fresh.length === 1, leaseMs * 10 + 10_000, 'the redelivery to the new holder');
      expect(fresh[0]!.token).not.toBe(stale!.token);
      await expect(stale!.extend()).resolves.toBe(false);
      await expect(stale!.ack()).resolves.toBe(false);
      await expect(stale!.nack(new Error('late'))).resolves.toBe(false);
      expect(lost).toContain('extend');
      expect(lost).toContain('ack');
      release();
      await waitFor(async () => (fresh[0] as Delivery & { settled?: boolean }).settled !== false, 5_000, 'the new holder to ack');
      await delay(leaseMs * 2 + 300);
      expect(fresh.length).toBe(1); // the stale nack did not hand it back
      if (ctx.bus().listDeadLetters) expect(await ctx.bus().listDeadLetters!(topic)).toEqual([]);
    });

    it('a stale holder cannot dead-letter work another consumer now holds', async () => {
      const bus = ctx.bus();
      if (!bus.listDeadLetters) return;
      const topic = ctx.topic();
      const group = ctx.group();
      let stale: Delivery | undefined;
      await consume(
        topic,
        group,
        async (d) => {
          stale = d;
          await new Promise<void>((resolve) => releases.push(resolve));
        },
        { consumer: 'stale', leaseMs, renewLease: false },
      );
      await bus.publish(makeEnvelope(topic));
      await waitFor(() => stale !== undefined, 10_000, 'the first delivery');
      const second = await otherBus();
      const fresh: Delivery[] = [];
      subs.push(await second.consume(topic, group, async (d) => void fresh.push(d), { consumer: 'fresh', leaseMs }));
      await waitFor(() => fresh.length === 1, leaseMs * 10 + 10_000, 'the redelivery');
      await expect(stale!.deadLetter(new Error('stale verdict'))).resolves.toBe(false);
      await delay(300);
      expect(await bus.listDeadLetters(topic)).toEqual([]);
    });

    it('deadLetter() dead-letters at once; a retried dead letter starts again at delivery 1; purge empties the list', async () => {
      const bus = ctx.bus();
      if (!bus.listDeadLetters || !bus.retryDeadLetter) return;
      const topic = ctx.topic();
      const seen: number[] = [];
      let poisoned = true;
      await consume(
        topic,
        ctx.group(),
        async (d) => {
          seen.push(d.deliveryCount);
          if (poisoned) await d.deadLetter(new Error('poison'));
        },
        { maxDeliveries: 5 },
      );
      await bus.publish(makeEnvelope(topic));
      await waitFor(async () => (await bus.listDeadLetters!(topic)).length === 1, 15_000, 'the dead letter');
      expect(seen).toEqual([1]);
      const [dead] = await bus.listDeadLetters(topic);
      expect(dead!.error.message).toBe('poison');
      expect(dead!.deliveryCount).toBe(1);
      // retried while still poisoned: dead again, and again with count 1
      await expect(bus.retryDeadLetter(topic, dead!.id)).resolves.toBe(true);
      await waitFor(async () => (await bus.listDeadLetters!(topic)).length === 1 && seen.length === 2, 15_000, 'the second dead letter');
      expect(seen).toEqual([1, 1]);
      poisoned = false;
      const [again] = await bus.listDeadLetters(topic);
      await expect(bus.retryDeadLetter(topic, again!.id)).resolves.toBe(true);
      await waitFor(() => seen.length === 3, 10_000, 'the healed run');
      expect(seen).toEqual([1, 1, 1]);
      await waitFor(async () => (await bus.listDeadLetters!(topic)).length === 0, 5_000, 'an empty dead-letter list');
      if (!bus.purgeDeadLetters) return;
      poisoned = true;
      await bus.publish(makeEnvelope(topic));
      await bus.publish(makeEnvelope(topic));
      await waitFor(async () => (await bus.listDeadLetters!(topic)).length === 2, 15_000, 'two dead letters');
      await expect(bus.purgeDeadLetters(topic)).resolves.toBe(2);
      expect(await bus.listDeadLetters(topic)).toEqual([]);
    });

    it('a delivery whose lease ran out on every delivery goes to onExhausted, not to the handler', async () => {
      const topic = ctx.topic();
      let calls = 0;
      const exhausted: Delivery[] = [];
      await consume(
        topic,
        ctx.group(),
        async () => {
          calls++;
          await new Promise<void>((resolve) => releases.push(resolve));
        },
        {
          leaseMs,
          renewLease: false,
          maxDeliveries: 2,
          concurrency: 4,
          onExhausted: async (d) => {
            exhausted.push(d);
            await d.ack(); // e.g. the work turned out to be done
          },
        },
      );
      await ctx.bus().publish(makeEnvelope(topic));
      await waitFor(() => exhausted.length === 1, leaseMs * 20 + 10_000, 'the exhausted delivery');
      expect(calls).toBe(2);
      expect(exhausted[0]!.deliveryCount).toBe(3);
      await delay(leaseMs * 2 + 300);
      expect(calls).toBe(2);
      expect(exhausted.length).toBe(1);
      if (ctx.bus().listDeadLetters) expect(await ctx.bus().listDeadLetters!(topic)).toEqual([]);
    });

    it('ensureGroup keeps envelopes for a group that has no consumer yet', async () => {
      const bus = ctx.bus();
      if (!bus.ensureGroup) return;
      const topic = ctx.topic();
      const group = ctx.group();
      await bus.ensureGroup(topic, group);
      await bus.ensureGroup(topic, group); // idempotent
      const early = makeEnvelope(topic);
      await bus.publish(early);
      const got: string[] = [];
      await consume(topic, group, async (d) => void got.push(d.envelope.id));
      await waitFor(() => got.length === 1, 10_000, 'the early envelope');
      expect(got).toEqual([early.id]);
    });

    it('nack redelivers after the delay with a higher delivery count; a throwing handler nacks', async () => {
      const topic = ctx.topic();
      const counts: number[] = [];
      const times: number[] = [];
      await consume(
        topic,
        ctx.group(),
        async (d) => {
          counts.push(d.deliveryCount);
          times.push(Date.now());
          if (d.deliveryCount === 1) return void (await d.nack(new Error('try again'), 300));
          if (d.deliveryCount === 2) throw new Error('thrown');
        },
        { maxDeliveries: 5 },
      );
      await ctx.bus().publish(makeEnvelope(topic));
      await waitFor(() => counts.length >= 3, 15_000, 'three deliveries');
      expect(counts.slice(0, 3)).toEqual([1, 2, 3]);
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(290);
      expect(times[1]! - times[0]!).toBeLessThan(300 + (caps.delayToleranceMs ?? 1_500));
      await delay(300);
      expect(counts.length).toBe(3);
    });

    it('dead-letters after maxDeliveries with the last error; retryDeadLetter puts it back', async () => {
      const bus = ctx.bus();
      if (!bus.listDeadLetters || !bus.retryDeadLetter) return;
      const topic = ctx.topic();
      let calls = 0;
      let healed = false;
      const afterRetry: Delivery[] = [];
      await consume(
        topic,
        ctx.group(),
        async (d) => {
          if (healed) return void afterRetry.push(d);
          calls++;
          throw new Error(`boom ${calls}`);
        },
        { maxDeliveries: 3 },
      );
      const envelope = makeEnvelope(topic, { poison: true });
      await bus.publish(envelope);
      await waitFor(async () => (await bus.listDeadLetters!(topic)).length === 1, 15_000, 'the dead letter');
      const [dead] = await bus.listDeadLetters(topic);
      expect(calls).toBe(3);
      expect(dead!.topic).toBe(topic);
      expect(dead!.envelope?.id).toBe(envelope.id);
      expect(dead!.error.message).toBe('boom 3');
      expect(dead!.deliveryCount).toBe(3);
      expect(dead!.deadAt).toBeGreaterThan(Date.now() - 60_000);
      await delay(200);
      expect(calls).toBe(3);

      healed = true;
      await expect(bus.retryDeadLetter(topic, 'no-such-id')).resolves.toBe(false);
      await expect(bus.retryDeadLetter(topic, dead!.id)).resolves.toBe(true);
      await waitFor(() => afterRetry.length === 1, 10_000, 'the retried delivery');
      expect(afterRetry[0]!.envelope.id).toBe(envelope.id);
      await waitFor(async () => (await bus.listDeadLetters!(topic)).length === 0, 5_000, 'an empty dead-letter list');
    });

    it('ack is idempotent and settles the delivery (no redelivery after the lease)', async () => {
      const topic = ctx.topic();
      const group = ctx.group();
      const deliveries: Delivery[] = [];
      await consume(
        topic,
        group,
        async (d) => {
          deliveries.push(d);
          await d.ack();
          await d.ack();
          await d.nack(new Error('ignored after ack'));
        },
        { leaseMs },
      );
      await ctx.bus().publish(makeEnvelope(topic));
      await waitFor(() => deliveries.length === 1, 10_000, 'the delivery');
      await delay(leaseMs * 2 + 300);
      expect(deliveries.length).toBe(1);
      if (ctx.bus().listDeadLetters) expect(await ctx.bus().listDeadLetters!(topic)).toEqual([]);
    });

    it.skipIf(!caps.orderedPerKey)(`keeps publish order per key for one consumer at concurrency 1${unless(caps.orderedPerKey, 'orderedPerKey')}`, async () => {
      const topic = ctx.topic();
      const got: { key: string; n: number }[] = [];
      await consume(topic, ctx.group(), async (d) => {
        got.push({ key: d.envelope.key!, n: (d.envelope.message.payload as { n: number }).n });
      });
      for (let n = 0; n < 30; n++) await ctx.bus().publish(makeEnvelope(topic, { n }, n % 2 === 0 ? 'even' : 'odd'));
      await waitFor(() => got.length === 30, 10_000, '30 deliveries');
      for (const key of ['even', 'odd']) {
        const ns = got.filter((g) => g.key === key).map((g) => g.n);
        expect(ns).toEqual([...ns].sort((a, b) => a - b));
      }
    });

    it.skipIf(!caps.rawPublish)(`dead-letters undecodable bytes with a decode error and keeps consuming${unless(caps.rawPublish, 'rawPublish')}`, async () => {
      const bus = ctx.bus();
      const topic = ctx.topic();
      const handled: string[] = [];
      await consume(topic, ctx.group(), async (d) => void handled.push(d.envelope.id));
      const garbage = new Uint8Array([0xff, 0xfe, 0x00, 0x7b, 0x22]);
      await caps.rawPublish!(bus, topic, garbage);
      const good = makeEnvelope(topic);
      await bus.publish(good);
      await waitFor(() => handled.includes(good.id), 10_000, 'the good envelope');
      expect(handled).toEqual([good.id]);
      if (!bus.listDeadLetters) return;
      await waitFor(async () => (await bus.listDeadLetters!(topic)).length === 1, 10_000, 'the dead letter');
      const [dead] = await bus.listDeadLetters(topic);
      expect(dead!.envelope).toBeNull();
      expect(dead!.error.code).toBe('DECODE_FAILED');
      expect(dead!.raw).toBe(Buffer.from(garbage).toString('base64'));
    });

    it.skipIf(!caps.retainsBeforeGroup)(`a new group also receives envelopes published before its first consume${unless(caps.retainsBeforeGroup, 'retainsBeforeGroup')}`, async () => {
      const topic = ctx.topic();
      const envelope = makeEnvelope(topic);
      await ctx.bus().publish(envelope);
      const got: string[] = [];
      await consume(topic, ctx.group(), async (d) => void got.push(d.envelope.id));
      await waitFor(() => got.length === 1, 10_000, 'the early envelope');
      expect(got).toEqual([envelope.id]);
    });

    it('an ephemeral group starts at new envelopes, gets each one (broadcast), retries, and stops at close', async () => {
      const topic = ctx.topic();
      const before = makeEnvelope(topic, { when: 'before' });
      await ctx.bus().publish(before);
      const one: Delivery[] = [];
      const two: Delivery[] = [];
      const subOne = await consume(topic, ctx.group(), async (d) => void one.push(d), { ephemeral: true });
      await consume(
        topic,
        ctx.group(),
        async (d) => {
          two.push(d);
          if (d.deliveryCount === 1) throw new Error('retry me');
        },
        { ephemeral: true },
      );
      const during = makeEnvelope(topic, { when: 'during' });
      await ctx.bus().publish(during);
      await waitFor(() => one.length >= 1 && two.length >= 2, 10_000, 'both ephemeral groups');
      expect(one.map((d) => d.envelope.id)).toEqual([during.id]);
      expect(two.map((d) => [d.envelope.id, d.deliveryCount])).toEqual([
        [during.id, 1],
        [during.id, 2],
      ]);
      await subOne.close();
      const after = makeEnvelope(topic, { when: 'after' });
      await ctx.bus().publish(after);
      await waitFor(() => two.some((d) => d.envelope.id === after.id), 10_000, 'the envelope after close');
      await delay(200);
      expect(one.map((d) => d.envelope.id)).toEqual([during.id]);
    });

    it('subscription close() waits for in-flight handlers, and the finished work is acked', async () => {
      const topic = ctx.topic();
      const group = ctx.group();
      const closeLease = Math.max(leaseMs, 1_000); // longer than the handler, so no lease expires
      let started = 0;
      let finished = 0;
      const sub = await consume(
        topic,
        group,
        async () => {
          started++;
          await delay(300);
          finished++;
        },
        { leaseMs: closeLease },
      );
      await ctx.bus().publish(makeEnvelope(topic));
      await waitFor(() => started === 1, 10_000, 'the handler to start');
      await sub.close();
      expect(finished).toBe(1);
      const later: Delivery[] = [];
      await consume(topic, group, async (d) => void later.push(d), { leaseMs: closeLease });
      await delay(closeLease + 500);
      expect(later).toEqual([]);
    });

    it('bus close() drains in-flight handlers; a closed subscription takes no new work', async () => {
      const topic = ctx.topic();
      let started = 0;
      let finished = 0;
      let closedGot = 0;
      const closedSub = await consume(topic, ctx.group(), async () => void closedGot++);
      await closedSub.close();
      await consume(topic, ctx.group(), async () => {
        started++;
        await delay(300);
        finished++;
      });
      await ctx.bus().publish(makeEnvelope(topic));
      await waitFor(() => started === 1, 10_000, 'the handler to start');
      await ctx.bus().close();
      expect(finished).toBe(1);
      expect(closedGot).toBe(0);
    });

    it('an aborted signal stops the subscription', async () => {
      const topic = ctx.topic();
      const controller = new AbortController();
      const got: string[] = [];
      await consume(topic, ctx.group(), async (d) => void got.push(d.envelope.id), { signal: controller.signal });
      await ctx.bus().publish(makeEnvelope(topic));
      await waitFor(() => got.length === 1, 10_000, 'the first delivery');
      controller.abort();
      await delay(300);
      await ctx.bus().publish(makeEnvelope(topic));
      await delay(700);
      expect(got.length).toBe(1);
    });

    it('after close, publish and consume reject with BusUnavailableError; close again is a no-op', async () => {
      const bus = ctx.bus();
      await bus.close();
      await expect(bus.close()).resolves.toBeUndefined();
      await expect(bus.publish(makeEnvelope(ctx.topic()))).rejects.toMatchObject({ code: 'BUS_UNAVAILABLE' });
      await expect(bus.consume(ctx.topic(), ctx.group(), async () => {})).rejects.toMatchObject({ code: 'BUS_UNAVAILABLE' });
    });

    options.additionalTests?.(ctx);
  });

  describeWorkerOnBus({
    name: options.name,
    create: options.create,
    connect: options.connect,
    destroy: options.destroy,
    leaseMs: Math.max(leaseMs, 500),
    delayToleranceMs: caps.delayToleranceMs ?? 1_500,
    skip: skipReason,
  });
}
