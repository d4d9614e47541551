/**
 * HTTP compression for the A2A server, as a wrapper around its `(req, res)`
 * handler: request bodies with `Content-Encoding: gzip | br | deflate`
 * (zstd where Node has it) are decompressed, bounded, before the bindings
 * read them; JSON replies of at least `thresholdBytes` are compressed with
 * the best encoding the client's `Accept-Encoding` allows. SSE streams pass
 * through uncompressed (each event must reach the client when it is written).
 *
 * A corrupt compressed body is a typed `PARSE_ERROR` (400; `-32700` on the
 * JSON-RPC path), a body that expands past `maxDecodedBytes` is
 * `PAYLOAD_TOO_LARGE` (413), an unknown encoding is 415.
 *
 * Nothing is inflated for a caller the server has not authenticated: the
 * `admit` hook (the A2A server passes its authentication) runs before the
 * body is read, and inflation runs on the libuv pool, never on the event loop.
 */
import { IncomingMessage, type ServerResponse } from 'node:http';
import { compressBytesAsync, decompressBytes, isSupportedEncoding, negotiateEncoding, SUPPORTED_ENCODINGS, type ContentEncoding } from '../compression/compression.js';
import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import { DecodeFailedError, isPenguiflowError } from '../errors/index.js';
import { JSON_CONTENT_TYPE } from './protocol/constants.js';
import { A2A_ERRORS, A2AProtocolError, asProtocolError, toJsonRpcError, toRestError } from './protocol/errors.js';
import { REST_PATH } from './server/agent-card.js';
import { errorHeaders, sendJson } from './server/http-io.js';

export interface HttpCompressionOptions {
  /** Replies smaller than this go uncompressed. Default 1 KiB. */
  thresholdBytes?: number;
  /** Response encodings in order of preference. Default brotli, then gzip (zstd first where available). */
  encodings?: readonly ContentEncoding[];
  /** Largest compressed request body. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Largest decompressed request body. Default 16 MiB (the server's own `maxBodyBytes` still applies after). */
  maxDecodedBytes?: number;
  /**
   * Runs before a compressed body is read or inflated; a throw (e.g.
   * UNAUTHENTICATED) is the reply. `createA2AServer` passes its authentication.
   */
  admit?: (req: IncomingMessage) => Promise<void>;
}

let inflations = 0;
/** How many request bodies this process has inflated (tests, metrics). */
export function inflateCount(): number {
  return inflations;
}

const INFLATE: Record<ContentEncoding, ((buf: Uint8Array, options: zlib.ZlibOptions & zlib.BrotliOptions) => Promise<Buffer>) | undefined> = {
  gzip: promisify(zlib.gunzip),
  deflate: promisify(zlib.inflate),
  br: promisify(zlib.brotliDecompress),
  zstd: typeof (zlib as unknown as { zstdDecompress?: unknown }).zstdDecompress === 'function' ? promisify((zlib as unknown as { zstdDecompress: typeof zlib.gunzip }).zstdDecompress) : undefined,
};

