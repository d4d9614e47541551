/**
 * NATS outages against a server of the test's own (file storage, so the
 * streams survive a restart): publish and consume while it is down, a running
 * consumer across a restart, nothing lost.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsMessageBus, type NatsMessageBus } from '../../src/adapters/nats/index.js';
import { message } from '../../src/core/message.js';
import { isPenguiflowError } from '../../src/errors/index.js';
import type { BusEnvelope } from '../../src/protocols/message-bus.js';
import { natsServerBinary, startOwnNats, type OwnNats } from '../helpers/own-nats.js';

if (!natsServerBinary) {
  const msg = '\n!!! nats-server is not installed: the NATS fault tests are SKIPPED.\n';
  if (process.env.CI === 'true') throw new Error(msg);
  console.warn(msg);
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(20);
  }
}

function envelope(topic: string, payload: unknown = {}): BusEnvelope {
  return { id: `e-${randomBytes(6).toString('hex')}`, topic, message: message(payload, { tenant: 'acme' }) };
}

describe.skipIf(!natsServerBinary)('NATS bus across outages (own nats-server)', () => {
  let server: OwnNats;
  const buses: NatsMessageBus[] = [];

  beforeAll(async () => {
    server = await startOwnNats();
  });

  afterAll(async () => {
    for (const bus of buses) await bus.close().catch(() => undefined);
    await server?.stop();
  });

  async function bus(): Promise<NatsMessageBus> {
    const b = await createNatsMessageBus({ servers: server.url, prefix: `pff${randomBytes(3).toString('hex')}`, requestTimeoutMs: 1_500 });
    buses.push(b);
    return b;
  }

  it('while the server is down, publish and consume reject with BUS_UNAVAILABLE within the request timeout, and the failed publish is never sent later', async () => {
    const b = await bus();
    const topic = 'work';
    await b.ensureGroup(topic, 'g');
    await server.halt();
    try {
      await delay(300); // the client notices the dropped connection
      const failed = envelope(topic, { n: 'during' });
      let start = Date.now();
      const error = await b.publish(failed).catch((e: unknown) => e);
      expect(isPenguiflowError(error, 'BUS_UNAVAILABLE')).toBe(true);
      expect(Date.now() - start).toBeLessThan(1_500 + 1_000);
      start = Date.now();
      const consumeError = await b.consume(topic, 'g', async () => {}).catch((e: unknown) => e);
      expect(isPenguiflowError(consumeError, 'BUS_UNAVAILABLE')).toBe(true);
      expect(Date.now() - start).toBeLessThan(1_500 + 1_000);
      await server.start();
      const got: string[] = [];
      await waitFor(async () => {
        try {
          await b.consume(topic, 'g', async (d) => void got.push(d.envelope.id), { leaseMs: 2_000 });
          return true;
        } catch {
          return false;
        }
      }, 15_000, 'consume once the server is back');
      const after = envelope(topic, { n: 'after' });
      await b.publish(after);
      await waitFor(() => got.includes(after.id), 10_000, 'the envelope published after the outage');
      await delay(1_500);
      expect(got).toEqual([after.id]); // the refused publish did not arrive late
    } finally {
      await server.start().catch(() => undefined);
    }
  });

  it('failFast: false: a bus created while NATS is down rejects consume within the bound, then connects once NATS is up', async () => {
    await server.halt();
    try {
      const started = Date.now();
      const b = await createNatsMessageBus({ servers: server.url, prefix: `pff${randomBytes(3).toString('hex')}`, requestTimeoutMs: 1_000, failFast: false });
      buses.push(b);
      expect(Date.now() - started).toBeLessThan(500);
      const error = await b.consume('late', 'g', async () => {}).catch((e: unknown) => e);
      expect(isPenguiflowError(error, 'BUS_UNAVAILABLE')).toBe(true);
      expect(Date.now() - started).toBeLessThan(1_000 + 1_500);
      await server.start();
      const got: string[] = [];
      await waitFor(
        () => b.consume('late', 'g', async (d) => void got.push(d.envelope.id)).then(() => true, () => false),
        15_000,
        'consume once NATS is up',
      );
      const e = envelope('late');
      await b.publish(e);
      await waitFor(() => got.length === 1, 10_000, 'the delivery');
      expect(got).toEqual([e.id]);
    } finally {
      await server.start().catch(() => undefined);
    }
  });

  it('a running consumer survives a server restart: in-flight work is acked once, nothing is lost', async () => {
    const b = await bus();
    const producer = await createNatsMessageBus({ servers: server.url, prefix: b.prefix, requestTimeoutMs: 1_500 });
    buses.push(producer);
    const topic = 'restart';
    const runs = new Map<string, number>();
    const acks: boolean[] = [];
    let slowStarted = false;
    await b.consume(
      topic,
      'g',
      async (d) => {
        runs.set(d.envelope.id, (runs.get(d.envelope.id) ?? 0) + 1);
        if ((d.envelope.message.payload as { slow?: boolean }).slow) {
          slowStarted = true;
          await delay(3_000); // runs across the restart
          acks.push(await d.ack());
        }
      },
      { leaseMs: 6_000, concurrency: 4 },
    );
    const slow = envelope(topic, { slow: true });
    await producer.publish(slow);
    const before = Array.from({ length: 30 }, (_, n) => envelope(topic, { n }));
    for (const e of before) await producer.publish(e);
    await waitFor(() => slowStarted, 10_000, 'the slow handler to start');
    await server.restart(1_000);
    const after = Array.from({ length: 30 }, (_, n) => envelope(topic, { n: 100 + n }));
    for (const e of after) {
      // the producer may still be reconnecting: a refused publish is retried, as the controller would
      await waitFor(async () => producer.publish(e).then(() => true, () => false), 15_000, 'a publish after the restart');
    }
    const all = [slow, ...before, ...after].map((e) => e.id);
    await waitFor(() => all.every((id) => runs.has(id)), 30_000, 'every envelope to be handled');
    await waitFor(() => acks.length === 1, 10_000, 'the slow ack');
    expect(acks).toEqual([true]);
    await delay(6_000 + 1_000); // one lease: nothing acked comes back
    expect(runs.get(slow.id)).toBe(1);
    expect(all.filter((id) => !runs.has(id))).toEqual([]);
    expect(await b.listDeadLetters(topic)).toEqual([]);
  }, 90_000);
});
