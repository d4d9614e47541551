/**
 * Envelope serialisation for bus adapters: JSON by default, binary-safe.
 *
 * `Uint8Array` (and `Buffer`) values anywhere in an envelope are written as
 * `{"$pf.bytes":"<base64>"}` and come back as `Uint8Array` with the same bytes.
 * A user object whose only key is one of the two reserved tags is escaped
 * (`{"$pf.esc":[key, value]}`), so
 * no payload can be mistaken for bytes. Decode failures throw
 * {@link DecodeFailedError} with the byte size only (payloads are never logged).
 *
 * @module penguiflow/distributed/codec
 */
import { Buffer } from 'node:buffer';
import { DecodeFailedError, PayloadTooLargeError } from '../errors/index.js';
import type { BusEnvelope } from '../protocols/message-bus.js';
import type { Serializer } from '../protocols/serializer.js';
import type { Packr as PackrType } from 'msgpackr';
import { importPeer } from '../peers/peer.js';

const BYTES = '$pf.bytes';
const ESCAPE = '$pf.esc';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Base64 of some bytes (used for dead letters whose bytes could not be decoded). */
export function bytesToBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Inverse of {@link bytesToBase64}; returns a plain `Uint8Array`. */
export function base64ToBytes(text: string): Uint8Array {
  const buf = Buffer.from(text, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

function soleKey(value: object): string | undefined {
  let only: string | undefined;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (only !== undefined) return undefined;
    only = key;
  }
  return only;
}

// `this[key]` is the raw value, before Buffer#toJSON turned it into {type,data}.
function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  if (raw instanceof Uint8Array) return { [BYTES]: bytesToBase64(raw) };
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const only = soleKey(value);
    // [key, value] (an array) so the escaped object is not visited as an object again
    if (only === BYTES || only === ESCAPE) return { [ESCAPE]: [only, (value as Record<string, unknown>)[only]] };
  }
  return value;
}

function revive(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i]);
    return value;
  }
  const obj = value as Record<string, unknown>;
  const only = soleKey(obj);
  if (only === BYTES && typeof obj[BYTES] === 'string') return base64ToBytes(obj[BYTES]);
  const escaped = only === ESCAPE ? obj[ESCAPE] : undefined;
  if (Array.isArray(escaped) && escaped.length === 2 && typeof escaped[0] === 'string') {
    return { [escaped[0]]: revive(escaped[1]) };
  }
  for (const key in obj) obj[key] = revive(obj[key]);
  return obj;
}

function fail(reason: string, size: number, cause?: unknown): DecodeFailedError {
  return new DecodeFailedError(`Envelope could not be decoded: ${reason}`, { cause, details: { size, reason } });
}

/** Checks the parts of an envelope every consumer relies on. */
function assertEnvelope(value: unknown, size: number): asserts value is BusEnvelope {
  if (value === null || typeof value !== 'object') throw fail('not an object', size);
  const env = value as Partial<BusEnvelope>;
  if (typeof env.id !== 'string') throw fail('missing id', size);
  if (typeof env.topic !== 'string') throw fail('missing topic', size);
  const msg = env.message;
  if (msg === null || typeof msg !== 'object') throw fail('missing message', size);
  if (typeof msg.id !== 'string' || typeof msg.traceId !== 'string') throw fail('message without id or traceId', size);
  if (msg.headers === null || typeof msg.headers !== 'object' || typeof msg.headers.tenant !== 'string') {
    throw fail('message without headers.tenant', size);
  }
}

export interface JsonSerializerOptions {
  /**
   * Envelopes larger than this (bytes) are refused: on encode with
   * PAYLOAD_TOO_LARGE (the publish, and so the caller, gets it), on decode
   * with DECODE_FAILED (dead-lettered). Default: no limit.
   */
  maxBytes?: number;
}

function tooLarge(size: number, maxBytes: number, envelope: BusEnvelope): PayloadTooLargeError {
  return new PayloadTooLargeError(`Envelope of ${size} bytes is over the ${maxBytes}-byte limit`, {
    details: { size, maxBytes, topic: envelope.topic, messageId: envelope.message?.id },
  });
}

