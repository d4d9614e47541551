/**
 * The worker half of the {@link ConsumableBus} conformance suite: a real
 * controller flow and real workers over the adapter under test, counting what
 * happened at the node (executions per message), not only what reached the
 * caller. `describeMessageBus` runs it for every adapter.
 *
 * @module penguiflow/testing/worker-on-bus-suite
 */
import { afterEach, describe, expect, it } from '../peers/vitest.js';
import { InMemoryStateStore } from '../adapters/memory/memory-state-store.js';
import { createFlow, type Flow } from '../core/flow.js';
import { message, type Message } from '../core/message.js';
import { node } from '../core/node.js';
import { workTopic } from '../core/wire.js';
import { runWorker, type Worker, type WorkerOptions } from '../distributed/worker.js';
import { BusUnavailableError, findPenguiflowError } from '../errors/index.js';
import type { BusEnvelope, ConsumableBus, MessageBus } from '../protocols/message-bus.js';
import type { StateStore } from '../protocols/state-store.js';

export interface WorkerOnBusSuiteOptions<B extends ConsumableBus> {
  name: string;
  create: () => B | Promise<B>;
  connect?: (bus: B) => B | Promise<B>;
  destroy?: (bus: B) => void | Promise<void>;
  /** The workers' lease (ms). */
  leaseMs: number;
  /** How late a delayed redelivery may come beyond its delay (ms). */
  delayToleranceMs: number;
  skip?: string;
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await pause(20);
  }
}

