/**
 * TaskManager against a hand-written A2AFlowHandle (no HTTP): the contract a
 * non-penguiflow runtime would implement, the event log, and the watchdog
 * that ends a round whose end marker never comes.
 */
import { describe, expect, it } from 'vitest';
import { InMemoryStateStore } from '../../src/adapters/memory/index.js';
import { TaskManager, type A2AFlowHandle, type A2AFlowOutput, type LoggedEvent } from '../../src/a2a/index.js';
import { childMessage, type Message } from '../../src/index.js';

/** A flow that answers each message with its payload reversed, then either ends the round or goes silent. */
function fakeFlow(options: { endMarker: boolean }): A2AFlowHandle & { emitted: Message[] } {
  const emitted: Message[] = [];
  const active = new Set<string>();
  return {
    emitted,
    async emit(msg) {
      emitted.push(msg);
      active.add(msg.traceId);
    },
    async *outputs(traceId: string, opts?: { signal?: AbortSignal }): AsyncGenerator<A2AFlowOutput> {
      const msg = emitted.filter((m) => m.traceId === traceId).at(-1)!;
      yield { kind: 'result', message: childMessage(msg, String(msg.payload).split('').reverse().join('')) };
      active.delete(traceId);
      if (options.endMarker) return;
      await new Promise((_, reject) => opts?.signal?.addEventListener('abort', () => reject(opts.signal?.reason)));
    },
    async cancel(traceId) {
      return active.delete(traceId);
    },
    isTraceActive: (traceId) => active.has(traceId),
  };
}

const req = (text: string) => ({ message: { messageId: `u-${Math.random()}`, role: 'ROLE_USER' as const, parts: [{ text }] } });

describe('TaskManager with a custom flow handle', () => {
  it('runs a round, logs working → artifact → completed, and scopes by tenant', async () => {
    const store = new InMemoryStateStore();
    const flow = fakeFlow({ endMarker: true });
    const tm = new TaskManager({ flow, store });
    const { taskId } = await tm.send({ tenant: 'acme', deadline: Date.now() + 5_000 }, req('abc'));
    await tm.waitSettled(taskId, { timeoutMs: 2_000, tenant: 'acme' });
    const task = await tm.getTask('acme', taskId);
    expect(task.status.state).toBe('TASK_STATE_COMPLETED');
    expect(task.artifacts?.[0]?.parts).toEqual([{ text: 'cba' }]);
    expect(flow.emitted[0]).toMatchObject({ traceId: taskId, headers: { tenant: 'acme' } });
    expect(flow.emitted[0]!.deadline).toBeGreaterThan(Date.now());
    const log = await store.loadTaskEvents(taskId, { tenant: 'acme' });
    expect(log.map((e) => Object.keys(e.event as object)[0])).toEqual(['statusUpdate', 'artifactUpdate', 'statusUpdate']);
    await expect(tm.getTask('globex', taskId)).rejects.toMatchObject({ reason: 'TASK_NOT_FOUND' });
  });

  it('ends a round whose end marker never comes, once the flow says the trace is idle', async () => {
    const tm = new TaskManager({ flow: fakeFlow({ endMarker: false }), store: new InMemoryStateStore() });
    const { taskId } = await tm.send({ tenant: 't' }, req('xyz'));
    const seen: LoggedEvent[] = [];
    const sub = await tm.subscribe('t', taskId, 0, (e) => seen.push(e));
    await expect.poll(async () => (await tm.getTask('t', taskId)).status.state, { timeout: 2_000 }).toBe('TASK_STATE_COMPLETED');
    sub.unsubscribe();
    const all = [...sub.replay, ...seen].map((e) => e.seq);
    expect(all).toEqual([1, 2, 3]);
  });
});
