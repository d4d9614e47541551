/** `@opentelemetry/api`, loaded on first use (see peer.ts). */
import type * as Otel from '@opentelemetry/api';
import { lazyExport } from './peer.js';

export type { Context, Span, Tracer } from '@opentelemetry/api';
const o = <K extends keyof typeof Otel>(key: K) => lazyExport<(typeof Otel)[K] & object>('@opentelemetry/api', (m) => m[key], { kind: 'object' });
export const context = o('context');
export const trace = o('trace');
export const ROOT_CONTEXT = o('ROOT_CONTEXT');
export const SpanKind = o('SpanKind');
export type SpanKind = Otel.SpanKind;
export const SpanStatusCode = o('SpanStatusCode');
export type SpanStatusCode = Otel.SpanStatusCode;
export const TraceFlags = o('TraceFlags');
export type TraceFlags = Otel.TraceFlags;