let flows = 0;
function flowName(kind: string): string {
  return `wsuite${kind}${Date.now().toString(36)}${(flows++).toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** Executions per message id, as a table with no unique key would count them. */
class Executions {
  readonly runs: { id: string; at: number; attempt: number }[] = [];
  add(id: string, attempt = 0): void {
    this.runs.push({ id, at: Date.now(), attempt });
  }
  of(id: string): number {
    return this.runs.filter((r) => r.id === id).length;
  }
  timesOf(id: string): number[] {
    return this.runs.filter((r) => r.id === id).map((r) => r.at);
  }
}

export function describeWorkerOnBus<B extends ConsumableBus>(options: WorkerOnBusSuiteOptions<B>): void {
  const leaseMs = options.leaseMs;
  const cleanups: (() => Promise<unknown>)[] = [];
  let primary: B | undefined;

  /** The controller's bus, then one client per worker process (the same bus without `connect`). */
  async function buses(workers: number): Promise<{ controller: B; workers: B[] }> {
    const controller = await options.create();
    primary = controller;
    cleanups.push(() => controller.close());
    const out: B[] = [];
    for (let i = 0; i < workers; i++) {
      if (options.connect === undefined) out.push(controller);
      else {
        const other = await options.connect(controller);
        cleanups.push(() => other.close());
        out.push(other);
      }
    }
    return { controller, workers: out };
  }

  async function startController(flow: Flow, bus: ConsumableBus): Promise<Flow> {
    flow.run({ distributed: { bus } });
    await flow.ready();
    cleanups.push(() => flow.stop({ timeoutMs: 2_000 }));
    return flow;
  }

  async function startWorker(flow: Flow, bus: ConsumableBus, store: StateStore, extra: Partial<WorkerOptions> = {}): Promise<Worker> {
    const worker = await runWorker({ flow, bus, store, concurrency: 4, leaseMs, heartbeatMs: 60_000, ...extra });
    cleanups.push(() => worker.stop());
    return worker;
  }

  describe.skipIf(options.skip !== undefined)(`workers on ${options.name}${options.skip !== undefined ? ` (skipped: ${options.skip})` : ''}`, () => {
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
      const bus = primary;
      primary = undefined;
      if (bus !== undefined) await options.destroy?.(bus);
    });

    it('a node three times slower than the lease runs exactly once per message, on one of three workers; each result arrives once', async () => {
      const name = flowName('slow');
      const ran = new Executions();
      const make = () =>
        createFlow(
          node(
            'slow',
            async (m: Message<number>) => {
              ran.add(m.id);
              await pause(leaseMs * 3);
              return m.payload * 10;
            },
            { placement: 'distributed', timeoutMs: leaseMs * 20 },
          ),
          { name },
        );
      const { controller, workers } = await buses(3);
      const store = new InMemoryStateStore();
      const flow = await startController(make(), controller);
      const stats: Worker[] = [];
      for (const bus of workers) stats.push(await startWorker(make(), bus, store, { concurrency: 2 }));
      const msgs = Array.from({ length: 6 }, (_, n) => message(n, { tenant: 'acme' }));
      const results = await Promise.all(msgs.map((m) => flow.call(m, { timeoutMs: leaseMs * 40 + 20_000 })));
      expect(results.map((r) => r.payload)).toEqual(msgs.map((m) => m.payload * 10));
      await pause(leaseMs * 2);
      for (const m of msgs) expect(ran.of(m.id)).toBe(1);
      expect(ran.runs.length).toBe(msgs.length);
      expect(stats.reduce((n, w) => n + w.stats.leaseLost + w.stats.redelivered, 0)).toBe(0);
      if (controller.listDeadLetters) expect(await controller.listDeadLetters(workTopic(name, 'slow'))).toEqual([]);
    });

    it('a duplicate publish of a message that already completed is acked without running again', async () => {
      const name = flowName('dup');
      const ran = new Executions();
      const make = () =>
        createFlow(
          node(
            'once',
            (m: Message<number>) => {
              ran.add(m.id);
              return m.payload + 1;
            },
            { placement: 'distributed' },
          ),
          { name },
        );
      const { controller, workers } = await buses(1);
      const store = new InMemoryStateStore();
      const published: BusEnvelope[] = [];
      const flow = await startController(make(), recordingBus(controller, published));
      const worker = await startWorker(make(), workers[0]!, store);
      const msg = message(1, { tenant: 'acme' });
      expect((await flow.call(msg, { timeoutMs: 20_000 })).payload).toBe(2);
      const work = published.find((e) => e.topic === workTopic(name, 'once'));
      expect(work).toBeDefined();
      // completed = its done-marker is written (just after the reply went out)
      await waitFor(async () => (await store.getLease(`done:${name}:once:${msg.id}`)) !== undefined, 5_000, 'the done-marker');
      // a late resend by the driver, or a retried publish; under another hop id, since a broker that
      // de-duplicates publishes by envelope id (JetStream Nats-Msg-Id) drops a same-id resend before any worker
      await controller.publish({ ...work!, id: `${work!.id}~resent` });
      await waitFor(() => worker.stats.duplicates === 1, 8_000, 'the duplicate to be acked');
      await pause(300);
      expect(ran.of(msg.id)).toBe(1);
    });

    it('a poison message is dead-lettered once; after the fix, dlq retry runs it to completion and the dead letters empty', async () => {
      const name = flowName('poison');
      const ran = new Executions();
      let poisoned = true;
      const make = () =>
        createFlow(
          node(
            'parse',
            (m: Message<string>) => {
              ran.add(m.id);
              if (poisoned) throw new Error('cannot parse');
              return m.payload.toUpperCase();
            },
            { placement: 'distributed', redeliveryBackoff: { baseMs: 50, multiplier: 1, jitter: 0 } },
          ),
          { name },
        );
      const { controller, workers } = await buses(1);
      const store = new InMemoryStateStore();
      const flow = await startController(make(), controller);
      await startWorker(make(), workers[0]!, store, { maxDeliveries: 2 });
      const msg = message('abc', { tenant: 'acme' });
      const failure = await flow.call(msg, { timeoutMs: 20_000 }).catch((error: unknown) => error);
      expect(findPenguiflowError(failure)?.message).toMatch(/cannot parse/);
      expect(ran.of(msg.id)).toBe(2);
      const topic = workTopic(name, 'parse');
      if (!controller.listDeadLetters || !controller.retryDeadLetter) return;
      await waitFor(async () => (await controller.listDeadLetters!(topic)).length === 1, 15_000, 'the dead letter');
      await pause(Math.max(1_000, leaseMs * 3));
      const dead = await controller.listDeadLetters(topic);
      expect(dead.length).toBe(1); // and it stays one
      expect(dead[0]!.envelope?.message.id).toBe(msg.id);
      poisoned = false;
      await expect(controller.retryDeadLetter(topic, dead[0]!.id)).resolves.toBe(true);
      await waitFor(() => ran.of(msg.id) === 3, 15_000, 'the retried run');
      await waitFor(async () => (await controller.listDeadLetters!(topic)).length === 0, 15_000, 'an empty dead-letter list');
      await pause(300);
      expect(ran.of(msg.id)).toBe(3);
    });

    it('with no worker alive, call({ deadlineMs: 1000 }) rejects with DEADLINE_EXCEEDED by its deadline', async () => {
      const name = flowName('nowork');
      const flowDef = createFlow(node('far', (m: Message<number>) => m.payload, { placement: 'distributed' }), { name });
      const { controller } = await buses(0);
      const flow = await startController(flowDef, controller);
      const started = Date.now();
      const error = await flow.call(message(1, { tenant: 'acme' }), { deadlineMs: 1_000 }).catch((e: unknown) => e);
      expect(findPenguiflowError(error)?.code).toBe('DEADLINE_EXCEEDED');
      expect(Date.now() - started).toBeLessThan(1_500);
    });

    it('a failed delivery is delivered again only after its redelivery backoff', async () => {
      const name = flowName('backoff');
      const ran = new Executions();
      const make = () =>
        createFlow(
          node(
            'flaky',
            (m: Message<number>) => {
              ran.add(m.id);
              if (ran.of(m.id) < 3) throw new Error('not yet');
              return m.payload;
            },
            { placement: 'distributed', redeliveryBackoff: { baseMs: 400, multiplier: 1, jitter: 0 } },
          ),
          { name },
        );
      const { controller, workers } = await buses(1);
      const flow = await startController(make(), controller);
      await startWorker(make(), workers[0]!, new InMemoryStateStore(), { maxDeliveries: 5 });
      const msg = message(7, { tenant: 'acme' });
      expect((await flow.call(msg, { timeoutMs: 30_000 })).payload).toBe(7);
      const times = ran.timesOf(msg.id);
      expect(times.length).toBe(3);
      for (let i = 1; i < times.length; i++) {
        expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(390);
        expect(times[i]! - times[i - 1]!).toBeLessThan(400 + options.delayToleranceMs);
      }
    });

    it('a publish the broker refuses fails the trace with BUS_UNAVAILABLE: the upstream node ran once, stop() is prompt, later calls are not shed', async () => {
      const name = flowName('pubfail');
      const upstream = new Executions();
      const make = () => {
        const up = node('up', (m: Message<number>) => {
          upstream.add(m.id);
          return m.payload + 1;
        });
        const down = node('down', (m: Message<number>) => m.payload * 2, { placement: 'distributed' });
        return createFlow(up.to(down), { name });
      };
      const { controller, workers } = await buses(1);
      let refuse = 1;
      const faulty = faultyBus(controller, (e) => e.topic === workTopic(name, 'down') && refuse-- > 0);
      const def = make();
      def.run({ distributed: { bus: faulty, maxDepth: 2 } });
      await def.ready();
      await startWorker(make(), workers[0]!, new InMemoryStateStore());
      const first = message(1, { tenant: 'acme' });
      const error = await def.call(first, { timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(findPenguiflowError(error)?.code).toBe('BUS_UNAVAILABLE');
      expect(upstream.of(first.id)).toBe(1);
      for (let i = 0; i < 3; i++) expect((await def.call(message(i, { tenant: 'acme' }), { timeoutMs: 20_000 })).payload).toBe((i + 1) * 2);
      const stopping = Date.now();
      await def.stop({ timeoutMs: 10_000 });
      expect(Date.now() - stopping).toBeLessThan(2_000);
    });

    it('a node that streams two chunks, fails, and succeeds on redelivery: the reader sees seq 0 and 1 once each', async () => {
      const name = flowName('stream');
      let deliveries = 0;
      const make = () =>
        createFlow(
          node(
            'talk',
            async (m: Message<string>, ctx) => {
              deliveries++;
              await ctx.stream('a');
              await ctx.stream('b');
              if (deliveries === 1) throw new Error('dropped the line');
              return m.payload;
            },
            { placement: 'distributed', redeliveryBackoff: { baseMs: 50, multiplier: 1, jitter: 0 } },
          ),
          { name },
        );
      const { controller, workers } = await buses(1);
      const flow = await startController(make(), controller);
      await startWorker(make(), workers[0]!, new InMemoryStateStore());
      const msg = message('done', { tenant: 'acme' });
      await flow.emit(msg);
      const seen: string[] = [];
      for await (const out of flow.outputs(msg.traceId)) {
        if (out.kind === 'chunk') seen.push(`${out.message.payload.seq}:${String(out.message.payload.data)}`);
        else if (out.kind === 'result') seen.push(`result:${String(out.message.payload)}`);
        else seen.push(`error:${out.error.code}`);
      }
      expect(deliveries).toBe(2);
      expect(seen).toEqual(['0:a', '1:b', 'result:done']);
    });
  });
}

/** The same bus, with every published envelope recorded. */
function recordingBus<B extends ConsumableBus>(bus: B, into: BusEnvelope[]): ConsumableBus {
  return wrap(bus, async (envelope) => {
    into.push(envelope);
    await bus.publish(envelope);
  });
}

/** The same bus, refusing the publishes `refuse` picks as a broker outage would. */
function faultyBus<B extends ConsumableBus>(bus: B, refuse: (envelope: BusEnvelope) => boolean): ConsumableBus {
  return wrap(bus, async (envelope) => {
    if (refuse(envelope)) throw new BusUnavailableError('The broker refused the publish (test fault)');
    await bus.publish(envelope);
  });
}

function wrap(bus: ConsumableBus, publish: MessageBus['publish']): ConsumableBus {
  return {
    publish,
    close: () => Promise.resolve(), // the suite closes the real bus
    consume: (topic, group, handler, opts) => bus.consume(topic, group, handler, opts),
    ...(bus.ensureGroup ? { ensureGroup: (topic: string, group: string) => bus.ensureGroup!(topic, group) } : {}),
  };
}

