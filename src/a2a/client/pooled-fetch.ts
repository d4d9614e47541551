/**
 * `createA2AFetch`: a `fetch` for `createA2AClient({ fetch })` with
 * connection reuse and request compression.
 *
 * Node's global fetch keeps sockets alive but opens as many per origin as
 * there are concurrent requests, and drops idle ones after 4 s. This one
 * shares one undici `Agent` per client: at most `connections` keep-alive
 * sockets per origin (more requests queue for a free socket instead of
 * opening more), idle sockets kept `keepAliveMs`. Responses are
 * decompressed by undici (gzip, deflate, br); request bodies of at least
 * `compressRequests.thresholdBytes` are compressed when asked to (only for
 * peers that accept a compressed request body, such as a penguiflow server
 * behind `withHttpCompression`).
 */
import { Agent, fetch as undiciFetch } from '../../peers/undici.js';
import { compressBytes, type ContentEncoding } from '../../compression/compression.js';

export interface A2AFetchOptions {
  /** Keep-alive sockets per origin. Default 16. */
  connections?: number;
  /** How long an idle socket is kept. Default 30 s. */
  keepAliveMs?: number;
  /** Compress request bodies at or above a size. Default off. */
  compressRequests?: { thresholdBytes?: number; encoding?: ContentEncoding } | false;
  /** `Accept-Encoding` sent when the caller sets none. Default `br, gzip, deflate`. */
  acceptEncoding?: string;
}

export type A2AFetch = typeof fetch & {
  /** Closes every pooled socket. */
  close(): Promise<void>;
};

/**
 * @example
 * const pooled = createA2AFetch({ connections: 8, compressRequests: { thresholdBytes: 8192 } });
 * const client = createA2AClient({ fetch: pooled });
 * // … on shutdown
 * await pooled.close();
 */
export function createA2AFetch(options: A2AFetchOptions = {}): A2AFetch {
  const keepAliveMs = options.keepAliveMs ?? 30_000;
  const dispatcher = new Agent({ connections: options.connections ?? 16, keepAliveTimeout: keepAliveMs, keepAliveMaxTimeout: Math.max(keepAliveMs, 60_000), pipelining: 1 });
  const compress = options.compressRequests === false || options.compressRequests === undefined ? undefined : options.compressRequests;
  const threshold = compress?.thresholdBytes ?? 8192;
  const encoding = compress?.encoding ?? 'gzip';
  const accept = options.acceptEncoding ?? 'br, gzip, deflate';
  const pooled = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    if (!headers.has('accept-encoding')) headers.set('accept-encoding', accept);
    let body = init.body;
    if (compress && !headers.has('content-encoding') && (typeof body === 'string' || body instanceof Uint8Array)) {
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      if (bytes.byteLength >= threshold) {
        body = compressBytes(bytes, encoding) as Uint8Array<ArrayBuffer>;
        headers.set('content-encoding', encoding);
        headers.delete('content-length');
      }
    }
    const res = await undiciFetch(input as Parameters<typeof undiciFetch>[0], { ...(init as Parameters<typeof undiciFetch>[1]), headers: plain(headers), body: body as never, dispatcher });
    return res as unknown as Response;
  };
  return Object.assign(pooled, { close: () => dispatcher.close() });
}

function plain(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, key) => {
    out[key] = value;
  });
  return out;
}
