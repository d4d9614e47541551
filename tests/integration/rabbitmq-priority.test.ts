/** RabbitMQ priority queues: higher `headers.priority` is delivered first. */
import { afterAll, describe, expect, it } from 'vitest';
import { createRabbitMessageBus, type RabbitMessageBus } from '../../src/adapters/rabbitmq/index.js';
import { message, type BusEnvelope } from '../../src/index.js';
import { serviceUrl } from '../helpers/services.js';

const url = await serviceUrl('rabbitmq');

describe.skipIf(!url)('RabbitMQ priorities', () => {
  const buses: RabbitMessageBus[] = [];
  afterAll(async () => {
    for (const b of buses) await b.close();
  });

  it('delivers waiting envelopes by priority, normal before low', async () => {
    const prefix = `prio${Date.now().toString(36)}`;
    const bus = await createRabbitMessageBus({ url, prefix, maxPriority: 10, queueType: 'classic' });
    buses.push(bus);
    const topic = 'jobs';
    await bus.ensureGroup(topic, 'workers');
    const env = (name: string, priority: number): BusEnvelope => ({
      id: name,
      topic,
      message: message(name, { tenant: 't', priority }),
    });
    for (let i = 0; i < 3; i++) await bus.publish(env(`normal${i}`, 0));
    await bus.publish(env('low', -3));
    await bus.publish(env('high', 3));
    const order: string[] = [];
    const done = new Promise<void>((resolve) => {
      void bus.consume(
        topic,
        'workers',
        async (d) => {
          order.push(String(d.envelope.message.payload));
          if (order.length === 5) resolve();
        },
        { concurrency: 1 },
      );
    });
    await done;
    expect(order).toEqual(['high', 'normal0', 'normal1', 'normal2', 'low']);
  });

  it('refuses priorities on quorum queues with a typed error', async () => {
    await expect(createRabbitMessageBus({ url, maxPriority: 10, queueType: 'quorum' })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
  });
});
