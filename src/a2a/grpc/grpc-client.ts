/**
 * `createA2AGrpcClient`: the A2A v1.0 gRPC binding as a client, speaking the
 * JSON shapes of `penguiflow/a2a` (the same types as the HTTP client). One
 * channel per target, reused by every call (HTTP/2 multiplexes them). Every
 * unary call is bounded by `timeoutMs`, every stream by `streamTimeoutMs`,
 * and both by the caller's `signal`. Wire errors become `PenguiflowError`s
 * (reason from the `google.rpc.ErrorInfo` in `grpc-status-details-bin`).
 */
import { A2AService, grpc, pb } from '../../peers/grpc.js';
import { RemoteUnavailableError, type PenguiflowError } from '../../errors/index.js';
import { fromWireError } from '../client/wire-errors.js';
import { A2A_PROTOCOL_VERSION } from '../protocol/constants.js';
import { ERROR_INFO_TYPE } from '../protocol/errors.js';
import type { AgentCard, GetTaskRequest, ListTasksRequest, ListTasksResponse, SendMessageRequest, SendMessageResponse, StreamResponse, Task } from '../protocol/types.js';
import { GRPC_LAST_EVENT_ID_KEY, GRPC_VERSION_KEY } from './grpc-server.js';
import { decodeStatus, GRPC_CODES, GRPC_STATUS_DETAILS_KEY } from './status.js';

export interface A2AGrpcClientOptions {
  /** Default insecure; `grpc.credentials.createSsl(ca, key, cert)` for TLS / mTLS. */
  credentials?: grpc.ChannelCredentials;
  /** Bound on each unary call. Default 30 s. */
  timeoutMs?: number;
  /** Bound on a whole stream. Default 10 min. */
  streamTimeoutMs?: number;
  /** Extra metadata on every call (e.g. `authorization`). */
  metadata?: Record<string, string>;
  /** Version sent as `a2a-version`. Default `1.0` (tests send others). */
  version?: string;
}

export interface A2AGrpcCallOptions {
  signal?: AbortSignal;
  /** Extra metadata for this call (keys are lower-cased). */
  metadata?: Record<string, string>;
  /** Overrides the client's timeout for this call (ms); `Infinity` leaves the bound to `signal`. */
  timeoutMs?: number;
}

export interface A2AGrpcClient {
  sendMessage(req: SendMessageRequest, options?: A2AGrpcCallOptions): Promise<SendMessageResponse>;
  sendMessageStream(req: SendMessageRequest, options?: A2AGrpcCallOptions): AsyncGenerator<StreamResponse>;
  getTask(req: GetTaskRequest, options?: A2AGrpcCallOptions): Promise<Task>;
  listTasks(req: ListTasksRequest, options?: A2AGrpcCallOptions): Promise<ListTasksResponse>;
  cancelTask(req: { id: string; tenant?: string }, options?: A2AGrpcCallOptions): Promise<Task>;
  /** SubscribeToTask; `lastEventId` replays every logged event after it first. */
  subscribeStream(req: { id: string; tenant?: string }, options?: A2AGrpcCallOptions & { lastEventId?: number }): AsyncGenerator<StreamResponse>;
  getExtendedAgentCard(req?: { tenant?: string }, options?: A2AGrpcCallOptions): Promise<AgentCard>;
  /** Closes the channel. */
  close(): void;
}

type Callback = (err: grpc.ServiceError | null, value?: unknown) => void;
type UnaryFn = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback) => grpc.ClientUnaryCall;
type StreamFn = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions) => grpc.ClientReadableStream<unknown>;

/** A gRPC deadline `ms` from now; none for a non-finite or huge `ms` (timers overflow past 2^31 - 1 ms). */
function deadlineIn(ms: number): grpc.CallOptions {
  return Number.isFinite(ms) && ms < 2 ** 31 - 1 ? { deadline: Date.now() + ms } : {};
}

const ClientCtor = grpc.makeGenericClientConstructor(A2AService, 'A2AService');

/** Maps a gRPC ServiceError to a PenguiflowError (reason from ErrorInfo when present). */
export function fromGrpcServiceError(error: grpc.ServiceError, context: { target: string; method: string; timeoutMs: number }): PenguiflowError {
  const raw = error.metadata?.get(GRPC_STATUS_DETAILS_KEY)[0];
  let reason: string | undefined;
  let metadata: Record<string, string> | undefined;
  if (raw !== undefined) {
    try {
      const st = decodeStatus(typeof raw === 'string' ? Buffer.from(raw, 'binary') : raw);
      reason = st.errorInfo?.reason;
      metadata = st.errorInfo?.metadata;
    } catch {
      reason = undefined;
    }
  }
  const details = { agentUrl: context.target, method: context.method, grpcCode: error.code };
  const code: number = error.code;
  if (reason === undefined) {
    if (code === GRPC_CODES.DEADLINE_EXCEEDED) {
      return new RemoteUnavailableError(`${context.method} timed out after ${context.timeoutMs} ms`, { cause: error, details: { ...details, reason: 'TIMEOUT', timeoutMs: context.timeoutMs } });
    }
    if (code === GRPC_CODES.UNAVAILABLE) return new RemoteUnavailableError(`Cannot reach ${context.target} (${context.method})`, { cause: error, details });
  }
  const e = fromWireError(
    { message: error.details || error.message, details: reason === undefined ? [] : [{ '@type': ERROR_INFO_TYPE, reason, ...(metadata ? { metadata } : {}) }] },
    { agentUrl: context.target, method: context.method },
  );
  if (e.details) e.details.grpcCode = error.code;
  return e;
}

