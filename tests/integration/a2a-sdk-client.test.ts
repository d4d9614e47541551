/**
 * @a2a-js/sdk@1.3.0's own client against our server, over JSON-RPC and REST.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientFactory, ClientFactoryOptions, JsonRpcTransportFactory, RestTransportFactory, type Client } from '@a2a-js/sdk/client';
import { Role, TaskState, type Message as SdkMessage, type Task as SdkTask } from '@a2a-js/sdk';
import { TaskNotCancelableError, TaskNotFoundError, UnsupportedOperationError } from '@a2a-js/sdk/errors';
import { randomUUID } from 'node:crypto';
import { startAgent, type RunningAgent } from './a2a-fixtures.js';

function userText(text: string, extra: Partial<SdkMessage> = {}): SdkMessage {
  return {
    messageId: randomUUID(),
    contextId: '',
    taskId: '',
    role: Role.ROLE_USER,
    parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: '' }],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
    ...extra,
  };
}

function send(text: string, opts: { returnImmediately?: boolean; taskId?: string; contextId?: string; historyLength?: number } = {}) {
  const message = userText(text, { taskId: opts.taskId ?? '', contextId: opts.contextId ?? '' });
  return {
    tenant: '',
    message,
    configuration: { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately: opts.returnImmediately ?? false, historyLength: opts.historyLength },
    metadata: undefined,
  };
}

function asTask(x: SdkMessage | SdkTask): SdkTask {
  expect('status' in x).toBe(true);
  return x as SdkTask;
}

function texts(task: SdkTask): string[] {
  return task.artifacts.flatMap((a) => a.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : JSON.stringify(p.content?.value))));
}

let agent: RunningAgent;
beforeAll(async () => {
  agent = await startAgent();
});
afterAll(async () => {
  await agent.close();
});

describe.each([
  ['JSONRPC', new JsonRpcTransportFactory()],
  ['HTTP+JSON', new RestTransportFactory()],
] as const)('SDK client over %s', (binding, factory) => {
  let client: Client;
  beforeAll(async () => {
    const f = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { transports: [factory], preferredTransports: [binding] }));
    client = await f.createFromUrl(agent.url);
  });

  it('reads the card with both bindings and real capabilities', async () => {
    const card = await client.getAgentCard();
    expect(card.name).toBe('test agent');
    const bindings = card.supportedInterfaces.map((i) => `${i.protocolBinding}@${i.protocolVersion}`);
    expect(bindings).toEqual(expect.arrayContaining(['JSONRPC@1.0', 'HTTP+JSON@1.0', 'JSONRPC@0.3']));
    expect(card.capabilities?.streaming).toBe(true);
    expect(card.capabilities?.pushNotifications).toBe(false);
  });

  it('blocking send returns the completed task with the echoed artifact', async () => {
    const task = asTask(await client.sendMessage(send('hello ✓ мир 🐧')));
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(texts(task)).toEqual(['hello ✓ мир 🐧']);
    expect(task.history[0]?.parts[0]?.content).toEqual({ $case: 'text', value: 'hello ✓ мир 🐧' });
  });

  it('several results become several artifacts and the task completes when the trace ends', async () => {
    const task = asTask(await client.sendMessage(send('multi:3')));
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(texts(task)).toEqual(['r0', 'r1', 'r2']);
  });

  it('streams: task first, then updates, a terminal status, and the stream closes by itself', async () => {
    const events = [];
    for await (const ev of client.sendMessageStream(send('stream:4'))) events.push(ev.payload);
    expect(events[0]?.$case).toBe('task');
    const last = events.at(-1);
    expect(last?.$case).toBe('statusUpdate');
    if (last?.$case === 'statusUpdate') expect(last.value.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const chunks = events.filter((e) => e?.$case === 'artifactUpdate').map((e) => (e?.$case === 'artifactUpdate' ? e.value : undefined));
    const streamed = chunks.filter((c) => c?.artifact?.artifactId.startsWith('stream-'));
    expect(streamed.map((c) => (c?.artifact?.parts[0]?.content?.$case === 'text' ? c.artifact.parts[0].content.value : ''))).toEqual(['c0', 'c1', 'c2', 'c3']);
    expect(streamed.map((c) => c?.append)).toEqual([false, true, true, true]);
    expect(streamed.at(-1)?.lastChunk).toBe(true);
    const taskId = events[0]?.$case === 'task' ? events[0].value.id : '';
    const done = await client.getTask({ tenant: '', id: taskId, historyLength: undefined });
    expect(texts(done)).toEqual(['c0c1c2c3', 'streamed']);
  });

  it('get honours historyLength', async () => {
    const task = asTask(await client.sendMessage(send('hi')));
    const none = await client.getTask({ tenant: '', id: task.id, historyLength: 0 });
    expect(none.history).toEqual([]);
    const one = await client.getTask({ tenant: '', id: task.id, historyLength: 1 });
    expect(one.history).toHaveLength(1);
  });

  it('unknown task is TaskNotFoundError', async () => {
    await expect(client.getTask({ tenant: '', id: 'no-such-task', historyLength: undefined })).rejects.toBeInstanceOf(TaskNotFoundError);
  });

  it('returnImmediately then cancel gives CANCELED; the node saw the abort', async () => {
    const task = asTask(await client.sendMessage(send('slow:5000', { returnImmediately: true })));
    expect([TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING]).toContain(task.status?.state);
    await new Promise((r) => setTimeout(r, 50));
    const cancelled = await client.cancelTask({ tenant: '', id: task.id, metadata: undefined });
    expect(cancelled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    await expect.poll(() => agent.aborted.includes(task.id)).toBe(true);
    const again = await client.getTask({ tenant: '', id: task.id, historyLength: undefined });
    expect(again.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
  });

  it('cancel of a finished task is TaskNotCancelableError', async () => {
    const task = asTask(await client.sendMessage(send('x')));
    await expect(client.cancelTask({ tenant: '', id: task.id, metadata: undefined })).rejects.toBeInstanceOf(TaskNotCancelableError);
  });

  it('lists with paging and totalSize', async () => {
    const contextId = `ctx-${binding}-${randomUUID()}`;
    for (let i = 0; i < 5; i++) await client.sendMessage(send(`p${i}`, { contextId }));
    const seen = new Set<string>();
    let token = '';
    let pages = 0;
    do {
      const page = await client.listTasks({ tenant: '', contextId, status: 0, pageSize: 2, pageToken: token, historyLength: undefined, statusTimestampAfter: undefined, includeArtifacts: undefined });
      expect(page.totalSize).toBe(5);
      expect(page.tasks.length).toBeLessThanOrEqual(2);
      for (const t of page.tasks) {
        seen.add(t.id);
        expect(t.artifacts).toEqual([]); // includeArtifacts defaults to false
      }
      token = page.nextPageToken;
      pages++;
    } while (token !== '' && pages < 10);
    expect(seen.size).toBe(5);
    expect(pages).toBe(3);
  });

  it('subscribes to a running task and sees it finish', async () => {
    const task = asTask(await client.sendMessage(send('stream:5', { returnImmediately: true })));
    const events = [];
    for await (const ev of client.resubscribeTask({ tenant: '', id: task.id })) events.push(ev.payload);
    expect(events[0]?.$case).toBe('task');
    const last = events.at(-1);
    expect(last?.$case === 'statusUpdate' && last.value.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
  });

  it('subscribing to a finished task is UnsupportedOperationError (spec §3.1.6)', async () => {
    const task = asTask(await client.sendMessage(send('x')));
    const it = client.resubscribeTask({ tenant: '', id: task.id });
    await expect(it.next()).rejects.toBeInstanceOf(UnsupportedOperationError);
  });

  it('input-required, then the next message with that task id continues the same trace', async () => {
    const first = asTask(await client.sendMessage(send('ask')));
    expect(first.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    const question = first.status?.message?.parts[0]?.content;
    expect(question).toEqual({ $case: 'text', value: 'Which city?' });
    const second = asTask(await client.sendMessage(send('city:Lima', { taskId: first.id, contextId: first.contextId })));
    expect(second.id).toBe(first.id);
    expect(second.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(texts(second)).toEqual(['weather in Lima']);
    const traces = agent.seen.filter((m) => m.traceId === first.id).map((m) => m.payload);
    expect(traces).toEqual(['ask', 'city:Lima']);
  });
});

describe('SDK client in its v0.3 mode (LegacyJsonRpcTransport) against our v0.3 dialect', () => {
  let client: Client;
  beforeAll(async () => {
    const card = await new ClientFactory().createFromUrl(agent.url).then((c) => c.getAgentCard());
    const legacyOnly = { ...card, supportedInterfaces: card.supportedInterfaces.filter((i) => i.protocolVersion === '0.3') };
    const f = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { transports: [new JsonRpcTransportFactory({ legacyCompat: { enabled: true } })] }));
    client = await f.createFromAgentCard(legacyOnly);
    expect(client.protocolVersion).toBe('0.3');
  });

  it('sends, streams, gets and cancels', async () => {
    const task = asTask(await client.sendMessage(send('legacy hello')));
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(texts(task)).toEqual(['legacy hello']);
    const events = [];
    for await (const ev of client.sendMessageStream(send('stream:2'))) events.push(ev.payload);
    expect(events[0]?.$case).toBe('task');
    const last = events.at(-1);
    expect(last?.$case === 'statusUpdate' && last.value.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const got = await client.getTask({ tenant: '', id: task.id, historyLength: undefined });
    expect(got.id).toBe(task.id);
    const slow = asTask(await client.sendMessage(send('slow:5000', { returnImmediately: true })));
    const cancelled = await client.cancelTask({ tenant: '', id: slow.id, metadata: undefined });
    expect(cancelled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    await expect(client.getTask({ tenant: '', id: 'missing', historyLength: undefined })).rejects.toBeInstanceOf(TaskNotFoundError);
  });
});
