/**
 * A2A over gRPC, both directions against @a2a-js/sdk@1.3.0:
 * - the SDK's GrpcTransport against our createA2AGrpcServer;
 * - our createA2AGrpcClient against the SDK's grpcService;
 * and transport equivalence: one task read through JSON-RPC, REST and gRPC.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { ClientFactory, ClientFactoryOptions, type Client } from '@a2a-js/sdk/client';
import { GrpcTransportFactory } from '@a2a-js/sdk/client/grpc';
import { A2AService, grpcService, UserBuilder } from '@a2a-js/sdk/server/grpc';
import { DefaultRequestHandler, InMemoryTaskStore } from '@a2a-js/sdk/server';
import { Role, TaskState, type AgentCard as SdkCard, type Message as SdkMessage, type StreamResponse as SdkStreamResponse, type Task as SdkTask } from '@a2a-js/sdk';
import { TaskNotFoundError } from '@a2a-js/sdk/errors';
import { decodeErrorInfo, decodeStatus as sdkDecodeStatus, GRPC_STATUS_DETAILS_BIN } from '@a2a-js/sdk/errors/grpc';
import { createA2AGrpcClient, createA2AGrpcServer, useA2AGrpcBinding, type A2AGrpcClient, type A2AGrpcServer } from '../../src/a2a/grpc/index.js';
import { A2A_PROTOCOL_VERSION, createA2AClient, type A2AMessage, type SendMessageRequest, type StreamResponse, type Task } from '../../src/a2a/index.js';
import { isPenguiflowError } from '../../src/errors/index.js';
import { message } from '../../src/index.js';
import { startAgent, type RunningAgent } from './a2a-fixtures.js';
import { TestExecutor } from './a2a-sdk-server.js';

const userText = (text: string): SdkMessage => ({
  messageId: randomUUID(),
  contextId: '',
  taskId: '',
  role: Role.ROLE_USER,
  parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: '' }],
  metadata: undefined,
  extensions: [],
  referenceTaskIds: [],
});
const sdkSend = (text: string, returnImmediately = false) => ({
  tenant: '',
  message: userText(text),
  configuration: { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately, historyLength: undefined },
  metadata: undefined,
});
const ourMessage = (text: string): A2AMessage => ({ messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text }] });
const ourSend = (text: string, returnImmediately = false, tenant?: string): SendMessageRequest => ({
  message: ourMessage(text),
  ...(tenant ? { tenant } : {}),
  configuration: { returnImmediately },
});
const texts = (task: Task) => (task.artifacts ?? []).flatMap((a) => a.parts.map((p) => p.text));

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('SDK gRPC client → our gRPC server', () => {
  let agent: RunningAgent;
  let grpcServer: A2AGrpcServer;
  let target: string;
  let client: Client;
  let ours: A2AGrpcClient;
  const additionalInterfaces: { url: string; protocolBinding: string; protocolVersion: string }[] = [];

  beforeAll(async () => {
    agent = await startAgent({ card: { name: 'test agent', description: 'Echo and friends', additionalInterfaces } });
    grpcServer = createA2AGrpcServer({ server: agent.server, onError: () => undefined });
    ({ target } = await grpcServer.listen());
    additionalInterfaces.push(grpcServer.cardInterface(target));
    const f = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { transports: [new GrpcTransportFactory()], preferredTransports: ['GRPC'] }));
    client = await f.createFromUrl(agent.url);
    ours = createA2AGrpcClient(target, { timeoutMs: 10_000 });
  });
  afterAll(async () => {
    ours.close();
    await grpcServer.close();
    await agent.close();
  });

  it('the card lists the gRPC interface and the SDK picks it', async () => {
    const card = await client.getAgentCard();
    expect(card.supportedInterfaces.map((i) => `${i.protocolBinding}@${i.protocolVersion}`)).toContain('GRPC@1.0');
  });

  it('send (blocking) returns the completed task', async () => {
    const out = (await client.sendMessage(sdkSend('hello ✓ 🐧'))) as SdkTask;
    expect(out.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(out.artifacts.flatMap((a) => a.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')))).toEqual(['hello ✓ 🐧']);
  });

  it('stream: task snapshot, chunks in order, then completed', async () => {
    const events = await collect(client.sendMessageStream(sdkSend('stream:3')));
    expect(events[0]?.payload?.$case).toBe('task');
    const chunks = events.flatMap((e) => (e.payload?.$case === 'artifactUpdate' ? e.payload.value.artifact?.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')) ?? [] : []));
    expect(chunks.slice(0, 3)).toEqual(['c0', 'c1', 'c2']);
    const last = events.at(-1);
    expect(last?.payload?.$case === 'statusUpdate' && last.payload.value.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
  });

  it('get, list, cancel and subscribe', async () => {
    const started = (await client.sendMessage(sdkSend('slow:5000', true))) as SdkTask;
    const got = await client.getTask({ tenant: '', id: started.id, historyLength: undefined });
    expect(got.id).toBe(started.id);
    const list = await client.listTasks({ tenant: '', contextId: '', status: 0, pageSize: 100, pageToken: '', historyLength: undefined, statusTimestampAfter: undefined, includeArtifacts: undefined });
    expect(list.tasks.map((t) => t.id)).toContain(started.id);
    const sub = client.resubscribeTask({ tenant: '', id: started.id });
    const first = await sub.next();
    expect(first.value?.payload?.$case).toBe('task');
    const cancelled = await client.cancelTask({ tenant: '', id: started.id, metadata: undefined });
    expect(cancelled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    const rest: SdkStreamResponse[] = [];
    for await (const e of sub) rest.push(e);
    const end = rest.at(-1);
    expect(end?.payload?.$case === 'statusUpdate' && end.payload.value.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
  });

  it('errors carry ErrorInfo: TaskNotFound reaches the SDK as its TaskNotFoundError', async () => {
    await expect(client.getTask({ tenant: '', id: 'nope', historyLength: undefined })).rejects.toBeInstanceOf(TaskNotFoundError);
  });

  it('a wrong a2a-version gets VERSION_NOT_SUPPORTED with ErrorInfo (decoded by the SDK too)', async () => {
    const old = createA2AGrpcClient(target, { version: '0.3', timeoutMs: 5_000 });
    const err = await old.getTask({ id: 'x' }).catch((e: unknown) => e);
    old.close();
    expect(isPenguiflowError(err)).toBe(true);
    expect((err as { details: Record<string, unknown> }).details.reason).toBe('VERSION_NOT_SUPPORTED');
    // raw check with the SDK's own Status decoder
    const Ctor = grpc.makeGenericClientConstructor(A2AService, 'A2AService');
    const raw = new Ctor(target, grpc.credentials.createInsecure()) as unknown as grpc.Client & { getTask: (r: unknown, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void };
    const svcErr = await new Promise<grpc.ServiceError | null>((resolve) => raw.getTask({ tenant: '', id: 'x' }, new grpc.Metadata(), { deadline: Date.now() + 5_000 }, resolve));
    raw.close();
    expect(svcErr?.code).toBe(grpc.status.FAILED_PRECONDITION);
    const bin = svcErr!.metadata.get(GRPC_STATUS_DETAILS_BIN)[0] as Buffer;
    const status = sdkDecodeStatus(bin);
    const info = decodeErrorInfo(status.details[0]!.value);
    expect(info).toMatchObject({ reason: 'VERSION_NOT_SUPPORTED', domain: 'a2a-protocol.org', metadata: { supportedVersions: A2A_PROTOCOL_VERSION } });
  });

  it('invalid request gets INVALID_PARAMS; tenants are isolated by the request field', async () => {
    const bad = await ours.sendMessage({ message: { messageId: 'm', role: 'ROLE_USER', parts: [] } }).catch((e: unknown) => e);
    expect((bad as { details: Record<string, unknown> }).details.reason).toBe('INVALID_PARAMS');
    const a = await ours.sendMessage(ourSend('mine', false, 'tenant-a'));
    const id = 'task' in a ? a.task.id : '';
    expect((await ours.getTask({ id, tenant: 'tenant-a' })).id).toBe(id);
    const other = await ours.getTask({ id, tenant: 'tenant-b' }).catch((e: unknown) => e);
    expect((other as { details: Record<string, unknown> }).details.reason).toBe('TASK_NOT_FOUND');
  });

  it('transport equivalence: one task, equal through JSON-RPC, REST and gRPC', async () => {
    const sent = await ours.sendMessage(ourSend('same everywhere'));
    const id = 'task' in sent ? sent.task.id : '';
    const viaGrpc = await ours.getTask({ id });
    const headers = { 'content-type': 'application/json', 'a2a-version': '1.0' };
    const rpc = (await (await fetch(`${agent.url}/a2a/jsonrpc`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id } }) })).json()) as { result: Task };
    const rest = (await (await fetch(`${agent.url}/a2a/rest/tasks/${id}`, { headers })).json()) as Task;
    expect(texts(viaGrpc)).toEqual(['same everywhere']);
    expect(viaGrpc).toEqual(rpc.result);
    expect(viaGrpc).toEqual(rest);
    // and a task created over REST is visible over gRPC
    const created = (await (await fetch(`${agent.url}/a2a/rest/message:send`, { method: 'POST', headers, body: JSON.stringify(ourSend('from rest')) })).json()) as { task: Task };
    expect(await ours.getTask({ id: created.task.id })).toEqual(created.task);
  });

  it('our client: stream, subscribe with last-event-id replay, abort releases the stream', async () => {
    const events: StreamResponse[] = await collect(ours.sendMessageStream(ourSend('stream:4')));
    expect(events[0] && 'task' in events[0]).toBe(true);
    const last = events.at(-1);
    expect(last && 'statusUpdate' in last && last.statusUpdate.status.state).toBe('TASK_STATE_COMPLETED');
    const id = events[0] && 'task' in events[0] ? events[0].task.id : '';
    const replay = await collect(ours.subscribeStream({ id }, { lastEventId: 0 }));
    expect(replay.filter((e) => 'artifactUpdate' in e).length).toBeGreaterThanOrEqual(4);
    const ac = new AbortController();
    const slow = await ours.sendMessage(ourSend('slow:5000', true));
    const slowId = 'task' in slow ? slow.task.id : '';
    const it = ours.subscribeStream({ id: slowId }, { signal: ac.signal });
    await it.next();
    ac.abort(new Error('caller gave up'));
    await expect(it.next()).rejects.toThrow('caller gave up');
    await ours.cancelTask({ id: slowId });
  });

  it('binary parts cross gRPC untouched (proto bytes ↔ base64 raw)', async () => {
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) & 0xff));
    const out = await ours.sendMessage({ message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ raw: bytes.toString('base64'), mediaType: 'application/octet-stream' }] } });
    const task = 'task' in out ? out.task : undefined;
    expect(Buffer.compare(Buffer.from(task!.history![0]!.parts[0]!.raw!, 'base64'), bytes)).toBe(0);
    const echoed = task!.artifacts![0]!.parts[0]!.data as { raw: string }[];
    expect(Buffer.compare(Buffer.from(echoed[0]!.raw, 'base64'), bytes)).toBe(0);
  });

  it('createA2AClient picks the GRPC interface after useA2AGrpcBinding(): send, stream, cancel', async () => {
    const closeGrpc = useA2AGrpcBinding();
    try {
      const a2a = createA2AClient({ binding: 'GRPC', timeoutMs: 10_000 });
      expect((await a2a.resolve(agent.url)).binding).toBe('GRPC');
      const res = await a2a.send({ agentUrl: agent.url, message: message('via remote client', { tenant: 'acme' }), idempotencyKey: randomUUID() });
      expect(res.payload).toBe('via remote client');
      expect(agent.seen.at(-1)?.headers.tenant).toBe('acme');
      const events: unknown[] = [];
      for await (const e of a2a.stream({ agentUrl: agent.url, message: message('stream:3', { tenant: 'acme' }), idempotencyKey: randomUUID() })) events.push(e);
      expect(events.length).toBeGreaterThanOrEqual(4);
      const slow = await ours.sendMessage(ourSend('slow:5000', true, 'acme'));
      const slowId = 'task' in slow ? slow.task.id : '';
      await a2a.cancel({ agentUrl: agent.url, taskId: slowId, tenant: 'acme' });
      expect((await ours.getTask({ id: slowId, tenant: 'acme' })).status.state).toBe('TASK_STATE_CANCELED');
    } finally {
      closeGrpc();
    }
  });
});


describe('our gRPC client → SDK gRPC server', () => {
  let server: grpc.Server;
  let client: A2AGrpcClient;
  let sdkTarget: string;
  beforeAll(async () => {
    const card: SdkCard = {
      name: 'sdk grpc agent',
      description: 'reference peer',
      supportedInterfaces: [{ url: 'unused', protocolBinding: 'GRPC', tenant: '', protocolVersion: '1.0' }],
      provider: undefined,
      version: '1.0.0',
      capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
      securitySchemes: {},
      securityRequirements: [],
      defaultInputModes: ['text'],
      defaultOutputModes: ['text'],
      skills: [],
      signatures: [],
    };
    const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), new TestExecutor([], new Set()));
    server = new grpc.Server();
    server.addService(A2AService, grpcService({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    sdkTarget = `127.0.0.1:${port}`;
    client = createA2AGrpcClient(sdkTarget, { timeoutMs: 10_000 });
  });
  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  it('send, get, list', async () => {
    const out = await client.sendMessage(ourSend('hi sdk'));
    expect('task' in out).toBe(true);
    const task = 'task' in out ? out.task : undefined;
    expect(task?.status.state).toBe('TASK_STATE_COMPLETED');
    expect(texts(task!)).toEqual(['hi sdk']);
    expect((await client.getTask({ id: task!.id })).id).toBe(task!.id);
    expect((await client.listTasks({})).tasks.map((t) => t.id)).toContain(task!.id);
  });

  it('stream', async () => {
    const events = await collect(client.sendMessageStream(ourSend('stream:3')));
    const chunks = events.flatMap((e) => ('artifactUpdate' in e ? e.artifactUpdate.artifact.parts.map((p) => p.text) : []));
    expect(chunks).toEqual(['c0', 'c1', 'c2']);
    const last = events.at(-1);
    expect(last && 'statusUpdate' in last && last.statusUpdate.status.state).toBe('TASK_STATE_COMPLETED');
  });

  it('subscribe and cancel', async () => {
    const started = await client.sendMessage(ourSend('slow', true));
    const id = 'task' in started ? started.task.id : '';
    const sub = client.subscribeStream({ id });
    const first = await sub.next();
    expect(first.done).toBe(false);
    const cancelled = await client.cancelTask({ id });
    expect(['TASK_STATE_CANCELED', 'TASK_STATE_WORKING']).toContain(cancelled.status.state);
    const rest = await collect(sub);
    const last = rest.at(-1);
    expect(last && 'statusUpdate' in last && last.statusUpdate.status.state).toBe('TASK_STATE_CANCELED');
  });

  it('errors: TASK_NOT_FOUND with its ErrorInfo reason, wrong version refused', async () => {
    const err = await client.getTask({ id: 'missing' }).catch((e: unknown) => e);
    expect((err as { code: string }).code).toBe('NOT_FOUND');
    expect((err as { details: Record<string, unknown> }).details.reason).toBe('TASK_NOT_FOUND');
    const old = createA2AGrpcClient(sdkTarget, { version: '0.3', timeoutMs: 5_000 });
    const vErr = await old.sendMessage(ourSend('x')).catch((e: unknown) => e);
    old.close();
    expect((vErr as { details: Record<string, unknown> }).details.reason).toBe('VERSION_NOT_SUPPORTED');
  });
});
