/**
 * Callers never hang on envelopes that cannot travel: too large for the
 * sender's limit (the caller gets PAYLOAD_TOO_LARGE at once), or too large
 * for the worker's (dead-lettered undecoded; the caller's deadline holds).
 */
import { afterEach, expect, it } from 'vitest';
import { InMemoryMessageBus } from '../../src/adapters/memory/memory-message-bus.js';
import { InMemoryStateStore } from '../../src/adapters/memory/memory-state-store.js';
import { createJsonSerializer, runWorker } from '../../src/distributed/index.js';
import { createFlow, message, node, type Message } from '../../src/index.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const make = (name: string, ran: string[]) =>
  createFlow(
    node(
      'far',
      (m: Message<string>) => {
        ran.push(m.id);
        return m.payload.length;
      },
      { placement: 'distributed' },
    ),
    { name },
  );

it('an envelope over the sender’s limit fails the call with PAYLOAD_TOO_LARGE at once', async () => {
  const ran: string[] = [];
  const bus = new InMemoryMessageBus({ serializer: createJsonSerializer({ maxBytes: 2_000 }) });
  const worker = await runWorker({ flow: make('big1', ran), bus, store: new InMemoryStateStore() });
  cleanups.push(() => worker.stop());
  const flow = make('big1', ran);
  flow.run({ distributed: { bus } });
  await flow.ready();
  cleanups.push(() => flow.stop({ timeoutMs: 1_000 }));
  const started = Date.now();
  const error = await flow.call(message('x'.repeat(10_000), { tenant: 't' }), { timeoutMs: 5_000 }).catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  expect(Date.now() - started).toBeLessThan(500);
  expect(ran).toEqual([]);
  // the flow is not left wrong: a small call still works
  expect((await flow.call(message('ok', { tenant: 't' }), { timeoutMs: 5_000 })).payload).toBe(2);
});

it('an envelope the worker cannot decode is dead-lettered with DECODE_FAILED and the caller gets DEADLINE_EXCEEDED by its deadline', async () => {
  const ran: string[] = [];
  const bus = new InMemoryMessageBus();
  const workerBus = bus.connect({ serializer: createJsonSerializer({ maxBytes: 2_000 }) });
  const worker = await runWorker({ flow: make('big2', ran), bus: workerBus, store: new InMemoryStateStore() });
  cleanups.push(() => worker.stop());
  const flow = make('big2', ran);
  flow.run({ distributed: { bus } });
  await flow.ready();
  cleanups.push(() => flow.stop({ timeoutMs: 1_000 }));
  const started = Date.now();
  const error = await flow.call(message('x'.repeat(10_000), { tenant: 't' }), { deadlineMs: 800 }).catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  expect(Date.now() - started).toBeLessThan(1_300);
  expect(ran).toEqual([]);
  const dead = await bus.listDeadLetters('big2.far');
  expect(dead.map((d) => d.error.code)).toEqual(['DECODE_FAILED']);
});
