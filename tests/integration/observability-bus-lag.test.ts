/**
 * Bus lag per topic from the broker (Redis Streams XINFO GROUPS), exported as
 * penguiflow_bus_lag / penguiflow_bus_pending at scrape time.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisMessageBus, type RedisMessageBus } from '../../src/adapters/redis/index.js';
import { message, sleep } from '../../src/index.js';
import { createMetrics, parsePrometheusText, redisBusLag, sumSamples } from '../../src/observability/index.js';
import { serviceUrl } from '../helpers/services.js';

const redis = await serviceUrl('redis');

describe.skipIf(!redis)('bus lag gauges (Redis)', () => {
  let bus: RedisMessageBus;
  afterAll(async () => {
    await bus?.close();
  });

  it('reports undelivered and unacked entries per topic and group', async () => {
    bus = await createRedisMessageBus({ url: redis!, prefix: `obslag${Date.now().toString(36)}` });
    const topic = 'lagflow.work';
    const group = 'lagflow.work.workers';
    const metrics = createMetrics({ busLag: redisBusLag(bus, [topic, 'lagflow.nothing-yet']) });
    const read = async () => parsePrometheusText(await metrics.text());

    await (await bus.consume(topic, group, async () => undefined)).close(); // creates the group
    await sleep(50);
    for (let i = 0; i < 5; i++) await bus.publish({ id: `e${i}`, topic, message: message(i, { tenant: 't' }) });
    let s = await read();
    expect(sumSamples(s, 'penguiflow_bus_lag', { topic, group })).toBe(5);
    expect(sumSamples(s, 'penguiflow_bus_pending', { topic, group })).toBe(0);
    expect(s.some((x) => x.labels.topic === 'lagflow.nothing-yet')).toBe(false);

    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const sub = await bus.consume(topic, group, () => held, { concurrency: 2, leaseMs: 60_000 });
    for (let i = 0; i < 40; i++) {
      s = await read();
      if (sumSamples(s, 'penguiflow_bus_pending', { topic, group }) >= 2) break;
      await sleep(50);
    }
    expect(sumSamples(s, 'penguiflow_bus_pending', { topic, group })).toBeGreaterThanOrEqual(2);
    expect(sumSamples(s, 'penguiflow_bus_lag', { topic, group })).toBeLessThanOrEqual(3);
    release();
    await sub.close();
  });
});
