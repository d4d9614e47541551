/**
 * The A2A error table (spec §3.3.2, §5.4, §9.5, §11.6) and its two wire forms:
 * JSON-RPC `error` objects and REST `google.rpc.Status` bodies, both carrying
 * a `google.rpc.ErrorInfo` detail. Only the server maps errors to wire codes
 * and only the client maps them back (house style §4.4).
 */

export const ERROR_INFO_TYPE = 'type.googleapis.com/google.rpc.ErrorInfo';
export const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest';
export const A2A_ERROR_DOMAIN = 'a2a-protocol.org';
export const PENGUIFLOW_ERROR_DOMAIN = 'penguiflow.dev';

export const A2A_ERRORS = {
  PARSE_ERROR: { code: -32700, http: 400, status: 'INVALID_ARGUMENT', message: 'Invalid JSON payload', a2a: false },
  INVALID_REQUEST: { code: -32600, http: 400, status: 'INVALID_ARGUMENT', message: 'Request payload validation error', a2a: false },
  METHOD_NOT_FOUND: { code: -32601, http: 404, status: 'NOT_FOUND', message: 'Method not found', a2a: false },
  INVALID_PARAMS: { code: -32602, http: 400, status: 'INVALID_ARGUMENT', message: 'Invalid parameters', a2a: false },
  INTERNAL_ERROR: { code: -32603, http: 500, status: 'INTERNAL', message: 'Internal error', a2a: false },
  TASK_NOT_FOUND: { code: -32001, http: 404, status: 'NOT_FOUND', message: 'Task not found', a2a: true },
  TASK_NOT_CANCELABLE: { code: -32002, http: 400, status: 'FAILED_PRECONDITION', message: 'Task cannot be canceled', a2a: true },
  PUSH_NOTIFICATION_NOT_SUPPORTED: { code: -32003, http: 400, status: 'FAILED_PRECONDITION', message: 'Push Notification is not supported', a2a: true },
  UNSUPPORTED_OPERATION: { code: -32004, http: 400, status: 'FAILED_PRECONDITION', message: 'This operation is not supported', a2a: true },
  CONTENT_TYPE_NOT_SUPPORTED: { code: -32005, http: 400, status: 'INVALID_ARGUMENT', message: 'Incompatible content types', a2a: true },
  INVALID_AGENT_RESPONSE: { code: -32006, http: 500, status: 'INTERNAL', message: 'Invalid agent response', a2a: true },
  EXTENDED_AGENT_CARD_NOT_CONFIGURED: { code: -32007, http: 400, status: 'FAILED_PRECONDITION', message: 'Extended Agent Card not configured', a2a: true },
  EXTENSION_SUPPORT_REQUIRED: { code: -32008, http: 400, status: 'FAILED_PRECONDITION', message: 'Extension support required', a2a: true },
  VERSION_NOT_SUPPORTED: { code: -32009, http: 400, status: 'FAILED_PRECONDITION', message: 'Version not supported', a2a: true },
  // penguiflow additions (domain penguiflow.dev), outside the A2A range
  PAYLOAD_TOO_LARGE: { code: -32600, http: 413, status: 'INVALID_ARGUMENT', message: 'Request body too large', a2a: false },
  UNAUTHENTICATED: { code: -32040, http: 401, status: 'UNAUTHENTICATED', message: 'Authentication required', a2a: false },
  PERMISSION_DENIED: { code: -32042, http: 403, status: 'PERMISSION_DENIED', message: 'Not allowed for this tenant', a2a: false },
  RESOURCE_EXHAUSTED: { code: -32041, http: 503, status: 'UNAVAILABLE', message: 'Too many concurrent streams', a2a: false },
  // A tenant or credential over its rate budget; the reply carries Retry-After (metadata.retryAfterSeconds).
  RATE_LIMITED: { code: -32043, http: 429, status: 'RESOURCE_EXHAUSTED', message: 'Rate limit exceeded', a2a: false },
} as const;

