/**
 * The A2A server on each durable TaskStore: SQLite and PostgreSQL. The same
 * user-visible checks as the memory store: send, stream, list, cancel,
 * input-required continuation, idempotency and replay from the event log —
 * and the log survives a server restart on the same store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteStateStore } from '../../src/adapters/sqlite/index.js';
import { createPostgresStateStore } from '../../src/adapters/postgres/index.js';
import type { StateStore } from '../../src/protocols/state-store.js';
import { readSse } from '../../src/a2a/client/sse-reader.js';
import { createA2AClient } from '../../src/a2a/index.js';
import { message } from '../../src/index.js';
import { serviceUrl } from '../helpers/services.js';
import { startAgent, type RunningAgent } from './a2a-fixtures.js';

const pgUrl = await serviceUrl('postgres');
const schema = `pf_a2a_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'pf-a2a-store-'));
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  if (pgUrl) {
    const admin = new pg.Pool({ connectionString: pgUrl, max: 1 });
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
});

const stores: [string, (() => Promise<StateStore>) | undefined][] = [
  ['SQLite', async () => createSqliteStateStore({ path: path.join(tmp, 'a2a.db'), durability: 'sync' })],
  ['PostgreSQL', pgUrl ? async () => createPostgresStateStore({ url: pgUrl, schema, poolSize: 4 }) : undefined],
];

let n = 0;
const key = () => `st-${Date.now()}-${++n}`;
const V1 = { 'A2A-Version': '1.0', 'Content-Type': 'application/json' };

describe.each(stores)('A2A server on %s', (_name, open) => {
  describe.skipIf(!open)('tasks, idempotency and replay', () => {
    it('runs the task lifecycle and replays from the durable log after a restart', async () => {
      const store = await open!();
      let agent: RunningAgent = await startAgent({ store });
      const client = createA2AClient();
      const msg = (p: string) => message(p, { tenant: 'acme' });
      try {
        const k = key();
        const a = await client.send({ agentUrl: agent.url, message: msg('multi:2'), idempotencyKey: k });
        expect(a).toMatchObject({ state: 'completed', payload: ['r0', 'r1'] });
        const again = await client.send({ agentUrl: agent.url, message: msg('multi:2'), idempotencyKey: k });
        expect(again.taskId).toBe(a.taskId);
        expect(agent.seen.filter((m) => m.traceId === a.taskId)).toHaveLength(1);

        const asked = await client.send({ agentUrl: agent.url, message: msg('ask'), idempotencyKey: key() });
        expect(asked.state).toBe('input-required');
        const answered = await client.send({ agentUrl: agent.url, message: msg('city:Quito'), idempotencyKey: key(), taskId: asked.taskId! });
        expect(answered).toMatchObject({ state: 'completed', payload: 'weather in Quito', taskId: asked.taskId });

        const streamed: string[] = [];
        let streamTask = '';
        for await (const ev of client.stream({ agentUrl: agent.url, message: msg('stream:5'), idempotencyKey: key() })) {
          if (ev.kind === 'task') streamTask = ev.taskId!;
          if (ev.kind === 'artifact' && ev.append !== undefined && ev.artifactId?.startsWith('stream-')) streamed.push(String(ev.payload));
        }
        expect(streamed).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);

        const slow = await fetch(`${agent.url}/a2a/jsonrpc`, { method: 'POST', headers: { ...V1, 'X-Penguiflow-Tenant': 'acme' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { messageId: key(), role: 'ROLE_USER', parts: [{ text: 'slow:10000' }] }, configuration: { returnImmediately: true } } }) });
        const slowTask = (await slow.json()).result.task.id as string;
        await client.cancel({ agentUrl: agent.url, taskId: slowTask, tenant: 'acme' });
        expect((await client.getTask(agent.url, slowTask, { tenant: 'acme' })).status.state).toBe('TASK_STATE_CANCELED');

        const list = await fetch(`${agent.url}/a2a/rest/acme/tasks?pageSize=2`, { headers: V1 });
        const page = await list.json();
        expect(page.totalSize).toBe(4); // the duplicate created nothing
        expect(page.tasks).toHaveLength(2);
        expect(page.nextPageToken).not.toBe('');

        // restart the server on the same store: the finished stream replays from its log
        await agent.close();
        agent = await startAgent({ store });
        const res = await fetch(`${agent.url}/a2a/rest/acme/tasks/${streamTask}:subscribe`, { method: 'POST', headers: { ...V1, 'Last-Event-ID': '2' } });
        const events: { id: number; body: any }[] = [];
        for await (const e of readSse(res)) events.push({ id: Number(e.id), body: JSON.parse(e.data) });
        expect(events[0]!.body.task.status.state).toBe('TASK_STATE_COMPLETED');
        expect(events.slice(1).map((e) => e.id)[0]).toBe(3);
        expect(events.at(-1)!.body.statusUpdate.status.state).toBe('TASK_STATE_COMPLETED');
        const replayedChunks = events.map((e) => e.body.artifactUpdate?.artifact?.parts?.[0]?.text).filter((t) => typeof t === 'string' && t.startsWith('c'));
        expect(replayedChunks.length).toBeGreaterThan(0);
        expect(new Set(replayedChunks).size).toBe(replayedChunks.length);
      } finally {
        await agent.close();
        await store.close?.();
      }
    });
  });
});
