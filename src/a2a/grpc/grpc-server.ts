/**
 * `createA2AGrpcServer`: the A2A v1.0 gRPC binding (`lf.a2a.v1.A2AService`)
 * on the same task manager as an {@link A2AServer}, so JSON-RPC, REST and
 * gRPC share one task store, one event log and one idempotency table.
 *
 * The protobuf wire codec is the spec proto compiled by `@a2a-js/sdk`
 * (`A2AService` from `@a2a-js/sdk/server/grpc`, and the SDK's `toJSON` /
 * `fromJSON` for the ProtoJSON form). Every request is turned into the JSON
 * shape and validated by the same functions as the HTTP bindings, so an
 * invalid request gets the same `INVALID_PARAMS` with field violations.
 */
import type { IncomingMessage } from 'node:http';
import type { PeerCertificate } from 'node:tls';
import { A2AService, grpc, pb } from '../../peers/grpc.js';
import { A2A_PROTOCOL_VERSION, METHODS, TENANT_HEADER, type A2AMethod } from '../protocol/constants.js';
import { A2AProtocolError, invalidParams } from '../protocol/errors.js';
import { isObject, parseGetTaskRequest, parseListTasksRequest, parsePushConfig, parseSendMessageRequest, parseTaskIdRequest } from '../protocol/validate.js';
import type { A2AAuthorizeRequest, A2APrincipal, A2AServer } from '../server/a2a-server.js';
import type { A2AOperations, OperationContext, StreamSink } from '../server/operations.js';
import type { RequestScope } from '../server/task-manager.js';
import { GRPC_STATUS_DETAILS_KEY, toGrpcError } from './status.js';
import { createLogger, logErrorsTo } from '../../security/redacting-logger.js';

/** The gRPC metadata key for the protocol version (`A2A-Version`, lower-cased as gRPC requires). */
export const GRPC_VERSION_KEY = 'a2a-version';
/** Optional resume point for SubscribeToTask (a seq of the per-task event log), like SSE's `Last-Event-ID`. */
export const GRPC_LAST_EVENT_ID_KEY = 'last-event-id';

/** What grpc-js knows about the transport of a call (`sslPeerCertificate` under mutual TLS). */
export interface GrpcAuthContext {
  transportSecurityType?: string;
  sslPeerCertificate?: PeerCertificate;
}

export interface A2AGrpcServerOptions {
  /** The HTTP server whose task manager and card are shared. */
  server: A2AServer;
  /** Base URL of the HTTP server, for the card whose capabilities gRPC follows. Default `http://127.0.0.1`. */
  publicUrl?: string;
  /**
   * Authenticates a call from its metadata (and peer). Return undefined to
   * refuse (UNAUTHENTICATED). Without it, the tenant is the request's
   * `tenant` field, else the `x-penguiflow-tenant` metadata, else `defaultTenant`.
   * `authContext.sslPeerCertificate` is the client certificate under mutual TLS.
   */
  auth?: (metadata: grpc.Metadata, peer: string, authContext: GrpcAuthContext) => A2APrincipal | undefined | Promise<A2APrincipal | undefined>;
  /**
   * The HTTP server's `auth` hook (e.g. `createA2ASecurity(...).auth`), reused
   * for gRPC when `auth` is not given: it sees the metadata as lower-cased
   * headers and the client certificate as `req.socket.getPeerCertificate()`,
   * so API keys, bearer JWTs and mTLS work unchanged.
   */
  httpAuth?: (req: IncomingMessage) => A2APrincipal | undefined | Promise<A2APrincipal | undefined>;
  /** The HTTP server's `authorize` hook (scopes, rate limits), called per call with the v1.0 method name as `operation`. */
  authorize?: (request: A2AAuthorizeRequest) => void | Promise<void>;
  /** Ignored: the HTTP server's `defaultTenant` applies, so every entry point resolves tenants the same way. */
  defaultTenant?: string;
  /** Longest a blocking SendMessage waits. Default 60 s. */
  blockingTimeoutMs?: number;
  /** Messages queued on one stream past which the slow reader is cut off (RESOURCE_EXHAUSTED). Default 1,024. */
  maxBufferedMessages?: number;
  /** Largest request message in bytes. Default 1 MiB. */
  maxMessageBytes?: number;
  /** Internal failures, with ids only. Default: the redacting logger on stderr. */
  onError?: (error: unknown, fields: Record<string, unknown>) => void;
}

