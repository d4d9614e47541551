import type { Message } from '../core/message.js';

export interface RemoteCallRequest {
  /** Base URL of the agent (or of its card). */
  agentUrl: string;
  skill?: string;
  message: Message;
  /** Same on every attempt of one logical call; the A2A messageId. */
  idempotencyKey: string;
  /** Continue an existing remote task (e.g. after input-required). */
  taskId?: string;
  contextId?: string;
  /** Per-call budget; the transport also honours `message.deadline`. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export type RemoteTaskState =
  | 'submitted'
  | 'working'
  | 'input-required'
  | 'auth-required'
  | 'completed'
  | 'failed'
  | 'canceled'
  | 'rejected'
  | 'unknown';

export interface RemoteCallResult {
  taskId?: string;
  contextId?: string;
  state: RemoteTaskState;
  /** The answer: artifact parts or the reply message, decoded. */
  payload: unknown;
  requestBytes?: number;
  responseBytes?: number;
  metadata?: Record<string, unknown>;
}

export interface RemoteStreamEvent {
  kind: 'task' | 'status' | 'artifact' | 'message';
  taskId?: string;
  contextId?: string;
  state?: RemoteTaskState;
  payload?: unknown;
  /** True on the last event of the stream. */
  final: boolean;
  /** For `artifact` events: which artifact, and whether this chunk appends to it / ends it. */
  artifactId?: string;
  append?: boolean;
  lastChunk?: boolean;
  /** The server's event id (SSE `id`), usable to resume the stream after a disconnect. */
  eventId?: string;
}

/**
 * How a RemoteNode reaches an agent. Implementations MUST time-bound every
 * call, honour `signal`, and map wire errors to PenguiflowErrors.
 */
export interface RemoteTransport {
  send(request: RemoteCallRequest): Promise<RemoteCallResult>;
  /**
   * Streams the call's events. Optional: without it (or when it throws a
   * PenguiflowError whose `details.reason` is `UNSUPPORTED_OPERATION` before
   * any task id arrived) a RemoteNode falls back to `send()`.
   */
  stream?(request: RemoteCallRequest): AsyncIterable<RemoteStreamEvent>;
  cancel(target: { agentUrl: string; taskId: string; tenant?: string }): Promise<void>;
}