/** Inflates on the thread pool, bounded by `maxBytes`. */
async function inflate(raw: Uint8Array, encoding: ContentEncoding, maxBytes: number): Promise<Uint8Array> {
  inflations++;
  const fn = INFLATE[encoding];
  if (!fn) return decompressBytes(raw, encoding, maxBytes);
  try {
    return await fn(raw, { maxOutputLength: Math.max(1, Math.min(maxBytes, 2 ** 31 - 1)) });
  } catch (e) {
    const tooLarge = (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || (e as { code?: string }).code === 'ERR_OUT_OF_RANGE';
    throw new DecodeFailedError(tooLarge ? `Decompressed data is larger than ${maxBytes} bytes` : `Corrupt ${encoding} data`, {
      cause: e,
      details: { size: raw.byteLength, encoding, reason: tooLarge ? 'too large' : 'corrupt' },
    });
  }
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const COMPRESSIBLE = /^(application\/(json|a2a\+json|[\w.+-]*\+json)|text\/(plain|html))\b/i;

function replyError(req: IncomingMessage, res: ServerResponse, error: A2AProtocolError, status?: number, extra?: Record<string, string>): void {
  const path = (req.url ?? '/').split('?', 1)[0]!;
  const headers = { ...extra, Connection: 'close' };
  if (path === REST_PATH || path.startsWith(REST_PATH + '/')) {
    const { status: s, body } = toRestError(error);
    sendJson(res, status ?? s, JSON.stringify(body), JSON_CONTENT_TYPE, headers);
    return;
  }
  sendJson(res, status ?? 200, JSON.stringify({ jsonrpc: '2.0', id: null, error: toJsonRpcError(error) }), JSON_CONTENT_TYPE, headers);
}

/** A request object the bindings can read like the original, with the decompressed body. */
function withBody(req: IncomingMessage, body: Uint8Array): IncomingMessage {
  const fake = new IncomingMessage(req.socket);
  const headers = { ...req.headers, 'content-length': String(body.byteLength) };
  delete headers['content-encoding'];
  fake.headers = headers;
  fake.method = req.method;
  fake.url = req.url;
  fake.httpVersion = req.httpVersion;
  fake.httpVersionMajor = req.httpVersionMajor;
  fake.httpVersionMinor = req.httpVersionMinor;
  // without it, the auto-destroy after the end counts as an abort and destroys the shared socket
  fake.complete = true;
  fake.push(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  fake.push(null);
  return fake;
}

function headerObject(args: unknown[]): Record<string, unknown> {
  const last = args.at(-1);
  return last !== null && typeof last === 'object' && !Array.isArray(last) ? (last as Record<string, unknown>) : {};
}

/** Compresses a buffered (writeHead + end) reply; anything that calls `write` streams through untouched. */
function compressReplies(res: ServerResponse, encoding: ContentEncoding, threshold: number): void {
  const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => ServerResponse;
  const write = res.write.bind(res) as (...a: unknown[]) => boolean;
  const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
  let stashed: unknown[] | undefined;
  const restore = () => {
    res.writeHead = writeHead;
    res.write = write as ServerResponse['write'];
    res.end = end as ServerResponse['end'];
  };
  const flush = () => {
    restore();
    if (stashed) writeHead(...stashed);
  };
  res.writeHead = ((...args: unknown[]) => {
    stashed = args;
    return res;
  });
  res.write = ((...args: unknown[]) => {
    flush();
    return write(...args);
  }) as ServerResponse['write'];
  res.end = ((...args: unknown[]) => {
    const chunk = args[0];
    const body = typeof chunk === 'string' ? Buffer.from(chunk) : chunk instanceof Uint8Array ? chunk : undefined;
    const headers = stashed ? headerObject(stashed) : {};
    const find = (name: string) => Object.keys(headers).find((k) => k.toLowerCase() === name);
    const typeKey = find('content-type');
    const type = String((typeKey ? headers[typeKey] : undefined) ?? res.getHeader('content-type') ?? '');
    const already = find('content-encoding') !== undefined || res.getHeader('content-encoding') !== undefined;
    if (!body || body.byteLength < threshold || already || !COMPRESSIBLE.test(type) || typeof args[1] === 'function') {
      flush();
      return end(...args);
    }
    restore();
    compressBytesAsync(body, encoding).then(
      (packed) => {
        const status = typeof stashed?.[0] === 'number' ? stashed[0] : res.statusCode;
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(headers)) if (!['content-length', 'vary'].includes(k.toLowerCase())) out[k] = v;
        const varyKey = find('vary');
        const vary = varyKey ? headers[varyKey] : res.getHeader('vary');
        res.removeHeader('content-length');
        out['Content-Encoding'] = encoding;
        out['Content-Length'] = packed.byteLength;
        out.Vary = vary ? `${String(vary)}, Accept-Encoding` : 'Accept-Encoding';
        writeHead(status, out);
        end(packed);
      },
      () => {
        if (stashed) writeHead(...stashed);
        end(body);
      },
    );
    return res;
  }) as ServerResponse['end'];
}

/**
 * Wraps an A2A server's handler with HTTP compression (both directions).
 *
 * @example
 * const a2a = createA2AServer({ flow, store, card });
 * createServer(withHttpCompression(a2a.handler, { thresholdBytes: 2048 })).listen(8080);
 */
export function withHttpCompression(handler: Handler, options: HttpCompressionOptions = {}): Handler {
  const threshold = options.thresholdBytes ?? 1024;
  const prefs = (options.encodings ?? SUPPORTED_ENCODINGS.filter((e) => e !== 'deflate')).filter(isSupportedEncoding);
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  const maxDecoded = options.maxDecodedBytes ?? 16 * 1024 * 1024;
  return (req, res) => {
    const accept = req.headers['accept-encoding'];
    const encoding = negotiateEncoding(Array.isArray(accept) ? accept.join(',') : accept, prefs);
    if (encoding) compressReplies(res, encoding, threshold);
    const ce = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
    if (ce === '' || ce === 'identity') return handler(req, res);
    if (!isSupportedEncoding(ce)) {
      req.resume();
      return replyError(req, res, new A2AProtocolError('INVALID_REQUEST', { message: `Content-Encoding ${ce.slice(0, 32)} is not supported`, metadata: { supported: SUPPORTED_ENCODINGS.join(',') } }), 415);
    }
    const admit = options.admit ?? (() => Promise.resolve());
    admit(req).then(
      () =>
        collect(req, maxBody).then(
          (raw) =>
            inflate(raw, ce, maxDecoded).then(
              (body) => handler(withBody(req, body), res),
              (e: unknown) => {
                const tooLarge = isPenguiflowError(e) && e.details?.reason === 'too large';
                const err = tooLarge
                  ? new A2AProtocolError('PAYLOAD_TOO_LARGE', { message: `Decompressed body is larger than ${maxDecoded} bytes`, metadata: { limitBytes: String(maxDecoded) } })
                  : new A2AProtocolError('PARSE_ERROR', { message: `Corrupt ${ce} request body` });
                replyError(req, res, err, tooLarge ? 413 : 400);
              },
            ),
          (e: unknown) => replyError(req, res, e instanceof A2AProtocolError ? e : new A2AProtocolError('INVALID_REQUEST', { message: 'Request body could not be read' }), e instanceof A2AProtocolError ? 413 : 400),
        ),
      (e: unknown) => {
        // refused before the body is read: discard it unread and close
        req.resume();
        const err = asProtocolError(e);
        replyError(req, res, err, A2A_ERRORS[err.reason].http, errorHeaders(err));
      },
    );
  };
}

function collect(req: IncomingMessage, limit: number): Promise<Uint8Array> {
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
        reject(new A2AProtocolError('PAYLOAD_TOO_LARGE', { message: `Compressed request body is larger than ${limit} bytes`, metadata: { limitBytes: String(limit) } }));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', (error) => {
      if (!failed) reject(error);
      failed = true;
    });
  });
}
