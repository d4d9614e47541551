import type { Message } from '../core/message.js';
import { adoptTraceparent } from './tracing.js';
import { traceparentOf } from './trace-ids.js';

/**
 * Wraps the flow an A2A server serves so that each task's trace joins the
 * caller's span tree: before a message is emitted, its trace adopts the
 * caller's root (from `meta.a2a.callerTraceId`, which the A2A server fills
 * from the request's trace header, or an explicit `meta.traceparent`).
 * Everything else is delegated unchanged.
 *
 * @example
 * createA2AServer({ flow: joinCallerTrace(agentFlow), store, card });
 */
export function joinCallerTrace<F extends { emit(msg: Message): Promise<void> }>(flow: F): F {
  return new Proxy(flow, {
    get(target, prop, receiver) {
      if (prop === 'emit') {
        return (msg: Message) => {
          const meta = msg.meta as { traceparent?: unknown; a2a?: { callerTraceId?: unknown } } | undefined;
          const caller = meta?.a2a?.callerTraceId;
          if (typeof meta?.traceparent === 'string') adoptTraceparent(msg.traceId, meta.traceparent);
          else if (typeof caller === 'string' && caller !== '') adoptTraceparent(msg.traceId, traceparentOf(caller));
          return target.emit(msg);
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
