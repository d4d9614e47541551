import { InMemoryStateStore } from '../../src/adapters/memory/memory-state-store.js';
import type { StateStore } from '../../src/protocols/state-store.js';
import { describeStateStore } from '../../src/testing/index.js';

/** Only the required StateStore methods: every optional capability must be skipped with its reason, not fail. */
function minimalStore(): StateStore {
  const inner = new InMemoryStateStore();
  return {
    saveEvent: (e) => inner.saveEvent(e),
    saveEvents: (e) => inner.saveEvents(e),
    loadHistory: (t, q) => inner.loadHistory(t, q),
    saveRemoteBinding: (b) => inner.saveRemoteBinding(b),
    findRemoteBindings: (q) => inner.findRemoteBindings(q),
  };
}

describeStateStore({ name: 'a minimal store (capabilities skipped with reasons)', create: minimalStore });

describeStateStore({
  name: 'InMemoryStateStore with sections skipped by option',
  create: () => new InMemoryStateStore(),
  skip: { tasks: 'covered by memory-state-store.test.ts', leases: 'covered by memory-state-store.test.ts' },
});

describeStateStore({ name: 'a store that is not available', create: minimalStore, skip: 'shows how a whole run is skipped with a reason' });
