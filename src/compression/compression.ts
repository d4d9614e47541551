/**
 * Content encodings shared by the bus serializer wrapper and the HTTP
 * compression of the A2A server and client: gzip, deflate, brotli, and zstd
 * where this Node has it (`zlib.zstdCompressSync`, Node ≥ 22.15). Every
 * decompression is bounded (`maxOutputLength`), so a small bomb cannot
 * expand without limit; a corrupt or oversized input throws
 * {@link DecodeFailedError} with sizes only.
 *
 * @module penguiflow/compression
 */
import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import { DecodeFailedError } from '../errors/index.js';

export type ContentEncoding = 'gzip' | 'deflate' | 'br' | 'zstd';

type SyncFn = (buf: Uint8Array, options?: object) => Buffer;
interface Codec {
  compress: SyncFn;
  decompress: SyncFn;
  compressOptions: object;
}

const z = zlib as unknown as Record<string, SyncFn | undefined>;

const CODECS: Partial<Record<ContentEncoding, Codec>> = {
  gzip: { compress: zlib.gzipSync, decompress: zlib.gunzipSync, compressOptions: { level: 6 } },
  deflate: { compress: zlib.deflateSync, decompress: zlib.inflateSync, compressOptions: { level: 6 } },
  // quality 5: most of brotli's ratio at a fraction of the default (11)'s time
  br: { compress: zlib.brotliCompressSync, decompress: zlib.brotliDecompressSync, compressOptions: { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } } },
};
if (z.zstdCompressSync && z.zstdDecompressSync) CODECS.zstd = { compress: z.zstdCompressSync, decompress: z.zstdDecompressSync, compressOptions: {} };

/** Encodings this process can read and write, preferred first. */
export const SUPPORTED_ENCODINGS: readonly ContentEncoding[] = (['zstd', 'br', 'gzip', 'deflate'] as const).filter((e) => CODECS[e] !== undefined);

export function isSupportedEncoding(value: string): value is ContentEncoding {
  return (SUPPORTED_ENCODINGS as readonly string[]).includes(value);
}

function codec(encoding: ContentEncoding): Codec {
  const c = CODECS[encoding];
  if (!c) throw new DecodeFailedError(`Content encoding ${encoding} is not available in this Node`, { details: { reason: 'unsupported encoding', encoding } });
  return c;
}

/**
 * @example
 * const packed = compressBytes(bytes, 'br');
 * const same = decompressBytes(packed, 'br', 64 * 1024 * 1024);
 */
export function compressBytes(bytes: Uint8Array, encoding: ContentEncoding): Uint8Array {
  const c = codec(encoding);
  return c.compress(bytes, c.compressOptions);
}

/** Decompresses at most `maxBytes` of output; throws DecodeFailedError when corrupt or larger. */
export function decompressBytes(bytes: Uint8Array, encoding: ContentEncoding, maxBytes: number): Uint8Array {
  const c = codec(encoding);
  try {
    return c.decompress(bytes, { maxOutputLength: Math.max(1, Math.min(maxBytes, 2 ** 31 - 1)) });
  } catch (e) {
    const tooLarge = (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
    throw new DecodeFailedError(tooLarge ? `Decompressed data is larger than ${maxBytes} bytes` : `Corrupt ${encoding} data`, {
      cause: e,
      details: { size: bytes.byteLength, encoding, reason: tooLarge ? 'too large' : 'corrupt' },
    });
  }
}

const asyncFns: Partial<Record<ContentEncoding, (buf: Uint8Array, options: object) => Promise<Buffer>>> = {
  gzip: promisify(zlib.gzip),
  deflate: promisify(zlib.deflate),
  br: promisify(zlib.brotliCompress),
};

/** Like {@link compressBytes} on the libuv thread pool (for HTTP responses). */
export async function compressBytesAsync(bytes: Uint8Array, encoding: ContentEncoding): Promise<Uint8Array> {
  const fn = asyncFns[encoding];
  if (!fn) return compressBytes(bytes, encoding);
  return fn(bytes, codec(encoding).compressOptions);
}

/**
 * Picks the response encoding from an `Accept-Encoding` header: the first of
 * `preferred` the client accepts with q > 0; undefined when none (identity).
 */
export function negotiateEncoding(acceptEncoding: string | undefined, preferred: readonly ContentEncoding[] = SUPPORTED_ENCODINGS): ContentEncoding | undefined {
  if (!acceptEncoding) return undefined;
  const accepted = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)).find((m) => m);
    accepted.set(name, q ? Number(q[1]) : 1);
  }
  for (const enc of preferred) {
    const q = accepted.get(enc) ?? accepted.get('*');
    if (q !== undefined && q > 0 && CODECS[enc]) return enc;
  }
  return undefined;
}
