import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { message } from '../../src/core/message.js';
import {
  createJsonSerializer,
  createMsgpackSerializer,
  decodeEnvelope,
  encodeEnvelope,
  jsonSerializer,
} from '../../src/distributed/codec.js';
import { isPenguiflowError } from '../../src/errors/index.js';
import type { BusEnvelope } from '../../src/protocols/index.js';
import type { Serializer } from '../../src/protocols/serializer.js';

function envelope(payload: unknown): BusEnvelope {
  return {
    id: 'e-1',
    topic: 'summarize',
    key: 'trace-1',
    message: message(payload, { tenant: 'acme', deadline: 1_900_000_000_000, meta: { a: 1, nested: { b: [true, null] } } }),
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  };
}

describe('JSON envelope codec', () => {
  it('round-trips tenant, trace, deadline, meta and unicode', () => {
    const env = envelope({ text: 'héllo 🐧 — 你好', n: 1.25, list: [1, 'a', null] });
    expect(decodeEnvelope(encodeEnvelope(env))).toEqual(env);
  });

  it('keeps Uint8Array and Buffer values byte-identical anywhere in the payload', () => {
    const all = new Uint8Array(256).map((_, i) => i);
    const buf = Buffer.from('buffer bytes \u0000\u00ff');
    const env = envelope({ all, deep: [{ buf }], empty: new Uint8Array(0) });
    const back = decodeEnvelope(encodeEnvelope(env)).message.payload as { all: Uint8Array; deep: [{ buf: Uint8Array }]; empty: Uint8Array };
    expect(back.all).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(back.all).equals(Buffer.from(all))).toBe(true);
    expect(Buffer.from(back.deep[0].buf).equals(buf)).toBe(true);
    expect(back.empty.byteLength).toBe(0);
  });

  it('does not confuse user objects that look like the binary tags', () => {
    const lookalikes = { a: { '$pf.bytes': 'AAAA' }, b: { '$pf.esc': ['x', 1] }, c: { '$pf.bytes': new Uint8Array([1, 2]) } };
    const back = decodeEnvelope(encodeEnvelope(envelope(lookalikes))).message.payload as typeof lookalikes;
    expect(back.a).toEqual({ '$pf.bytes': 'AAAA' });
    expect(back.b).toEqual({ '$pf.esc': ['x', 1] });
    expect(back.c['$pf.bytes']).toEqual(new Uint8Array([1, 2]));
  });

  it('handles a 1 MiB payload', () => {
    const blob = new Uint8Array(1024 * 1024).map((_, i) => (i * 31) & 0xff);
    const back = decodeEnvelope(encodeEnvelope(envelope({ blob }))).message.payload as { blob: Uint8Array };
    expect(Buffer.from(back.blob).equals(Buffer.from(blob))).toBe(true);
  });

  it.each([
    ['invalid UTF-8', new Uint8Array([0xff, 0xfe, 0xfd])],
    ['not JSON', new TextEncoder().encode('{"id":')],
    ['not an envelope', new TextEncoder().encode('[1,2,3]')],
    ['a message without tenant', new TextEncoder().encode('{"id":"e","topic":"t","message":{"id":"m","traceId":"t","headers":{},"meta":{}}}')],
  ])('throws DecodeFailedError for %s, with the size and without the bytes', (_, bytes) => {
    let error: unknown;
    try {
      decodeEnvelope(bytes);
    } catch (e) {
      error = e;
    }
    expect(isPenguiflowError(error, 'DECODE_FAILED')).toBe(true);
    expect((error as { details: { size: number } }).details.size).toBe(bytes.byteLength);
  });

  it('enforces maxBytes when configured', () => {
    const s = createJsonSerializer({ maxBytes: 100 });
    const bytes = jsonSerializer.encode(envelope({ big: 'x'.repeat(200) }));
    expect(() => s.decode(bytes)).toThrow(/larger than 100 bytes/);
  });

  it('is pluggable: a custom serializer is used, and its errors become DecodeFailedError', () => {
    const reversed: Serializer = {
      encode: (e) => jsonSerializer.encode(e).reverse(),
      decode: (b) => {
        if (b[0] !== '}'.charCodeAt(0)) throw new Error('bad');
        return jsonSerializer.decode(b.slice().reverse());
      },
    };
    const env = envelope({ ok: true });
    expect(decodeEnvelope(encodeEnvelope(env, reversed), reversed)).toEqual(env);
    expect(() => decodeEnvelope(new Uint8Array([1]), reversed)).toThrow(expect.objectContaining({ code: 'DECODE_FAILED' }));
  });
});

describe('MessagePack envelope codec', () => {
  it('round-trips an envelope with bytes, unicode and nesting, bytes as raw binary', async () => {
    const s = await createMsgpackSerializer();
    const bytes = new Uint8Array(1024).map((_, i) => i & 0xff);
    const env = envelope({ text: 'héllo 🐧', bytes, deep: [{ b: Buffer.from('x') }] });
    const encoded = s.encode(env);
    expect(encoded.byteLength).toBeLessThan(jsonSerializer.encode(env).byteLength);
    const back = s.decode(encoded);
    expect(back.message.headers).toEqual(env.message.headers);
    expect(back.message.deadline).toBe(env.message.deadline);
    const payload = back.message.payload as { text: string; bytes: Uint8Array };
    expect(payload.text).toBe('héllo 🐧');
    expect(Buffer.from(payload.bytes).equals(Buffer.from(bytes))).toBe(true);
  });

  it('decoded bytes do not alias the input buffer', async () => {
    const s = await createMsgpackSerializer();
    const encoded = s.encode(envelope({ bytes: new Uint8Array([1, 2, 3]) }));
    const back = s.decode(encoded).message.payload as { bytes: Uint8Array };
    encoded.fill(0);
    expect([...back.bytes]).toEqual([1, 2, 3]);
  });

  it('throws DecodeFailedError for garbage', async () => {
    const s = await createMsgpackSerializer();
    expect(() => decodeEnvelope(new Uint8Array([0xff, 0xfe, 0x00, 0x7b]), s)).toThrow(expect.objectContaining({ code: 'DECODE_FAILED' }));
    expect(() => decodeEnvelope(new TextEncoder().encode('{"id":1}'), s)).toThrow(expect.objectContaining({ code: 'DECODE_FAILED' }));
  });
});
