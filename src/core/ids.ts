// Ids are a per-process random prefix plus a counter: unique across processes,
// ordered within one, and ~20x cheaper than randomUUID on the hot path.
const PREFIX = randomPrefix();
let counter = 0;

function randomPrefix(): string {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

const heads = new Map<string, string>();

/** A new id such as `t-3f2a…-1a`; `kind` is a short letter saying what it names. */
export function nextId(kind: string): string {
  let head = heads.get(kind);
  if (head === undefined) heads.set(kind, (head = kind + '-' + PREFIX + '-'));
  return head + (++counter).toString(36);
}
