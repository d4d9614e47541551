/**
 * The one table of error codes. Every `PenguiflowError` subclass is generated
 * from a row here, so a code, its family and its retry semantics live in one
 * place (troubleshooting: docs/errors.md#<code in lower case>).
 *
 * Families:
 * - `misuse`: the program is wrong (bad flow, bad options, illegal state); thrown
 *   synchronously where possible, never retried.
 * - `failure`: something failed at run time; crosses process boundaries as JSON.
 * - `signal`: control flow (cancel, drain); never logged as a failure, never retried.
 */
export const ERROR_TABLE = {
  INVALID_FLOW: { name: 'InvalidFlowError', family: 'misuse', retryable: false, message: 'The flow graph is invalid' },
  INVALID_MESSAGE: { name: 'InvalidMessageError', family: 'misuse', retryable: false, message: 'The message is invalid' },
  INVALID_OPTIONS: { name: 'InvalidOptionsError', family: 'misuse', retryable: false, message: 'Invalid options' },
  FLOW_STATE: { name: 'FlowStateError', family: 'misuse', retryable: false, message: 'The flow is not in a state that allows this' },
  UNKNOWN_NODE: { name: 'UnknownNodeError', family: 'misuse', retryable: false, message: 'No node has this name' },
  MISSING_PEER: { name: 'MissingPeerDependencyError', family: 'misuse', retryable: false, message: 'An optional peer dependency is not installed' },
  QUEUE_FULL: { name: 'QueueFullError', family: 'failure', retryable: true, message: 'The queue is full' },
  NODE_TIMEOUT: { name: 'NodeTimeoutError', family: 'failure', retryable: true, message: 'The node timed out' },
  NODE_EXCEPTION: { name: 'NodeExceptionError', family: 'failure', retryable: false, message: 'The node failed' },
  DEADLINE_EXCEEDED: { name: 'DeadlineExceededError', family: 'failure', retryable: false, message: 'The deadline passed' },
  NO_RESULT: { name: 'NoResultError', family: 'failure', retryable: false, message: 'The trace finished without producing a result' },
  VALIDATION_FAILED: { name: 'ValidationFailedError', family: 'failure', retryable: false, message: 'Schema validation failed' },
  STORE_UNAVAILABLE: { name: 'StoreUnavailableError', family: 'failure', retryable: true, message: 'The state store cannot be reached' },
  STORE_CORRUPT: { name: 'StoreCorruptError', family: 'failure', retryable: false, message: 'The state store file is corrupt or not a penguiflow store' },
  STORE_CONFLICT: { name: 'StoreConflictError', family: 'failure', retryable: true, message: 'A concurrent write conflicted' },
  PAYLOAD_TOO_LARGE: { name: 'PayloadTooLargeError', family: 'failure', retryable: false, message: 'The payload is over the size limit' },
  NOT_FOUND: { name: 'NotFoundError', family: 'failure', retryable: false, message: 'Not found' },
  BUS_UNAVAILABLE: { name: 'BusUnavailableError', family: 'failure', retryable: true, message: 'The message bus cannot be reached' },
  LEASE_EXPIRED: { name: 'LeaseExpiredError', family: 'failure', retryable: false, message: 'The delivery lease expired on every delivery' },
  DECODE_FAILED: { name: 'DecodeFailedError', family: 'failure', retryable: false, message: 'An envelope could not be decoded' },
  LOAD_SHED: { name: 'LoadShedError', family: 'failure', retryable: true, message: 'The work was shed under load' },
  REMOTE_ERROR: { name: 'RemoteError', family: 'failure', retryable: true, message: 'The remote call failed' },
  REMOTE_UNAVAILABLE: { name: 'RemoteUnavailableError', family: 'failure', retryable: true, message: 'The remote agent cannot be reached' },
  UNAUTHENTICATED: { name: 'UnauthenticatedError', family: 'failure', retryable: false, message: 'Authentication is required' },
  FORBIDDEN: { name: 'ForbiddenError', family: 'failure', retryable: false, message: 'Not allowed' },
  RATE_LIMITED: { name: 'RateLimitedError', family: 'failure', retryable: true, message: 'Rate limit exceeded' },
  INTERNAL: { name: 'InternalError', family: 'failure', retryable: false, message: 'Internal error' },
  TRACE_CANCELLED: { name: 'TraceCancelledError', family: 'signal', retryable: false, message: 'The trace was cancelled' },
  FLOW_STOPPED: { name: 'FlowStoppedError', family: 'signal', retryable: false, message: 'The flow stopped' },
} as const satisfies Record<string, { name: string; family: ErrorFamily; retryable: boolean; message: string }>;

export type ErrorFamily = 'misuse' | 'failure' | 'signal';
export type ErrorCode = keyof typeof ERROR_TABLE;
export const ERROR_CODES = Object.keys(ERROR_TABLE) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_TABLE, value);
}
