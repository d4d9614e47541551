import type { PenguiflowError } from '../errors/index.js';
import type { Message, StreamChunk } from './message.js';
import type { TraceState } from './trace.js';

/** What a trace produces for its caller, in order. */
export type FlowOutput =
  | { kind: 'chunk'; message: Message<StreamChunk> }
  | { kind: 'result'; message: Message }
  | { kind: 'error'; error: PenguiflowError };

/** A mailbox entry: an output, or `output: null` marking that round `round` ran out of work. */
export interface MailboxEntry {
  output: FlowOutput | null;
  round: number;
}

/** Someone waiting on the mailbox. `offer` returns true when it is done and leaves. */
export interface Reader {
  offer(entry: MailboxEntry, mailbox: Mailbox): boolean;
}

/**
 * The outputs of one trace id waiting for `fetch`/`outputs`, across round
 * trips, plus the trace's live state while it has work. `consumedRound` is
 * the last round a reader took a result or error from: the end marker of such
 * a round is stale for later readers.
 */
export class Mailbox {
  // Created on first use: most traces hand their one result straight to a waiting fetch.
  private entries: MailboxEntry[] | undefined;
  private readers: Reader[] | undefined;
  rounds = 0;
  consumedRound = 0;
  /** The trace's state while it has work queued or running. */
  active: TraceState | undefined;

  constructor(
    readonly traceId: string,
    /** Called when a reader leaves and nothing else needs this mailbox. */
    private readonly onDisposable: (mailbox: Mailbox) => void,
  ) {}

  push(entry: MailboxEntry): void {
    const reader = this.readers?.[0];
    if (reader !== undefined) {
      // The first reader sees the entry; a fetch passes over chunks and stale end markers.
      if (reader.offer(entry, this)) {
        this.readers!.shift();
        if (this.isDisposable) this.onDisposable(this);
      }
      return;
    }
    if (entry.output !== null || entry.round > this.consumedRound) (this.entries ??= []).push(entry);
  }

  /** Serves `reader` from queued entries, then parks it until more arrive. */
  read(reader: Reader): void {
    const entries = this.entries;
    while (entries !== undefined && entries.length > 0) {
      if (reader.offer(entries.shift()!, this)) {
        if (this.isDisposable) this.onDisposable(this);
        return;
      }
    }
    (this.readers ??= []).push(reader);
  }

  /** Withdraws a reader that gave up (abort, timeout). */
  forget(reader: Reader): void {
    const i = this.readers?.indexOf(reader) ?? -1;
    if (i >= 0) this.readers!.splice(i, 1);
    if (this.isDisposable) this.onDisposable(this);
  }

  /** An end marker is stale when its round already gave a reader a result, or a newer round is running. */
  isStaleEnd(entry: MailboxEntry): boolean {
    return entry.round <= this.consumedRound || (this.active !== undefined && this.active.round > entry.round);
  }

  /** Nothing queued, nobody waiting, no work running: the flow may forget this mailbox. */
  get isDisposable(): boolean {
    return this.active === undefined && (this.entries === undefined || this.entries.length === 0) && (this.readers === undefined || this.readers.length === 0);
  }
}
