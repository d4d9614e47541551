/**
 * Drivers for the security matrix: one function per transport that performs
 * an operation with an API key and reports what a user would see, reduced to
 * `unauthenticated | denied | allowed | error`. Not a test file itself.
 */
import * as grpc from '@grpc/grpc-js';
import * as pb from '@a2a-js/sdk';
import { A2AService } from '@a2a-js/sdk/server/grpc';
import WebSocket from 'ws';
import { LEGACY_METHODS, METHODS, type A2AMethod } from '../../src/a2a/index.js';
import type { WS_OPERATIONS } from '../../src/a2a/ws/index.js';
import { WS_JSON_PROTOCOL } from '../../src/a2a/ws/index.js';

export type Outcome = 'unauthenticated' | 'denied' | 'allowed' | 'error';

/** What each operation is called with (v1.0 JSON shapes); ids come from the fixture. */
export interface OpInput {
  taskId: string;
  message: (text: string) => Record<string, unknown>;
  pushUrl: string;
}

export function v1Params(op: A2AMethod, input: OpInput): Record<string, unknown> {
  switch (op) {
    case METHODS.sendMessage:
      return { message: input.message('hello') };
    case METHODS.sendStreamingMessage:
      return { message: input.message('stream:2:1') };
    case METHODS.getTask:
    case METHODS.cancelTask:
    case METHODS.subscribeToTask:
      return { id: input.taskId };
    case METHODS.listTasks:
    case METHODS.getExtendedAgentCard:
      return {};
    case METHODS.createPushConfig:
      return { taskId: input.taskId, id: `cfg-${Math.random().toString(36).slice(2)}`, url: input.pushUrl };
    case METHODS.getPushConfig:
      return { taskId: input.taskId, id: 'cfg-1' };
    case METHODS.listPushConfigs:
      return { taskId: input.taskId };
    case METHODS.deletePushConfig:
      return { taskId: input.taskId, id: 'cfg-gone' };
  }
}

const LEGACY_NAME: Record<A2AMethod, string | undefined> = Object.fromEntries(Object.values(METHODS).map((m) => [m, Object.keys(LEGACY_METHODS).find((k) => LEGACY_METHODS[k] === m)])) as Record<A2AMethod, string | undefined>;

function legacyParams(op: A2AMethod, input: OpInput): Record<string, unknown> {
  const legacyMsg = (text: string) => ({ kind: 'message', messageId: `l-${Math.random()}`, role: 'user', parts: [{ kind: 'text', text }] });
  switch (op) {
    case METHODS.sendMessage:
      return { message: legacyMsg('hello') };
    case METHODS.sendStreamingMessage:
      return { message: legacyMsg('stream:2:1') };
    case METHODS.createPushConfig:
      return { taskId: input.taskId, pushNotificationConfig: { url: input.pushUrl } };
    case METHODS.getPushConfig:
      return { id: input.taskId, pushNotificationConfigId: 'cfg-1' };
    case METHODS.listPushConfigs:
      return { id: input.taskId };
    case METHODS.deletePushConfig:
      return { id: input.taskId, pushNotificationConfigId: 'cfg-gone' };
    case METHODS.cancelTask:
    case METHODS.getExtendedAgentCard:
    case METHODS.getTask:
    case METHODS.listTasks:
    case METHODS.subscribeToTask:
      return v1Params(op, input);
  }
}

export function fromHttpStatus(status: number): Outcome {
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'denied';
  if (status >= 500) return 'error';
  return 'allowed';
}

/** Reads a reply (an SSE stream only up to its first bytes) and maps its status. */
async function settle(res: Response): Promise<{ outcome: Outcome; text: string }> {
  let text = '';
  if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
    const reader = res.body!.getReader();
    const first = await reader.read();
    text = first.value ? Buffer.from(first.value).toString('utf8') : '';
    await reader.cancel();
  } else text = await res.text();
  return { outcome: fromHttpStatus(res.status), text };
}

export async function jsonRpc(base: string, op: A2AMethod, key: string | undefined, input: OpInput, legacy: boolean): Promise<{ outcome: Outcome; text: string }> {
  const method = legacy ? LEGACY_NAME[op] : op;
  if (!method) throw new Error(`no v0.3 name for ${op}`);
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-Penguiflow-Tenant': 'acme' };
  if (!legacy) headers['A2A-Version'] = '1.0';
  if (key) headers['X-API-Key'] = key;
  if (op === METHODS.subscribeToTask) headers['Last-Event-ID'] = '0';
  const params = { tenant: 'acme', ...(legacy ? legacyParams(op, input) : v1Params(op, input)) };
  return settle(await fetch(`${base}/a2a/jsonrpc`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) }));
}

export async function rest(base: string, op: A2AMethod, key: string | undefined, input: OpInput): Promise<{ outcome: Outcome; text: string }> {
  const p = v1Params(op, input);
  const t = encodeURIComponent(input.taskId);
  const route: Record<A2AMethod, [string, string, unknown?]> = {
    SendMessage: ['POST', '/message:send', p],
    SendStreamingMessage: ['POST', '/message:stream', p],
    GetTask: ['GET', `/tasks/${t}`],
    ListTasks: ['GET', '/tasks'],
    CancelTask: ['POST', `/tasks/${t}:cancel`],
    SubscribeToTask: ['GET', `/tasks/${t}:subscribe`],
    CreateTaskPushNotificationConfig: ['POST', `/tasks/${t}/pushNotificationConfigs`, { id: p.id, url: p.url }],
    GetTaskPushNotificationConfig: ['GET', `/tasks/${t}/pushNotificationConfigs/cfg-1`],
    ListTaskPushNotificationConfigs: ['GET', `/tasks/${t}/pushNotificationConfigs`],
    DeleteTaskPushNotificationConfig: ['DELETE', `/tasks/${t}/pushNotificationConfigs/cfg-gone`],
    GetExtendedAgentCard: ['GET', '/extendedAgentCard'],
  };
  const [verb, path, body] = route[op];
  const headers: Record<string, string> = { 'A2A-Version': '1.0', 'Content-Type': 'application/json', 'Last-Event-ID': '0' };
  if (key) headers['X-API-Key'] = key;
  return settle(await fetch(`${base}/a2a/rest/acme${path}`, { method: verb, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }));
}

