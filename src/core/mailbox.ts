import type { PenguiflowError } from '../errors/index.js';
import type { Message, StreamChunk } from './message.js';

/** What a trace produces for its caller, in order. */
export type FlowOutput =
  | { kind: 'chunk'; message: Message<StreamChunk> }
  | { kind: 'result'; message: Message }
  | { kind: 'error'; error: PenguiflowError };

/** One mailbox entry: an output, or `null` marking that round `round` ran out of work. */
export interface MailboxEntry {
  output: FlowOutput | null;
  round: number;
}

/**
 * The outputs of one trace id waiting for `fetch`/`outputs`, across round
 * trips. `consumedRound` is the last round a reader took a result or error
 * from; the end marker of such a round is stale for later readers.
 */
export class Mailbox {
  private entries: MailboxEntry[] = [];
  private waiters: ((entry: MailboxEntry) => void)[] = [];
  rounds = 0;
  consumedRound = 0;

  push(entry: MailboxEntry): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) waiter(entry);
    else if (entry.output !== null || entry.round > this.consumedRound) this.entries.push(entry);
  }

  /** Calls `waiter` with the next entry, now or when one arrives. */
  take(waiter: (entry: MailboxEntry) => void): void {
    const entry = this.entries.shift();
    if (entry !== undefined) waiter(entry);
    else this.waiters.push(waiter);
  }

  /** Withdraws a waiter that gave up (abort, timeout). */
  forget(waiter: (entry: MailboxEntry) => void): void {
    const i = this.waiters.indexOf(waiter);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  get isIdle(): boolean {
    return this.entries.length === 0 && this.waiters.length === 0;
  }
}
