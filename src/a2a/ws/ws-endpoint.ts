/**
 * `createA2AWebSocketEndpoint`: live task (= trace) events over one
 * WebSocket, for the trace viewer and other dashboards. Built on the same
 * operations as the HTTP bindings, so a subscriber sees exactly the SSE
 * sequence (task snapshot, then logged events in seq order, replay with
 * `lastEventId`), scoped to the tenant of the connection's credential.
 *
 * Frames (JSON text, or msgpack binary with the `penguiflow.a2a.v1.msgpack`
 * subprotocol), client → server:
 * - `{ op: 'subscribe', id, taskId, lastEventId? }` → `{ op: 'subscribed', id, taskId }`, then
 *   `{ op: 'event', taskId, seq, event }` … and `{ op: 'end', taskId }` when the task settles
 * - `{ op: 'unsubscribe', id, taskId }` → `{ op: 'unsubscribed', id, taskId }`
 * - `{ op: 'cancel', id, taskId }` → `{ op: 'result', id, task }`
 * - `{ op: 'get', id, taskId }` → `{ op: 'result', id, task }`
 * Any failure → `{ op: 'error', id?, taskId?, error: { code, reason, message } }` (the A2A error table).
 *
 * Heartbeats: a WebSocket ping every `heartbeatMs`; a connection that did not
 * answer the previous ping is terminated. Back-pressure: a connection whose
 * unsent bytes pass `maxBufferedBytes` is closed with 1013 (it can reconnect
 * and resume with `lastEventId`), so a slow reader never grows server memory
 * without bound.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from '../../peers/ws.js';
import { METHODS, TENANT_HEADER, type A2AMethod } from '../protocol/constants.js';
import { A2A_ERRORS, A2AProtocolError, asProtocolError } from '../protocol/errors.js';
import { isObject } from '../protocol/validate.js';
import type { A2AAuthorizeRequest, A2APrincipal, A2AServer } from '../server/a2a-server.js';
import type { A2AOperations, OperationContext } from '../server/operations.js';
import { createLogger, logErrorsTo } from '../../security/redacting-logger.js';
import { createFrameCodec, type FrameCodec, WS_JSON_PROTOCOL, WS_MSGPACK_PROTOCOL } from './frames.js';

export interface A2AWebSocketOptions {
  /** The HTTP A2A server whose task manager is shared. */
  server: A2AServer;
  /** Upgrade path. Default `/a2a/ws`. */
  path?: string;
  /**
   * Authenticates the upgrade request; undefined refuses it (401). Default:
   * the HTTP server's `auth` hook, so the endpoint is never more open than HTTP.
   */
  auth?: (req: IncomingMessage) => A2APrincipal | undefined | Promise<A2APrincipal | undefined>;
  /**
   * Scopes and rate limits per frame (each `get`, `cancel`, `subscribe` is one
   * operation). Default: the HTTP server's `authorize` hook.
   */
  authorize?: (request: A2AAuthorizeRequest) => void | Promise<void>;
  /** Ignored: the HTTP server's `defaultTenant` applies (`?tenant=` or the `X-Penguiflow-Tenant` header choose another without auth). */
  defaultTenant?: string;
  /** Ping interval. Default 15 s. */
  heartbeatMs?: number;
  /** Unsent bytes past which the connection is closed (1013). Default 4 MiB. */
  maxBufferedBytes?: number;
  /** Largest accepted client frame. Default 64 KiB. */
  maxFrameBytes?: number;
  /** Subscriptions per connection. Default 64. */
  maxSubscriptions?: number;
  /** Concurrent connections. Default 1,024. */
  maxConnections?: number;
  /** Concurrent connections of one tenant. Default a quarter of `maxConnections`. */
  maxConnectionsPerTenant?: number;
  onError?: (error: unknown, fields: Record<string, unknown>) => void;
}

export interface A2AWebSocketEndpoint {
  /** Handles `upgrade` events of `server` for the endpoint's path (other paths are left alone). */
  attach(server: Server): void;
  /** For custom routing: hands one upgrade to the endpoint. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Counters (tests, metrics). */
  stats(): { connections: number; subscriptions: number; slowDisconnects: number; heartbeatTimeouts: number };
  /** Closes every connection (1001) and stops the heartbeat. */
  close(): Promise<void>;
}

const TENANT_RE = /^[A-Za-z0-9._:@-]{1,128}$/;

/** The A2A operation behind each client frame op (what authorization sees); `unsubscribe` only ends the connection's own subscription. */
export const WS_OPERATIONS: Readonly<Record<'get' | 'cancel' | 'subscribe', A2AMethod>> = { get: METHODS.getTask, cancel: METHODS.cancelTask, subscribe: METHODS.subscribeToTask };

interface Conn {
  ws: WebSocket;
  tenant: string;
  req: IncomingMessage;
  principal: A2APrincipal | undefined;
  codec: FrameCodec;
  subs: Map<string, () => void>;
  alive: boolean;
}

