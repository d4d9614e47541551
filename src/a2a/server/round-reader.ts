/**
 * Reading one round of a trace's outputs. The reader stays parked on the
 * flow's mailbox (outputs are pumped into a local queue as they arrive), and
 * when the flow can say whether a trace is active, a shared watchdog ends a
 * round whose end marker never arrived.
 */
import type { A2AFlowHandle, A2AFlowOutput } from './flow-handle.js';

/** One shared timer for every round being read (see {@link readRound}). */
export class RoundWatchdog {
  private readonly watched = new Set<() => void>();
  private watchTimer: ReturnType<typeof setInterval> | undefined;

  /** One shared timer checks every running round for a missed end (see {@link readRound}). */
  watch(check: () => void): void {
    this.watched.add(check);
    if (!this.watchTimer) {
      this.watchTimer = setInterval(() => {
        for (const c of this.watched) c();
      }, 100);
      this.watchTimer.unref();
    }
  }

  unwatch(check: () => void): void {
    this.watched.delete(check);
    if (this.watched.size === 0 && this.watchTimer) {
      clearInterval(this.watchTimer);
      this.watchTimer = undefined;
    }
  }
}

/**
 * Reads the round's outputs eagerly (a reader is always parked on the
 * trace's mailbox) and hands them out as they are processed. When the flow
 * can say whether a trace is still active, a round whose end marker never
 * arrives still ends.
 */
export async function* readRound(flow: A2AFlowHandle, traceId: string, watchdog: RoundWatchdog): AsyncGenerator<A2AFlowOutput> {
  const ac = new AbortController();
  const queue: A2AFlowOutput[] = [];
  let ended = false;
  let parked = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const pump = async () => {
    const it = flow.outputs(traceId, { signal: ac.signal })[Symbol.asyncIterator]();
    try {
      for (;;) {
        parked = true;
        const r = await it.next();
        parked = false;
        if (r.done) break;
        queue.push(r.value);
        wake?.();
      }
    } catch (error) {
      if (!ac.signal.aborted) failure = error;
    } finally {
      ended = true;
      wake?.();
    }
  };
  void pump();
  const isActive = flow.isTraceActive?.bind(flow);
  const check = isActive
    ? () => {
        if (parked && queue.length === 0 && !isActive(traceId)) ac.abort();
      }
    : undefined;
  if (check) watchdog.watch(check);
  try {
    for (;;) {
      const next = queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (ended) break;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
    if (failure !== undefined) throw failure;
  } finally {
    if (check) watchdog.unwatch(check);
    if (!ended) ac.abort();
  }
}

