import { PenguiflowError, StoreConflictError, StoreUnavailableError } from '../../errors/index.js';

/** Where the store connects, for messages: host:port and database, never the password. */
export interface PgTarget {
  host: string;
  port: number;
  database?: string;
  /** Redacted from every message; never stored in an error. */
  password?: string;
}

export function describeTarget(target: PgTarget): string {
  return `${target.host}:${target.port}${target.database ? '/' + target.database : ''}`;
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);
// 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 53300 too_many_connections, class 08 connection exception.
const SERVER_GONE = new Set(['57P01', '57P02', '57P03', '53300']);
const CONNECTION_MESSAGES = /Connection terminated|connection error|not queryable|timeout exceeded when trying to connect|terminating connection|the database system is (starting up|shutting down)/i;

/** True for errors after which the same request may succeed on a fresh connection. */
export function isConnectionError(error: unknown): boolean {
  const code = String((error as { code?: unknown }).code ?? '');
  if (CONNECTION_CODES.has(code) || SERVER_GONE.has(code) || code.startsWith('08')) return true;
  return error instanceof Error && CONNECTION_MESSAGES.test(error.message);
}

/** Deadlock or serialization failure: safe to retry an idempotent statement. */
export function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === '40P01' || code === '40001';
}

function redact(text: string, target: PgTarget): string {
  return target.password ? text.split(target.password).join('***') : text;
}

/** A copy of a driver error that is safe to keep as `cause` (no password, no connection objects). */
function safeCause(error: unknown, target: PgTarget): Error {
  const message = error instanceof Error ? error.message : String(error);
  const copy = new Error(redact(message, target));
  copy.name = error instanceof Error ? error.name : 'Error';
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') (copy as Error & { code?: string }).code = code;
  return copy;
}

/** Maps a pg error to a typed store error; the message names host:port, never the password. */
export function mapPgError(error: unknown, target: PgTarget, what = 'PostgreSQL store'): unknown {
  if (error instanceof PenguiflowError) return error;
  const code = String((error as { code?: unknown }).code ?? '');
  const where = describeTarget(target);
  const reason = redact(error instanceof Error ? error.message : String(error), target);
  const cause = safeCause(error, target);
  if (isConnectionError(error)) {
    return new StoreUnavailableError(`${what} at ${where} is unreachable: ${reason}`, { cause, details: { host: target.host, port: target.port, code } });
  }
  if (code === '28P01' || code === '28000' || code === '3D000') {
    return new StoreUnavailableError(`${what} at ${where} refused the connection: ${reason}`, {
      cause,
      retryable: false,
      details: { host: target.host, port: target.port, code },
    });
  }
  if (code === '23505') return new StoreConflictError(`${what}: ${reason}`, { cause, details: { code } });
  if (isTransient(error)) return new StoreConflictError(`${what}: ${reason}`, { cause, details: { code } });
  return new StoreUnavailableError(`${what} at ${where} failed: ${reason}`, { cause, retryable: false, details: { code } });
}