/**
 * A WebSocket endpoint for live task/trace events next to an A2A server.
 *
 * @example
 * const a2a = createA2AServer({ flow, store, card });
 * const http = createServer(a2a.handler);
 * const ws = createA2AWebSocketEndpoint({ server: a2a });
 * ws.attach(http);
 * http.listen(8080);
 */
export function createA2AWebSocketEndpoint(options: A2AWebSocketOptions): A2AWebSocketEndpoint {
  const path = options.path ?? '/a2a/ws';
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const maxBuffered = options.maxBufferedBytes ?? 4 * 1024 * 1024;
  const maxSubs = options.maxSubscriptions ?? 64;
  const maxConnections = options.maxConnections ?? 1024;
  const maxPerTenant = options.maxConnectionsPerTenant ?? Math.max(1, Math.floor(maxConnections / 4));
  const gate = options.server.gate;
  // Default: the redacting logger (error name, code, a hash of the message; never payloads or tokens).
  const onError = options.onError ?? logErrorsTo(createLogger({ base: { component: 'penguiflow/a2a/ws' } }));
  const counters = { slowDisconnects: 0, heartbeatTimeouts: 0 };
  const conns = new Set<Conn>();
  const perTenant = new Map<string, number>();
  const operations = (): A2AOperations => options.server.operations('http://127.0.0.1');

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxFrameBytes ?? 64 * 1024,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has(WS_MSGPACK_PROTOCOL) ? WS_MSGPACK_PROTOCOL : protocols.has(WS_JSON_PROTOCOL) ? WS_JSON_PROTOCOL : false),
  });

  /** Authenticates the upgrade and resolves the connection's tenant (the gate checks it again per frame). */
  const open = async (req: IncomingMessage): Promise<{ tenant: string; principal: A2APrincipal | undefined }> => {
    const url = new URL(req.url ?? '/', 'http://x');
    const requested = url.searchParams.get('tenant') ?? undefined;
    let principal: A2APrincipal | undefined;
    if (options.auth) {
      principal = await options.auth(req);
      if (!principal) throw new A2AProtocolError('UNAUTHENTICATED');
    } else principal = await gate.authenticate(req);
    let tenant: string;
    if (principal) {
      const allowed = principal.tenants ?? [principal.tenant];
      if (requested !== undefined && requested !== principal.tenant && !allowed.includes(requested)) throw new A2AProtocolError('PERMISSION_DENIED');
      tenant = requested ?? principal.tenant;
    } else {
      const h = req.headers[TENANT_HEADER.toLowerCase()];
      tenant = requested ?? (Array.isArray(h) ? h[0] : h) ?? gate.defaultTenant;
    }
    if (!TENANT_RE.test(tenant)) throw new A2AProtocolError('INVALID_PARAMS', { message: 'tenant must be 1-128 characters of [A-Za-z0-9._:@-]' });
    return { tenant, principal };
  };

  /** Every frame operation goes through the gate: scope and rate limit per frame. */
  const admit = (c: Conn, op: keyof typeof WS_OPERATIONS): Promise<OperationContext> =>
    gate
      .admit({ req: c.req, transport: 'WEBSOCKET', operation: WS_OPERATIONS[op], requestedTenant: c.tenant, principal: c.principal, authorize: options.authorize })
      .then((scope) => ({ scope }));

  const send = (c: Conn, frame: Record<string, unknown>): void => {
    if (c.ws.readyState !== c.ws.OPEN) return;
    if (c.ws.bufferedAmount > maxBuffered) {
      counters.slowDisconnects++;
      drop(c, 1013, 'slow consumer: resubscribe with lastEventId');
      return;
    }
    c.ws.send(c.codec.encode(frame));
  };

  const drop = (c: Conn, code: number, reason: string): void => {
    for (const stop of c.subs.values()) stop();
    c.subs.clear();
    c.ws.close(code, reason);
    // a peer that does not read will not complete the close handshake either
    setTimeout(() => c.ws.terminate(), 1_000).unref();
  };

  const errorFrame = (error: unknown, id?: unknown, taskId?: string): Record<string, unknown> => {
    const e = asProtocolError(error);
    if (e.reason === 'INTERNAL_ERROR') onError(error, { where: 'ws', taskId });
    const frame: Record<string, unknown> = { op: 'error', error: { code: A2A_ERRORS[e.reason].code, reason: e.reason, message: e.reason === 'INTERNAL_ERROR' ? A2A_ERRORS.INTERNAL_ERROR.message : e.message, ...(e.metadata ? { metadata: e.metadata } : {}) } };
    if (id !== undefined) frame.id = id;
    if (taskId !== undefined) frame.taskId = taskId;
    return frame;
  };

  const onFrame = async (c: Conn, data: RawData, isBinary: boolean): Promise<void> => {
    const frame = c.codec.decode(data, isBinary);
    const id = frame.id;
    // a task id is the flow's trace id: `traceId` is accepted as an alias
    const taskId = frame.taskId ?? frame.traceId;
    if (typeof taskId !== 'string' || taskId === '' || taskId.length > 256) throw new A2AProtocolError('INVALID_PARAMS', { message: 'taskId is required', violations: [{ field: 'taskId', description: 'is required' }] });
    switch (frame.op) {
      case 'subscribe': {
        const ctx = await admit(c, 'subscribe');
        if (c.subs.has(taskId)) return send(c, { op: 'subscribed', id, taskId });
        if (c.subs.size >= maxSubs) throw new A2AProtocolError('RESOURCE_EXHAUSTED', { message: 'Too many subscriptions on this connection', metadata: { maxSubscriptions: String(maxSubs) } });
        const release = gate.admitStream(ctx.scope.tenant);
        const last = frame.lastEventId;
        const after = typeof last === 'number' && Number.isInteger(last) && last >= 0 ? last : undefined;
        let subscribed = false;
        const pending: Record<string, unknown>[] = [];
        const out = (f: Record<string, unknown>) => (subscribed ? send(c, f) : pending.push(f));
        c.subs.set(taskId, release);
        try {
          const stop = await operations().subscribe(ctx, taskId, after, {
            event: (e) => out({ op: 'event', taskId, seq: e.seq, event: e.event }),
            end: () => {
              c.subs.delete(taskId);
              release();
              out({ op: 'end', taskId });
            },
          });
          const both = () => {
            stop();
            release();
          };
          if (c.subs.has(taskId)) c.subs.set(taskId, both);
          else both();
        } catch (error) {
          c.subs.delete(taskId);
          release();
          throw error;
        }
        subscribed = true;
        send(c, { op: 'subscribed', id, taskId });
        for (const f of pending) send(c, f);
        return;
      }
      case 'unsubscribe': {
        c.subs.get(taskId)?.();
        c.subs.delete(taskId);
        return send(c, { op: 'unsubscribed', id, taskId });
      }
      case 'cancel':
        return send(c, { op: 'result', id, task: await operations().cancelTask(await admit(c, 'cancel'), taskId) });
      case 'get':
        return send(c, { op: 'result', id, task: await operations().getTask(await admit(c, 'get'), taskId, undefined) });
      default:
        throw new A2AProtocolError('METHOD_NOT_FOUND', { message: 'op must be subscribe, unsubscribe, cancel or get' });
    }
  };

  const accept = (ws: WebSocket, req: IncomingMessage, tenant: string, principal: A2APrincipal | undefined): void => {
    perTenant.set(tenant, (perTenant.get(tenant) ?? 0) + 1);
    const c: Conn = { ws, tenant, req, principal, codec: createFrameCodec(ws.protocol === WS_MSGPACK_PROTOCOL ? 'msgpack' : 'json'), subs: new Map(), alive: true };
    conns.add(c);
    ws.on('pong', () => {
      c.alive = true;
    });
    ws.on('message', (data, isBinary) => {
      onFrame(c, data, isBinary).catch((error: unknown) => {
        let id: unknown;
        let taskId: string | undefined;
        try {
          const f = c.codec.decode(data, isBinary);
          id = f.id;
          const t = f.taskId ?? f.traceId;
          taskId = typeof t === 'string' ? t : undefined;
        } catch {
          id = undefined;
        }
        send(c, errorFrame(error, id, taskId));
      });
    });
    ws.on('close', () => {
      for (const stop of c.subs.values()) stop();
      c.subs.clear();
      conns.delete(c);
      const n = (perTenant.get(tenant) ?? 1) - 1;
      if (n <= 0) perTenant.delete(tenant);
      else perTenant.set(tenant, n);
    });
    ws.on('error', () => ws.terminate());
  };

  const heartbeat = setInterval(() => {
    for (const c of conns) {
      if (!c.alive) {
        counters.heartbeatTimeouts++;
        for (const stop of c.subs.values()) stop();
        c.subs.clear();
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }, heartbeatMs);
  heartbeat.unref();

  const refuse = (socket: Duplex, status: number, text: string) => {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };

  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    if (conns.size >= maxConnections) return refuse(socket, 503, 'Service Unavailable');
    open(req).then(
      ({ tenant, principal }) => {
        if (socket.destroyed) return;
        if ((perTenant.get(tenant) ?? 0) >= maxPerTenant) return refuse(socket, 503, 'Service Unavailable');
        wss.handleUpgrade(req, socket, head, (ws) => accept(ws, req, tenant, principal));
      },
      (error: unknown) => {
        const reason = asProtocolError(error).reason;
        const status = A2A_ERRORS[reason].http;
        refuse(socket, status, status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Bad Request');
      },
    );
  };

  return {
    handleUpgrade,
    attach(server) {
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        const url = req.url ?? '/';
        const q = url.indexOf('?');
        if ((q < 0 ? url : url.slice(0, q)) === path) handleUpgrade(req, socket, head);
      });
    },
    stats: () => ({ connections: conns.size, subscriptions: [...conns].reduce((n, c) => n + c.subs.size, 0), ...counters }),
    async close() {
      clearInterval(heartbeat);
      for (const c of conns) drop(c, 1001, 'server closing');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** True when `value` is an object frame (used by clients parsing server frames). */
export function isWsFrame(value: unknown): value is Record<string, unknown> & { op: string } {
  return isObject(value) && typeof value.op === 'string';
}
