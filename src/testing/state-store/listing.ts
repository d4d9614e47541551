import { expect, it } from '../../peers/vitest.js';
import type { FlowEventType, TraceStatus } from '../../core/events.js';
import type { StateStore } from '../../protocols/state-store.js';
import { hasTraceListing, type TraceListing, type TraceSummary } from '../../protocols/store-capabilities.js';
import { makeEvent, uniqueId, type SuiteContext } from './context.js';

/** listTraces (status, since, limit, cursor, tenant) and prune. */
export function listingTests(ctx: SuiteContext): void {
  const listing = (test: Parameters<SuiteContext['skip']>[0]): StateStore & TraceListing => {
    const store = ctx.store();
    if (!hasTraceListing(store)) return ctx.skip(test, 'store does not implement TraceListing');
    return store;
  };

  async function trace(store: StateStore, tenant: string, types: FlowEventType[], at: number, status?: string): Promise<string> {
    const traceId = uniqueId('trace');
    await store.saveEvents(
      types.map((type, i) =>
        makeEvent({ traceId, tenant, ts: at + i, type, node: `node-${i % 2}`, ...(type === 'trace_complete' && status ? { extra: { status } } : {}) }),
      ),
    );
    return traceId;
  }

  it('derives each trace status from its events and filters on it', async (test) => {
    const store = listing(test);
    const tenant = ctx.tenant();
    const t0 = ctx.base;
    const running = await trace(store, tenant, ['node_start', 'node_success'], t0);
    const succeeded = await trace(store, tenant, ['node_start', 'trace_complete'], t0, 'succeeded');
    const failedByNode = await trace(store, tenant, ['node_start', 'node_failed'], t0);
    const failed = await trace(store, tenant, ['node_start', 'trace_complete'], t0, 'failed');
    const cancelled = await trace(store, tenant, ['trace_cancel_start', 'trace_cancel_finish'], t0);
    // A trace that failed a node but then completed: trace_complete has the last word.
    const recovered = await trace(store, tenant, ['node_failed', 'trace_complete'], t0, 'succeeded');
    const { traces } = await store.listTraces({ tenant });
    const statusOf = new Map(traces.map((t) => [t.traceId, t.status]));
    expect(Object.fromEntries(statusOf)).toEqual({
      [running]: 'running',
      [succeeded]: 'succeeded',
      [failedByNode]: 'failed',
      [failed]: 'failed',
      [cancelled]: 'cancelled',
      [recovered]: 'succeeded',
    });
    const only = async (status: TraceStatus) => (await store.listTraces({ tenant, status })).traces.map((t) => t.traceId).sort();
    expect(await only('failed')).toEqual([failed, failedByNode].sort());
    expect(await only('cancelled')).toEqual([cancelled]);
    expect(await only('running')).toEqual([running]);
  });

  it('summarises a trace: first/last ts, event count without duplicates, nodes in first-seen order', async (test) => {
    const store = listing(test);
    const tenant = ctx.tenant();
    const traceId = uniqueId('trace');
    const events = [
      makeEvent({ traceId, tenant, ts: ctx.base + 10, node: 'b' }),
      makeEvent({ traceId, tenant, ts: ctx.base + 5, node: 'a' }),
      makeEvent({ traceId, tenant, ts: ctx.base + 20, node: 'b' }),
    ];
    await store.saveEvents(events);
    await store.saveEvents([events[0]!, makeEvent({ traceId, tenant, ts: ctx.base + 30, node: 'c' })]);
    const { traces } = await store.listTraces({ tenant });
    expect(traces).toEqual<TraceSummary[]>([
      { traceId, tenant, status: 'running', firstTs: ctx.base + 5, lastTs: ctx.base + 30, eventCount: 4, nodes: ['b', 'a', 'c'] },
    ]);
  });

  it('lists newest first and pages with limit and cursor without gaps or repeats', async (test) => {
    const store = listing(test);
    const tenant = ctx.tenant();
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push(await trace(store, tenant, ['node_start'], ctx.base + (i % 3) * 100));
    const seen: TraceSummary[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await store.listTraces({ tenant, limit: 3, cursor });
      expect(page.traces.length).toBeLessThanOrEqual(3);
      seen.push(...page.traces);
      cursor = page.nextCursor;
      if (cursor === undefined) break;
    }
    expect(seen.map((t) => t.traceId).sort()).toEqual([...made].sort());
    const lastTs = seen.map((t) => t.lastTs);
    expect(lastTs).toEqual([...lastTs].sort((x, y) => y - x));
    const exact = await store.listTraces({ tenant, limit: 7 });
    expect(exact.traces).toHaveLength(7);
    expect(exact.nextCursor).toBeUndefined();
  });

  it('filters with since on the last event time', async (test) => {
    const store = listing(test);
    const tenant = ctx.tenant();
    await trace(store, tenant, ['node_start'], ctx.base);
    const recent = await trace(store, tenant, ['node_start', 'node_success'], ctx.base + 1000);
    const { traces } = await store.listTraces({ tenant, since: ctx.base + 1000 });
    expect(traces.map((t) => t.traceId)).toEqual([recent]);
  });

  it("scopes by tenant; tenant null lists every tenant's traces", async (test) => {
    const store = listing(test);
    const a = ctx.tenant();
    const b = ctx.tenant();
    const ta = await trace(store, a, ['node_start'], ctx.base);
    const tb = await trace(store, b, ['node_start'], ctx.base);
    expect((await store.listTraces({ tenant: a })).traces.map((t) => t.traceId)).toEqual([ta]);
    const all = await store.listTraces({ tenant: null, since: ctx.base, limit: 10_000 });
    const mine = all.traces.filter((t) => t.tenant === a || t.tenant === b).map((t) => t.traceId);
    expect(mine.sort()).toEqual([ta, tb].sort());
  });

  it('prunes whole traces whose last event is older than the cut-off, and finished bindings', async (test) => {
    const store = listing(test);
    const tenant = ctx.tenant();
    const old = ctx.base - 2 * 86_400_000;
    const cutoff = ctx.base - 3_600_000;
    const oldTrace = await trace(store, tenant, ['node_start', 'node_success', 'trace_complete'], old, 'succeeded');
    const fresh = await trace(store, tenant, ['node_start'], ctx.base);
    const binding = { tenant, node: 'r', agentUrl: 'http://agent', createdAt: old, updatedAt: old };
    await store.saveRemoteBinding({ ...binding, traceId: oldTrace, taskId: 'done', status: 'completed' });
    await store.saveRemoteBinding({ ...binding, traceId: oldTrace, taskId: 'live', status: 'running' });
    expect(await store.prune({ olderThan: cutoff })).toBe(3);
    expect(await store.loadHistory(oldTrace, { tenant })).toEqual([]);
    expect(await store.loadHistory(fresh, { tenant })).toHaveLength(1);
    expect((await store.listTraces({ tenant })).traces.map((t) => t.traceId)).toEqual([fresh]);
    expect((await store.findRemoteBindings({ tenant, traceId: oldTrace })).map((b) => b.taskId)).toEqual(['live']);
    expect(await store.prune({ olderThan: cutoff })).toBe(0);
  });
}