/**
 * A client for an agent's gRPC interface (`host:port` from the card's
 * `GRPC` AgentInterface).
 *
 * @example
 * const client = createA2AGrpcClient('127.0.0.1:50051');
 * const { task } = await client.sendMessage({ message: { messageId: 'm1', role: 'ROLE_USER', parts: [{ text: 'hi' }] } }) as { task: Task };
 * for await (const event of client.subscribeStream({ id: task.id })) console.log(event);
 */
export function createA2AGrpcClient(target: string, options: A2AGrpcClientOptions = {}): A2AGrpcClient {
  const client = new ClientCtor(target, options.credentials ?? grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024 * 1024 }) as unknown as Record<string, UnaryFn & StreamFn> & grpc.Client;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const streamTimeoutMs = options.streamTimeoutMs ?? 600_000;

  const metadataFor = (extra?: Record<string, string>): grpc.Metadata => {
    const md = new grpc.Metadata();
    md.set(GRPC_VERSION_KEY, options.version ?? A2A_PROTOCOL_VERSION);
    for (const [k, v] of Object.entries({ ...options.metadata, ...extra })) md.set(k.toLowerCase(), v);
    return md;
  };

  const unary = <T>(method: string, request: unknown, toJson: (v: unknown) => unknown, call: A2AGrpcCallOptions = {}): Promise<T> => {
    const ms = call.timeoutMs ?? timeoutMs;
    const signal = call.signal;
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<T>((resolve, reject) => {
      const fn: UnaryFn = client[method]!.bind(client);
      const onAbort = () => handle.cancel();
      const handle = fn(request, metadataFor(call.metadata), deadlineIn(ms), (err, value) => {
        signal?.removeEventListener('abort', onAbort);
        if (err) {
          if (signal?.aborted) reject(signal.reason as Error);
          else reject(fromGrpcServiceError(err, { target, method, timeoutMs: ms }));
          return;
        }
        try {
          resolve(toJson(value) as T);
        } catch (e) {
          reject(e);
        }
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  };

  async function* stream(method: string, request: unknown, call: A2AGrpcCallOptions & { lastEventId?: number } = {}): AsyncGenerator<StreamResponse> {
    const ms = call.timeoutMs ?? streamTimeoutMs;
    const signal = call.signal;
    signal?.throwIfAborted();
    const fn: StreamFn = client[method]!.bind(client);
    const extra = call.lastEventId === undefined ? call.metadata : { ...call.metadata, [GRPC_LAST_EVENT_ID_KEY]: String(call.lastEventId) };
    const handle = fn(request, metadataFor(extra), deadlineIn(ms));
    const onAbort = () => handle.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const value of handle as AsyncIterable<unknown>) yield pb.StreamResponse.toJSON(value as pb.StreamResponse) as StreamResponse;
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error && typeof error === 'object' && 'code' in error) throw fromGrpcServiceError(error as grpc.ServiceError, { target, method, timeoutMs: ms });
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      handle.cancel();
    }
  }

  const sendReq = (req: SendMessageRequest) => pb.SendMessageRequest.fromJSON(req);
  const taskJson = (v: unknown) => pb.Task.toJSON(v as pb.Task);

  return {
    sendMessage: (req, o) => unary('sendMessage', sendReq(req), (v) => pb.SendMessageResponse.toJSON(v as pb.SendMessageResponse), o),
    sendMessageStream: (req, o) => stream('sendStreamingMessage', sendReq(req), o),
    getTask: (req, o) => unary('getTask', pb.GetTaskRequest.fromJSON(req), taskJson, o),
    listTasks: (req, o) => unary('listTasks', pb.ListTasksRequest.fromJSON(req), (v) => pb.ListTasksResponse.toJSON(v as pb.ListTasksResponse), o),
    cancelTask: (req, o) => unary('cancelTask', pb.CancelTaskRequest.fromJSON(req), taskJson, o),
    subscribeStream: (req, o) => stream('subscribeToTask', pb.SubscribeToTaskRequest.fromJSON(req), o),
    getExtendedAgentCard: (req = {}, o) => unary('getExtendedAgentCard', pb.GetExtendedAgentCardRequest.fromJSON(req), (v) => pb.AgentCard.toJSON(v as pb.AgentCard), o),
    close: () => client.close(),
  };
}
