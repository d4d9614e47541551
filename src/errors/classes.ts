import { PenguiflowError, registerErrorClass, type PenguiflowErrorOptions } from './penguiflow-error.js';
import type { ErrorCode } from './codes.js';

/* One subclass per row of ERROR_TABLE, so `catch (e) { if (e instanceof NodeTimeoutError) … }` reads well. */
function define<C extends ErrorCode>(code: C) {
  const ctor = class extends PenguiflowError {
    constructor(message?: string, options?: PenguiflowErrorOptions) {
      super(code, message, options);
    }
  };
  registerErrorClass(code, ctor);
  return ctor;
}

export const InvalidFlowError = define('INVALID_FLOW');
export const InvalidMessageError = define('INVALID_MESSAGE');
export const InvalidOptionsError = define('INVALID_OPTIONS');
export const FlowStateError = define('FLOW_STATE');
export const UnknownNodeError = define('UNKNOWN_NODE');
export const QueueFullError = define('QUEUE_FULL');
export const NodeTimeoutError = define('NODE_TIMEOUT');
export const NodeExceptionError = define('NODE_EXCEPTION');
export const DeadlineExceededError = define('DEADLINE_EXCEEDED');
export const ValidationFailedError = define('VALIDATION_FAILED');
export const StoreUnavailableError = define('STORE_UNAVAILABLE');
export const StoreCorruptError = define('STORE_CORRUPT');
export const StoreConflictError = define('STORE_CONFLICT');
export const PayloadTooLargeError = define('PAYLOAD_TOO_LARGE');
export const NotFoundError = define('NOT_FOUND');
export const BusUnavailableError = define('BUS_UNAVAILABLE');
export const DecodeFailedError = define('DECODE_FAILED');
export const LoadShedError = define('LOAD_SHED');
export const RemoteError = define('REMOTE_ERROR');
export const RemoteUnavailableError = define('REMOTE_UNAVAILABLE');
export const UnauthenticatedError = define('UNAUTHENTICATED');
export const ForbiddenError = define('FORBIDDEN');
export const RateLimitedError = define('RATE_LIMITED');
export const InternalError = define('INTERNAL');
export const TraceCancelledError = define('TRACE_CANCELLED');
export const FlowStoppedError = define('FLOW_STOPPED');

/** True for control-flow signals (cancel, stop) that must not be logged as failures or retried. */
export function isCancellation(value: unknown): boolean {
  return value instanceof PenguiflowError && value.family === 'signal';
}
