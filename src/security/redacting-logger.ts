/**
 * A structured JSON-lines logger that redacts by default: values under
 * sensitive keys (payloads, text, tokens, secrets, credentials, headers like
 * Authorization) become `{ redacted, bytes, sha256 }`, token-shaped strings
 * anywhere (JWTs, `Bearer …`, API keys, long hex/base64 runs) are masked,
 * and errors are logged as name + code + a hash of the message (a message
 * may quote a payload). `unsafeDebug` turns redaction off: for a developer's
 * machine, never production (it logs payloads and secrets).
 */
import { createHash } from 'node:crypto';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every line. */
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  /** Default 'info'. */
  level?: LogLevel;
  /** Where each JSON line goes. Default: process.stderr. */
  sink?: (line: string) => void;
  /**
   * UNSAFE: log payloads, messages and secrets as they are. Default: the
   * `PENGUIFLOW_UNSAFE_LOG_PAYLOADS=1` environment variable. Never in production.
   */
  unsafeDebug?: boolean;
  /** Keys whose values are always redacted, in addition to the defaults. */
  sensitiveKeys?: RegExp;
  /** Fields on every line (e.g. `{ service: 'agent' }`). */
  base?: Record<string, unknown>;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Keys whose values are payload or secret material. */
export const SENSITIVE_KEYS =
  /pass(word|phrase)?|secret|token|authori[sz]ation|cookie|api[-_]?key|credential|private[-_]?key|signature|payload|^text$|content|^body$|prompt|^parts?$|^data$|artifact|^message$|^input$|^output$|^result$/i;

const TOKEN_PATTERNS: RegExp[] = [
  /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, // JWT
  /\b(Bearer|Basic|ApiKey)\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  /\bpfk_[A-Za-z0-9_-]{16,}/g, // our API keys
  /\b(sk|pk|rk)[-_](live|test)?[-_]?[A-Za-z0-9]{16,}/g,
  /-----BEGIN [A-Z ]+-----[\s\S]*?(-----END [A-Z ]+-----|$)/g,
  /\b[A-Fa-f0-9]{32,}\b/g,
  /\b[A-Za-z0-9+/_-]{40,}={0,2}/g,
];

function digest(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16);
}

function summary(value: unknown): Record<string, unknown> {
  const s = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return { redacted: true, bytes: Buffer.byteLength(s), sha256: digest(s) };
}

/** Masks token-shaped substrings. */
export function scrubString(s: string): string {
  let out = s;
  for (const re of TOKEN_PATTERNS) out = out.replace(re, (m) => `[redacted ${digest(m).slice(0, 8)}]`);
  return out;
}

function errorFields(e: Error, depth: number, keys: RegExp): Record<string, unknown> {
  const out: Record<string, unknown> = { name: e.name, messageBytes: Buffer.byteLength(e.message), messageSha256: digest(e.message) };
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') out.code = code;
  const reason = (e as { reason?: unknown }).reason;
  if (typeof reason === 'string') out.reason = reason;
  if (e.cause !== undefined && depth < 4) out.cause = redactValue(e.cause, depth + 1, keys);
  return out;
}

function redactValue(value: unknown, depth: number, keys: RegExp): unknown {
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') return scrubString(value.length > 2_048 ? value.slice(0, 2_048) + '…' : value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return errorFields(value, depth, keys);
  if (depth > 6) return '[depth]';
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => redactValue(v, depth + 1, keys));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = SENSITIVE_KEYS.test(k) || keys.test(k) ? (v === undefined || v === null ? v : summary(v)) : redactValue(v, depth + 1, keys);
    }
    return out;
  }
  return typeof value;
}

/**
 * Redacts a log field value the way the logger does (exported for other sinks).
 *
 * @example
 * redact({ taskId: 't-1', payload: 'secret', authorization: 'Bearer abc…' });
 * // { taskId: 't-1', payload: { redacted: true, bytes: 6, sha256: '…' }, authorization: { redacted: true, … } }
 */
export function redact(value: unknown, sensitiveKeys: RegExp = /$^/): unknown {
  return redactValue(value, 0, sensitiveKeys);
}

function unsafe(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack, cause: value.cause === undefined ? undefined : unsafe(value.cause) };
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, unsafe(v)]));
  }
  return value;
}

/**
 * @example
 * const log = createLogger({ level: 'info' });
 * log.error('webhook failed', { taskId, error }); // error → name, code, message hash
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = LEVELS[options.level ?? 'info'];
  const sink = options.sink ?? ((line: string) => void process.stderr.write(line + '\n'));
  const isUnsafe = options.unsafeDebug ?? process.env.PENGUIFLOW_UNSAFE_LOG_PAYLOADS === '1';
  const keys = options.sensitiveKeys ?? /$^/;
  const make = (base: Record<string, unknown>): Logger => {
    const write = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
      if (LEVELS[level] < min) return;
      const all = { ...base, ...fields };
      const body = isUnsafe ? (unsafe(all) as Record<string, unknown>) : (redactValue(all, 0, keys) as Record<string, unknown>);
      const line: Record<string, unknown> = { ts: new Date().toISOString(), level, msg: isUnsafe ? msg : scrubString(msg), ...body };
      if (isUnsafe) line.unsafe = true;
      let text: string;
      try {
        text = JSON.stringify(line);
      } catch {
        text = JSON.stringify({ ts: line.ts, level, msg: line.msg, note: 'fields not serialisable' });
      }
      sink(text);
    };
    return {
      debug: (m, f) => write('debug', m, f),
      info: (m, f) => write('info', m, f),
      warn: (m, f) => write('warn', m, f),
      error: (m, f) => write('error', m, f),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make(options.base ?? {});
}

/**
 * An `onError` for `createA2AServer` (and other components taking
 * `(error, fields)`) that logs through a redacting logger.
 */
export function logErrorsTo(logger: Logger): (error: unknown, fields: Record<string, unknown>) => void {
  return (error, fields) => logger.error('internal failure', { ...fields, error });
}
