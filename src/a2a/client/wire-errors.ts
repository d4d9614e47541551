/**
 * Wire errors → typed PenguiflowErrors. The A2A code and reason are kept in
 * `details` (`{ a2aCode, reason }`) so callers can branch on them.
 */
import {
  DeadlineExceededError,
  findPenguiflowError,
  ForbiddenError,
  NotFoundError,
  PenguiflowError,
  RateLimitedError,
  RemoteError,
  RemoteUnavailableError,
  UnauthenticatedError,
} from '../../errors/index.js';
import { A2A_ERRORS, reasonFromCode, reasonFromDetails } from '../protocol/errors.js';
import { isObject } from '../protocol/validate.js';

const NOT_RETRYABLE = new Set([
  'PARSE_ERROR',
  'INVALID_REQUEST',
  'METHOD_NOT_FOUND',
  'INVALID_PARAMS',
  'TASK_NOT_FOUND',
  'TASK_NOT_CANCELABLE',
  'PUSH_NOTIFICATION_NOT_SUPPORTED',
  'UNSUPPORTED_OPERATION',
  'CONTENT_TYPE_NOT_SUPPORTED',
  'EXTENDED_AGENT_CARD_NOT_CONFIGURED',
  'EXTENSION_SUPPORT_REQUIRED',
  'VERSION_NOT_SUPPORTED',
  'PAYLOAD_TOO_LARGE',
]);

/** Maps an A2A error (JSON-RPC `error` or REST `error` object) to a PenguiflowError. */
export function fromWireError(error: unknown, context: { httpStatus?: number; agentUrl: string; method: string }): PenguiflowError {
  const e = isObject(error) ? error : {};
  const code = typeof e.code === 'number' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : 'The remote agent returned an error';
  const reason = reasonFromDetails(e.data ?? e.details) ?? (code !== undefined && code < 0 ? reasonFromCode(code) : undefined) ?? statusReason(context.httpStatus);
  const a2aCode = reason !== undefined && reason in A2A_ERRORS ? A2A_ERRORS[reason as keyof typeof A2A_ERRORS].code : code;
  const details: Record<string, unknown> = { a2aCode, reason, agentUrl: context.agentUrl, method: context.method };
  if (context.httpStatus !== undefined) details.httpStatus = context.httpStatus;
  const opts = { details, retryable: reason === undefined ? undefined : !NOT_RETRYABLE.has(reason) };
  switch (reason ?? '') {
    case 'TASK_NOT_FOUND':
      return new NotFoundError(message, { details, retryable: false });
    case 'UNAUTHENTICATED':
      return new UnauthenticatedError(message, { details });
    case 'PERMISSION_DENIED':
      return new ForbiddenError(message, { details });
    case 'RESOURCE_EXHAUSTED':
    case 'RATE_LIMITED':
      return new RateLimitedError(message, { details });
    default:
      return new RemoteError(message, opts.retryable === undefined ? { details } : { details, retryable: opts.retryable });
  }
}

function statusReason(status: number | undefined): string | undefined {
  switch (status ?? 0) {
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
      return 'METHOD_NOT_FOUND';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 429:
    case 503:
      return 'RESOURCE_EXHAUSTED';
    default:
      return undefined;
  }
}

/** Maps a thrown fetch/abort error. `signal` is the caller's; `timedOut` tells our own timer fired. */
export function fromTransportFailure(
  error: unknown,
  context: { agentUrl: string; method: string; callerSignal?: AbortSignal; timedOut: boolean; byDeadline: boolean; timeoutMs: number },
): unknown {
  if (error instanceof PenguiflowError) return error;
  const typed = findPenguiflowError(error); // e.g. PAYLOAD_TOO_LARGE from a bounded body, wrapped by fetch
  if (typed) return typed;
  if (context.callerSignal?.aborted) return context.callerSignal.reason ?? error;
  const details = { agentUrl: context.agentUrl, method: context.method };
  if (context.timedOut) {
    if (context.byDeadline) return new DeadlineExceededError(`The deadline passed during ${context.method}`, { cause: error, details });
    return new RemoteUnavailableError(`${context.method} timed out after ${context.timeoutMs} ms`, { cause: error, details: { ...details, reason: 'TIMEOUT', timeoutMs: context.timeoutMs } });
  }
  return new RemoteUnavailableError(`Cannot reach ${context.agentUrl} (${context.method})`, { cause: error, details });
}
