/**
 * Last good answers, for graceful degradation: the balanced transport records
 * the answer of every completed call under `key(request)`, and when no
 * instance can take a call it answers from here (a `fallback_used` event with
 * `reason` and `extra.cached: true`) before trying the `fallback` function.
 */
import type { RemoteCallRequest, RemoteStreamEvent } from '../protocols/remote-transport.js';

export interface AnswerCacheOptions {
  /** What identifies "the same question". Default: target + tenant + the JSON of the payload. */
  key?: (request: RemoteCallRequest) => string | undefined;
  /** Default 1,000 (least recently recorded go first). */
  maxEntries?: number;
  /** How old an answer may be. Default 10 min. */
  ttlMs?: number;
  now?: () => number;
}

export class AnswerCache {
  private readonly entries = new Map<string, { payload: unknown; at: number }>();
  private readonly key: (request: RemoteCallRequest) => string | undefined;
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: AnswerCacheOptions = {}) {
    this.key =
      options.key ??
      ((r) => {
        try {
          return `${r.agentUrl}\u0000${r.skill ?? ''}\u0000${r.message.headers.tenant}\u0000${JSON.stringify(r.message.payload)}`;
        } catch {
          return undefined;
        }
      });
    this.maxEntries = options.maxEntries ?? 1_000;
    this.ttlMs = options.ttlMs ?? 600_000;
    this.now = options.now ?? Date.now;
  }

  record(request: RemoteCallRequest, payload: unknown): void {
    const k = this.key(request);
    if (k === undefined) return;
    this.entries.delete(k);
    this.entries.set(k, { payload, at: this.now() });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  /** The cached answer, or undefined (never cached, or older than `ttlMs`). */
  lookup(request: RemoteCallRequest): { payload: unknown } | undefined {
    const k = this.key(request);
    const e = k === undefined ? undefined : this.entries.get(k);
    if (!e) return undefined;
    if (this.now() - e.at > this.ttlMs) {
      this.entries.delete(k!);
      return undefined;
    }
    return { payload: e.payload };
  }
}

/** Assembles a stream's answer as RemoteNode does: one-shot artifacts, else the streamed ones joined, else the reply message. */
export class StreamAnswer {
  private readonly artifacts = new Map<string, unknown[]>();
  private message: unknown;
  completed = false;

  add(ev: RemoteStreamEvent): void {
    if (ev.kind === 'artifact') {
      const id = ev.artifactId ?? `a${this.artifacts.size}`;
      const pieces = ev.append ? (this.artifacts.get(id) ?? []) : [];
      pieces.push(ev.payload);
      this.artifacts.set(id, pieces);
    }
    if (ev.kind === 'message') {
      this.message = ev.payload;
      this.completed = true;
    }
    if (ev.state === 'completed') this.completed = true;
  }

  value(): unknown {
    const all = [...this.artifacts.values()].map((p) => (p.length === 1 ? p[0] : p.every((x) => typeof x === 'string') ? p.join('') : p));
    if (all.length === 0) return this.message;
    return all.length === 1 ? all[0] : all;
  }
}

