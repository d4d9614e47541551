/**
 * Two server replicas on one store (as two processes on one PostgreSQL would
 * be): a task started on A can be followed live and awaited through B.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryStateStore } from '../../src/adapters/memory/index.js';
import { readSse } from '../../src/a2a/client/sse-reader.js';
import { startAgent, type RunningAgent } from './a2a-fixtures.js';

const store = new InMemoryStateStore();
let a: RunningAgent;
let b: RunningAgent;
beforeAll(async () => {
  a = await startAgent({ store, limits: { replicaPollMs: 20 } });
  b = await startAgent({ store, limits: { replicaPollMs: 20 } });
});
afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
});

const V1 = { 'A2A-Version': '1.0', 'Content-Type': 'application/json' };
const rpc = (url: string, method: string, params: unknown, headers: Record<string, string> = V1) =>
  fetch(`${url}/a2a/jsonrpc`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });

describe('replicas on one store', () => {
  it('B streams the live events of a task A runs, and closes at its end', async () => {
    const started = await (await rpc(a.url, 'SendMessage', { message: { messageId: `r-${Date.now()}`, role: 'ROLE_USER', parts: [{ text: 'stream:5:40' }] }, configuration: { returnImmediately: true } })).json();
    const taskId = started.result.task.id as string;
    const res = await rpc(b.url, 'SubscribeToTask', { id: taskId });
    const events = [];
    for await (const e of readSse(res)) events.push({ id: Number(e.id), result: JSON.parse(e.data).result });
    expect(events[0]!.result.task.id).toBe(taskId);
    const ids = events.slice(1).map((e) => e.id);
    expect(ids).toEqual([...new Set(ids)].sort((x, y) => x - y));
    expect(events.at(-1)!.result.statusUpdate.status.state).toBe('TASK_STATE_COMPLETED');
    expect(b.seen.some((m) => m.traceId === taskId)).toBe(false); // B never ran it
  });

  it('a duplicate SendMessage through B waits for the task A runs (no second run)', async () => {
    const messageId = `dup-${Date.now()}`;
    const params = { message: { messageId, role: 'ROLE_USER', parts: [{ text: 'slow:300' }] } };
    const first = rpc(a.url, 'SendMessage', params);
    await new Promise((r) => setTimeout(r, 50));
    const second = await (await rpc(b.url, 'SendMessage', params)).json();
    const one = await (await first).json();
    expect(second.result.task.id).toBe(one.result.task.id);
    expect(second.result.task.status.state).toBe('TASK_STATE_COMPLETED');
    expect([...a.seen, ...b.seen].filter((m) => m.payload === 'slow:300' && m.traceId === one.result.task.id)).toHaveLength(1);
  });
});
