import { describeAgentRegistry } from '../../src/testing/index.js';
import { LeaseAgentRegistry, MemoryAgentRegistry } from '../../src/registry/index.js';
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
