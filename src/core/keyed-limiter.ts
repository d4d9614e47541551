import type { Message } from './message.js';

/**
 * At most `limit` messages per key running at once on one node (e.g. per
 * tenant, so one tenant cannot take every slot). Messages over the limit wait
 * in a per-key line without holding a worker; the worker that finishes a
 * message of a key picks up the next one of that key.
 */
export class KeyedLimiter {
  private readonly active = new Map<string, number>();
  private readonly waiting = new Map<string, Message[]>();

  constructor(
    private readonly keyOf: (msg: Message) => string,
    private readonly limit: number,
  ) {}

  /** Takes a slot for `msg`, or parks it and returns false. */
  admit(msg: Message): boolean {
    const key = this.keyOf(msg);
    const n = this.active.get(key) ?? 0;
    if (n >= this.limit) {
      const line = this.waiting.get(key);
      if (line === undefined) this.waiting.set(key, [msg]);
      else line.push(msg);
      return false;
    }
    this.active.set(key, n + 1);
    return true;
  }

  /** Frees the slot of `msg`; returns the next parked message of its key, which now holds the slot. */
  release(msg: Message): Message | undefined {
    const key = this.keyOf(msg);
    const line = this.waiting.get(key);
    const next = line?.shift();
    if (line !== undefined && line.length === 0) this.waiting.delete(key);
    if (next !== undefined) return next;
    const n = (this.active.get(key) ?? 1) - 1;
    if (n === 0) this.active.delete(key);
    else this.active.set(key, n);
    return undefined;
  }

  /** Removes parked messages matching `predicate` (a cancelled trace); returns how many. */
  drop(predicate: (msg: Message) => boolean): number {
    let dropped = 0;
    for (const [key, line] of this.waiting) {
      const kept = line.filter((m) => !predicate(m));
      dropped += line.length - kept.length;
      if (kept.length === 0) this.waiting.delete(key);
      else this.waiting.set(key, kept);
    }
    return dropped;
  }
}
