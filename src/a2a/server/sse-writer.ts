/**
 * One SSE response: heartbeats, an idle timeout, a bound on unsent bytes
 * (a consumer that stops reading is cut off; it can resubscribe with
 * Last-Event-ID and miss nothing), and one `onClose` for every way it ends.
 */
import type { ServerResponse } from 'node:http';
import { SSE_CONTENT_TYPE } from '../protocol/constants.js';
import { SSE_HEARTBEAT, sseEvent } from '../protocol/sse.js';

export interface SseWriterOptions {
  heartbeatMs: number;
  idleTimeoutMs: number;
  /** Unsent bytes past which a slow consumer is disconnected. */
  maxBufferedBytes: number;
}

export class SseWriter {
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private idle: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private readonly closeHooks: (() => void)[] = [];
  events = 0;

  constructor(
    private readonly res: ServerResponse,
    private readonly options: SseWriterOptions,
  ) {
    res.on('close', () => this.cleanup());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  onClose(hook: () => void): void {
    if (this.closed) hook();
    else this.closeHooks.push(hook);
  }

  open(): void {
    this.res.writeHead(200, {
      'Content-Type': SSE_CONTENT_TYPE,
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    this.res.flushHeaders();
    this.heartbeat = setInterval(() => this.write(SSE_HEARTBEAT), this.options.heartbeatMs);
    this.heartbeat.unref();
    this.touch();
  }

  send(data: string, id?: number, event?: string): void {
    this.events++;
    this.touch();
    this.write(sseEvent(data, id, event));
  }

  /** Releases the stream's resources without touching the response (it was never opened). */
  abandon(): void {
    this.cleanup();
  }

  end(): void {
    if (this.closed) return;
    this.res.end();
    this.cleanup();
  }

  private touch(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => this.end(), this.options.idleTimeoutMs);
    this.idle.unref();
  }

  private write(chunk: string): void {
    if (this.closed) return;
    this.res.write(chunk);
    if (this.res.writableLength > this.options.maxBufferedBytes) {
      this.res.destroy();
      this.cleanup();
    }
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.idle) clearTimeout(this.idle);
    for (const hook of this.closeHooks.splice(0)) {
      try {
        hook();
      } catch {
        // a close hook must not break the others
      }
    }
  }
}
