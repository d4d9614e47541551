/**
 * `remoteNode`: a remote A2A agent as a node in a flow.
 *
 * - The output keeps tenant, trace and deadline (it is emitted on the
 *   incoming message) and carries `meta.remote = { agentUrl, taskId, contextId, state }`.
 * - Tenant, trace id and the remaining deadline go to the remote (the
 *   transport puts them in headers and in the penguiflow extension metadata).
 * - One idempotency key per logical call (`<node>:<message id>`), the A2A
 *   messageId of every attempt: a retry after a dropped connection gets the
 *   same remote task back instead of running it twice.
 * - The call streams internally so the remote task id is known at once: the
 *   binding is recorded at the first task id, and a trace cancel, a deadline,
 *   or a timeout with no retry left cancels the remote task. A timeout with a
 *   retry left does not: the retry re-attaches to the same remote task.
 * - Remote artifact chunks become local stream chunks when `streaming` is on.
 */
import { node, type Node, type NodeContext, type NodePolicy } from '../core/node.js';
import type { Message } from '../core/message.js';
import { isPenguiflowError, findPenguiflowError, RemoteError } from '../errors/index.js';
import type { RemoteCallRequest, RemoteStreamEvent, RemoteTaskState, RemoteTransport } from '../protocols/remote-transport.js';
import type { RemoteBinding } from '../protocols/state-store.js';

export interface RemoteNodeOptions {
  /** The local node name. */
  name: string;
  transport: RemoteTransport;
  /** Base URL of the agent, or of its card. */
  agentUrl: string;
  skill?: string;
  /** Forward remote artifact chunks as local `ctx.stream` chunks. Default false. */
  streaming?: boolean;
  /** Record a RemoteBinding in the flow's StateStore at the first task id. Default true. */
  recordBinding?: boolean;
  /** Budget of one remote call (the transport also honours the message deadline). Default: policy.timeoutMs or 30 s. */
  callTimeoutMs?: number;
  /** Budget of the cancel sent to the remote after a local cancel. Default 5 s. */
  cancelTimeoutMs?: number;
  /** Maps the incoming message to what is sent (default: its payload). */
  request?: (msg: Message) => unknown;
  policy?: NodePolicy;
}

/** What `meta.remote` holds on the node's output. */
export interface RemoteResultMeta {
  agentUrl: string;
  taskId?: string;
  contextId?: string;
  state: RemoteTaskState;
}

type CancellableTransport = RemoteTransport & {
  cancel(target: { agentUrl: string; taskId: string; tenant?: string; timeoutMs?: number }): Promise<void>;
};

class CallState {
  taskId: string | undefined;
  contextId: string | undefined;
  state: RemoteTaskState = 'submitted';
  events = 0;
  responseBytes = 0;
  snapshot: unknown;
  /** Artifact id → pieces in order. */
  readonly artifacts = new Map<string, unknown[]>();
  /** Artifacts that arrived in several chunks (a stream). */
  readonly streamed = new Set<string>();
  statusPayload: unknown;
  /** The last server event id seen: a retry resumes the stream from there. */
  lastEventId: string | undefined;
}

/** Optional transport extras (A2AClient has them) used to resume a call on retry. */
interface ResumableTransport {
  subscribe(agentUrl: string, taskId: string, options: { tenant?: string; lastEventId?: string; signal?: AbortSignal; timeoutMs?: number }): AsyncIterable<RemoteStreamEvent>;
  getTask?(agentUrl: string, taskId: string, options: { tenant?: string; signal?: AbortSignal; timeoutMs?: number }): Promise<unknown>;
  taskResult?(task: unknown): { state: RemoteTaskState; payload: unknown };
}

function canResume(t: RemoteTransport): t is RemoteTransport & ResumableTransport {
  return typeof (t as Partial<ResumableTransport>).subscribe === 'function';
}

const MAX_INFLIGHT = 10_000;

/** What a transport throws from `stream()` when the agent cannot stream; remoteNode then calls `send()`. */
const STREAM_UNSUPPORTED = new RemoteError('The transport does not stream', { retryable: false, details: { reason: 'UNSUPPORTED_OPERATION' } });

