/**
 * NATS 2.9 ignores `+TERM <reason>`: a message terminated with a reason came
 * back every ack wait and was dead-lettered again (2, 4, 7, … 15 dead letters
 * for one message). One poison message must give exactly one dead letter, and
 * no more for 30 s, whichever way it dies.
 */
import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, describe, expect, it } from 'vitest';
import { createNatsMessageBus, type NatsMessageBus } from '../../src/adapters/nats/index.js';
import { message } from '../../src/core/message.js';
import type { BusEnvelope } from '../../src/protocols/message-bus.js';
import { serviceUrl } from '../helpers/services.js';

const url = await serviceUrl('nats');
const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function envelope(topic: string): BusEnvelope {
  return { id: `e-${randomBytes(6).toString('hex')}`, topic, message: message({ poison: true }, { tenant: 'acme' }) };
}

describe.skipIf(!url)(`NATS: one poison message, one dead letter${url ? '' : ' (skipped: NATS is not reachable)'}`, () => {
  let bus: NatsMessageBus | undefined;
  let release = () => {};
  const hang = new Promise<void>((resolve) => (release = resolve));

  afterAll(async () => {
    release();
    await bus?.purge();
    await bus?.close();
  });

  it('nacked to maxDeliveries, dead-lettered on demand, or lease expired on every delivery: exactly one dead letter each, still one after 30 s', async () => {
    bus = await createNatsMessageBus({ servers: url!, prefix: `pfp${randomBytes(4).toString('hex')}`, storage: 'memory' });
    const b = bus;
    const leaseMs = 1_000;
    const topics = { nacked: 'nacked', onDemand: 'on-demand', expired: 'expired' } as const;
    const calls = { nacked: 0, onDemand: 0, expired: 0 };
    await b.consume(topics.nacked, 'g', async () => {
      calls.nacked++;
      throw new Error('poison');
    }, { leaseMs, maxDeliveries: 2 });
    await b.consume(topics.onDemand, 'g', async (d) => {
      calls.onDemand++;
      await d.deadLetter(new Error('poison'));
    }, { leaseMs, maxDeliveries: 2 });
    await b.consume(topics.expired, 'g', async () => {
      calls.expired++;
      await hang; // never settles, never renews: its lease runs out on every delivery
    }, { leaseMs, maxDeliveries: 2, renewLease: false, concurrency: 4 });
    for (const topic of Object.values(topics)) await b.publish(envelope(topic));

    const counts = async () => ({
      nacked: (await b.listDeadLetters(topics.nacked)).length,
      onDemand: (await b.listDeadLetters(topics.onDemand)).length,
      expired: (await b.listDeadLetters(topics.expired)).length,
    });
    const until = Date.now() + 15_000;
    while (Object.values(await counts()).some((n) => n === 0) && Date.now() < until) await delay(100);
    expect(await counts()).toEqual({ nacked: 1, onDemand: 1, expired: 1 });
    const [expired] = await b.listDeadLetters(topics.expired);
    expect(expired!.error.code).toBe('LEASE_EXPIRED');
    const callsAtDeath = { ...calls };
    expect(callsAtDeath).toEqual({ nacked: 2, onDemand: 1, expired: 2 });

    // 30 s = 30 ack waits: a message the server still held would have come back and died again
    for (let s = 0; s < 30; s++) {
      await delay(1_000);
      expect(await counts()).toEqual({ nacked: 1, onDemand: 1, expired: 1 });
    }
    expect(calls).toEqual(callsAtDeath);
    const jsm = await jetstreamManager(b.connection);
    for (const topic of Object.values(topics)) {
      const n = b.names(topic);
      const info = await jsm.consumers.info(n.stream, n.durable('g'));
      expect({ topic, pending: info.num_ack_pending, redeliveries: info.num_redelivered }).toEqual({ topic, pending: 0, redeliveries: 0 });
    }
  }, 90_000);
});
