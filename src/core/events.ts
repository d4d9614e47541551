import type { PenguiflowErrorJSON } from '../errors/index.js';

/** Every runtime event type. Adapters and later layers add their own through `extra`, never new shapes. */
export const FLOW_EVENT_TYPES = [
  'node_start',
  'node_success',
  'node_error',
  'node_timeout',
  'node_retry',
  'node_failed',
  'node_trace_cancelled',
  'trace_cancel_start',
  'trace_cancel_drop',
  'trace_cancel_finish',
  'trace_complete',
  'deadline_skip',
  'stream_chunk',
  'remote_call_start',
  'remote_stream_event',
  'remote_call_success',
  'remote_call_error',
  'remote_call_cancelled',
  'remote_cancel_error',
  'store_error',
  'bus_error',
  'worker_start',
  'worker_stop',
  'bus_redelivery',
  'bus_dead_letter',
  'bus_lease_lost',
  'bus_duplicate',
  'load_shed',
  'remote_instance_up',
  'remote_instance_down',
  'breaker_open',
  'breaker_half_open',
  'breaker_closed',
  'failover',
  'fallback_used',
  'retry_budget_exhausted',
  'registry_entry_invalid',
] as const;

export type FlowEventType = (typeof FLOW_EVENT_TYPES)[number];

/** How a trace ended, carried by `trace_complete` in `extra.status`. */
export type TraceStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

/**
 * A typed runtime event. Events never carry message payloads (ids and sizes
 * only), so recording and logging them is safe by default.
 */
export interface FlowEvent {
  /** Unique; the state store deduplicates on it. */
  id: string;
  type: FlowEventType;
  /** Epoch ms. */
  ts: number;
  flow: string;
  traceId: string;
  tenant: string;
  node?: string;
  messageId?: string;
  /** 0 for the first attempt. */
  attempt?: number;
  latencyMs?: number;
  queueDepthIn?: number;
  queueDepthOut?: number;
  tracePending?: number;
  traceInflight?: number;
  error?: PenguiflowErrorJSON;
  extra?: Record<string, unknown>;
}

/** Receives every event of a flow. Must be fast; errors it throws are counted and ignored. */
export type FlowMiddleware = (event: FlowEvent) => void | Promise<void>;
