import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdmitRequest } from './gate.js';
import type { A2AOperations } from './operations.js';
import type { RequestScope } from './task-manager.js';
import type { SseWriterOptions } from './sse-writer.js';

/** What both bindings need from the server. */
export interface BindingContext {
  ops: A2AOperations;
  maxBodyBytes: number;
  legacy: boolean;
  sse: SseWriterOptions;
  /** Admits one more stream of `tenant`, or throws RESOURCE_EXHAUSTED; the returned function releases it. */
  admitStream(tenant: string): () => void;
  /**
   * The admission gate: authenticates, authorizes `operation` for the tenant
   * and returns the scope the operations layer requires (see gate.ts).
   */
  admit(request: AdmitRequest): Promise<RequestScope>;
  onError(error: unknown, fields: Record<string, unknown>): void;
  /** Refuses (UNAUTHENTICATED) before the body is read when the server has `auth` and the request carries no valid credential. */
  preauthenticate?(req: IncomingMessage): Promise<void>;
}

/** Parses `Last-Event-ID` (a seq of the per-task event log). */
export function lastEventId(req: IncomingMessage): number | undefined {
  const raw = req.headers['last-event-id'];
  const v = Array.isArray(raw) ? raw[0] : raw;
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** Calls `cb` when the client goes away before the response finished. */
export function clientGone(res: ServerResponse, cb: () => void): void {
  res.once('close', () => {
    if (!res.writableFinished) cb();
  });
}
