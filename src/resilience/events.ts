/** What the balanced transport reports, and how it reaches a flow's FlowEvents. */
import type { FlowEventType } from '../core/events.js';

export const RESILIENCE_EVENT_TYPES = [
  'remote_instance_up',
  'remote_instance_down',
  'breaker_open',
  'breaker_half_open',
  'breaker_closed',
  'failover',
  'fallback_used',
  'retry_budget_exhausted',
  'registry_entry_invalid',
  'load_shed',
] as const satisfies readonly FlowEventType[];

export type ResilienceEventType = (typeof RESILIENCE_EVENT_TYPES)[number];

/** Ids, names, counts and reasons only: never a payload. */
export interface ResilienceEvent {
  type: ResilienceEventType;
  /** Epoch ms. */
  ts: number;
  /** `agent://<name>` or `skill://<skill>` when the event belongs to a call. */
  target?: string;
  instanceId?: string;
  /** The instance's base URL. */
  url?: string;
  /** Trace and tenant of the call that caused it; absent for background changes (a missed heartbeat). */
  traceId?: string;
  tenant?: string;
  idempotencyKey?: string;
  /** Why: `heartbeat`, `errors`, `probe`, `removed`, `registered`, `ALL_OPEN`, `NO_INSTANCES`, `TIMEOUT`, … */
  reason?: string;
  extra?: Record<string, unknown>;
}

export type ResilienceEventSink = (event: ResilienceEvent) => void;

/** The part of a `Flow` that takes events (`flow.event`). */
export interface FlowEventTarget {
  event(type: FlowEventType, trace: { traceId: string; tenant: string }, node?: string, fields?: { extra?: Record<string, unknown> }): void;
}

/**
 * Sends resilience events into a flow as FlowEvents (to its middlewares and
 * its recorded history), on the trace of the call that caused them.
 * Background changes (an instance missing heartbeats, a probe bringing it
 * back) belong to no call: they go on `backgroundTrace` (default trace
 * `remote-health`, tenant `system`), so `penguiflow history remote-health
 * --tenant system` shows the instances' ups and downs.
 *
 * @example
 * const balanced = createBalancedTransport({ registry, transport: createA2AClient(), events: flowEventSink(flow, { node: 'research' }) });
 */
export function flowEventSink(flow: FlowEventTarget, options: { node?: string; backgroundTrace?: { traceId: string; tenant: string } } = {}): ResilienceEventSink {
  const background = options.backgroundTrace ?? { traceId: 'remote-health', tenant: 'system' };
  return (e) => {
    const extra: Record<string, unknown> = { ...e.extra };
    for (const k of ['target', 'instanceId', 'url', 'idempotencyKey', 'reason'] as const) if (e[k] !== undefined) extra[k] = e[k];
    const trace = e.traceId ? { traceId: e.traceId, tenant: e.tenant ?? background.tenant } : background;
    flow.event(e.type, trace, options.node, { extra });
  };
}
