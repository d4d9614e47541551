import { expect, it } from 'vitest';
import { InMemoryStateStore } from '../../src/adapters/memory/memory-state-store.js';
import { describeStateStore, makeEvent } from '../../src/testing/index.js';

describeStateStore({
  name: 'InMemoryStateStore',
  create: () => new InMemoryStateStore(),
  additionalTests: (ctx) => {
    it('copies what it stores, so a caller mutating an event later does not change history', async () => {
      const tenant = ctx.tenant();
      const event = makeEvent({ traceId: 'tr', tenant, ts: ctx.base, extra: { n: 1 } });
      await ctx.store().saveEvent(event);
      event.extra!.n = 2;
      const [loaded] = await ctx.store().loadHistory('tr', { tenant });
      expect(loaded?.extra).toEqual({ n: 1 });
    });

    it('expires leases on its injected clock', async () => {
      let now = 1_000;
      const store = new InMemoryStateStore({ now: () => now });
      expect(await store.acquireLease('k', 'a', 100)).toBe(true);
      now += 101;
      expect(await store.acquireLease('k', 'b', 100)).toBe(true);
      expect((await store.getLease('k'))?.owner).toBe('b');
    });
  },
});
