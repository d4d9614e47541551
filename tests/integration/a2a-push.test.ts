/**
 * Push notifications: the four config methods through the SDK's client and
 * REST, and webhook delivery (StreamResponse bodies in order, token and
 * Authorization headers, retried after a failure).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientFactory, type Client } from '@a2a-js/sdk/client';
import { Role, TaskState, type Task as SdkTask } from '@a2a-js/sdk';
import { TaskNotFoundError } from '@a2a-js/sdk/errors';
import { startAgent, type RunningAgent } from './a2a-fixtures.js';

interface Hit {
  body: any;
  headers: http.IncomingHttpHeaders;
}
let hook: http.Server;
let hookUrl: string;
const hits: Hit[] = [];
let failNext = 1;
let agent: RunningAgent;
let client: Client;

beforeAll(async () => {
  hook = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      if (failNext > 0) {
        failNext--;
        res.writeHead(500).end();
        return;
      }
      hits.push({ body: JSON.parse(data), headers: req.headers });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
  agent = await startAgent({ push: { enabled: true, backoffMs: 20, outbound: { allowLoopback: true } } });
  client = await new ClientFactory().createFromUrl(agent.url);
});
afterAll(async () => {
  await agent.close();
  await new Promise((r) => hook.close(r));
});

const send = (text: string, push?: { url: string; token: string }) => ({
  tenant: '',
  message: { messageId: randomUUID(), contextId: '', taskId: '', role: Role.ROLE_USER, parts: [{ content: { $case: 'text' as const, value: text }, metadata: undefined, filename: '', mediaType: '' }], metadata: undefined, extensions: [], referenceTaskIds: [] },
  configuration: {
    acceptedOutputModes: [],
    returnImmediately: false,
    taskPushNotificationConfig: push ? { tenant: '', id: '', taskId: '', url: push.url, token: push.token, authentication: { scheme: 'Bearer', credentials: 'sekret' } } : undefined,
  },
  metadata: undefined,
});

describe('push notifications', () => {
  it('delivers every task event to the webhook in order, with token and Authorization, retrying a failure', async () => {
    const task = (await client.sendMessage(send('stream:3', { url: hookUrl, token: 'tok-1' }))) as SdkTask;
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    await agent.server.pushIdle();
    const mine = hits.filter((h) => (h.body.statusUpdate ?? h.body.artifactUpdate)?.taskId === task.id);
    const kinds = mine.map((h) => (h.body.statusUpdate ? `status:${h.body.statusUpdate.status.state}` : `artifact:${h.body.artifactUpdate.artifact.parts[0].text}`));
    expect(kinds).toEqual(['status:TASK_STATE_WORKING', 'artifact:c0', 'artifact:c1', 'artifact:c2', 'artifact:streamed', 'status:TASK_STATE_COMPLETED']);
    expect(mine[0]!.headers['x-a2a-notification-token']).toBe('tok-1');
    expect(mine[0]!.headers.authorization).toBe('Bearer sekret');
    expect(mine[0]!.headers['content-type']).toBe('application/a2a+json');
    expect(failNext).toBe(0); // the first POST failed and was retried
  });

  it('creates, gets, lists and deletes configs with the SDK client (JSON-RPC) and over REST', async () => {
    const task = (await client.sendMessage(send('x'))) as SdkTask;
    const created = await client.createTaskPushNotificationConfig({ tenant: '', id: 'cfg-1', taskId: task.id, url: hookUrl, token: 't', authentication: undefined });
    expect(created).toMatchObject({ id: 'cfg-1', taskId: task.id, url: hookUrl });
    expect(await client.getTaskPushNotificationConfig({ tenant: '', taskId: task.id, id: 'cfg-1' })).toMatchObject({ url: hookUrl, token: 't' });
    expect((await client.listTaskPushNotificationConfig({ tenant: '', taskId: task.id, pageSize: 0, pageToken: '' })).configs).toHaveLength(1);
    await client.deleteTaskPushNotificationConfig({ tenant: '', taskId: task.id, id: 'cfg-1' });
    await client.deleteTaskPushNotificationConfig({ tenant: '', taskId: task.id, id: 'cfg-1' }); // idempotent
    await expect(client.getTaskPushNotificationConfig({ tenant: '', taskId: task.id, id: 'cfg-1' })).rejects.toBeInstanceOf(TaskNotFoundError);
    await expect(client.createTaskPushNotificationConfig({ tenant: '', id: '', taskId: 'nope', url: hookUrl, token: '', authentication: undefined })).rejects.toBeInstanceOf(TaskNotFoundError);

    const h = { 'A2A-Version': '1.0', 'Content-Type': 'application/json' };
    const rest = `${agent.url}/a2a/rest/tasks/${task.id}/pushNotificationConfigs`;
    const made = await (await fetch(rest, { method: 'POST', headers: h, body: JSON.stringify({ url: hookUrl }) })).json();
    expect(made.id).toBeTruthy();
    expect((await (await fetch(rest, { headers: h })).json()).configs).toHaveLength(1);
    expect((await fetch(`${rest}/${made.id}`, { method: 'DELETE', headers: h })).status).toBe(204);
    const bad = await fetch(rest, { method: 'POST', headers: h, body: JSON.stringify({ url: 'ftp://x' }) });
    expect(bad.status).toBe(400);
  });

  it('serves the v0.3 push methods', async () => {
    const task = (await client.sendMessage(send('y'))) as SdkTask;
    const h = { 'Content-Type': 'application/json' };
    const call = async (method: string, params: unknown) => (await (await fetch(`${agent.url}/a2a/jsonrpc`, { method: 'POST', headers: h, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })).json()).result;
    const set = await call('tasks/pushNotificationConfig/set', { taskId: task.id, pushNotificationConfig: { url: hookUrl, authentication: { schemes: ['Bearer'], credentials: 'c' } } });
    expect(set).toMatchObject({ taskId: task.id, pushNotificationConfig: { url: hookUrl, authentication: { schemes: ['Bearer'] } } });
    const list = await call('tasks/pushNotificationConfig/list', { id: task.id });
    expect(list).toHaveLength(1);
    expect(await call('tasks/pushNotificationConfig/delete', { id: task.id, pushNotificationConfigId: set.pushNotificationConfig.id })).toBeNull();
  });
});
