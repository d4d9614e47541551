/**
 * `createA2AServer`: a flow served as an A2A v1.0 agent over JSON-RPC,
 * HTTP+JSON/REST and SSE, with the v0.3 JSON-RPC dialect on the same endpoint.
 *
 * Built on Node's `http` module with a ten-route matcher rather than express:
 * the routes are fixed by the spec, SSE needs direct control of the socket
 * (backpressure, idle cut-off, close detection), the body limit must apply
 * before any parsing, and the per-request overhead is what the benchmark
 * compares against the SDK's express server. `handler` is a plain
 * `(req, res)` function, so it also mounts inside express or any Node server.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { InvalidOptionsError } from '../../errors/index.js';
import type { StateStore } from '../../protocols/state-store.js';
import { hasTaskStore } from '../../protocols/store-capabilities.js';
import {
  A2A_PROTOCOL_VERSION,
  AGENT_CARD_PATH,
  JSON_CONTENT_TYPE,
  LEGACY_AGENT_CARD_PATH,
} from '../protocol/constants.js';
import { A2AProtocolError, toRestError } from '../protocol/errors.js';
import { cardToLegacy } from '../protocol/legacy.js';
import type { AgentCard } from '../protocol/types.js';
import { buildCard, JSONRPC_PATH, REST_PATH, type A2ACardOptions } from './agent-card.js';
import type { BindingContext } from './binding-context.js';
import type { A2AFlowHandle } from './flow-handle.js';
import { header, requestedVersion, sendJson } from './http-io.js';
import { handleJsonRpc } from './jsonrpc-binding.js';
import { A2AOperations } from './operations.js';
import { handleRest } from './rest-binding.js';
import { TaskManager, type PayloadCodec, type RequestScope } from './task-manager.js';
import { createAdmissionGate, type A2AAuthorizeRequest, type A2APrincipal, type AdmissionGate } from './gate.js';
import { PushNotifier, type A2APushOptions } from './push-notifier.js';
import { withHttpCompression, type HttpCompressionOptions } from '../compression.js';
import { createLogger, logErrorsTo } from '../../security/redacting-logger.js';
import { createWebhookGuard } from '../../security/safe-fetch.js';
import type { AgentRegistry } from '../../protocols/agent-registry.js';
import { registerAgent, type AgentRegistration } from '../../registry/register-agent.js';

export type { A2APrincipal, A2AAuthorizeRequest, A2ATransport } from './gate.js';
export { A2A_TRANSPORTS } from './gate.js';

export interface A2AServerLimits {
  /** Default 1 MiB. Larger bodies get 413 (REST) or 413 + -32600 (JSON-RPC). */
  maxBodyBytes?: number;
  /** Concurrent streams (SSE, gRPC, WebSocket subscriptions); past it 503 + RESOURCE_EXHAUSTED. Default 256. */
  maxStreams?: number;
  /** Concurrent streams of one tenant, so one tenant cannot take every slot. Default a quarter of `maxStreams` (at least 1). */
  maxStreamsPerTenant?: number;
  /** A stream with no task event for this long is closed (resubscribe with Last-Event-ID). Default 300 s. */
  streamIdleTimeoutMs?: number;
  /** SSE comment heartbeat. Default 15 s. */
  heartbeatMs?: number;
  /** Time to receive a whole request (headers and body). Default 30 s. */
  requestTimeoutMs?: number;
  /** Longest a blocking SendMessage waits before returning the task as it is. Default 60 s. */
  blockingTimeoutMs?: number;
  /** Unsent SSE bytes past which a slow consumer is disconnected. Default 4 MiB. */
  maxBufferedStreamBytes?: number;
  /** Replicas on one store: how often a task run by another process is polled for subscribers and blocking waits. Default 250 ms. */
  replicaPollMs?: number;
}

