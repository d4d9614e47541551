/**
 * Reads a `text/event-stream` response with eventsource-parser (maintained,
 * spec-complete: multi-line data, ids, comments, CRLF), bounded per event.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';

export type SseMessage = EventSourceMessage;

export async function* readSse(response: Response, options: { maxEventBytes?: number } = {}): AsyncGenerator<SseMessage, void, undefined> {
  if (!response.body) return;
  const queue: SseMessage[] = [];
  let parseError: Error | undefined;
  const parser = createParser({
    onEvent: (e) => queue.push(e),
    onError: (e) => {
      if (e.type === 'max-buffer-size-exceeded') parseError = e;
    },
    maxBufferSize: options.maxEventBytes ?? 8 * 1024 * 1024,
  });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
      if (parseError) throw parseError;
      while (queue.length > 0) yield queue.shift()!;
    }
    parser.feed(decoder.decode());
    parser.reset({ consume: true });
    while (queue.length > 0) yield queue.shift()!;
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
