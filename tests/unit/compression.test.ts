import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { compressBytes, decompressBytes, negotiateEncoding, SUPPORTED_ENCODINGS } from '../../src/compression/index.js';
import { createCompressedSerializer, createJsonSerializer, createMsgpackSerializer, isCompressedEnvelope } from '../../src/distributed/index.js';
import { DecodeFailedError, isPenguiflowError } from '../../src/errors/index.js';
import { message } from '../../src/index.js';
import type { BusEnvelope } from '../../src/protocols/message-bus.js';

const env = (payload: unknown): BusEnvelope => ({ id: 'e1', topic: 't', message: message(payload, { tenant: 'acme' }) });

describe('compression helpers', () => {
  it.each(SUPPORTED_ENCODINGS)('%s round-trips bytes', (enc) => {
    const data = Buffer.from('penguiflow '.repeat(5000));
    const packed = compressBytes(data, enc);
    expect(packed.byteLength).toBeLessThan(data.byteLength / 10);
    expect(Buffer.from(decompressBytes(packed, enc, 1 << 20)).equals(data)).toBe(true);
  });

  it('corrupt input is a DecodeFailedError, not a crash', () => {
    for (const enc of SUPPORTED_ENCODINGS) {
      const err = (() => {
        try {
          decompressBytes(randomBytes(64), enc, 1 << 20);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(DecodeFailedError);
      expect((err as DecodeFailedError).details).toMatchObject({ reason: 'corrupt', encoding: enc });
    }
  });

  it('a decompression bomb stops at maxBytes', () => {
    const bomb = compressBytes(new Uint8Array(50 * 1024 * 1024), 'gzip');
    expect(bomb.byteLength).toBeLessThan(100 * 1024);
    expect(() => decompressBytes(bomb, 'gzip', 1024 * 1024)).toThrow(DecodeFailedError);
  });

  it('negotiates Accept-Encoding with q-values', () => {
    expect(negotiateEncoding('gzip, br', ['br', 'gzip'])).toBe('br');
    expect(negotiateEncoding('gzip;q=1, br;q=0', ['br', 'gzip'])).toBe('gzip');
    expect(negotiateEncoding('identity', ['br', 'gzip'])).toBeUndefined();
    expect(negotiateEncoding(undefined)).toBeUndefined();
    expect(negotiateEncoding('*', ['gzip'])).toBe('gzip');
  });
});

describe('createCompressedSerializer', () => {
  it('compresses at the threshold only, flags it, and reads unflagged bytes (mixed producers)', async () => {
    for (const inner of [createJsonSerializer(), await createMsgpackSerializer()]) {
      const s = createCompressedSerializer(inner, { thresholdBytes: 1024, encoding: 'br' });
      const small = s.encode(env('hi'));
      expect(isCompressedEnvelope(small)).toBe(false);
      const bytes = new Uint8Array(200_000).fill(7);
      const big = s.encode(env({ bytes, text: 'x'.repeat(10_000) }));
      expect(isCompressedEnvelope(big)).toBe(true);
      const back = s.decode(big).message.payload as { bytes: Uint8Array; text: string };
      expect(Buffer.from(back.bytes).equals(Buffer.from(bytes))).toBe(true);
      expect(s.decode(inner.encode(env('plain'))).message.payload).toBe('plain');
      expect(s.contentType).toBe(inner.contentType);
    }
  });

  it('a corrupt compressed envelope, an unknown flag or a corrupt msgpack frame is a DecodeFailedError', async () => {
    const s = createCompressedSerializer(await createMsgpackSerializer(), { thresholdBytes: 10 });
    const good = s.encode(env('x'.repeat(100)));
    const corrupt = good.slice();
    corrupt.fill(0xaa, 8);
    expect(() => s.decode(corrupt)).toThrow(DecodeFailedError);
    const unknown = good.slice();
    unknown[3] = 99;
    expect(() => s.decode(unknown)).toThrow(DecodeFailedError);
    const badMsgpack = new Uint8Array([0xc1, 0xc1, 0xc1]);
    const err = (() => {
      try {
        s.decode(badMsgpack);
      } catch (e) {
        return e;
      }
    })();
    expect(isPenguiflowError(err) && err.code).toBe('DECODE_FAILED');
  });
});