/**
 * The default serializer: UTF-8 JSON with tagged base64 for binary values.
 *
 * @example
 * const s = createJsonSerializer();
 * const bytes = s.encode(envelope);
 * const same = s.decode(bytes); // Uint8Array payload fields come back byte-identical
 */
export function createJsonSerializer(options: JsonSerializerOptions = {}): Serializer {
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  return {
    contentType: 'application/json',
    encode(envelope: BusEnvelope): Uint8Array {
      const bytes = encoder.encode(JSON.stringify(envelope, replacer));
      if (bytes.byteLength > maxBytes) throw tooLarge(bytes.byteLength, maxBytes, envelope);
      return bytes;
    },
    decode(bytes: Uint8Array): BusEnvelope {
      const size = bytes.byteLength;
      if (size > maxBytes) throw fail(`larger than ${maxBytes} bytes`, size);
      let text: string;
      try {
        text = decoder.decode(bytes);
      } catch (e) {
        throw fail('not UTF-8', size, e);
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        throw fail('not JSON', size, e);
      }
      if (text.includes('"$pf.')) parsed = revive(parsed);
      assertEnvelope(parsed, size);
      return parsed;
    },
  };
}

/**
 * A MessagePack serializer (msgpackr): smaller and faster than JSON for
 * binary-heavy payloads, `Uint8Array`/`Buffer` values travel as raw bytes
 * (no base64). Loaded on demand, so the JSON default needs no msgpackr.
 * Every process on a topic must use the same serializer.
 *
 * @example
 * const bus = await createRedisMessageBus({ url, serializer: await createMsgpackSerializer() });
 */
export async function createMsgpackSerializer(options: JsonSerializerOptions = {}): Promise<Serializer> {
  const { Packr } = await importPeer<{ Packr: typeof PackrType }>('msgpackr');
  // copyBuffers: decoded bytes must not alias the broker's receive buffer
  const packr = new Packr({ useRecords: false, mapsAsObjects: true, copyBuffers: true, variableMapSize: true });
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  return {
    contentType: 'application/msgpack',
    encode(envelope: BusEnvelope): Uint8Array {
      const bytes = packr.pack(envelope);
      if (bytes.byteLength > maxBytes) throw tooLarge(bytes.byteLength, maxBytes, envelope);
      return bytes;
    },
    decode(bytes: Uint8Array): BusEnvelope {
      const size = bytes.byteLength;
      if (size > maxBytes) throw fail(`larger than ${maxBytes} bytes`, size);
      let value: unknown;
      try {
        value = packr.unpack(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      } catch (e) {
        throw fail('not MessagePack', size, e);
      }
      assertEnvelope(value, size);
      return plainBytes(value) as BusEnvelope;
    },
  };
}

/** msgpackr decodes binary as Node `Buffer`s: hand out plain `Uint8Array`s, as the JSON codec does. */
function plainBytes(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Uint8Array) return value.constructor === Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = plainBytes(value[i]);
    return value;
  }
  const obj = value as Record<string, unknown>;
  for (const key in obj) obj[key] = plainBytes(obj[key]);
  return obj;
}

/** Shared default instance of {@link createJsonSerializer}. */
export const jsonSerializer: Serializer = createJsonSerializer();

/** Encodes with `serializer` (default JSON). */
export function encodeEnvelope(envelope: BusEnvelope, serializer: Serializer = jsonSerializer): Uint8Array {
  return serializer.encode(envelope);
}

/**
 * Decodes with `serializer` (default JSON). Always throws a
 * {@link DecodeFailedError}, even when a custom serializer throws something else.
 */
export function decodeEnvelope(bytes: Uint8Array, serializer: Serializer = jsonSerializer): BusEnvelope {
  try {
    return serializer.decode(bytes);
  } catch (e) {
    if (e instanceof DecodeFailedError) throw e;
    throw fail('serializer rejected the bytes', bytes.byteLength, e);
  }
}
