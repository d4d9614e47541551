import type { FlowEvent } from '../core/events.js';

interface Track {
  key: string;
  /** Attempts of this trace running in this process. */
  running: number;
  /** The trace has controller-side events here (it ends with trace_complete). */
  origin: boolean;
  lastTs: number;
}

/**
 * Which traces are in flight in this process. On a controller a trace is in
 * flight from its first event to `trace_complete`; on a worker (events with
 * `extra.worker`) while one of its attempts runs here. A trace silent for
 * `idleMs` is forgotten, so a lost worker cannot pin the gauge.
 */
export class InFlightTraces {
  private readonly traces = new Map<string, Track>();

  constructor(private readonly idleMs: number) {}

  observe(e: FlowEvent): void {
    if (e.traceId === '') return;
    if (e.type === 'trace_complete') {
      this.traces.delete(e.traceId);
      return;
    }
    let t = this.traces.get(e.traceId);
    if (t === undefined) {
      t = { key: `${e.flow}\u0000${e.tenant}`, running: 0, origin: false, lastTs: e.ts };
      this.traces.set(e.traceId, t);
    }
    t.lastTs = e.ts;
    if (e.extra?.worker === undefined) t.origin = true;
    if (e.type === 'node_start') t.running++;
    else if (e.type === 'node_success' || e.type === 'node_error' || e.type === 'node_timeout' || e.type === 'node_trace_cancelled' || (e.type === 'deadline_skip' && e.extra?.during === 'run')) {
      t.running = Math.max(0, t.running - 1);
    }
    if (!t.origin && t.running === 0) this.traces.delete(e.traceId);
  }

  /** Traces in flight per `flow\0tenant` key, dropping idle ones. */
  counts(now: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const [id, t] of this.traces) {
      if (now - t.lastTs > this.idleMs) {
        this.traces.delete(id);
        continue;
      }
      out.set(t.key, (out.get(t.key) ?? 0) + 1);
    }
    return out;
  }
}
