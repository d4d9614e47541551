/**
 * The JSON-RPC binding (spec §9) for v1.0 methods and, without an
 * `A2A-Version` header or with `0.3`, the v0.3 method names and shapes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { A2A_PROTOCOL_VERSION, JSON_CONTENT_TYPE, LEGACY_METHODS, METHODS, SUPPORTED_VERSIONS, type A2AMethod } from '../protocol/constants.js';
import { A2A_ERRORS, A2AProtocolError, asProtocolError, invalidParams, toJsonRpcError } from '../protocol/errors.js';
import { jsonRpcError, jsonRpcResult, parseJsonRpcRequest, requestIdOf, type JsonRpcId } from '../protocol/jsonrpc.js';
import { messageToLegacy, sendRequestFromLegacy, streamResponseToLegacy, taskToLegacy } from '../protocol/legacy.js';
import type { SendMessageRequest, StreamResponse, TaskPushNotificationConfig } from '../protocol/types.js';
import { isObject, parseGetTaskRequest, parseListTasksRequest, parsePushConfig, parseSendMessageRequest, parseTaskIdRequest } from '../protocol/validate.js';
import { clientGone, lastEventId, type BindingContext } from './binding-context.js';
import { errorHeaders, mediaType, readBody, requestedVersion, sendJson } from './http-io.js';
import type { OperationContext, StreamSink } from './operations.js';
import { SseWriter } from './sse-writer.js';

const V1_METHODS: ReadonlySet<string> = new Set(Object.values(METHODS));

export async function handleJsonRpc(ctx: BindingContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let id: JsonRpcId = null;
  let legacy = false;
  try {
    const mt = mediaType(req);
    if (mt !== undefined && mt !== 'application/json' && mt !== 'application/a2a+json') {
      throw new A2AProtocolError('CONTENT_TYPE_NOT_SUPPORTED', { message: `Unsupported Content-Type "${mt}"; expected application/json` });
    }
    await ctx.preauthenticate?.(req);
    const text = await readBody(req, ctx.maxBodyBytes);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new A2AProtocolError('PARSE_ERROR');
    }
    id = requestIdOf(body);
    const rpc = parseJsonRpcRequest(body);
    const version = requestedVersion(req, undefined);
    let method: A2AMethod | undefined;
    if (version === A2A_PROTOCOL_VERSION) {
      if (!V1_METHODS.has(rpc.method)) throw new A2AProtocolError('METHOD_NOT_FOUND', { message: `Method not found: ${rpc.method}` });
      method = rpc.method as A2AMethod;
    } else if (version === '0.3' && ctx.legacy) {
      legacy = true;
      // own keys only: `constructor`, `toString`, `__proto__` are not methods
      method = Object.hasOwn(LEGACY_METHODS, rpc.method) ? LEGACY_METHODS[rpc.method] : undefined;
      if (method === undefined) {
        if (V1_METHODS.has(rpc.method)) {
          throw new A2AProtocolError('VERSION_NOT_SUPPORTED', {
            message: `${rpc.method} is a v1.0 method but the request declares A2A-Version 0.3 (an absent header means 0.3); send "A2A-Version: 1.0"`,
            metadata: { requestedVersion: version, supportedVersions: SUPPORTED_VERSIONS.join(',') },
          });
        }
        throw new A2AProtocolError('METHOD_NOT_FOUND', { message: `Method not found: ${rpc.method}` });
      }
    } else {
      throw new A2AProtocolError('VERSION_NOT_SUPPORTED', {
        message: `A2A-Version ${version} is not supported; supported: ${ctx.legacy ? SUPPORTED_VERSIONS.join(', ') : A2A_PROTOCOL_VERSION}`,
        metadata: { requestedVersion: version, supportedVersions: (ctx.legacy ? SUPPORTED_VERSIONS : [A2A_PROTOCOL_VERSION]).join(',') },
      });
    }
    await dispatch(ctx, req, res, rpc.id, method, rpc.params, legacy);
  } catch (error) {
    replyError(ctx, res, id, error, legacy);
  }
}

function replyError(ctx: BindingContext, res: ServerResponse, id: JsonRpcId, error: unknown, legacy: boolean): void {
  const e = asProtocolError(error);
  if (e.reason === 'INTERNAL_ERROR') ctx.onError(e.cause ?? e, { binding: 'jsonrpc' });
  const row = A2A_ERRORS[e.reason];
  // JSON-RPC errors travel with 200, except transport-level ones (413, 401, 403, 429, 503) and server faults.
  const status = row.http === 413 || row.http === 401 || row.http === 403 || row.http === 429 || row.http === 503 || row.http === 500 ? row.http : 200;
  sendJson(res, status, jsonRpcError(id, toJsonRpcError(e, legacy)), JSON_CONTENT_TYPE, errorHeaders(e));
}

function paramsOf(params: unknown): Record<string, unknown> {
  if (params === undefined || params === null) return {};
  if (!isObject(params)) throw invalidParams('params', 'must be an object');
  return params;
}

async function dispatch(ctx: BindingContext, req: IncomingMessage, res: ServerResponse, id: JsonRpcId, method: A2AMethod, rawParams: unknown, legacy: boolean): Promise<void> {
  const ops = ctx.ops;
  const gone = (cb: () => void) => clientGone(res, cb);
  const reply = (result: unknown) => sendJson(res, 200, jsonRpcResult(id, result), JSON_CONTENT_TYPE);
  const params = paramsOf(rawParams);
  const tenantParam = typeof params.tenant === 'string' && params.tenant !== '' ? params.tenant : undefined;
  const transport = legacy ? 'JSONRPC-0.3' : 'JSONRPC';

  switch (method) {
    case METHODS.sendMessage:
    case METHODS.sendStreamingMessage: {
      const sendReq: SendMessageRequest = legacy ? sendRequestFromLegacy(params) : parseSendMessageRequest(params);
      const scope = await ctx.admit({ req, transport, operation: method, requestedTenant: tenantParam, message: sendReq.message });
      const octx: OperationContext = { scope, gone };
      if (method === METHODS.sendMessage) {
        const out = await ops.sendMessage(octx, sendReq);
        if (!legacy) return reply(out);
        return reply('task' in out ? taskToLegacy(out.task) : messageToLegacy(out.message));
      }
      return stream(ctx, res, id, legacy, scope.tenant, (sink) => ops.streamMessage(octx, sendReq, sink));
    }
    case METHODS.subscribeToTask: {
      const { id: taskId } = parseTaskIdRequest(params);
      const scope = await ctx.admit({ req, transport, operation: method, requestedTenant: tenantParam });
      const after = lastEventId(req);
      return stream(ctx, res, id, legacy, scope.tenant, (sink) => ops.subscribe({ scope, gone }, taskId, after, sink));
    }
    case METHODS.getTask: {
      const get = parseGetTaskRequest(params);
      const scope = await ctx.admit({ req, transport, operation: method, requestedTenant: tenantParam });
      const task = await ops.getTask({ scope, gone }, get.id, get.historyLength);
      return reply(legacy ? taskToLegacy(task) : task);
    }
    case METHODS.listTasks: {
      const list = parseListTasksRequest(params);
      const scope = await ctx.admit({ req, transport, operation: method, requestedTenant: tenantParam });
      return reply(await ops.listTasks({ scope, gone }, list));
    }
    case METHODS.cancelTask: {
      const { id: taskId } = parseTaskIdRequest(params);
      const scope = await ctx.admit({ req, transport, operation: method, requestedTenant: tenantParam });
      const task = await ops.cancelTask({ scope, gone }, taskId);
      return reply(legacy ? taskToLegacy(task) : task);
    }
    case METHODS.getExtendedAgentCard: {
      const scope = await ctx.admit({ req, transport, operation: method, requestedTenant: tenantParam });
      return reply(await ops.extendedCard({ scope, gone }));
    }
    case METHODS.createPushConfig: {
      const scope = await ctx.admit({ req, transport, operation: method, requestedTenant: tenantParam });
      const push = ops.push({ scope, gone }, method);
      const cfg = legacy ? legacyPushConfigIn(params) : parsePushConfig(params, 'params');
      if (!cfg.taskId) throw invalidParams('taskId', 'is required');
      const created = await push.create(scope.tenant, cfg);
      return reply(legacy ? legacyPushConfigOut(created) : created);
    }
    case METHODS.getPushConfig: {
      const scope = await ctx.admit({ req, transport, operation: method, requestedTenant: tenantParam });
      const push = ops.push({ scope, gone }, method);
      const { taskId, id: configId } = pushIds(params, legacy);
      if (configId === undefined) {
        const first = (await push.list(scope.tenant, taskId)).configs[0];
        if (!first) throw new A2AProtocolError('TASK_NOT_FOUND', { message: `No push notification config on task ${taskId}` });
        return reply(legacy ? legacyPushConfigOut(first) : first);
      }
      const got = await push.get(scope.tenant, taskId, configId);
      return reply(legacy ? legacyPushConfigOut(got) : got);
    }
    case METHODS.listPushConfigs: {
      const scope = await ctx.admit({ req, transport, operation: method, requestedTenant: tenantParam });
      const push = ops.push({ scope, gone }, method);
      const { taskId } = pushIds(params, legacy);
      const list = await push.list(scope.tenant, taskId);
      return reply(legacy ? list.configs.map(legacyPushConfigOut) : list);
    }
    case METHODS.deletePushConfig: {
      const scope = await ctx.admit({ req, transport, operation: method, requestedTenant: tenantParam });
      const push = ops.push({ scope, gone }, method);
      const { taskId, id: configId } = pushIds(params, legacy);
      if (configId === undefined) throw invalidParams(legacy ? 'pushNotificationConfigId' : 'id', 'is required');
      await push.delete(scope.tenant, taskId, configId);
      return reply(legacy ? null : {});
    }
    default:
      throw new A2AProtocolError('METHOD_NOT_FOUND', { message: 'Method not found' });
  }
}

/** Task and config ids of a push request: v1.0 `{ taskId, id }`, v0.3 `{ id, pushNotificationConfigId }`. */
function pushIds(params: Record<string, unknown>, legacy: boolean): { taskId: string; id?: string } {
  const taskKey = legacy ? 'id' : 'taskId';
  const cfgKey = legacy ? 'pushNotificationConfigId' : 'id';
  const taskId = params[taskKey];
  if (typeof taskId !== 'string' || taskId === '') throw invalidParams(taskKey, 'is required');
  const id = params[cfgKey];
  if (id !== undefined && typeof id !== 'string') throw invalidParams(cfgKey, 'must be a string');
  return id ? { taskId, id } : { taskId };
}

