import { expect, it } from '../../peers/vitest.js';
import type { StateStore } from '../../protocols/state-store.js';
import { hasLeaseStore, type LeaseStore } from '../../protocols/store-capabilities.js';
import { sleep, uniqueId, type SuiteContext } from './context.js';

/** LeaseStore: acquire, renew, release, expiry and takeover, listLeases. */
export function leaseTests(ctx: SuiteContext): void {
  const leases = (test: Parameters<SuiteContext['skip']>[0]): StateStore & LeaseStore => {
    const store = ctx.store();
    if (!hasLeaseStore(store)) return ctx.skip(test, 'store does not implement LeaseStore');
    return store;
  };

  it('gives a free lease to one owner and refuses others while it lives', async (test) => {
    const store = leases(test);
    const key = uniqueId('lease');
    const before = Date.now();
    expect(await store.acquireLease(key, 'w1', 10_000, { nodes: ['a'] })).toBe(true);
    expect(await store.acquireLease(key, 'w2', 10_000)).toBe(false);
    const lease = await store.getLease(key);
    expect(lease).toMatchObject({ key, owner: 'w1', data: { nodes: ['a'] } });
    // Store clocks may be a server's: allow a little skew.
    expect(lease!.expiresAt).toBeGreaterThanOrEqual(before + 10_000 - 1_000);
    expect(lease!.expiresAt).toBeLessThanOrEqual(Date.now() + 10_000 + 1_000);
    expect(await store.acquireLease(key, 'w1', 20_000)).toBe(true);
    expect((await store.getLease(key))?.data).toEqual({ nodes: ['a'] });
  });

  it('lets only the owner renew, and extends the expiry', async (test) => {
    const store = leases(test);
    const key = uniqueId('lease');
    await store.acquireLease(key, 'w1', 1_000);
    const first = (await store.getLease(key))!.expiresAt;
    expect(await store.renewLease(key, 'w1', 60_000, { load: 3 })).toBe(true);
    const renewed = (await store.getLease(key))!;
    expect(renewed.expiresAt).toBeGreaterThan(first + 30_000);
    expect(renewed.data).toEqual({ load: 3 });
    expect(await store.renewLease(key, 'w2', 60_000)).toBe(false);
    expect(await store.renewLease(uniqueId('none'), 'w1', 60_000)).toBe(false);
    expect((await store.getLease(key))?.owner).toBe('w1');
  });

  it('lets only the owner release; afterwards anyone can acquire', async (test) => {
    const store = leases(test);
    const key = uniqueId('lease');
    await store.acquireLease(key, 'w1', 60_000);
    expect(await store.releaseLease(key, 'w2')).toBe(false);
    expect(await store.releaseLease(key, 'w1')).toBe(true);
    expect(await store.getLease(key)).toBeUndefined();
    expect(await store.releaseLease(key, 'w1')).toBe(false);
    expect(await store.acquireLease(key, 'w2', 60_000)).toBe(true);
  });

  it('lets another owner take an expired lease; the old owner can no longer renew', async (test) => {
    const store = leases(test);
    const key = uniqueId('lease');
    expect(await store.acquireLease(key, 'w1', 150, { mine: true })).toBe(true);
    expect(await store.acquireLease(key, 'w2', 150)).toBe(false);
    await sleep(300);
    expect(await store.getLease(key)).toBeUndefined();
    expect(await store.acquireLease(key, 'w2', 60_000)).toBe(true);
    const lease = await store.getLease(key);
    expect(lease?.owner).toBe('w2');
    expect(lease?.data).toBeUndefined();
    expect(await store.renewLease(key, 'w1', 60_000)).toBe(false);
    expect(await store.releaseLease(key, 'w1')).toBe(false);
  });

  it('lets exactly one of many racing owners acquire', async (test) => {
    const store = leases(test);
    const key = uniqueId('lease');
    const won = await Promise.all(Array.from({ length: 10 }, (_, i) => store.acquireLease(key, `w${i}`, 60_000)));
    expect(won.filter(Boolean)).toHaveLength(1);
    expect((await store.getLease(key))?.owner).toBe(`w${won.indexOf(true)}`);
  });

  it('lists live leases under a prefix, sorted by key', async (test) => {
    const store = leases(test);
    const prefix = uniqueId('workers') + '/';
    await store.acquireLease(prefix + 'b', 'wb', 60_000, { load: 1 });
    await store.acquireLease(prefix + 'a', 'wa', 60_000);
    await store.acquireLease(prefix + 'dying', 'wd', 100);
    await store.acquireLease(prefix.slice(0, -1) + 'x/c', 'wc', 60_000);
    await sleep(250);
    const live = await store.listLeases(prefix);
    expect(live.map((l) => [l.key, l.owner])).toEqual([
      [prefix + 'a', 'wa'],
      [prefix + 'b', 'wb'],
    ]);
    expect(live[1]?.data).toEqual({ load: 1 });
  });
}
