/**
 * Envelope compression for every bus adapter, as a {@link Serializer} wrapper:
 * envelopes whose encoded size reaches `thresholdBytes` are compressed and
 * flagged with a 4-byte header (`00 70 66 <encoding>`: a zero byte, `pf`, and
 * 1 gzip · 2 deflate · 3 brotli · 4 zstd). Neither JSON nor a msgpack
 * envelope (a map) can start with a zero byte, so the flag is unambiguous,
 * and unflagged bytes are handed to the inner serializer unchanged: a
 * compressing consumer reads envelopes from producers that do not compress.
 *
 * @module penguiflow/distributed/compressed-serializer
 */
import { DecodeFailedError } from '../errors/index.js';
import type { BusEnvelope } from '../protocols/message-bus.js';
import type { Serializer } from '../protocols/serializer.js';
import { compressBytes, decompressBytes, type ContentEncoding } from '../compression/compression.js';
import { decodeEnvelope, jsonSerializer } from './codec.js';

const ENCODING_IDS: Record<ContentEncoding, number> = { gzip: 1, deflate: 2, br: 3, zstd: 4 };
const ENCODING_BY_ID: readonly (ContentEncoding | undefined)[] = [undefined, 'gzip', 'deflate', 'br', 'zstd'];
const FLAG_0 = 0x00;
const FLAG_1 = 0x70;
const FLAG_2 = 0x66;

export interface CompressedSerializerOptions {
  /** Compress encoded envelopes of at least this many bytes. Default 16 KiB. */
  thresholdBytes?: number;
  /** Default `gzip` (every Node has it; `br` is smaller and slower, `zstd` needs Node ≥ 22.15). */
  encoding?: ContentEncoding;
  /** Largest decompressed envelope accepted. Default 256 MiB. */
  maxBytes?: number;
}

/** True when `bytes` carry the compression flag. */
export function isCompressedEnvelope(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 4 && bytes[0] === FLAG_0 && bytes[1] === FLAG_1 && bytes[2] === FLAG_2;
}

/**
 * Wraps a serializer (default JSON) with threshold compression.
 *
 * @example
 * const serializer = createCompressedSerializer(await createMsgpackSerializer(), { thresholdBytes: 8192, encoding: 'br' });
 * const bus = await createRedisMessageBus({ url, serializer });
 */
export function createCompressedSerializer(inner: Serializer = jsonSerializer, options: CompressedSerializerOptions = {}): Serializer {
  const threshold = options.thresholdBytes ?? 16 * 1024;
  const encoding = options.encoding ?? 'gzip';
  const maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
  const id = ENCODING_IDS[encoding];
  compressBytes(new Uint8Array(0), encoding); // fails now, not at the first large publish, when the encoding is unavailable
  const serializer: Serializer = {
    encode(envelope: BusEnvelope): Uint8Array {
      const raw = inner.encode(envelope);
      if (raw.byteLength < threshold) return raw;
      const packed = compressBytes(raw, encoding);
      const out = new Uint8Array(4 + packed.byteLength);
      out[0] = FLAG_0;
      out[1] = FLAG_1;
      out[2] = FLAG_2;
      out[3] = id;
      out.set(packed, 4);
      return out;
    },
    decode(bytes: Uint8Array): BusEnvelope {
      if (!isCompressedEnvelope(bytes)) return decodeEnvelope(bytes, inner);
      const enc = ENCODING_BY_ID[bytes[3]!];
      if (!enc) throw new DecodeFailedError('Envelope could not be decoded: unknown compression flag', { details: { size: bytes.byteLength, reason: 'unknown compression' } });
      return decodeEnvelope(decompressBytes(bytes.subarray(4), enc, maxBytes), inner);
    },
  };
  if (inner.contentType !== undefined) Object.defineProperty(serializer, 'contentType', { value: inner.contentType, enumerable: true });
  return serializer;
}
