/** Per-trace runtime state; lives while the trace has work queued or running. */
export class TraceState {
  /** Messages of this trace queued or running in nodes. */
  pending = 0;
  /** Messages of this trace running in nodes now. */
  inflight = 0;
  cancelled = false;
  failed = false;
  /** Called with the reason when the trace is cancelled: abandons running attempts and retry sleeps. Created on first use. */
  private hooks: Set<(reason: Error) => void> | undefined;
  cancelWaiters: (() => void)[] | undefined;
  /** Set once the trace ran out of work (guards against ending twice). */
  ended = false;
  /** Messages out on distributed edges: id → outstanding count (see RemoteEdges). */
  remote: Map<string, number> | undefined;
  /** `source|node` of worker replies already applied. */
  seenReplies: Set<string> | undefined;
  /** Earliest deadline of the trace's work out on a bus, and the timer that enforces it (RemoteEdges). */
  deadlineAt: number | undefined;
  deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  /** Next stream `seq` expected per stream id: a retry or a redelivery never repeats a chunk. */
  private nextSeq: Map<string, number> | undefined;

  constructor(
    readonly traceId: string,
    readonly tenant: string,
    /** Which activation of this trace id this is (1, 2, … across round trips). */
    readonly round: number,
  ) {}

  /**
   * True for a chunk the reader has not seen: its `seq` is at or past the
   * stream's next one. A retried attempt (or a redelivered message) numbers
   * its chunks from 0 again; those it already sent are dropped here.
   */
  acceptChunk(chunk: { streamId: string; seq: number }): boolean {
    const next = (this.nextSeq ??= new Map()).get(chunk.streamId) ?? 0;
    if (chunk.seq < next) return false;
    this.nextSeq.set(chunk.streamId, chunk.seq + 1);
    return true;
  }

  onCancel(hook: (reason: Error) => void): void {
    (this.hooks ??= new Set()).add(hook);
  }

  offCancel(hook: (reason: Error) => void): void {
    this.hooks?.delete(hook);
  }

  /** Marks the trace cancelled and calls every hook once. */
  fireCancel(reason: Error): void {
    this.cancelled = true;
    if (this.hooks === undefined) return;
    for (const hook of [...this.hooks]) hook(reason);
  }

  get status(): 'succeeded' | 'failed' | 'cancelled' {
    return this.cancelled ? 'cancelled' : this.failed ? 'failed' : 'succeeded';
  }
}
