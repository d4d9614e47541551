import { expect, it } from '../../peers/vitest.js';
import { isPenguiflowError } from '../../errors/index.js';
import { hasStoreInfo } from '../../protocols/store-extras.js';
import type { StoredEvent } from '../../protocols/state-store.js';
import { makeEvent, uniqueId, type SuiteContext } from './context.js';

const ids = (events: StoredEvent[]): string[] => events.map((e) => e.id);

/** saveEvent / saveEvents / loadHistory: idempotency, order, paging, tenant scoping, sizes. */
export function eventTests(ctx: SuiteContext): void {
  it('round-trips every FlowEvent field and assigns a numeric seq', async () => {
    const tenant = ctx.tenant();
    const traceId = uniqueId('trace');
    const event = makeEvent({
      traceId,
      tenant,
      ts: ctx.base + 1,
      type: 'node_error',
      node: 'summarize',
      messageId: 'm-1',
      attempt: 2,
      latencyMs: 12.5,
      queueDepthIn: 3,
      queueDepthOut: 0,
      tracePending: 4,
      traceInflight: 1,
      error: { name: 'NodeTimeoutError', code: 'NODE_TIMEOUT', message: 'slow', retryable: true },
      extra: { nested: { list: [1, 'two', null, true] } },
    });
    await ctx.store().saveEvent(event);
    const [loaded, ...rest] = await ctx.store().loadHistory(traceId, { tenant });
    expect(rest).toEqual([]);
    const { seq, ...fields } = loaded!;
    expect(fields).toEqual(event);
    expect(typeof seq).toBe('number');
  });

  it('ignores a duplicate event id, also when the duplicates race', async () => {
    const tenant = ctx.tenant();
    const traceId = uniqueId('trace');
    const event = makeEvent({ traceId, tenant, ts: ctx.base });
    await ctx.store().saveEvent(event);
    await ctx.store().saveEvent(event);
    await Promise.all([
      ...Array.from({ length: 10 }, () => ctx.store().saveEvent(event)),
      ctx.store().saveEvents([event, event, makeEvent({ traceId, tenant, ts: ctx.base + 1, id: 'dup-' + traceId })]),
      ctx.store().saveEvents([makeEvent({ traceId, tenant, ts: ctx.base + 1, id: 'dup-' + traceId })]),
    ]);
    const history = await ctx.store().loadHistory(traceId, { tenant });
    expect(ids(history)).toEqual([event.id, 'dup-' + traceId]);
  });

  it('writes a batch of 500 events and reads them back in order', async () => {
    const tenant = ctx.tenant();
    const traceId = uniqueId('trace');
    const batch = Array.from({ length: 500 }, (_, i) => makeEvent({ traceId, tenant, ts: ctx.base + i, node: `n${i % 7}` }));
    await ctx.store().saveEvents(batch);
    await ctx.store().saveEvents([]);
    const history = await ctx.store().loadHistory(traceId, { tenant });
    expect(ids(history)).toEqual(ids(batch));
    const seqs = history.map((e) => e.seq!);
    expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!)).toBe(true);
  });

  it('orders by ts, then by seq for equal ts (stable ties)', async () => {
    const tenant = ctx.tenant();
    const traceId = uniqueId('trace');
    const at = (ts: number, id: string) => makeEvent({ traceId, tenant, ts: ctx.base + ts, id: `${traceId}-${id}` });
    await ctx.store().saveEvents([at(5, 'late'), at(1, 'tie-a'), at(1, 'tie-b')]);
    await ctx.store().saveEvent(at(1, 'tie-c'));
    await ctx.store().saveEvent(at(0, 'first'));
    const history = await ctx.store().loadHistory(traceId, { tenant });
    expect(ids(history).map((id) => id.slice(traceId.length + 1))).toEqual(['first', 'tie-a', 'tie-b', 'tie-c', 'late']);
    const again = await ctx.store().loadHistory(traceId, { tenant });
    expect(ids(again)).toEqual(ids(history));
  });

  it('pages with afterSeq and limit without gaps or repeats', async () => {
    const tenant = ctx.tenant();
    const traceId = uniqueId('trace');
    const batch = Array.from({ length: 10 }, (_, i) => makeEvent({ traceId, tenant, ts: ctx.base + i }));
    await ctx.store().saveEvents(batch);
    const seen: string[] = [];
    let afterSeq: number | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await ctx.store().loadHistory(traceId, { tenant, afterSeq, limit: 3 });
      expect(page.length).toBeLessThanOrEqual(3);
      if (page.length === 0) break;
      seen.push(...ids(page));
      afterSeq = page[page.length - 1]!.seq;
    }
    expect(seen).toEqual(ids(batch));
    expect(await ctx.store().loadHistory(traceId, { tenant, limit: 0 })).toEqual([]);
    expect(await ctx.store().loadHistory(traceId, { tenant, afterSeq })).toEqual([]);
    expect(ids(await ctx.store().loadHistory(traceId, { tenant, limit: 1000 }))).toEqual(ids(batch));
    const all = await ctx.store().loadHistory(traceId, { tenant });
    expect(ids(await ctx.store().loadHistory(traceId, { tenant, afterSeq: all[8]!.seq }))).toEqual([batch[9]!.id]);
  });

  it("never returns another tenant's events for the same trace id; tenant null reads all", async () => {
    const a = ctx.tenant();
    const b = ctx.tenant();
    const traceId = uniqueId('trace');
    const ea = makeEvent({ traceId, tenant: a, ts: ctx.base });
    const eb = makeEvent({ traceId, tenant: b, ts: ctx.base + 1 });
    await ctx.store().saveEvents([ea, eb]);
    expect(ids(await ctx.store().loadHistory(traceId, { tenant: a }))).toEqual([ea.id]);
    expect(ids(await ctx.store().loadHistory(traceId, { tenant: b }))).toEqual([eb.id]);
    expect(await ctx.store().loadHistory(traceId, { tenant: ctx.tenant() })).toEqual([]);
    expect(ids(await ctx.store().loadHistory(traceId, { tenant: null }))).toEqual([ea.id, eb.id]);
  });

  it('returns an empty history for an unknown trace', async () => {
    expect(await ctx.store().loadHistory(uniqueId('nope'), { tenant: null })).toEqual([]);
  });

  it('round-trips unicode in names, ids and extra', async () => {
    const tenant = `${ctx.tenant()}-ténant-租户`;
    const traceId = uniqueId('trace-🐧');
    const text = 'pingüino 🐧 企鹅 مرحبا e\u0301 "quoted" back\\slash\nnew line\ttab \u0000 nul \u2028';
    const event = makeEvent({ traceId, tenant, ts: ctx.base, node: 'nœud-節点-🧊', extra: { text, [text]: text } });
    await ctx.store().saveEvent(event);
    const [loaded] = await ctx.store().loadHistory(traceId, { tenant });
    expect(loaded?.node).toBe(event.node);
    expect(loaded?.extra).toEqual(event.extra);
  });

  it('round-trips a ~1 MiB payload in extra', async () => {
    const tenant = ctx.tenant();
    const traceId = uniqueId('trace');
    const big = 'x'.repeat(1024 * 1024 - 4096) + 'é🐧'.repeat(512);
    const event = makeEvent({ traceId, tenant, ts: ctx.base, extra: { big } });
    await ctx.store().saveEvents([event, makeEvent({ traceId, tenant, ts: ctx.base + 1 })]);
    const history = await ctx.store().loadHistory(traceId, { tenant });
    expect(history).toHaveLength(2);
    expect((history[0]!.extra as { big: string }).big === big).toBe(true);
  });

  it('rejects an event over maxEventBytes with PAYLOAD_TOO_LARGE, writes the rest and counts it', async (test) => {
    const store = ctx.store();
    if (!hasStoreInfo(store) || store.maxEventBytes === undefined) {
      return ctx.skip(test, 'store reports no maxEventBytes (StoreInfo)');
    }
    const tenant = ctx.tenant();
    const traceId = uniqueId('trace');
    const before = store.stats.rejected;
    const good = makeEvent({ traceId, tenant, ts: ctx.base });
    const big = makeEvent({ traceId, tenant, ts: ctx.base + 1, extra: { big: 'y'.repeat(store.maxEventBytes + 1) } });
    const alsoGood = makeEvent({ traceId, tenant, ts: ctx.base + 2 });
    const error = await store.saveEvents([good, big, alsoGood]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isPenguiflowError(error, 'PAYLOAD_TOO_LARGE')).toBe(true);
    expect(ids(await store.loadHistory(traceId, { tenant }))).toEqual([good.id, alsoGood.id]);
    expect(store.stats.rejected).toBe(before + 1);
  });
}
