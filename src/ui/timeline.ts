import type { TraceStatus } from '../core/events.js';
import type { StoredEvent } from '../protocols/state-store.js';
import { traceStatusOf } from '../protocols/store-extras.js';

/** A horizontal row of the Gantt chart: one node on one worker (or the controller). */
export interface TimelineLane {
  id: string;
  node: string;
  /** Worker id from `extra.worker`; absent for work done in the controller's process. */
  worker?: string;
}

export type BarOutcome = 'running' | 'success' | 'error' | 'timeout' | 'cancelled' | 'deadline';

export interface TimelineError {
  code: string;
  name?: string;
  message: string;
}

/** One node attempt or remote call, from its start event to its end event. */
export interface TimelineBar {
  id: string;
  lane: string;
  kind: 'attempt' | 'remote';
  /** Epoch ms. */
  start: number;
  /** Epoch ms; absent while running. */
  end?: number;
  outcome: BarOutcome;
  attempt: number;
  /** True for attempt > 0: this attempt is a retry. */
  retry: boolean;
  messageId?: string;
  latencyMs?: number;
  /** For remote calls: the agent. */
  agentUrl?: string;
  error?: TimelineError;
  /** Stream chunks produced during this attempt. */
  chunks: number;
}

export type MarkerKind = 'retry' | 'chunk' | 'cancel_start' | 'cancel_finish' | 'deadline_skip' | 'load_shed' | 'failed' | 'cancelled' | 'complete' | 'resilience';

/** A point in time: on a lane, or across the whole trace when `lane` is absent. */
export interface TimelineMarker {
  kind: MarkerKind;
  ts: number;
  lane?: string;
  node?: string;
  detail?: string;
  error?: TimelineError;
}

export interface TimelineModel {
  traceId: string;
  tenant: string;
  flow: string;
  status: TraceStatus;
  /** Epoch ms of the first and last event. */
  startTs: number;
  endTs: number;
  /** Highest `seq` seen; the live stream continues after it. */
  lastSeq: number;
  eventCount: number;
  lanes: TimelineLane[];
  bars: TimelineBar[];
  markers: TimelineMarker[];
}

function errorOf(e: StoredEvent): TimelineError | undefined {
  if (!e.error) return undefined;
  return { code: e.error.code, name: e.error.name, message: e.error.message };
}

/**
 * Turns a trace's stored events into a Gantt model: lanes per (node, worker),
 * a bar per node attempt and per remote call, markers for retries, stream
 * chunks, cancels, deadline skips, load shedding and failures. Pure: the UI
 * server computes it, the page only draws it.
 */