// ---------------------------------------------------------------- gRPC

type PbCodec = { fromJSON(v: unknown): unknown };
/** The request message of each A2AService method. */
export const GRPC_REQUEST: Record<string, PbCodec> = {
  SendMessage: pb.SendMessageRequest,
  SendStreamingMessage: pb.SendMessageRequest,
  GetTask: pb.GetTaskRequest,
  ListTasks: pb.ListTasksRequest,
  CancelTask: pb.CancelTaskRequest,
  SubscribeToTask: pb.SubscribeToTaskRequest,
  CreateTaskPushNotificationConfig: pb.TaskPushNotificationConfig,
  GetTaskPushNotificationConfig: pb.GetTaskPushNotificationConfigRequest,
  ListTaskPushNotificationConfigs: pb.ListTaskPushNotificationConfigsRequest,
  DeleteTaskPushNotificationConfig: pb.DeleteTaskPushNotificationConfigRequest,
  GetExtendedAgentCard: pb.GetExtendedAgentCardRequest,
};

/** The methods the gRPC service registers (its last path segment), as the server sees them. */
export const GRPC_SERVICE_METHODS: string[] = Object.values(A2AService as unknown as Record<string, { path: string }>).map((d) => d.path.split('/').pop()!);

const Ctor = grpc.makeGenericClientConstructor(A2AService, 'A2AService');
type Raw = Record<string, (...a: unknown[]) => unknown> & grpc.Client;

export function grpcClient(target: string): Raw {
  return new Ctor(target, grpc.credentials.createInsecure()) as unknown as Raw;
}

function fromGrpcCode(code: number): Outcome {
  const c = code as grpc.status;
  if (c === grpc.status.UNAUTHENTICATED) return 'unauthenticated';
  if (c === grpc.status.PERMISSION_DENIED) return 'denied';
  if (c === grpc.status.INTERNAL || c === grpc.status.UNKNOWN) return 'error';
  return 'allowed';
}

export function grpcCall(client: Raw, op: A2AMethod, key: string | undefined, input: OpInput): Promise<{ outcome: Outcome; text: string }> {
  const md = new grpc.Metadata();
  md.set('a2a-version', '1.0');
  md.set('x-penguiflow-tenant', 'acme');
  md.set('last-event-id', '0');
  if (key) md.set('x-api-key', key);
  const request = GRPC_REQUEST[op]!.fromJSON({ tenant: 'acme', ...v1Params(op, input) });
  const name = op.charAt(0).toLowerCase() + op.slice(1);
  const fn = client[name]!.bind(client);
  const deadline = { deadline: Date.now() + 10_000 };
  if (op === METHODS.sendStreamingMessage || op === METHODS.subscribeToTask) {
    return new Promise((resolve) => {
      const call = fn(request, md, deadline) as grpc.ClientReadableStream<unknown>;
      let done = false;
      const finish = (outcome: Outcome, text: string) => {
        if (done) return;
        done = true;
        call.cancel();
        resolve({ outcome, text });
      };
      call.on('data', () => finish('allowed', 'data'));
      call.on('end', () => finish('allowed', 'end'));
      call.on('error', (e: grpc.ServiceError) => finish((e.code) === grpc.status.CANCELLED ? 'allowed' : fromGrpcCode(e.code), `${e.code} ${e.details}`));
    });
  }
  return new Promise((resolve) => {
    fn(request, md, deadline, (err: grpc.ServiceError | null) => resolve(err ? { outcome: fromGrpcCode(err.code), text: `${err.code} ${err.details}` } : { outcome: 'allowed', text: 'ok' }));
  });
}

// ---------------------------------------------------------------- WebSocket

export type WsOp = keyof typeof WS_OPERATIONS;

/** Opens a connection with a key; an upgrade refusal is the outcome of every frame on it. */
export function wsOpen(base: string, key: string | undefined): Promise<WebSocket | Outcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/a2a/ws?tenant=acme`, [WS_JSON_PROTOCOL], { headers: key ? { 'x-api-key': key } : {} });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      resolve(fromHttpStatus(res.statusCode ?? 0));
      ws.terminate();
    });
    ws.once('error', () => resolve('error'));
  });
}

let frameIds = 0;
export function wsFrame(ws: WebSocket, op: WsOp, taskId: string): Promise<{ outcome: Outcome; text: string }> {
  const id = ++frameIds;
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData) => {
      const f = JSON.parse(data.toString()) as { op: string; id?: number; error?: { reason: string } };
      if (f.id !== id) return;
      ws.off('message', onMessage);
      if (op === 'subscribe' && f.op === 'subscribed') ws.send(JSON.stringify({ op: 'unsubscribe', id: -1, taskId }));
      const reason = f.error?.reason;
      const outcome: Outcome = reason === 'UNAUTHENTICATED' ? 'unauthenticated' : reason === 'PERMISSION_DENIED' ? 'denied' : reason === 'INTERNAL_ERROR' ? 'error' : 'allowed';
      resolve({ outcome, text: JSON.stringify(f).slice(0, 200) });
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ op, id, taskId, ...(op === 'subscribe' ? { lastEventId: 0 } : {}) }));
  });
}
