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

  constructor(
    readonly traceId: string,
    readonly tenant: string,
    /** Which activation of this trace id this is (1, 2, … across round trips). */
    readonly round: number,
  ) {}

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
