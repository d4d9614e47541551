/**
 * The HTTP+JSON/REST binding (spec §11), v1.0 only, with the optional
 * `/{tenant}` path prefix. Errors are `google.rpc.Status` bodies with the
 * §5.4 HTTP status and an ErrorInfo detail.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { A2A_CONTENT_TYPE, A2A_PROTOCOL_VERSION, METHODS, type A2AMethod } from '../protocol/constants.js';
import { A2AProtocolError, asProtocolError, toRestError } from '../protocol/errors.js';
import type { StreamResponse } from '../protocol/types.js';
import { parseGetTaskRequest, parseListTasksRequest, parsePushConfig, parseSendMessageRequest } from '../protocol/validate.js';
import { clientGone, lastEventId, type BindingContext } from './binding-context.js';
import { errorHeaders, mediaType, readBody, requestedVersion, sendJson } from './http-io.js';
import type { StreamSink } from './operations.js';
import { SseWriter } from './sse-writer.js';

type RestOp = 'send' | 'stream' | 'list' | 'get' | 'cancel' | 'subscribe' | 'pushCreate' | 'pushList' | 'pushGet' | 'pushDelete' | 'extendedCard';

/** The A2A operation behind each REST route (what authorization sees). */
export const REST_METHODS: Readonly<Record<RestOp, A2AMethod>> = {
  send: METHODS.sendMessage,
  stream: METHODS.sendStreamingMessage,
  list: METHODS.listTasks,
  get: METHODS.getTask,
  cancel: METHODS.cancelTask,
  subscribe: METHODS.subscribeToTask,
  pushCreate: METHODS.createPushConfig,
  pushList: METHODS.listPushConfigs,
  pushGet: METHODS.getPushConfig,
  pushDelete: METHODS.deletePushConfig,
  extendedCard: METHODS.getExtendedAgentCard,
};

interface RestRoute {
  op: RestOp;
  id?: string;
  configId?: string;
  tenant?: string;
}

function decodePath(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new A2AProtocolError('INVALID_REQUEST', { message: 'Malformed percent-encoding in the path' });
  }
}

function matchSegments(method: string, s: string[]): RestRoute | undefined {
  const [a, b, c, d] = s;
  if (s.length === 1 && a === 'message:send' && method === 'POST') return { op: 'send' };
  if (s.length === 1 && a === 'message:stream' && method === 'POST') return { op: 'stream' };
  if (s.length === 1 && a === 'extendedAgentCard' && method === 'GET') return { op: 'extendedCard' };
  if (a !== 'tasks') return undefined;
  if (s.length === 1 && method === 'GET') return { op: 'list' };
  if (s.length === 2 && b !== undefined) {
    const colon = b.lastIndexOf(':');
    if (colon > 0) {
      const id = decodePath(b.slice(0, colon));
      const verb = b.slice(colon + 1);
      if (verb === 'cancel' && method === 'POST') return { op: 'cancel', id };
      if (verb === 'subscribe' && (method === 'POST' || method === 'GET')) return { op: 'subscribe', id };
      return undefined;
    }
    if (method === 'GET') return { op: 'get', id: decodePath(b) };
    return undefined;
  }
  if (c === 'pushNotificationConfigs' && b !== undefined) {
    const id = decodePath(b);
    if (s.length === 3 && method === 'POST') return { op: 'pushCreate', id };
    if (s.length === 3 && method === 'GET') return { op: 'pushList', id };
    if (s.length === 4 && d !== undefined && method === 'GET') return { op: 'pushGet', id, configId: decodePath(d) };
    if (s.length === 4 && d !== undefined && method === 'DELETE') return { op: 'pushDelete', id, configId: decodePath(d) };
  }
  return undefined;
}

/** Resolves a REST path (already stripped of its mount prefix), with or without a leading tenant segment. */
export function matchRest(method: string, path: string): RestRoute | undefined {
  const segs = path.split('/').filter((x) => x.length > 0);
  const direct = matchSegments(method, segs);
  if (direct) return direct;
  if (segs.length > 1) {
    const route = matchSegments(method, segs.slice(1));
    if (route) return { ...route, tenant: decodePath(segs[0]!) };
  }
  return undefined;
}

export async function handleRest(ctx: BindingContext, req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
  try {
    const route = matchRest(req.method ?? 'GET', path);
    if (!route) throw new A2AProtocolError('METHOD_NOT_FOUND', { message: `No A2A REST operation at ${req.method} ${path}` });
    const version = requestedVersion(req, query);
    if (version !== A2A_PROTOCOL_VERSION) {
      throw new A2AProtocolError('VERSION_NOT_SUPPORTED', {
        message: `A2A-Version ${version} is not supported on the REST binding (an absent header means 0.3); send "A2A-Version: 1.0"`,
        metadata: { requestedVersion: version, supportedVersions: A2A_PROTOCOL_VERSION },
      });
    }
    await ctx.preauthenticate?.(req);
    await dispatch(ctx, req, res, route, query);
  } catch (error) {
    const e = asProtocolError(error);
    if (e.reason === 'INTERNAL_ERROR') ctx.onError(e.cause ?? e, { binding: 'rest' });
    const { status, body } = toRestError(e);
    sendJson(res, status, JSON.stringify(body), A2A_CONTENT_TYPE, errorHeaders(e));
  }
}