export interface A2AServerOptions {
  /** The flow to serve (a penguiflow `Flow`, or anything with emit/outputs/cancel). */
  flow: A2AFlowHandle;
  card: A2ACardOptions;
  /** A StateStore with the tasks capability (memory, SQLite, Postgres). */
  store: StateStore;
  /**
   * Authenticates a request and decides its tenant. Return undefined to
   * refuse (401). Without it, the tenant comes from the `/{tenant}` REST
   * prefix, `params.tenant`, the `X-Penguiflow-Tenant` header or the penguiflow
   * extension metadata, else `defaultTenant`: a namespace, not a security boundary.
   */
  auth?: (req: IncomingMessage) => A2APrincipal | undefined | Promise<A2APrincipal | undefined>;
  /**
   * Called for every operation once the tenant is known; throw an
   * `A2AProtocolError` (PERMISSION_DENIED, RATE_LIMITED, …) to refuse.
   * `createA2ASecurity` (`penguiflow/security`) supplies `auth` and this hook
   * (scopes per operation, rate limits).
   */
  authorize?: (request: A2AAuthorizeRequest) => void | Promise<void>;
  defaultTenant?: string;
  /** Base URL advertised in the card; default: from the request's Host header. */
  publicUrl?: string;
  /** Serve the v0.3 JSON-RPC dialect (no/`0.3` A2A-Version). Default true. */
  legacy?: boolean;
  /** Enables GetExtendedAgentCard. */
  extendedCard?: AgentCard | ((scope: RequestScope) => AgentCard | Promise<AgentCard>);
  codec?: PayloadCodec;
  /** Push notifications (webhooks). Off unless `push.enabled`. */
  push?: A2APushOptions;
  limits?: A2AServerLimits;
  /** Internal failures, with ids only (never payloads). Default: a redacting logger on stderr (`penguiflow/security`). */
  onError?: (error: unknown, fields: Record<string, unknown>) => void;
  /** HTTP compression for the server started by `listen` (see `withHttpCompression`; `handler` itself stays uncompressed). */
  compression?: HttpCompressionOptions;
  /** Called with the Node server `listen` created, before it listens (e.g. `(srv) => ws.attach(srv)` for the WebSocket endpoint). */
  onListen?: (server: Server) => void;
  /**
   * Registers this server in an agent registry when it listens (heartbeats
   * with its load) and deregisters on close, so callers find it by name or
   * skill (`agent://name`). `url`: what callers use; default the listen URL.
   */
  registry?: { registry: AgentRegistry; url?: string; capacity?: number; heartbeatMs?: number };
}

export interface A2AServer {
  /** `(req, res)` handler: mount it in any Node HTTP server or express app. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  readonly tasks: TaskManager;
  /** Waits for queued webhook deliveries (tests, shutdown). */
  pushIdle(): Promise<void>;
  /** The card as served for `baseUrl`. */
  card(baseUrl: string): AgentCard;
  /**
   * The admission gate every entry point goes through (authentication, tenant,
   * `authorize`, stream quotas). The gRPC and WebSocket endpoints use it.
   */
  readonly gate: AdmissionGate;
  /** The operations as served for `baseUrl` (same extended card and push configs as HTTP). */
  operations(baseUrl: string): A2AOperations;
  /**
   * Starts an HTTP server (default 127.0.0.1, port 0 = any free port), or
   * HTTPS with `tls` (`cert`, `key`, `ca`; `requestCert` + `rejectUnauthorized`
   * for mutual TLS — see `tlsServerOptions` in `penguiflow/security`).
   */
  listen(options?: { port?: number; host?: string; tls?: HttpsServerOptions }): Promise<{ url: string; port: number }>;
  /** Stops accepting, ends open streams, closes connections. */
  close(): Promise<void>;
}

/**
 * Serves a flow as an A2A agent.
 *
 * @example
 * const server = createA2AServer({ flow, store: new InMemoryStateStore(), card: { name: 'echo', description: 'Echoes' } });
 * const { url } = await server.listen({ port: 8080 });
 */
