import type { BusEnvelope } from './message-bus.js';

/**
 * Turns a {@link BusEnvelope} into bytes and back. Bus adapters take one in
 * their options (`serializer`); the default is the JSON codec of
 * `penguiflow/distributed` (binary-safe).
 *
 * Invariants: `decode(encode(env))` MUST deep-equal `env` for every envelope
 * whose payload holds JSON values and `Uint8Array`s; `decode` MUST throw a
 * `DecodeFailedError` (never return a partial envelope) when the bytes are not
 * an envelope, so the bus can dead-letter them instead of crash-looping.
 *
 * @example
 * const msgpack: Serializer = { contentType: 'application/msgpack', encode: (e) => pack(e), decode: (b) => unpack(b) };
 */
export interface Serializer {
  /** MIME type written beside the bytes where the broker has headers, e.g. `application/json`. */
  readonly contentType?: string;
  encode(envelope: BusEnvelope): Uint8Array;
  decode(bytes: Uint8Array): BusEnvelope;
}