export interface A2AGrpcServer {
  /** The grpc-js server (add other services, inspect). */
  readonly grpc: grpc.Server;
  /**
   * Binds (default 127.0.0.1, port 0; `credentials` default insecure, pass
   * `grpc.ServerCredentials.createSsl(...)` for TLS). `target` is `host:port`,
   * the form an AgentInterface with `protocolBinding: 'GRPC'` carries.
   */
  listen(options?: { port?: number; host?: string; credentials?: grpc.ServerCredentials }): Promise<{ target: string; port: number }>;
  /** The card entry for this server (add it with `card.additionalInterfaces`). */
  cardInterface(target: string): { url: string; protocolBinding: 'GRPC'; protocolVersion: string };
  /** Open server streams (tests, metrics). */
  stats(): { streams: number };
  /** Ends open streams and stops (forced after 1 s). */
  close(): Promise<void>;
}

/** The A2A operation behind each gRPC method of `lf.a2a.v1.A2AService` (what authorization sees). */
export const GRPC_OPERATIONS: Readonly<Record<string, A2AMethod>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, A2AMethod>, Object.fromEntries(Object.values(METHODS).map((m) => [m, m]))),
);

type Json = Record<string, unknown>;
interface ToJson {
  toJSON(this: void, message: never): unknown;
}
type SurfaceCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>;
type Unary = (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => void;
type Streaming = (call: grpc.ServerWritableStream<unknown, unknown>) => void;

function firstString(md: grpc.Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  return v === undefined ? undefined : typeof v === 'string' ? v : v.toString('utf8');
}

/** What an HTTP auth hook reads, built from a gRPC call: headers from metadata, the client certificate from the TLS context. */
function requestLike(md: grpc.Metadata, ctx: GrpcAuthContext, path: string): IncomingMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(md.getMap())) if (!k.endsWith('-bin')) headers[k] = typeof v === 'string' ? v : v.toString('utf8');
  const cert = ctx.sslPeerCertificate;
  // grpc-js reports sslPeerCertificate only when the TLS socket is authorized (the certificate verified against the CA)
  const socket = { getPeerCertificate: () => cert ?? {}, authorized: cert !== undefined, remoteAddress: undefined };
  return { headers, socket, method: 'POST', url: path } as unknown as IncomingMessage;
}

function errorFor(error: unknown): Partial<grpc.StatusObject> {
  const { code, message, details } = toGrpcError(error);
  const metadata = new grpc.Metadata();
  metadata.set(GRPC_STATUS_DETAILS_KEY, Buffer.from(details));
  return { code, details: message, metadata };
}

/**
 * Serves the A2A gRPC binding next to an HTTP A2A server.
 *
 * @example
 * const http = createA2AServer({ flow, store, card: { name: 'echo', description: 'Echoes', additionalInterfaces: [] } });
 * const grpcServer = createA2AGrpcServer({ server: http });
 * const { target } = await grpcServer.listen({ port: 50051 });
 */
