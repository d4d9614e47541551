import { InvalidMessageError } from '../errors/index.js';
import { nextId } from './ids.js';

/** Routing and isolation headers. `tenant` is the isolation boundary and is required at ingress. */
export interface Headers {
  tenant: string;
  topic?: string;
  /** Higher runs first where a broker supports priorities. */
  priority?: number;
}

/**
 * The envelope every node receives. Messages a node emits inherit `headers`,
 * `traceId`, `deadline` and a copy of `meta` unless they override them.
 */
export interface Message<T = unknown> {
  id: string;
  payload: T;
  headers: Headers;
  traceId: string;
  /** Absolute deadline, epoch milliseconds. Past it, the message is not run. */
  deadline?: number;
  meta: Record<string, unknown>;
}

/** A piece of a streamed answer; emitted by `ctx.stream()` as the payload of a message. */
export interface StreamChunk<T = unknown> {
  streamId: string;
  /** 0, 1, 2, … per stream, in emission order. */
  seq: number;
  data: T;
  done: boolean;
}

export interface MessageInit {
  tenant: string;
  traceId?: string;
  /** Absolute epoch ms. */
  deadline?: number;
  /** Relative to now; ignored when `deadline` is given. */
  deadlineMs?: number;
  meta?: Record<string, unknown>;
  topic?: string;
  priority?: number;
  id?: string;
}

/**
 * Builds an ingress message with fresh ids.
 *
 * @example
 * const msg = message({ question: 'hi' }, { tenant: 'acme', deadlineMs: 5_000 });
 * await flow.emit(msg);
 */
export function message<T>(payload: T, init: MessageInit): Message<T> {
  const headers: Headers = { tenant: init.tenant };
  if (init.topic !== undefined) headers.topic = init.topic;
  if (init.priority !== undefined) headers.priority = init.priority;
  const msg: Message<T> = {
    id: init.id ?? nextId('m'),
    payload,
    headers,
    traceId: init.traceId ?? nextId('t'),
    meta: init.meta ? { ...init.meta } : {},
  };
  const deadline = init.deadline ?? (init.deadlineMs !== undefined ? Date.now() + init.deadlineMs : undefined);
  if (deadline !== undefined) msg.deadline = deadline;
  assertValidMessage(msg);
  return msg;
}

/** Derives the next message on a trace: same headers, trace and deadline, a shallow copy of meta. */
export function childMessage<T>(parent: Message, payload: T, overrides?: ChildOverrides): Message<T> {
  const msg: Message<T> = {
    id: nextId('m'),
    payload,
    // headers are never mutated by the runtime, so children share the parent's object
    headers: overrides?.headers ?? parent.headers,
    traceId: parent.traceId,
    meta: overrides?.meta ?? { ...parent.meta },
  };
  const deadline = overrides?.deadline ?? parent.deadline;
  if (deadline !== undefined) msg.deadline = deadline;
  return msg;
}

/** What a node may change on a message it emits; the trace id is never changed. */
export interface ChildOverrides {
  headers?: Headers;
  meta?: Record<string, unknown>;
  deadline?: number;
}

/** Throws {@link InvalidMessageError} when a message cannot enter a flow. */
export function assertValidMessage(msg: unknown): asserts msg is Message {
  if (typeof msg !== 'object' || msg === null) throw new InvalidMessageError('A message must be an object');
  const m = msg as Partial<Message>;
  const tenant = m.headers?.tenant;
  if (typeof tenant !== 'string' || tenant.length === 0) {
    throw new InvalidMessageError('headers.tenant is required and must be a non-empty string', {
      details: { field: 'headers.tenant' },
    });
  }
  if (typeof m.traceId !== 'string' || m.traceId.length === 0) {
    throw new InvalidMessageError('traceId is required and must be a non-empty string', { details: { field: 'traceId' } });
  }
  if (typeof m.id !== 'string' || m.id.length === 0) {
    throw new InvalidMessageError('id is required and must be a non-empty string', { details: { field: 'id' } });
  }
  if (m.deadline !== undefined && (typeof m.deadline !== 'number' || !Number.isFinite(m.deadline))) {
    throw new InvalidMessageError('deadline must be an epoch-millisecond number', { details: { field: 'deadline' } });
  }
  if (m.meta === undefined) (m as Message).meta = {};
  else if (typeof m.meta !== 'object' || m.meta === null) {
    throw new InvalidMessageError('meta must be an object', { details: { field: 'meta' } });
  }
}
