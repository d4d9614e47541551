/**
 * WebSocket frame codecs: JSON text frames (default) or msgpack binary frames
 * (subprotocol `penguiflow.a2a.v1.msgpack`). A frame that does not decode to an
 * object is a typed `A2AProtocolError` (`PARSE_ERROR` / `INVALID_REQUEST`),
 * never a crash.
 */
import { Buffer } from 'node:buffer';
import { Packr } from '../../peers/ws.js';
import type { RawData } from '../../peers/ws.js';
import { A2AProtocolError } from '../protocol/errors.js';
import { isObject } from '../protocol/validate.js';

export const WS_JSON_PROTOCOL = 'penguiflow.a2a.v1.json';
export const WS_MSGPACK_PROTOCOL = 'penguiflow.a2a.v1.msgpack';

export type FrameFormat = 'json' | 'msgpack';

export interface FrameCodec {
  readonly format: FrameFormat;
  encode(frame: Record<string, unknown>): string | Buffer;
  /** Throws `A2AProtocolError` (PARSE_ERROR, INVALID_REQUEST) on bad bytes. */
  decode(data: RawData, isBinary: boolean): Record<string, unknown>;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * @example
 * const codec = createFrameCodec('msgpack');
 * const same = codec.decode(codec.encode({ op: 'get', taskId: 't' }) as Buffer, true);
 */
export function createFrameCodec(format: FrameFormat): FrameCodec {
  const packr = format === 'msgpack' ? new Packr({ useRecords: false, mapsAsObjects: true, copyBuffers: true }) : undefined;
  const check = (value: unknown): Record<string, unknown> => {
    if (!isObject(value)) throw new A2AProtocolError('INVALID_REQUEST', { message: 'A frame must be an object with op' });
    return value;
  };
  return {
    format,
    encode: (frame) => (packr ? packr.pack(frame) : JSON.stringify(frame)),
    decode(data, isBinary) {
      const buf = toBuffer(data);
      if (packr) {
        if (!isBinary) throw new A2AProtocolError('PARSE_ERROR', { message: 'Expected a binary msgpack frame' });
        let value: unknown;
        try {
          value = packr.unpack(buf);
        } catch (e) {
          throw new A2AProtocolError('PARSE_ERROR', { message: `Frame is not msgpack (${buf.byteLength} bytes)`, cause: e });
        }
        return check(value);
      }
      let value: unknown;
      try {
        value = JSON.parse(buf.toString('utf8'));
      } catch (e) {
        throw new A2AProtocolError('PARSE_ERROR', { message: `Frame is not JSON (${buf.byteLength} bytes)`, cause: e });
      }
      return check(value);
    },
  };
}