const HOST_RE = /^(?:[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

export function createA2AServer(options: A2AServerOptions): A2AServer {
  const store = options.store;
  if (!hasTaskStore(store)) throw new InvalidOptionsError('createA2AServer needs a StateStore with the tasks capability (TaskStore)');
  const legacy = options.legacy !== false;
  const limits = options.limits ?? {};
  const maxStreams = limits.maxStreams ?? 256;
  const defaultTenant = options.defaultTenant ?? 'default';
  // Default: a redacting JSON logger on stderr (error name, code and a hash of the message; never payloads or tokens).
  const onError = options.onError ?? logErrorsTo(createLogger({ base: { component: 'penguiflow/a2a' } }));
  const pushOn = options.push?.enabled === true;
  // Secure by default: webhooks are checked at registration and pinned at delivery by the SSRF guard unless the caller supplies both hooks.
  const webhookGuard = pushOn && (!options.push?.allowUrl || !options.push.fetch) ? createWebhookGuard(options.push?.outbound ?? {}) : undefined;
  const pushOptions: A2APushOptions | undefined = pushOn
    ? { ...options.push, allowUrl: options.push?.allowUrl ?? webhookGuard!.allowUrl, fetch: options.push?.fetch ?? webhookGuard!.fetch }
    : undefined;
  const notifier = pushOptions ? new PushNotifier(pushOptions, onError) : undefined;
  const tasks = new TaskManager({
    flow: options.flow,
    store,
    onError,
    ...(options.codec ? { codec: options.codec } : {}),
    ...(notifier ? { notifier } : {}),
    ...(pushOptions?.allowUrl ? { allowPushUrl: pushOptions.allowUrl } : {}),
    ...(limits.replicaPollMs !== undefined ? { pollMs: limits.replicaPollMs } : {}),
  });
  const pushConfigs = pushOn ? tasks.pushConfigs() : undefined;
  const cards = new Map<string, AgentCard>();
  const cardFor = (base: string): AgentCard => {
    let card = cards.get(base);
    if (!card) {
      card = buildCard(options.card, base, { legacy, extendedCard: options.extendedCard !== undefined, push: pushOn });
      if (cards.size > 16) cards.clear();
      cards.set(base, card);
    }
    return card;
  };
  // Without publicUrl the card follows the Host header: only a well-formed host:port is used, and the reply varies on Host.
  const baseOf = (req: IncomingMessage) => {
    if (options.publicUrl) return options.publicUrl;
    const h = header(req, 'host');
    const host = h !== undefined && HOST_RE.test(h) ? h : '127.0.0.1';
    return `${'encrypted' in req.socket ? 'https' : 'http'}://${host}`;
  };
  const opsFor = new WeakMap<AgentCard, A2AOperations>();
  const operations = (card: AgentCard): A2AOperations => {
    let ops = opsFor.get(card);
    if (!ops) {
      ops = new A2AOperations(tasks, {
        card,
        blockingTimeoutMs: limits.blockingTimeoutMs ?? 60_000,
        ...(options.extendedCard !== undefined ? { extendedCard: options.extendedCard } : {}),
        ...(pushConfigs ? { push: pushConfigs } : {}),
      });
      opsFor.set(card, ops);
    }
    return ops;
  };

  const liveStreams = new Set<ServerResponse>();
  const gate = createAdmissionGate({
    auth: options.auth,
    authorize: options.authorize,
    defaultTenant,
    streams: { maxStreams, maxStreamsPerTenant: limits.maxStreamsPerTenant ?? Math.max(1, Math.floor(maxStreams / 4)) },
  });
  // Bindings authenticate before reading the body (an anonymous caller cannot make the server buffer and parse it).
  const preauthenticate = async (req: IncomingMessage): Promise<void> => {
    await gate.authenticate(req);
  };

  const sse = {
    heartbeatMs: limits.heartbeatMs ?? 15_000,
    idleTimeoutMs: limits.streamIdleTimeoutMs ?? 300_000,
    maxBufferedBytes: limits.maxBufferedStreamBytes ?? 4 * 1024 * 1024,
  };
  const bindingFor = (req: IncomingMessage, res: ServerResponse): BindingContext => ({
    ops: operations(cardFor(baseOf(req))),
    maxBodyBytes: limits.maxBodyBytes ?? 1024 * 1024,
    legacy,
    sse,
    admitStream: (tenant) => {
      const release = gate.admitStream(tenant);
      liveStreams.add(res);
      return () => {
        release();
        liveStreams.delete(res);
      };
    },
    admit: (request) => gate.admit(request),
    preauthenticate,
    onError,
  });

  const serveCard = (req: IncomingMessage, res: ServerResponse) => {
    const card = cardFor(baseOf(req));
    const version = requestedVersion(req, undefined);
    const body = version !== A2A_PROTOCOL_VERSION && legacy ? cardToLegacy(card) : card;
    sendJson(res, 200, JSON.stringify(body), JSON_CONTENT_TYPE, { 'Cache-Control': 'public, max-age=60', Vary: options.publicUrl ? 'A2A-Version' : 'A2A-Version, Host' });
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const method = req.method ?? 'GET';
    if (method === 'GET' && (path === AGENT_CARD_PATH || path === LEGACY_AGENT_CARD_PATH)) return serveCard(req, res);
    if (method === 'POST' && (path === JSONRPC_PATH || path === '/')) return handleJsonRpc(bindingFor(req, res), req, res);
    if (path === REST_PATH || path.startsWith(REST_PATH + '/')) {
      const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
      return handleRest(bindingFor(req, res), req, res, path.slice(REST_PATH.length), query);
    }
    const { status, body } = toRestError(new A2AProtocolError('METHOD_NOT_FOUND', { message: `Nothing at ${method} ${path}` }));
    sendJson(res, status, JSON.stringify(body), JSON_CONTENT_TYPE);
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    route(req, res).catch((error: unknown) => {
      onError(error, { where: 'route' });
      if (!res.headersSent) sendJson(res, 500, JSON.stringify(toRestError(error).body), JSON_CONTENT_TYPE);
      else if (!res.writableEnded) res.end();
    });
  };

  let server: Server | undefined;
  let registration: AgentRegistration | undefined;
  const api: A2AServer = {
    handler,
    tasks,
    pushIdle: () => notifier?.idle() ?? Promise.resolve(),
    card: cardFor,
    gate,
    operations: (baseUrl) => operations(cardFor(baseUrl)),
    async listen(listenOptions = {}) {
      const requestTimeout = limits.requestTimeoutMs ?? 30_000;
      // Node checks request/headers timeouts every connectionsCheckingInterval (default 30 s): keep it a fraction of the timeout so slow bodies are cut on time.
      const connectionsCheckingInterval = Math.max(250, Math.min(5_000, Math.floor(requestTimeout / 4)));
      const timeouts = { requestTimeout, headersTimeout: Math.min(requestTimeout, 20_000), keepAliveTimeout: 5_000, connectionsCheckingInterval };
      // compressed bodies are inflated only for an authenticated caller
      const served = options.compression ? withHttpCompression(handler, { admit: preauthenticate, ...options.compression }) : handler;
      const srv: Server = listenOptions.tls ? createHttpsServer({ ...listenOptions.tls, ...timeouts }, served) : createServer(timeouts, served);
      server = srv;
      options.onListen?.(srv);
      const host = listenOptions.host ?? '127.0.0.1';
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(listenOptions.port ?? 0, host, () => {
          srv.off('error', reject);
          resolve();
        });
      });
      const port = (srv.address() as AddressInfo).port;
      const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
      const url = `${listenOptions.tls ? 'https' : 'http'}://${shownHost}:${port}`;
      const reg = options.registry;
      if (reg !== undefined) {
        registration = await registerAgent({
          registry: reg.registry,
          server: api,
          url: reg.url ?? url,
          ...(reg.capacity === undefined ? {} : { capacity: reg.capacity }),
          ...(reg.heartbeatMs === undefined ? {} : { heartbeatMs: reg.heartbeatMs }),
        });
      }
      return { url, port };
    },
    async close() {
      await registration?.close(); // callers stop choosing it before it stops answering
      registration = undefined;
      await webhookGuard?.close();
      for (const res of liveStreams) res.end();
      const srv = server;
      if (!srv) return;
      await new Promise<void>((resolve) => {
        srv.close(() => resolve());
        srv.closeIdleConnections();
        setTimeout(() => srv.closeAllConnections(), 1_000).unref();
      });
    },
  };
  return api;
}
