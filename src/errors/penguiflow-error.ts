import { ERROR_TABLE, isErrorCode, type ErrorCode, type ErrorFamily } from './codes.js';

const BRAND = Symbol.for('penguiflow.error');

/** JSON form of an error; round-trips through {@link PenguiflowError.fromJSON} with its cause chain. */
export interface PenguiflowErrorJSON {
  name: string;
  code: ErrorCode;
  message: string;
  retryable: boolean;
  details?: Record<string, unknown>;
  cause?: PenguiflowErrorJSON | { name: string; message: string };
}

export interface PenguiflowErrorOptions {
  cause?: unknown;
  retryable?: boolean;
  details?: Record<string, unknown>;
}

/**
 * Base of every error penguiflow throws or delivers. Identity survives
 * bundling and process boundaries: use {@link isPenguiflowError}, not
 * `instanceof`, across package copies.
 *
 * @example
 * try { await flow.fetch({ traceId }) } catch (e) { if (isPenguiflowError(e, 'NODE_TIMEOUT')) retryLater() }
 */
export class PenguiflowError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly family: ErrorFamily;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, options: PenguiflowErrorOptions = {}) {
    const row = ERROR_TABLE[code];
    super(message ?? row.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = row.name;
    this.code = code;
    this.family = row.family;
    this.retryable = options.retryable ?? row.retryable;
    this.details = options.details;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** Set on each generated subclass, so `instanceof NodeTimeoutError` checks the code, not just the brand. */
  static readonly errorCode: ErrorCode | undefined = undefined;

  // Brand-based so identity survives duplicate package copies and bundling.
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null || (value as Record<symbol, unknown>)[BRAND] !== true) return false;
    const code = (this as unknown as { errorCode?: ErrorCode }).errorCode;
    return code === undefined || (value as PenguiflowError).code === code;
  }

  toJSON(): PenguiflowErrorJSON {
    const json: PenguiflowErrorJSON = { name: this.name, code: this.code, message: this.message, retryable: this.retryable };
    if (this.details !== undefined) json.details = this.details;
    if (this.cause !== undefined) json.cause = causeToJSON(this.cause);
    return json;
  }

  /** Rebuilds an error (with its subclass and cause chain) from {@link toJSON} output. */
  static fromJSON(json: PenguiflowErrorJSON): PenguiflowError {
    const code = isErrorCode(json.code) ? json.code : 'INTERNAL';
    const cause = json.cause === undefined ? undefined : causeFromJSON(json.cause);
    return createError(code, json.message, { retryable: json.retryable, details: json.details, cause });
  }
}

function causeToJSON(cause: unknown): PenguiflowErrorJSON | { name: string; message: string } {
  if (cause instanceof PenguiflowError) return cause.toJSON();
  if (cause instanceof Error) return { name: cause.name, message: cause.message };
  return { name: 'Error', message: String(cause) };
}

function causeFromJSON(json: PenguiflowErrorJSON | { name: string; message: string }): Error {
  if ('code' in json) return PenguiflowError.fromJSON(json);
  const error = new Error(json.message);
  error.name = json.name;
  return error;
}

type Constructor = new (message?: string, options?: PenguiflowErrorOptions) => PenguiflowError;
const constructors = new Map<ErrorCode, Constructor>();

/** Registers the subclass for a code so {@link createError} and `fromJSON` rebuild the right class. */
export function registerErrorClass(code: ErrorCode, ctor: Constructor): void {
  constructors.set(code, ctor);
}

/** Builds the subclass registered for `code`. */
export function createError(code: ErrorCode, message?: string, options?: PenguiflowErrorOptions): PenguiflowError {
  const ctor = constructors.get(code);
  return ctor ? new ctor(message, options) : new PenguiflowError(code, message, options);
}

/**
 * True when `value` is a PenguiflowError (optionally with `code`), looking
 * through the `cause` chain so wrapped errors are still recognised.
 */
export function isPenguiflowError(value: unknown, code?: ErrorCode): value is PenguiflowError {
  let current: unknown = value;
  for (let depth = 0; depth < 16 && current !== undefined && current !== null; depth++) {
    if (current instanceof PenguiflowError && (code === undefined || current.code === code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Finds the first PenguiflowError in the cause chain, if any. */
export function findPenguiflowError(value: unknown): PenguiflowError | undefined {
  let current: unknown = value;
  for (let depth = 0; depth < 16 && current !== undefined && current !== null; depth++) {
    if (current instanceof PenguiflowError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
