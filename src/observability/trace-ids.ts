import { createHash, randomFillSync } from 'node:crypto';

/*
 * Deterministic OpenTelemetry ids for a penguiflow trace. Every process that
 * sees events of a trace (controller, workers) derives the same OTel trace id
 * and the same root span id from the penguiflow trace id alone, so their spans
 * join one tree without carrying context through every bus hop.
 */

function digest(traceId: string): Buffer {
  return createHash('sha256').update(`penguiflow:${traceId}`).digest();
}

/** Both derived ids from one digest: `traceId` (OTel trace id) and `spanId` (the root span's id). */
export function otelIdsOf(traceId: string): { traceId: string; spanId: string } {
  const d = digest(traceId);
  const t = d.toString('hex', 0, 16);
  const s = d.toString('hex', 16, 24);
  return { traceId: /^0+$/.test(t) ? '00000000000000000000000000000001' : t, spanId: /^0+$/.test(s) ? '0000000000000001' : s };
}

/** 32 lower-case hex chars: the first 16 bytes of SHA-256 of the trace id (never all zero). */
export function otelTraceIdOf(traceId: string): string {
  return otelIdsOf(traceId).traceId;
}

/** 16 lower-case hex chars: the id of the trace's root span (bytes 16..24 of the same digest). */
export function rootSpanIdOf(traceId: string): string {
  return otelIdsOf(traceId).spanId;
}

/**
 * The W3C `traceparent` header for outbound calls made on behalf of a trace
 * (A2A requests, webhooks): `00-<otel trace id>-<root span id>-01`. A receiver
 * that starts its spans under it lands in the same tree.
 *
 * @example
 * headers.traceparent = traceparentOf(msg.traceId);
 */
export function traceparentOf(traceId: string, sampled = true): string {
  return `00-${otelTraceIdOf(traceId)}-${rootSpanIdOf(traceId)}-${sampled ? '01' : '00'}`;
}

/** Parses a W3C traceparent; undefined when malformed or all-zero. */
export function parseTraceparent(header: string | undefined): { traceId: string; spanId: string; sampled: boolean } | undefined {
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(header?.trim().toLowerCase() ?? '');
  if (!m || m[1] === 'ff' || /^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return undefined;
  return { traceId: m[2]!, spanId: m[3]!, sampled: (parseInt(m[4]!, 16) & 1) === 1 };
}

let pinned: { traceId?: string; spanId: string } | undefined;

// Random ids from a pooled buffer: one randomFillSync per 4 KiB instead of one per span.
const pool = Buffer.alloc(4096);
let poolAt = pool.length;
function randomHex(bytes: number): string {
  if (poolAt + bytes > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const hex = pool.toString('hex', poolAt, poolAt + bytes);
  poolAt += bytes;
  return /^0+$/.test(hex) ? randomHex(bytes) : hex;
}

/** @internal Runs `fn` (one synchronous `startSpan`) with the next generated ids pinned. */
export function withPinnedIds<T>(ids: { traceId?: string; spanId: string }, fn: () => T): T {
  pinned = ids;
  try {
    return fn();
  } finally {
    pinned = undefined;
  }
}

/**
 * An OpenTelemetry SDK `IdGenerator` (structurally typed, no SDK import):
 * random ids, except while the tracing middleware starts a trace's root span,
 * when it returns the deterministic ids. Give it to your tracer provider so the
 * root span has the id every other process uses as parent.
 *
 * @example
 * const provider = new BasicTracerProvider({ idGenerator: new PenguiflowIdGenerator(), spanProcessors: [...] });
 */
export class PenguiflowIdGenerator {
  generateTraceId(): string {
    if (pinned?.traceId !== undefined) return pinned.traceId;
    return randomHex(16);
  }
  generateSpanId(): string {
    if (pinned !== undefined) {
      const id = pinned.spanId;
      pinned = { ...(pinned.traceId !== undefined ? { traceId: pinned.traceId } : {}), spanId: randomHex(8) };
      return id;
    }
    return randomHex(8);
  }
}