async function readJson(ctx: BindingContext, req: IncomingMessage): Promise<unknown> {
  const mt = mediaType(req);
  if (mt !== undefined && mt !== 'application/json' && mt !== 'application/a2a+json') {
    throw new A2AProtocolError('CONTENT_TYPE_NOT_SUPPORTED', { message: `Unsupported Content-Type "${mt}"; expected application/a2a+json` });
  }
  const text = await readBody(req, ctx.maxBodyBytes);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new A2AProtocolError('PARSE_ERROR');
  }
}

async function dispatch(ctx: BindingContext, req: IncomingMessage, res: ServerResponse, route: RestRoute, query: URLSearchParams): Promise<void> {
  const ops = ctx.ops;
  const gone = (cb: () => void) => clientGone(res, cb);
  const reply = (value: unknown) => sendJson(res, 200, JSON.stringify(value), A2A_CONTENT_TYPE);
  switch (route.op) {
    case 'send':
    case 'stream': {
      const body = await readJson(ctx, req);
      const sendReq = parseSendMessageRequest(body);
      const scope = await ctx.admit({ req, transport: 'HTTP+JSON', operation: REST_METHODS[route.op], requestedTenant: route.tenant ?? sendReq.tenant, message: sendReq.message });
      if (route.op === 'send') return reply(await ops.sendMessage({ scope, gone }, sendReq));
      return stream(ctx, res, scope.tenant, (sink) => ops.streamMessage({ scope, gone }, sendReq, sink));
    }
    case 'get': {
      const get = parseGetTaskRequest({ id: route.id, historyLength: query.get('historyLength') ?? undefined });
      const scope = await ctx.admit({ req, transport: 'HTTP+JSON', operation: REST_METHODS[route.op], requestedTenant: route.tenant });
      return reply(await ops.getTask({ scope, gone }, get.id, get.historyLength));
    }
    case 'list': {
      const list = parseListTasksRequest(Object.fromEntries(query.entries()));
      const scope = await ctx.admit({ req, transport: 'HTTP+JSON', operation: REST_METHODS[route.op], requestedTenant: route.tenant });
      return reply(await ops.listTasks({ scope, gone }, list));
    }
    case 'cancel': {
      const scope = await ctx.admit({ req, transport: 'HTTP+JSON', operation: REST_METHODS[route.op], requestedTenant: route.tenant });
      return reply(await ops.cancelTask({ scope, gone }, route.id!));
    }
    case 'subscribe': {
      const scope = await ctx.admit({ req, transport: 'HTTP+JSON', operation: REST_METHODS[route.op], requestedTenant: route.tenant });
      const after = lastEventId(req);
      return stream(ctx, res, scope.tenant, (sink) => ops.subscribe({ scope, gone }, route.id!, after, sink));
    }
    case 'extendedCard': {
      const scope = await ctx.admit({ req, transport: 'HTTP+JSON', operation: REST_METHODS[route.op], requestedTenant: route.tenant });
      return reply(await ops.extendedCard({ scope, gone }));
    }
    case 'pushCreate': {
      const scope = await ctx.admit({ req, transport: 'HTTP+JSON', operation: REST_METHODS[route.op], requestedTenant: route.tenant });
      const push = ops.push({ scope, gone }, REST_METHODS[route.op]);
      const cfg = parsePushConfig(await readJson(ctx, req), 'body', route.id);
      return reply(await push.create(scope.tenant, cfg));
    }
    case 'pushList': {
      const scope = await ctx.admit({ req, transport: 'HTTP+JSON', operation: REST_METHODS[route.op], requestedTenant: route.tenant });
      return reply(await ops.push({ scope, gone }, REST_METHODS[route.op]).list(scope.tenant, route.id!));
    }
    case 'pushGet': {
      const scope = await ctx.admit({ req, transport: 'HTTP+JSON', operation: REST_METHODS[route.op], requestedTenant: route.tenant });
      return reply(await ops.push({ scope, gone }, REST_METHODS[route.op]).get(scope.tenant, route.id!, route.configId!));
    }
    case 'pushDelete': {
      const scope = await ctx.admit({ req, transport: 'HTTP+JSON', operation: REST_METHODS[route.op], requestedTenant: route.tenant });
      await ops.push({ scope, gone }, REST_METHODS[route.op]).delete(scope.tenant, route.id!, route.configId!);
      res.writeHead(204).end();
      return;
    }
  }
}

async function stream(ctx: BindingContext, res: ServerResponse, tenant: string, open: (sink: StreamSink) => Promise<() => void>): Promise<void> {
  const release = ctx.admitStream(tenant);
  const writer = new SseWriter(res, ctx.sse);
  let close: (() => void) | undefined;
  let opened = false;
  writer.onClose(() => {
    close?.();
    release();
  });
  const sink: StreamSink = {
    event: (e: { seq: number; event: StreamResponse }) => {
      if (!opened) {
        writer.open();
        opened = true;
      }
      writer.send(JSON.stringify(e.event), e.seq);
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
    writer.send(JSON.stringify(toRestError(error).body), undefined, 'error');
    writer.end();
  }
}
