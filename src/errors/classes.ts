import { PenguiflowError, registerErrorClass, type PenguiflowErrorOptions } from './penguiflow-error.js';
import { ERROR_TABLE, type ErrorCode } from './codes.js';

/* One subclass per row of ERROR_TABLE, so `catch (e) { if (e instanceof NodeTimeoutError) … }` reads well. */
function define<C extends ErrorCode>(code: C) {
  const ctor = class extends PenguiflowError {
    static override readonly errorCode: ErrorCode = code;
    constructor(message?: string, options?: PenguiflowErrorOptions) {
      super(code, message, options);
    }
  };
  // The generated class takes its table name, so Node prints `StoreUnavailableError: …`, not `ctor [StoreUnavailableError]: …`.
  Object.defineProperty(ctor, 'name', { value: ERROR_TABLE[code].name });
  registerErrorClass(code, ctor);
  return ctor;
}

export const InvalidFlowError = define('INVALID_FLOW');
export type InvalidFlowError = InstanceType<typeof InvalidFlowError>;
export const InvalidMessageError = define('INVALID_MESSAGE');
export type InvalidMessageError = InstanceType<typeof InvalidMessageError>;
export const InvalidOptionsError = define('INVALID_OPTIONS');
export type InvalidOptionsError = InstanceType<typeof InvalidOptionsError>;
export const FlowStateError = define('FLOW_STATE');
export type FlowStateError = InstanceType<typeof FlowStateError>;
export const UnknownNodeError = define('UNKNOWN_NODE');
export type UnknownNodeError = InstanceType<typeof UnknownNodeError>;
/** An optional peer dependency (a driver such as `ioredis`) is not installed; `details` has `package` and `install`. */
export const MissingPeerDependencyError = define('MISSING_PEER');
export type MissingPeerDependencyError = InstanceType<typeof MissingPeerDependencyError>;
export const QueueFullError = define('QUEUE_FULL');
export type QueueFullError = InstanceType<typeof QueueFullError>;
export const NodeTimeoutError = define('NODE_TIMEOUT');
export type NodeTimeoutError = InstanceType<typeof NodeTimeoutError>;
export const NodeExceptionError = define('NODE_EXCEPTION');
export type NodeExceptionError = InstanceType<typeof NodeExceptionError>;
export const DeadlineExceededError = define('DEADLINE_EXCEEDED');
export type DeadlineExceededError = InstanceType<typeof DeadlineExceededError>;
export const NoResultError = define('NO_RESULT');
export type NoResultError = InstanceType<typeof NoResultError>;
export const ValidationFailedError = define('VALIDATION_FAILED');
export type ValidationFailedError = InstanceType<typeof ValidationFailedError>;
export const StoreUnavailableError = define('STORE_UNAVAILABLE');
export type StoreUnavailableError = InstanceType<typeof StoreUnavailableError>;
export const StoreCorruptError = define('STORE_CORRUPT');
export type StoreCorruptError = InstanceType<typeof StoreCorruptError>;
export const StoreConflictError = define('STORE_CONFLICT');
export type StoreConflictError = InstanceType<typeof StoreConflictError>;
export const PayloadTooLargeError = define('PAYLOAD_TOO_LARGE');
export type PayloadTooLargeError = InstanceType<typeof PayloadTooLargeError>;
export const NotFoundError = define('NOT_FOUND');
export type NotFoundError = InstanceType<typeof NotFoundError>;
export const BusUnavailableError = define('BUS_UNAVAILABLE');
export type BusUnavailableError = InstanceType<typeof BusUnavailableError>;
export const LeaseExpiredError = define('LEASE_EXPIRED');
export type LeaseExpiredError = InstanceType<typeof LeaseExpiredError>;
export const DecodeFailedError = define('DECODE_FAILED');
export type DecodeFailedError = InstanceType<typeof DecodeFailedError>;
export const LoadShedError = define('LOAD_SHED');
export type LoadShedError = InstanceType<typeof LoadShedError>;
export const RemoteError = define('REMOTE_ERROR');
export type RemoteError = InstanceType<typeof RemoteError>;
export const RemoteUnavailableError = define('REMOTE_UNAVAILABLE');
export type RemoteUnavailableError = InstanceType<typeof RemoteUnavailableError>;
export const UnauthenticatedError = define('UNAUTHENTICATED');
export type UnauthenticatedError = InstanceType<typeof UnauthenticatedError>;
export const ForbiddenError = define('FORBIDDEN');
export type ForbiddenError = InstanceType<typeof ForbiddenError>;
export const RateLimitedError = define('RATE_LIMITED');
export type RateLimitedError = InstanceType<typeof RateLimitedError>;
export const InternalError = define('INTERNAL');
export type InternalError = InstanceType<typeof InternalError>;
export const TraceCancelledError = define('TRACE_CANCELLED');
export type TraceCancelledError = InstanceType<typeof TraceCancelledError>;
export const FlowStoppedError = define('FLOW_STOPPED');
export type FlowStoppedError = InstanceType<typeof FlowStoppedError>;

/** True for control-flow signals (cancel, stop) that must not be logged as failures or retried. */
export function isCancellation(value: unknown): boolean {
  return value instanceof PenguiflowError && value.family === 'signal';
}