export type A2AErrorReason = keyof typeof A2A_ERRORS;

export interface FieldViolation {
  field: string;
  description: string;
}

export interface A2AErrorInit {
  message?: string;
  metadata?: Record<string, string>;
  violations?: FieldViolation[];
  cause?: unknown;
}

/**
 * A protocol error raised by the server's handlers. `reason` selects the row
 * of {@link A2A_ERRORS}; the wire forms are built by {@link toJsonRpcError}
 * and {@link toRestError}.
 */
export class A2AProtocolError extends Error {
  readonly reason: A2AErrorReason;
  readonly metadata: Record<string, string> | undefined;
  readonly violations: FieldViolation[] | undefined;

  constructor(reason: A2AErrorReason, init: A2AErrorInit = {}) {
    super(init.message ?? A2A_ERRORS[reason].message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'A2AProtocolError';
    this.reason = reason;
    this.metadata = init.metadata;
    this.violations = init.violations;
  }

  get code(): number {
    return A2A_ERRORS[this.reason].code;
  }
}

/** Shorthand for a -32602 with one field violation. */
export function invalidParams(field: string, description: string): A2AProtocolError {
  return new A2AProtocolError('INVALID_PARAMS', { message: `Invalid parameters: ${field} ${description}`, violations: [{ field, description }] });
}

function details(error: A2AProtocolError): Record<string, unknown>[] {
  const row = A2A_ERRORS[error.reason];
  const out: Record<string, unknown>[] = [];
  const info: Record<string, unknown> = {
    '@type': ERROR_INFO_TYPE,
    reason: error.reason,
    domain: row.a2a ? A2A_ERROR_DOMAIN : PENGUIFLOW_ERROR_DOMAIN,
  };
  if (error.metadata && Object.keys(error.metadata).length > 0) info.metadata = error.metadata;
  out.push(info);
  if (error.violations && error.violations.length > 0) {
    out.push({ '@type': BAD_REQUEST_TYPE, fieldViolations: error.violations });
  }
  return out;
}

export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

/** JSON-RPC `error` member for any thrown value; unknown errors become -32603 without leaking internals. */
export function toJsonRpcError(error: unknown, legacy = false): JsonRpcErrorObject {
  const e = asProtocolError(error);
  // v1.0 wants the ErrorInfo array in `data`; v0.3 left `data` free-form, so the same array is valid there too.
  void legacy;
  return { code: e.code, message: e.message, data: details(e) };
}

/** REST body (`google.rpc.Status`) and HTTP status for any thrown value. */
export function toRestError(error: unknown): { status: number; body: { error: { code: number; status: string; message: string; details: unknown[] } } } {
  const e = asProtocolError(error);
  const row = A2A_ERRORS[e.reason];
  return { status: row.http, body: { error: { code: row.http, status: row.status, message: e.message, details: details(e) } } };
}

export function asProtocolError(error: unknown): A2AProtocolError {
  if (error instanceof A2AProtocolError) return error;
  return new A2AProtocolError('INTERNAL_ERROR', { cause: error });
}

/** Reads the `ErrorInfo.reason` from wire details (`data` or `details`), if any. */
export function reasonFromDetails(detailsValue: unknown): string | undefined {
  if (!Array.isArray(detailsValue)) return undefined;
  for (const d of detailsValue) {
    if (d && typeof d === 'object' && (d as Record<string, unknown>)['@type'] === ERROR_INFO_TYPE) {
      const reason = (d as Record<string, unknown>).reason;
      if (typeof reason === 'string') return reason;
    }
  }
  return undefined;
}

/** The reason for a JSON-RPC code when the peer sent no ErrorInfo (v0.3 peers). */
export function reasonFromCode(code: number): A2AErrorReason | undefined {
  for (const [reason, row] of Object.entries(A2A_ERRORS)) {
    if (row.code === code && reason !== 'PAYLOAD_TOO_LARGE') return reason as A2AErrorReason;
  }
  return undefined;
}
