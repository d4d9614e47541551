/**
 * How flow payloads become A2A parts and back. The default convention is
 * small and lossless for JSON: a string is one `text` part, any other JSON
 * value is one `data` part; on the way in, a single text or data part becomes
 * the bare value and anything else stays a `Part[]`.
 */
import type { Part } from './types.js';

export function payloadToParts(payload: unknown): Part[] {
  if (typeof payload === 'string') return [{ text: payload }];
  return [{ data: payload === undefined ? null : payload }];
}

export function partsToPayload(parts: readonly Part[]): unknown {
  if (parts.length === 1) {
    const p = parts[0]!;
    if (p.text !== undefined) return p.text;
    if (p.data !== undefined) return p.data;
  }
  return parts;
}

/** Concatenates several parts lists (an artifact and its appended chunks) into one payload. */
export function joinTextParts(parts: readonly Part[]): unknown {
  if (parts.length > 0 && parts.every((p) => p.text !== undefined)) return parts.map((p) => p.text).join('');
  return partsToPayload(parts);
}

/** UTF-8 byte length of a string, without allocating. */
export function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}