function isStreamUnsupported(error: unknown): boolean {
  const pf = findPenguiflowError(error);
  return (pf?.details as { reason?: string } | undefined)?.reason === 'UNSUPPORTED_OPERATION';
}

/** The error an event reports: the penguiflow error, or a REMOTE_ERROR that keeps a plain error as its cause. */
function asRemoteError(error: unknown) {
  return findPenguiflowError(error) ?? new RemoteError(error instanceof Error ? error.message : String(error), { cause: error });
}

function size(value: unknown): number {
  if (value === undefined) return 0;
  try {
    return Buffer.byteLength(typeof value === 'string' ? value : JSON.stringify(value));
  } catch {
    return 0;
  }
}

function assemble(pieces: unknown[]): unknown {
  if (pieces.length === 1) return pieces[0];
  if (pieces.every((p) => typeof p === 'string')) return pieces.join('');
  return pieces;
}

/**
 * Creates a node that calls a remote A2A agent.
 *
 * @example
 * const researcher = remoteNode({ name: 'research', transport: createA2AClient(), agentUrl: 'http://127.0.0.1:8081', streaming: true, policy: { timeoutMs: 30_000, maxRetries: 2 } });
 * const flow = createFlow(plan.to(researcher), researcher.to(write), write);
 */
export function remoteNode(options: RemoteNodeOptions): Node {
  const policy = options.policy ?? {};
  const maxRetries = policy.maxRetries ?? 0;
  const transport = options.transport as CancellableTransport;
  const agentUrl = options.agentUrl;
  /** Calls that failed retryably, by idempotency key: the next attempt resumes them. */
  const inflight = new Map<string, CallState>();

  return node(
    options.name,
    async (msg: Message, ctx: NodeContext) => {
      const key = `${ctx.node}:${msg.id}`;
      const started = performance.now();
      const earlier = inflight.get(key);
      const resuming = earlier?.taskId !== undefined && ctx.attempt > 0;
      const call: CallState = resuming ? earlier : new CallState();
      if (!resuming) {
        inflight.set(key, call);
        if (inflight.size > MAX_INFLIGHT) inflight.delete(inflight.keys().next().value!);
      }
      const settle = (retryable: boolean) => {
        if (!retryable || ctx.attempt >= maxRetries) inflight.delete(key);
      };
      const payload = options.request ? options.request(msg) : msg.payload;
      const requestBytes = size(payload);
      const base = { skill: options.skill, agentUrl, idempotencyKey: key };
      ctx.event('remote_call_start', { extra: { ...base, requestBytes } });
      const store = options.recordBinding === false ? undefined : ctx.stateStore;
      let binding: RemoteBinding | undefined;
      const record = async (status: RemoteBinding['status']) => {
        if (!store || !call.taskId) return;
        const now = Date.now();
        binding = binding
          ? { ...binding, status, updatedAt: now }
          : { traceId: msg.traceId, tenant: msg.headers.tenant, node: ctx.node, agentUrl, taskId: call.taskId, status, createdAt: now, updatedAt: now, idempotencyKey: key };
        if (call.contextId) binding.contextId = call.contextId;
        if (options.skill) binding.skill = options.skill;
        try {
          await store.saveRemoteBinding(binding);
        } catch (error) {
          ctx.event('store_error', { extra: { op: 'saveRemoteBinding', taskId: call.taskId }, ...(findPenguiflowError(error) ? { error: findPenguiflowError(error)!.toJSON() } : {}) });
        }
      };

      let cancelSent: Promise<void> | undefined;
      const cancelRemote = (why: string) => {
        if (cancelSent || !call.taskId) return cancelSent;
        const taskId = call.taskId;
        cancelSent = transport
          .cancel({ agentUrl, taskId, tenant: msg.headers.tenant, timeoutMs: options.cancelTimeoutMs ?? 5_000 })
          .then(
            () => {
              ctx.event('remote_call_cancelled', { latencyMs: performance.now() - started, extra: { ...base, taskId, contextId: call.contextId, reason: why } });
              return record('cancelled');
            },
            (error: unknown) => {
              const pf = findPenguiflowError(error);
              ctx.event('remote_cancel_error', { extra: { ...base, taskId, reason: why }, ...(pf ? { error: pf.toJSON() } : {}) });
            },
          );
        return cancelSent;
      };
      const shouldCancel = () => {
        const reason: unknown = ctx.signal.reason;
        // A timeout with a retry left: the next attempt re-attaches to the same task (same key).
        return !(isPenguiflowError(reason, 'NODE_TIMEOUT') && ctx.attempt < maxRetries);
      };
      const onAbort = () => {
        if (shouldCancel()) void cancelRemote(isPenguiflowError(ctx.signal.reason, 'NODE_TIMEOUT') ? 'timeout' : isPenguiflowError(ctx.signal.reason, 'DEADLINE_EXCEEDED') ? 'deadline' : 'cancel');
      };
      ctx.signal.addEventListener('abort', onAbort, { once: true });

      const prior = msg.meta.remote as RemoteResultMeta | undefined;
      const req: RemoteCallRequest = { agentUrl, message: payload === msg.payload ? msg : { ...msg, payload }, idempotencyKey: key, signal: ctx.signal };
      if (options.skill) req.skill = options.skill;
      const callTimeout = options.callTimeoutMs ?? policy.timeoutMs;
      if (callTimeout !== undefined) req.timeoutMs = callTimeout;
      if (prior?.agentUrl === agentUrl && prior.state === 'input-required' && prior.taskId) {
        req.taskId = prior.taskId;
        if (prior.contextId) req.contextId = prior.contextId;
      }

      try {
        try {
          if (resuming && canResume(transport)) await resume(transport, call.taskId!);
          else if (typeof transport.stream !== 'function') throw STREAM_UNSUPPORTED;
          else for await (const ev of transport.stream(req)) await onEvent(ev);
        } catch (error) {
          if (call.taskId || !isStreamUnsupported(error)) throw error;
          // The agent does not stream: a blocking send (its task id is known only at the end).
          const res = await transport.send(req);
          call.taskId = res.taskId;
          call.contextId = res.contextId;
          call.state = res.state;
          call.snapshot = res.payload;
          call.responseBytes += res.responseBytes ?? size(res.payload);
          await record('running');
        }
      } catch (error) {
        ctx.signal.removeEventListener('abort', onAbort);
        settle(!ctx.signal.aborted || !shouldCancel() ? findPenguiflowError(error)?.retryable !== false || ctx.signal.aborted : false);
        if (ctx.signal.aborted) {
          if (shouldCancel()) await cancelRemote('abort');
        } else {
          ctx.event('remote_call_error', { latencyMs: performance.now() - started, extra: { ...base, taskId: call.taskId, streamEvents: call.events }, error: asRemoteError(error).toJSON() });
        }
        throw error;
      }
      ctx.signal.removeEventListener('abort', onAbort);

      // One-shot artifacts are the answer; incremental ones (already streamed) are the answer only when there is nothing else.
      const shots = [...call.artifacts.entries()].filter(([id]) => !call.streamed.has(id)).map(([, pieces]) => assemble(pieces));
      const result = shots.length > 0 ? shots : call.artifacts.size > 0 ? [...call.artifacts.values()].map(assemble) : undefined;
      let out: unknown = result === undefined ? call.snapshot : result.length === 1 ? result[0] : result;
      if (call.state === 'input-required' || call.state === 'auth-required') out = call.statusPayload ?? call.snapshot;
      const meta: RemoteResultMeta = { agentUrl, state: call.state };
      if (call.taskId) meta.taskId = call.taskId;
      if (call.contextId) meta.contextId = call.contextId;
      const extra = { ...base, taskId: call.taskId, contextId: call.contextId, state: call.state, streamEvents: call.events, requestBytes, responseBytes: call.responseBytes };

      if (call.state === 'failed' || call.state === 'rejected' || call.state === 'canceled' || call.state === 'unknown' || call.state === 'submitted' || call.state === 'working') {
        await record(call.state === 'canceled' ? 'cancelled' : 'failed');
        // A stream cut before the task settled is worth a retry (it re-attaches); a failed task is not.
        const unsettled = call.state === 'submitted' || call.state === 'working' || call.state === 'unknown';
        const error = new RemoteError(unsettled ? `The remote stream ended while the task was ${call.state}` : `The remote task ended ${call.state}`, {
          retryable: unsettled,
          details: { agentUrl, taskId: call.taskId, state: call.state, reason: call.state === 'canceled' ? 'REMOTE_CANCELED' : 'REMOTE_FAILED', message: typeof call.statusPayload === 'string' ? call.statusPayload : undefined },
        });
        ctx.event('remote_call_error', { latencyMs: performance.now() - started, extra, error: error.toJSON() });
        settle(unsettled);
        throw error;
      }
      settle(false);
      await record('completed');
      ctx.event('remote_call_success', { latencyMs: performance.now() - started, extra });
      await ctx.emit(out, { meta: { remote: meta } });
      return undefined;

      /** Re-attaches to the task of an earlier attempt, from the last event it saw. */
      async function resume(t: RemoteTransport & ResumableTransport, taskId: string): Promise<void> {
        const opts: { tenant?: string; lastEventId?: string; signal?: AbortSignal; timeoutMs?: number } = { tenant: msg.headers.tenant, signal: ctx.signal };
        if (call.lastEventId !== undefined) opts.lastEventId = call.lastEventId;
        if (req.timeoutMs !== undefined) opts.timeoutMs = req.timeoutMs;
        ctx.event('remote_stream_event', { extra: { agentUrl, kind: 'resume', taskId, lastEventId: call.lastEventId } });
        try {
          for await (const ev of t.subscribe(agentUrl, taskId, opts)) await onEvent(ev);
        } catch (error) {
          // A peer that refuses to subscribe to a finished task: read its final state instead.
          if ((findPenguiflowError(error)?.details as { reason?: string } | undefined)?.reason !== 'UNSUPPORTED_OPERATION' || !t.getTask || !t.taskResult) throw error;
          const done = t.taskResult(await t.getTask(agentUrl, taskId, opts));
          call.state = done.state;
          call.snapshot = done.payload;
        }
      }

      async function onEvent(ev: RemoteStreamEvent): Promise<void> {
        call.events++;
        if (ev.eventId !== undefined) call.lastEventId = ev.eventId;
        if (ev.taskId && !call.taskId) {
          call.taskId = ev.taskId;
          call.contextId = ev.contextId;
          await record('running');
          if (ctx.signal.aborted && shouldCancel()) void cancelRemote('abort');
        }
        if (ev.state) call.state = ev.state;
        call.responseBytes += size(ev.payload);
        ctx.event('remote_stream_event', { extra: { agentUrl, kind: ev.kind, state: ev.state, taskId: call.taskId, seq: call.events - 1 } });
        if (ev.kind === 'task' && ev.payload !== undefined) call.snapshot = ev.payload;
        if (ev.kind === 'status' && ev.payload !== undefined) call.statusPayload = ev.payload;
        if (ev.kind === 'message') {
          call.state = 'completed';
          call.snapshot = ev.payload;
        }
        if (ev.kind === 'artifact') {
          const id = ev.artifactId ?? `a${call.artifacts.size}`;
          const pieces = ev.append ? (call.artifacts.get(id) ?? []) : [];
          pieces.push(ev.payload);
          call.artifacts.set(id, pieces);
          // A chunk of an incremental artifact (not one complete artifact in one event) is a local stream chunk.
          const incremental = ev.append === true || ev.lastChunk !== true;
          if (incremental) call.streamed.add(id);
          if (options.streaming && incremental) await ctx.stream(ev.payload, { streamId: `${ctx.node}:${call.taskId ?? key}:${id}`, done: ev.lastChunk === true });
        }
      }
    },
    policy,
  );
}
