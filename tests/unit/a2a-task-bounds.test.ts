/**
 * The in-memory task store stays within its bound (count and bytes, TTL),
 * evicting settled tasks with their logs and idempotency keys; task ids are
 * random 128-bit; a failed task creation does not burn its messageId.
 */
import { describe, expect, it } from 'vitest';
import { InMemoryStateStore } from '../../src/adapters/memory/index.js';
import { TaskManager, type A2AFlowHandle, type A2AFlowOutput } from '../../src/a2a/index.js';
import { childMessage, type Message } from '../../src/index.js';
import type { TaskRecord } from '../../src/protocols/store-capabilities.js';

function echoFlow(): A2AFlowHandle {
  const emitted = new Map<string, Message>();
  return {
    async emit(msg) {
      emitted.set(msg.traceId, msg);
    },
    async *outputs(traceId: string): AsyncGenerator<A2AFlowOutput> {
      const msg = emitted.get(traceId)!;
      emitted.delete(traceId);
      yield { kind: 'result', message: childMessage(msg, msg.payload) };
    },
    cancel: () => Promise.resolve(true),
    isTraceActive: () => false,
  };
}

const record = (id: string, state: TaskRecord['state'], bytes = 0, at = Date.now()): TaskRecord => ({
  id,
  tenant: 't',
  contextId: 'c',
  state,
  statusTs: at,
  artifacts: [],
  history: bytes > 0 ? [{ text: 'x'.repeat(bytes) }] : [],
  metadata: {},
  createdAt: at,
  updatedAt: at,
});

describe('InMemoryStateStore task bounds', () => {
  it('20,000 tasks through the task manager: the store never holds more than maxTasks, nor more bytes than maxTaskBytes', async () => {
    const store = new InMemoryStateStore({ maxTasks: 1_000, maxTaskBytes: 4 * 1024 * 1024 });
    const tm = new TaskManager({ flow: echoFlow(), store });
    let peakTasks = 0;
    let peakBytes = 0;
    let last = '';
    for (let batch = 0; batch < 100; batch++) {
      const sent = await Promise.all(
        Array.from({ length: 200 }, (_, j) => tm.send({ tenant: 'acme' }, { message: { messageId: `m-${batch * 200 + j}`, role: 'ROLE_USER', parts: [{ text: `payload ${j} ${'y'.repeat(100)}` }] } })),
      );
      await Promise.all(sent.map(({ taskId }) => tm.waitSettled(taskId, { timeoutMs: 5_000, tenant: 'acme' })));
      last = sent.at(-1)!.taskId;
      const u = store.taskUsage();
      peakTasks = Math.max(peakTasks, u.tasks);
      peakBytes = Math.max(peakBytes, u.bytes);
    }
    expect(peakTasks).toBeLessThanOrEqual(1_000);
    expect(peakBytes).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(store.taskUsage().tasks).toBeGreaterThan(0);
    expect((await tm.getTask('acme', last)).status.state).toBe('TASK_STATE_COMPLETED'); // the newest are kept
    // the oldest were evicted with their event logs and idempotency keys
    expect(await store.getTask('never', { tenant: 'acme' })).toBeUndefined();
    expect(await store.claimIdempotencyKey({ tenant: 'acme' }, 'm-0', 'fresh')).toBe('fresh');
  }, 60_000);

  it('evicts by bytes, least recently updated settled first; refuses (LOAD_SHED) rather than drop running tasks', async () => {
    const store = new InMemoryStateStore({ maxTasks: 100, maxTaskBytes: 10_000 });
    await store.createTask(record('old-done', 'completed', 4_000));
    await store.createTask(record('running', 'working', 4_000));
    await store.createTask(record('new-done', 'completed', 4_000)); // over 10 kB: the oldest settled goes
    expect(await store.getTask('old-done', { tenant: 't' })).toBeUndefined();
    expect(await store.getTask('running', { tenant: 't' })).toBeDefined();
    expect(store.taskUsage().bytes).toBeLessThanOrEqual(10_000);
    const full = new InMemoryStateStore({ maxTasks: 2 });
    await full.createTask(record('a', 'working'));
    await full.createTask(record('b', 'submitted'));
    await expect(full.createTask(record('c', 'working'))).rejects.toMatchObject({ code: 'LOAD_SHED' });
  });

  it('a task not updated for taskTtlMs is evicted', async () => {
    let now = 1_000_000;
    const store = new InMemoryStateStore({ taskTtlMs: 60_000, now: () => now });
    await store.createTask(record('stale', 'working', 0, now));
    now += 61_000;
    await store.createTask(record('fresh', 'working', 0, now));
    expect(await store.getTask('stale', { tenant: 't' })).toBeUndefined();
    expect(await store.getTask('fresh', { tenant: 't' })).toBeDefined();
  });
});

describe('task ids and idempotency', () => {
  it('task and context ids are random 128-bit UUIDs, not a counter', async () => {
    const tm = new TaskManager({ flow: echoFlow(), store: new InMemoryStateStore() });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await tm.send({ tenant: 't' }, { message: { messageId: `u-${i}`, role: 'ROLE_USER', parts: [{ text: 'x' }] } }));
    for (const { taskId } of ids) expect(taskId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const task = await tm.getTask('t', ids[0]!.taskId);
    expect(task.contextId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a task creation that failed does not burn its messageId: the retry creates the task', async () => {
    const store = new InMemoryStateStore();
    const create = store.createTask.bind(store);
    let fail = true;
    store.createTask = (t) => {
      if (fail) {
        fail = false;
        return Promise.reject(Object.assign(new Error('store hiccup'), { code: 'ECONNRESET' }));
      }
      return create(t);
    };
    const tm = new TaskManager({ flow: echoFlow(), store });
    const send = () => tm.send({ tenant: 't' }, { message: { messageId: 'retry-me', role: 'ROLE_USER', parts: [{ text: 'hello' }] } });
    await expect(send()).rejects.toThrow('store hiccup');
    const started = Date.now();
    const { taskId, duplicate } = await send();
    expect(duplicate).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000); // adopted at once, not after a wait
    await tm.waitSettled(taskId, { timeoutMs: 1_000, tenant: 't' });
    expect((await tm.getTask('t', taskId)).status.state).toBe('TASK_STATE_COMPLETED');
    expect((await send()).duplicate).toBe(true); // and now it is a real duplicate
  });
});
