import { expect, it } from '../../peers/vitest.js';
import { isPenguiflowError } from '../../errors/index.js';
import type { StateStore } from '../../protocols/state-store.js';
import { hasTaskStore, type TaskRecord, type TaskStore } from '../../protocols/store-capabilities.js';
import { sleep, uniqueId, type SuiteContext } from './context.js';

const rejection = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

/** TaskStore: create/get/list/update, artifacts, history, event log, idempotency keys. */
export function taskTests(ctx: SuiteContext): void {
  const tasks = (test: Parameters<SuiteContext['skip']>[0]): StateStore & TaskStore => {
    const store = ctx.store();
    if (!hasTaskStore(store)) return ctx.skip(test, 'store does not implement TaskStore');
    return store;
  };

  const task = (tenant: string, init: Partial<TaskRecord> = {}): TaskRecord => ({
    id: uniqueId('task'),
    tenant,
    contextId: 'ctx',
    state: 'submitted',
    statusTs: ctx.base,
    artifacts: [],
    history: [{ role: 'user', parts: [{ kind: 'text', text: 'héllo 🐧' }] }],
    metadata: { source: 'conformance' },
    createdAt: ctx.base,
    updatedAt: ctx.base,
    ...init,
  });

  it('creates and gets a task, scoped by tenant', async (test) => {
    const store = tasks(test);
    const tenant = ctx.tenant();
    const t = task(tenant, { statusMessage: { text: 'queued' } });
    await store.createTask(t);
    expect(await store.getTask(t.id, { tenant })).toEqual(t);
    expect(await store.getTask(t.id, { tenant: ctx.tenant() })).toBeUndefined();
    expect(await store.getTask(uniqueId('missing'), { tenant })).toBeUndefined();
  });

  it('rejects a second create with the same id with STORE_CONFLICT, also when racing', async (test) => {
    const store = tasks(test);
    const tenant = ctx.tenant();
    const t = task(tenant);
    await store.createTask(t);
    expect(isPenguiflowError(await rejection(store.createTask(t)), 'STORE_CONFLICT')).toBe(true);
    expect(isPenguiflowError(await rejection(store.createTask({ ...t, tenant: ctx.tenant() })), 'STORE_CONFLICT')).toBe(true);
    const racing = task(tenant);
    const results = await Promise.all(Array.from({ length: 8 }, () => rejection(store.createTask(racing))));
    expect(results.filter((e) => e === undefined)).toHaveLength(1);
    expect(results.filter((e) => isPenguiflowError(e, 'STORE_CONFLICT'))).toHaveLength(7);
  });

  it('lists with filters and a total size, scoped by tenant', async (test) => {
    const store = tasks(test);
    const tenant = ctx.tenant();
    const a = task(tenant, { contextId: 'c1', state: 'working', updatedAt: ctx.base + 10 });
    const b = task(tenant, { contextId: 'c1', state: 'completed', updatedAt: ctx.base + 20 });
    const c = task(tenant, { contextId: 'c2', state: 'working', updatedAt: ctx.base + 30 });
    for (const t of [a, b, c, task(ctx.tenant(), { contextId: 'c1' })]) await store.createTask(t);
    const list = async (q: Omit<Parameters<TaskStore['listTasks']>[0], 'tenant'>) => {
      const page = await store.listTasks({ tenant, ...q });
      return { ids: page.tasks.map((t) => t.id), total: page.totalSize, next: page.nextPageToken };
    };
    expect(await list({})).toEqual({ ids: [c.id, b.id, a.id], total: 3, next: '' });
    expect(await list({ contextId: 'c1' })).toEqual({ ids: [b.id, a.id], total: 2, next: '' });
    expect(await list({ state: 'working' })).toEqual({ ids: [c.id, a.id], total: 2, next: '' });
    expect(await list({ updatedAfter: ctx.base + 20 })).toEqual({ ids: [c.id, b.id], total: 2, next: '' });
    expect(await list({ contextId: 'nope' })).toEqual({ ids: [], total: 0, next: '' });
  });

  it('pages with pageSize and pageToken; pageSize is capped at 100', async (test) => {
    const store = tasks(test);
    const tenant = ctx.tenant();
    const made = Array.from({ length: 103 }, (_, i) => task(tenant, { updatedAt: ctx.base + (i % 5) }));
    for (const t of made) await store.createTask(t);
    const seen: string[] = [];
    let pageToken: string | undefined;
    for (let pages = 0; pages < 50; pages++) {
      const page = await store.listTasks({ tenant, pageSize: 7, pageToken });
      expect(page.totalSize).toBe(103);
      expect(page.tasks.length).toBeLessThanOrEqual(7);
      seen.push(...page.tasks.map((t) => t.id));
      if (page.nextPageToken === '') break;
      pageToken = page.nextPageToken;
    }
    expect([...seen].sort()).toEqual(made.map((t) => t.id).sort());
    expect(new Set(seen).size).toBe(103);
    expect((await store.listTasks({ tenant, pageSize: 1000 })).tasks).toHaveLength(100);
    expect((await store.listTasks({ tenant })).tasks).toHaveLength(50);
  });

  it('updates state, status time and metadata; NOT_FOUND for a missing or foreign task', async (test) => {
    const store = tasks(test);
    const tenant = ctx.tenant();
    const t = task(tenant);
    await store.createTask(t);
    const before = Date.now();
    const updated = await store.updateTask(t.id, { tenant }, { state: 'working', statusMessage: { text: 'on it' }, metadata: { step: 2 } });
    expect(updated).toMatchObject({ id: t.id, state: 'working', statusMessage: { text: 'on it' }, metadata: { step: 2 } });
    expect(updated.statusTs).toBeGreaterThanOrEqual(before);
    expect(updated.updatedAt).toBeGreaterThanOrEqual(before);
    expect(await store.getTask(t.id, { tenant })).toEqual(updated);
    const explicit = await store.updateTask(t.id, { tenant }, { state: 'completed', statusTs: 42 });
    expect(explicit.statusTs).toBe(42);
    expect(isPenguiflowError(await rejection(store.updateTask(t.id, { tenant: ctx.tenant() }, { state: 'failed' })), 'NOT_FOUND')).toBe(true);
    expect(isPenguiflowError(await rejection(store.updateTask(uniqueId('x'), { tenant }, { state: 'failed' })), 'NOT_FOUND')).toBe(true);
    expect((await store.getTask(t.id, { tenant }))?.state).toBe('completed');
  });

  it('appends artifacts and history in order', async (test) => {
    const store = tasks(test);
    const tenant = ctx.tenant();
    const t = task(tenant);
    await store.createTask(t);
    await store.appendTaskArtifact(t.id, { tenant }, { artifactId: 'a1', parts: [{ text: '1' }] });
    await store.appendTaskArtifact(t.id, { tenant }, { artifactId: 'a2' });
    await store.appendTaskHistory(t.id, { tenant }, { role: 'agent', text: 'done ✓' });
    const got = await store.getTask(t.id, { tenant });
    expect(got?.artifacts).toEqual([{ artifactId: 'a1', parts: [{ text: '1' }] }, { artifactId: 'a2' }]);
    expect(got?.history).toEqual([...t.history, { role: 'agent', text: 'done ✓' }]);
    expect(isPenguiflowError(await rejection(store.appendTaskArtifact(t.id, { tenant: ctx.tenant() }, {})), 'NOT_FOUND')).toBe(true);
    expect(isPenguiflowError(await rejection(store.appendTaskHistory(uniqueId('x'), { tenant }, {})), 'NOT_FOUND')).toBe(true);
  });

  it('numbers task events 1..n without gaps under concurrent appends, and replays from any seq', async (test) => {
    const store = tasks(test);
    const tenant = ctx.tenant();
    const t = task(tenant);
    await store.createTask(t);
    const seqs = await Promise.all(Array.from({ length: 40 }, (_, i) => store.appendTaskEvent(t.id, { tenant }, { i })));
    expect([...seqs].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const log = await store.loadTaskEvents(t.id, { tenant });
    expect(log.map((e) => e.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    for (const e of log) expect(seqs[(e.event as { i: number }).i]).toBe(e.seq);
    expect((await store.loadTaskEvents(t.id, { tenant, afterSeq: 35 })).map((e) => e.seq)).toEqual([36, 37, 38, 39, 40]);
    expect((await store.loadTaskEvents(t.id, { tenant, afterSeq: 10, limit: 2 })).map((e) => e.seq)).toEqual([11, 12]);
    expect(await store.loadTaskEvents(t.id, { tenant, afterSeq: 40 })).toEqual([]);
    expect(await store.loadTaskEvents(t.id, { tenant: ctx.tenant() })).toEqual([]);
    expect(isPenguiflowError(await rejection(store.appendTaskEvent(t.id, { tenant: ctx.tenant() }, {})), 'NOT_FOUND')).toBe(true);
  });

  it('gives an idempotency key to the first claimer only, per tenant', async (test) => {
    const store = tasks(test);
    const tenant = ctx.tenant();
    const key = uniqueId('msg');
    expect(await store.claimIdempotencyKey({ tenant }, key, 'task-1')).toBe('task-1');
    expect(await store.claimIdempotencyKey({ tenant }, key, 'task-2')).toBe('task-1');
    expect(await store.claimIdempotencyKey({ tenant: ctx.tenant() }, key, 'task-3')).toBe('task-3');
    const raceKey = uniqueId('msg');
    const owners = await Promise.all(Array.from({ length: 10 }, (_, i) => store.claimIdempotencyKey({ tenant }, raceKey, `t${i}`)));
    expect(new Set(owners).size).toBe(1);
    expect(owners[0]).toMatch(/^t\d$/);
  });

  it('bumps updatedAt on appends so recently active tasks list first', async (test) => {
    const store = tasks(test);
    const tenant = ctx.tenant();
    const a = task(tenant, { updatedAt: ctx.base });
    const b = task(tenant, { updatedAt: ctx.base + 1 });
    await store.createTask(a);
    await store.createTask(b);
    await sleep(2);
    await store.appendTaskHistory(a.id, { tenant }, { text: 'again' });
    expect((await store.listTasks({ tenant })).tasks.map((t) => t.id)).toEqual([a.id, b.id]);
  });
}