function legacyPushConfigIn(params: Record<string, unknown>): TaskPushNotificationConfig {
  const inner = isObject(params.pushNotificationConfig) ? params.pushNotificationConfig : undefined;
  if (!inner) throw invalidParams('pushNotificationConfig', 'is required');
  const auth = isObject(inner.authentication) ? inner.authentication : undefined;
  const schemes = Array.isArray(auth?.schemes) ? auth.schemes : [];
  const v1: Record<string, unknown> = { ...inner, taskId: params.taskId };
  if (auth) v1.authentication = { scheme: typeof schemes[0] === 'string' ? schemes[0] : 'Bearer', credentials: auth.credentials };
  return parsePushConfig(v1, 'pushNotificationConfig');
}

function legacyPushConfigOut(cfg: TaskPushNotificationConfig): Record<string, unknown> {
  const inner: Record<string, unknown> = { id: cfg.id, url: cfg.url };
  if (cfg.token) inner.token = cfg.token;
  if (cfg.authentication) inner.authentication = { schemes: [cfg.authentication.scheme], credentials: cfg.authentication.credentials };
  return { taskId: cfg.taskId, pushNotificationConfig: inner };
}

async function stream(
  ctx: BindingContext,
  res: ServerResponse,
  id: JsonRpcId,
  legacy: boolean,
  tenant: string,
  open: (sink: StreamSink) => Promise<() => void>,
): Promise<void> {
  const release = ctx.admitStream(tenant);
  const writer = new SseWriter(res, ctx.sse);
  let close: (() => void) | undefined;
  let opened = false;
  writer.onClose(() => {
    close?.();
    release();
  });
  const frame = (event: StreamResponse) => JSON.stringify({ jsonrpc: '2.0', id, result: legacy ? streamResponseToLegacy(event) : event });
  const sink: StreamSink = {
    event: (e) => {
      if (!opened) {
        writer.open();
        opened = true;
      }
      writer.send(frame(e.event), e.seq);
    },
    end: () => writer.end(),
  };
  try {
    close = await open(sink);
    if (writer.isClosed) close();
  } catch (error) {
    if (!opened) {
      writer.abandon();
      throw error;
    }
    writer.send(jsonRpcError(id, toJsonRpcError(error, legacy)), undefined, 'error');
    writer.end();
  }
}