export function createA2AGrpcServer(options: A2AGrpcServerOptions): A2AGrpcServer {
  const http = options.server;
  const maxBuffered = options.maxBufferedMessages ?? 1024;
  // Default: the redacting logger (error name, code, a hash of the message; never payloads or tokens).
  const onError = options.onError ?? logErrorsTo(createLogger({ base: { component: 'penguiflow/a2a/grpc' } }));
  const httpAuth = options.httpAuth;
  const operations = (): A2AOperations => http.operations(options.publicUrl ?? 'http://127.0.0.1');
  const methodOf = (call: SurfaceCall): A2AMethod => {
    const name = call.getPath().split('/').pop() ?? '';
    const op = GRPC_OPERATIONS[name];
    if (op === undefined) throw new A2AProtocolError('METHOD_NOT_FOUND', { message: `No A2A operation ${name.slice(0, 64)}` });
    return op;
  };

  const scopeOf = async (call: SurfaceCall, json: Json): Promise<RequestScope> => {
    const md = call.metadata;
    const version = firstString(md, GRPC_VERSION_KEY);
    if (version !== A2A_PROTOCOL_VERSION) {
      throw new A2AProtocolError('VERSION_NOT_SUPPORTED', {
        message: `A2A version '${version ?? ''}' is not supported over gRPC; send a2a-version: ${A2A_PROTOCOL_VERSION}`,
        metadata: { supportedVersions: A2A_PROTOCOL_VERSION },
      });
    }
    const requested = typeof json.tenant === 'string' && json.tenant !== '' ? json.tenant : undefined;
    const req = requestLike(md, call.getAuthContext(), call.getPath());
    // Authentication: the gRPC hook, else the given HTTP hook, else the HTTP server's own (the gate): a gRPC port is never more open than HTTP.
    let principal: A2APrincipal | undefined;
    if (options.auth || httpAuth) {
      principal = options.auth ? await options.auth(md, call.getPeer(), call.getAuthContext()) : await httpAuth!(req);
      if (!principal) throw new A2AProtocolError('UNAUTHENTICATED');
    }
    return http.gate.admit({
      req,
      transport: 'GRPC',
      operation: methodOf(call),
      requestedTenant: requested ?? firstString(md, TENANT_HEADER.toLowerCase()),
      principal,
      authorize: options.authorize,
    });
  };

  const context = async (call: SurfaceCall, json: Json): Promise<OperationContext> => ({
    scope: await scopeOf(call, json),
    gone: (cb) => call.once('cancelled', cb),
  });

  const unary =
    (codec: ToJson, run: (ctx: OperationContext, json: Json) => Promise<unknown>, toPb: (out: unknown) => unknown): Unary =>
    (call, cb) => {
      void (async () => {
        try {
          const json = codec.toJSON(call.request as never);
          if (!isObject(json)) throw invalidParams('request', 'must be a message');
          const out = await run(await context(call, json), json);
          cb(null, toPb(out));
        } catch (error) {
          if (!(error instanceof A2AProtocolError)) onError(error, { where: 'grpc', method: call.getPath() });
          cb(errorFor(error), null);
        }
      })();
    };

  let openStreams = 0;
  const live = new Set<grpc.ServerWritableStream<unknown, unknown>>();
  const streaming =
    (codec: ToJson, start: (ctx: OperationContext, json: Json, sink: StreamSink, md: grpc.Metadata) => Promise<() => void>): Streaming =>
    (call) => {
      let stop: (() => void) | undefined;
      let done = false;
      let admitted = false;
      let release: (() => void) | undefined;
      const finish = (error?: unknown) => {
        if (done) return;
        done = true;
        stop?.();
        if (admitted) {
          release?.();
          openStreams--;
          live.delete(call);
        }
        if (call.cancelled) return;
        if (error === undefined) call.end();
        else call.emit('error', errorFor(error));
      };
      call.once('cancelled', () => finish());
      const sink: StreamSink = {
        event: (e) => {
          if (done) return;
          if (call.writableLength >= maxBuffered) {
            finish(new A2AProtocolError('RESOURCE_EXHAUSTED', { message: 'Stream reader too slow; resubscribe with last-event-id', metadata: { lastEventId: String(e.seq - 1) } }));
            return;
          }
          call.write(pb.StreamResponse.fromJSON(e.event));
        },
        end: () => finish(),
      };
      void (async () => {
        try {
          const json = codec.toJSON(call.request as never);
          if (!isObject(json)) throw invalidParams('request', 'must be a message');
          const ctx = await context(call, json);
          release = http.gate.admitStream(ctx.scope.tenant);
          openStreams++;
          admitted = true;
          live.add(call);
          const s = await start(ctx, json, sink, call.metadata);
          if (done) s();
          else stop = s;
        } catch (error) {
          if (!(error instanceof A2AProtocolError)) onError(error, { where: 'grpc', method: call.getPath() });
          finish(error);
        }
      })();
    };

  const taskOut = (t: unknown) => pb.Task.fromJSON(t as pb.JsonInput);
  const pushIds = (json: Json): { taskId: string; id: string } => {
    const taskId = json.taskId;
    const id = json.id;
    if (typeof taskId !== 'string' || taskId === '') throw invalidParams('taskId', 'is required');
    if (typeof id !== 'string' || id === '') throw invalidParams('id', 'is required');
    return { taskId, id };
  };

  const impl: grpc.UntypedServiceImplementation = {
    sendMessage: unary(pb.SendMessageRequest, (ctx, json) => operations().sendMessage(ctx, parseSendMessageRequest(json)), (out) => pb.SendMessageResponse.fromJSON(out as pb.JsonInput)),
    sendStreamingMessage: streaming(pb.SendMessageRequest, (ctx, json, sink) => operations().streamMessage(ctx, parseSendMessageRequest(json), sink)),
    subscribeToTask: streaming(pb.SubscribeToTaskRequest, (ctx, json, sink, md) => {
      const { id } = parseTaskIdRequest(json);
      const raw = firstString(md, GRPC_LAST_EVENT_ID_KEY);
      const after = raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
      return operations().subscribe(ctx, id, after, sink);
    }),
    getTask: unary(pb.GetTaskRequest, (ctx, json) => {
      const get = parseGetTaskRequest(json);
      return operations().getTask(ctx, get.id, get.historyLength);
    }, taskOut),
    listTasks: unary(pb.ListTasksRequest, (ctx, json) => operations().listTasks(ctx, parseListTasksRequest(json)), (out) => pb.ListTasksResponse.fromJSON(out as pb.JsonInput)),
    cancelTask: unary(pb.CancelTaskRequest, (ctx, json) => operations().cancelTask(ctx, parseTaskIdRequest(json).id), taskOut),
    getExtendedAgentCard: unary(pb.GetExtendedAgentCardRequest, (ctx) => operations().extendedCard(ctx), (out) => pb.AgentCard.fromJSON(out as pb.JsonInput)),
    createTaskPushNotificationConfig: unary(
      pb.TaskPushNotificationConfig,
      async (ctx, json) => {
        const push = operations().push(ctx, METHODS.createPushConfig);
        const cfg = parsePushConfig(json, 'request');
        if (!cfg.taskId) throw invalidParams('taskId', 'is required');
        return push.create(ctx.scope.tenant, cfg);
      },
      (out) => pb.TaskPushNotificationConfig.fromJSON(out as pb.JsonInput),
    ),
    getTaskPushNotificationConfig: unary(
      pb.GetTaskPushNotificationConfigRequest,
      (ctx, json) => {
        const { taskId, id } = pushIds(json);
        return operations().push(ctx, METHODS.getPushConfig).get(ctx.scope.tenant, taskId, id);
      },
      (out) => pb.TaskPushNotificationConfig.fromJSON(out as pb.JsonInput),
    ),
    listTaskPushNotificationConfigs: unary(
      pb.ListTaskPushNotificationConfigsRequest,
      (ctx, json) => {
        if (typeof json.taskId !== 'string' || json.taskId === '') throw invalidParams('taskId', 'is required');
        return operations().push(ctx, METHODS.listPushConfigs).list(ctx.scope.tenant, json.taskId);
      },
      (out) => pb.ListTaskPushNotificationConfigsResponse.fromJSON(out as pb.JsonInput),
    ),
    deleteTaskPushNotificationConfig: unary(
      pb.DeleteTaskPushNotificationConfigRequest,
      async (ctx, json) => {
        const { taskId, id } = pushIds(json);
        await operations().push(ctx, METHODS.deletePushConfig).delete(ctx.scope.tenant, taskId, id);
        return {};
      },
      () => ({}),
    ),
  };

  const maxBytes = options.maxMessageBytes ?? 1024 * 1024;
  const server = new grpc.Server({ 'grpc.max_receive_message_length': maxBytes, 'grpc.keepalive_permit_without_calls': 1 });
  server.addService(A2AService, impl);

  return {
    grpc: server,
    async listen(listenOptions = {}) {
      const host = listenOptions.host ?? '127.0.0.1';
      const shown = host.includes(':') ? `[${host}]` : host;
      const port = await new Promise<number>((resolve, reject) => {
        server.bindAsync(`${shown}:${listenOptions.port ?? 0}`, listenOptions.credentials ?? grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
      });
      return { target: `${host === '0.0.0.0' ? '127.0.0.1' : shown}:${port}`, port };
    },
    stats: () => ({ streams: openStreams }),
    cardInterface: (target) => ({ url: target, protocolBinding: 'GRPC', protocolVersion: A2A_PROTOCOL_VERSION }),
    async close() {
      for (const call of live) call.end();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1_000);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
