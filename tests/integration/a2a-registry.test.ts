/** createA2AServer({ registry }) registers itself when it listens and leaves the registry when it closes. */
import { describe, expect, it } from 'vitest';
import { createA2AServer } from '../../src/a2a/index.js';
import { InMemoryStateStore } from '../../src/adapters/memory/index.js';
import { createFlow, node, type Message } from '../../src/index.js';
import { MemoryAgentRegistry } from '../../src/registry/index.js';

describe('A2A server in an agent registry', () => {
  it('is listed with its card, URL and skills while it serves, and gone after close', async () => {
    const registry = new MemoryAgentRegistry();
    const flow = createFlow(node('echo', (m: Message<unknown>) => m.payload), { name: 'echo' });
    flow.run();
    const server = createA2AServer({
      flow,
      store: new InMemoryStateStore(),
      card: { name: 'echo', description: 'echoes', skills: [{ id: 'echo', name: 'echo', description: 'echo', tags: [] }] },
      registry: { registry, heartbeatMs: 200 },
    });
    const { url } = await server.listen();
    try {
      const live = await registry.list({ name: 'echo' });
      expect(live).toHaveLength(1);
      expect(live[0]!.url).toBe(url);
      expect(live[0]!.skills).toContain('echo');
      expect(await registry.list({ skill: 'echo' })).toHaveLength(1);
    } finally {
      await server.close();
      await flow.stop();
    }
    expect(await registry.list({ name: 'echo' })).toEqual([]);
  });
});