export function buildTimeline(traceId: string, events: readonly StoredEvent[]): TimelineModel {
  const lanes = new Map<string, TimelineLane>();
  const bars: TimelineBar[] = [];
  const markers: TimelineMarker[] = [];
  const open = new Map<string, TimelineBar>();
  const lastOpenByNode = new Map<string, TimelineBar>();
  let status: TraceStatus = 'running';
  let rank = -1;
  let lastSeq = 0;

  const laneOf = (e: StoredEvent): string => {
    const node = e.node ?? '';
    const worker = typeof e.extra?.worker === 'string' ? e.extra.worker : undefined;
    const id = JSON.stringify([node, worker ?? '']);
    if (!lanes.has(id)) lanes.set(id, { id, node, ...(worker !== undefined ? { worker } : {}) });
    return id;
  };
  const key = (e: StoredEvent, kind: string) => `${kind}|${e.node ?? ''}|${e.messageId ?? ''}|${e.attempt ?? 0}|${String(e.extra?.worker ?? '')}`;
  const close = (e: StoredEvent, kind: 'attempt' | 'remote', outcome: BarOutcome): TimelineBar | undefined => {
    const bar = open.get(key(e, kind));
    if (!bar) return undefined;
    open.delete(key(e, kind));
    bar.outcome = outcome;
    bar.end = e.latencyMs !== undefined ? Math.max(bar.start, Math.min(e.ts, bar.start + e.latencyMs)) : e.ts;
    if (e.latencyMs !== undefined) bar.latencyMs = e.latencyMs;
    const err = errorOf(e);
    if (err) bar.error = err;
    if (kind === 'attempt') {
      for (const [k, remote] of open) {
        if (remote.kind === 'remote' && k.startsWith(`remote|${e.node ?? ''}|${e.messageId ?? ''}|${e.attempt ?? 0}|`)) {
          open.delete(k);
          remote.outcome = outcome === 'success' ? 'success' : 'cancelled';
          remote.end = bar.end;
        }
      }
    }
    return bar;
  };

  for (const e of events) {
    if (e.seq !== undefined && e.seq > lastSeq) lastSeq = e.seq;
    const s = traceStatusOf(e);
    if (s.rank >= rank) {
      status = s.status;
      rank = s.rank;
    }
    // A plain string: event types added by other layers fall through instead of breaking this switch.
    const type: string = e.type;
    switch (type) {
      case 'node_start': {
        const bar: TimelineBar = { id: e.id, lane: laneOf(e), kind: 'attempt', start: e.ts, outcome: 'running', attempt: e.attempt ?? 0, retry: (e.attempt ?? 0) > 0, chunks: 0 };
        if (e.messageId !== undefined) bar.messageId = e.messageId;
        bars.push(bar);
        open.set(key(e, 'attempt'), bar);
        lastOpenByNode.set(`${e.node ?? ''}|${String(e.extra?.worker ?? '')}`, bar);
        break;
      }
      case 'node_success':
        close(e, 'attempt', 'success');
        break;
      case 'node_error':
        close(e, 'attempt', 'error');
        break;
      case 'node_timeout':
        close(e, 'attempt', 'timeout');
        break;
      case 'node_trace_cancelled':
        if (!close(e, 'attempt', 'cancelled')) markers.push({ kind: 'cancelled', ts: e.ts, lane: laneOf(e), node: e.node ?? '' });
        break;
      case 'deadline_skip':
        if (!(e.extra?.during === 'run' && close(e, 'attempt', 'deadline'))) markers.push({ kind: 'deadline_skip', ts: e.ts, lane: laneOf(e), node: e.node ?? '' });
        break;
      case 'node_retry':
        markers.push({ kind: 'retry', ts: e.ts, lane: laneOf(e), node: e.node ?? '', detail: `attempt ${e.attempt ?? 1} after ${Math.round(Number(e.extra?.delayMs ?? 0))} ms` });
        break;
      case 'node_failed': {
        const m: TimelineMarker = { kind: 'failed', ts: e.ts, lane: laneOf(e), node: e.node ?? '' };
        const err = errorOf(e);
        if (err) m.error = err;
        markers.push(m);
        break;
      }
      case 'stream_chunk': {
        const bar = lastOpenByNode.get(`${e.node ?? ''}|${String(e.extra?.worker ?? '')}`);
        if (bar && bar.outcome === 'running') bar.chunks++;
        markers.push({ kind: 'chunk', ts: e.ts, lane: laneOf(e), node: e.node ?? '', detail: `seq ${Number(e.extra?.seq ?? 0)}${e.extra?.done === true ? ' (done)' : ''}` });
        break;
      }
      case 'load_shed':
        markers.push({ kind: 'load_shed', ts: e.ts, lane: laneOf(e), node: e.node ?? '', detail: `depth ${Number(e.extra?.depth ?? 0)}` });
        break;
      case 'remote_call_start': {
        const bar: TimelineBar = { id: e.id, lane: laneOf(e), kind: 'remote', start: e.ts, outcome: 'running', attempt: e.attempt ?? 0, retry: false, chunks: 0 };
        if (typeof e.extra?.agentUrl === 'string') bar.agentUrl = e.extra.agentUrl;
        if (e.messageId !== undefined) bar.messageId = e.messageId;
        bars.push(bar);
        open.set(key(e, 'remote'), bar);
        break;
      }
      case 'remote_call_success':
        close(e, 'remote', 'success');
        break;
      case 'remote_call_error':
        close(e, 'remote', 'error');
        break;
      case 'remote_call_cancelled':
        close(e, 'remote', 'cancelled');
        break;
      case 'trace_cancel_start':
        markers.push({ kind: 'cancel_start', ts: e.ts });
        break;
      case 'trace_cancel_finish':
        markers.push({ kind: 'cancel_finish', ts: e.ts });
        break;
      case 'trace_complete':
        markers.push({ kind: 'complete', ts: e.ts, detail: String(e.extra?.status ?? 'succeeded') });
        break;
      case 'failover':
      case 'fallback_used':
      case 'retry_budget_exhausted':
      case 'breaker_open':
        markers.push({ kind: 'resilience', ts: e.ts, ...(e.node !== undefined ? { lane: laneOf(e), node: e.node } : {}), detail: `${type.replace(/_/g, ' ')}${typeof e.extra?.reason === 'string' ? `: ${e.extra.reason}` : ''}` });
        break;
      default:
        break;
    }
  }

  const first = events[0];
  const startTs = events.reduce((m, e) => Math.min(m, e.ts), first?.ts ?? 0);
  const endTs = events.reduce((m, e) => Math.max(m, e.ts), first?.ts ?? 0);
  // Lanes in the order their first bar or marker appears (event order breaks equal timestamps).
  const laneStart = new Map<string, number>();
  for (const b of bars) if (!laneStart.has(b.lane)) laneStart.set(b.lane, b.start);
  for (const m of markers) if (m.lane !== undefined && !laneStart.has(m.lane)) laneStart.set(m.lane, m.ts);
  const seen = [...lanes.keys()];
  const ordered = [...lanes.values()].filter((l) => laneStart.has(l.id)).sort((a, b) => laneStart.get(a.id)! - laneStart.get(b.id)! || seen.indexOf(a.id) - seen.indexOf(b.id));
  return {
    traceId,
    tenant: first?.tenant ?? '',
    flow: first?.flow ?? '',
    status,
    startTs,
    endTs,
    lastSeq,
    eventCount: events.length,
    lanes: ordered,
    bars,
    markers,
  };
}
