import { describe, expect, it } from 'vitest';
import { describeAgentRegistry } from '../../src/testing/index.js';
import { LeaseAgentRegistry, MemoryAgentRegistry, registerAgent } from '../../src/registry/index.js';
import { InMemoryStateStore } from '../../src/adapters/memory/index.js';

describeAgentRegistry({
  name: 'MemoryAgentRegistry',
  create: () => new MemoryAgentRegistry(),
  writeRaw: async (r, id, json, ttl) => {
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      value = { id, malformed: true };
    }
    r.putRaw(id, value, ttl);
  },
});

describeAgentRegistry({
  name: 'LeaseAgentRegistry on InMemoryStateStore',
  create: () => new LeaseAgentRegistry(new InMemoryStateStore()),
});

describe('registerAgent', () => {
  it('registers from the server card, heartbeats with its running count, registers again after expiry, deregisters on close', async () => {
    const registry = new MemoryAgentRegistry();
    const tasks = { runningCount: 2 };
    const server = { card: (base: string) => ({ name: 'researcher', url: base, skills: [{ id: 'search' }, { id: 'summarize' }] }), tasks };
    const reg = await registerAgent({ registry, server, url: 'http://127.0.0.1:8081', id: 'r-1', capacity: 4, heartbeatMs: 40, ttlMs: 1_000 });
    const [entry] = await registry.list({ skill: 'summarize' });
    expect(entry).toMatchObject({ id: 'r-1', name: 'researcher', url: 'http://127.0.0.1:8081', skills: ['search', 'summarize'], capacity: 4, heartbeatMs: 40 });
    await new Promise((r) => setTimeout(r, 130));
    const [beat] = await registry.list({ name: 'researcher' });
    expect(beat!.heartbeatSeq).toBeGreaterThanOrEqual(2);
    expect(beat!.load).toEqual({ inflight: 2, queueDepth: 0 });
    await registry.deregister('r-1'); // e.g. expired during a long pause
    await reg.beat();
    expect((await registry.list({ name: 'researcher' })).map((e) => e.id)).toEqual(['r-1']);
    await reg.close();
    expect(await registry.list()).toEqual([]);
  });

  it('refuses a URL that is not http(s)', async () => {
    const error = await registerAgent({ registry: new MemoryAgentRegistry(), card: { name: 'x' }, url: 'file:///tmp/sock' }).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('INVALID_OPTIONS');
  });
});
