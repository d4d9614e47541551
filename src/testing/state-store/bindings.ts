import { expect, it } from '../../peers/vitest.js';
import type { RemoteBinding } from '../../protocols/state-store.js';
import { uniqueId, type SuiteContext } from './context.js';

/** Remote bindings: upsert, find by trace / task / unfinished-by-age, tenant scoping. */
export function bindingTests(ctx: SuiteContext): void {
  const binding = (tenant: string, init: Partial<RemoteBinding> = {}): RemoteBinding => {
    const now = Date.now();
    return {
      traceId: uniqueId('trace'),
      tenant,
      node: 'remote',
      agentUrl: 'https://agent.example/a2a',
      taskId: uniqueId('task'),
      contextId: 'ctx-1',
      skill: 'summarize',
      idempotencyKey: uniqueId('idem'),
      status: 'running',
      createdAt: now,
      updatedAt: now,
      ...init,
    };
  };

  it('saves a binding and finds it by trace id and by task id', async () => {
    const tenant = ctx.tenant();
    const b = binding(tenant);
    await ctx.store().saveRemoteBinding(b);
    expect(await ctx.store().findRemoteBindings({ tenant, traceId: b.traceId })).toEqual([b]);
    expect(await ctx.store().findRemoteBindings({ tenant, taskId: b.taskId })).toEqual([b]);
    expect(await ctx.store().findRemoteBindings({ tenant, traceId: uniqueId('other') })).toEqual([]);
  });

  it('upserts on (tenant, traceId, node, taskId)', async () => {
    const tenant = ctx.tenant();
    const b = binding(tenant);
    await ctx.store().saveRemoteBinding(b);
    const done = { ...b, status: 'completed' as const, updatedAt: b.updatedAt + 50 };
    await ctx.store().saveRemoteBinding(done);
    const second = { ...b, taskId: uniqueId('task') };
    await ctx.store().saveRemoteBinding(second);
    const found = await ctx.store().findRemoteBindings({ tenant, traceId: b.traceId });
    expect(found).toHaveLength(2);
    expect(found.find((x) => x.taskId === b.taskId)).toEqual(done);
  });

  it('finds running bindings not updated for longer than a given age', async () => {
    const tenant = ctx.tenant();
    const now = Date.now();
    const stale = binding(tenant, { updatedAt: now - 60_000, createdAt: now - 60_000 });
    const fresh = binding(tenant);
    const finished = binding(tenant, { status: 'completed', updatedAt: now - 60_000 });
    for (const b of [stale, fresh, finished]) await ctx.store().saveRemoteBinding(b);
    const found = await ctx.store().findRemoteBindings({ tenant, unfinishedOlderThanMs: 30_000 });
    expect(found.map((b) => b.taskId)).toEqual([stale.taskId]);
  });

  it("never returns another tenant's bindings; tenant null finds all", async () => {
    const a = ctx.tenant();
    const b = ctx.tenant();
    const mine = binding(a);
    const theirs = binding(b, { traceId: mine.traceId, taskId: mine.taskId });
    await ctx.store().saveRemoteBinding(mine);
    await ctx.store().saveRemoteBinding(theirs);
    expect(await ctx.store().findRemoteBindings({ tenant: a, traceId: mine.traceId })).toEqual([mine]);
    expect(await ctx.store().findRemoteBindings({ tenant: a, taskId: mine.taskId })).toEqual([mine]);
    expect(await ctx.store().findRemoteBindings({ tenant: ctx.tenant(), taskId: mine.taskId })).toEqual([]);
    const all = await ctx.store().findRemoteBindings({ tenant: null, traceId: mine.traceId });
    expect(all.map((x) => x.tenant).sort()).toEqual([a, b].sort());
  });

  it('keeps optional fields absent when they were not given', async () => {
    const tenant = ctx.tenant();
    const { contextId: _c, skill: _s, idempotencyKey: _i, ...minimal } = binding(tenant);
    await ctx.store().saveRemoteBinding(minimal);
    expect(await ctx.store().findRemoteBindings({ tenant, traceId: minimal.traceId })).toEqual([minimal]);
  });
}
