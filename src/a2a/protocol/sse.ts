/** Server-Sent Events framing (server side). Data is single-line JSON, so one `data:` line per event. */
export function sseEvent(data: string, id?: number | string, event?: string): string {
  let out = '';
  if (event !== undefined) out += `event: ${event}\n`;
  if (id !== undefined) out += `id: ${id}\n`;
  return out + `data: ${data}\n\n`;
}

/** A comment line: keeps proxies from closing an idle stream, ignored by parsers. */
export const SSE_HEARTBEAT = ': keep-alive\n\n';
