/** Small HTTP helpers: bounded body reads and JSON replies. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { A2A_ERRORS, A2AProtocolError } from '../protocol/errors.js';

/**
 * Reads the body as UTF-8 text, refusing more than `limit` bytes with
 * PAYLOAD_TOO_LARGE (413). The rest of an oversized body is discarded, not
 * buffered, and the connection is closed after the reply.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', (error) => {
      if (!failed) reject(error);
      failed = true;
    });
  });
}

function tooLarge(limit: number): A2AProtocolError {
  return new A2AProtocolError('PAYLOAD_TOO_LARGE', { message: `Request body is larger than ${limit} bytes`, metadata: { limitBytes: String(limit) } });
}

export function sendJson(res: ServerResponse, status: number, body: string, contentType: string, extraHeaders?: Record<string, string>): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  const headers: Record<string, string | number> = { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) };
  if (extraHeaders) Object.assign(headers, extraHeaders);
  res.writeHead(status, headers);
  res.end(body);
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** `application/json; charset=utf-8` → `application/json`. */
export function mediaType(req: IncomingMessage): string | undefined {
  const ct = header(req, 'content-type');
  return ct === undefined ? undefined : ct.split(';', 1)[0]!.trim().toLowerCase();
}

/** Parses the requested protocol version: `undefined`/empty means 0.3 (spec §3.6.2). */
export function requestedVersion(req: IncomingMessage, query: URLSearchParams | undefined): string {
  const raw = header(req, 'a2a-version') ?? query?.get('A2A-Version') ?? '';
  const v = raw.trim();
  if (v === '') return '0.3';
  const m = /^(\d+)(?:\.(\d+))?(?:\.\d+)?$/.exec(v);
  if (!m) return v;
  return `${Number(m[1])}.${Number(m[2] ?? 0)}`;
}

/**
 * Headers that go with an error reply: `Connection: close` after a 413,
 * `Retry-After` (seconds) on RATE_LIMITED/RESOURCE_EXHAUSTED when the error
 * carries `metadata.retryAfterSeconds`, and `WWW-Authenticate` on 401.
 */
export function errorHeaders(e: A2AProtocolError): Record<string, string> | undefined {
  const http = A2A_ERRORS[e.reason].http;
  if (http === 413) return { Connection: 'close' };
  const retry = e.metadata?.retryAfterSeconds;
  if (retry !== undefined && /^\d{1,7}$/.test(retry)) return { 'Retry-After': retry };
  if (http === 401) return { 'WWW-Authenticate': e.metadata?.wwwAuthenticate ?? 'Bearer' };
  return undefined;
}
