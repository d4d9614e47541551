import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openMessageBus } from '../../src/adapters/bus-url.js';
import { InMemoryMessageBus } from '../../src/adapters/memory/memory-message-bus.js';
import { provideBusOpener } from '../../src/core/url-bus.js';
import { runWorker } from '../../src/distributed/index.js';
import { createFlow, message, node, type ConsumableBus, type Message } from '../../src/index.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'pf-url-bus-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => provideBusOpener(openMessageBus));

function makeFlow() {
  const double = node('double', (m: Message<number>) => m.payload * 2, { placement: 'distributed' });
  const done = node('done', (m: Message<number>) => `got ${m.payload}`);
  return createFlow(double.to(done), { name: 'urlbus' });
}

describe('run({ distributed: { bus: <url> } })', () => {
  it('opens the bus from the URL, runs a round trip through a worker, and stop() closes that bus', async () => {
    const url = `sqlite:${path.join(dir, 'queue.db')}`;
    const opened: { url: string; closed: boolean }[] = [];
    provideBusOpener(async (u) => {
      const bus = await openMessageBus(u);
      const record = { url: u, closed: false };
      opened.push(record);
      const close = bus.close.bind(bus);
      bus.close = async () => {
        record.closed = true;
        await close();
      };
      return bus;
    });
    const workerBus = await openMessageBus(url);
    const worker = await runWorker({ flow: makeFlow(), bus: workerBus, workerId: 'w', leaseMs: 2_000 });
    const flow = makeFlow();
    flow.run({ distributed: { bus: url } });
    await flow.ready();
    const result = await flow.call(message(21, { tenant: 't' }));
    expect(result.payload).toBe('got 42');
    expect(opened).toEqual([{ url, closed: false }]);
    await flow.stop();
    expect(opened[0]!.closed).toBe(true);
    await worker.stop();
    await workerBus.close();
  });

  it('leaves a bus object that was passed in open: it is the caller’s', async () => {
    const bus = new InMemoryMessageBus();
    let closed = false;
    const close = bus.close.bind(bus);
    bus.close = async () => {
      closed = true;
      await close();
    };
    const flow = makeFlow();
    flow.run({ distributed: { bus: bus as ConsumableBus } });
    await flow.ready();
    await flow.stop();
    expect(closed).toBe(false);
    await bus.close();
  });

  it('a bad URL fails the first emit with the typed error, not a hang', async () => {
    const flow = makeFlow();
    flow.run({ distributed: { bus: 'gopher://nowhere' } });
    await expect(flow.ready()).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    await flow.stop();
  });
});
