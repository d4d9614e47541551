import { PenguiflowError, type ErrorCode, type PenguiflowErrorJSON } from '../errors/index.js';
import type { StateStore } from '../protocols/state-store.js';
import type { FlowEvent, FlowEventType, FlowMiddleware } from './events.js';
import { nextId } from './ids.js';
import type { Message } from './message.js';
import { EventRecorder, type RecorderOptions } from './recorder.js';
import type { EventFields } from './runner-host.js';

export interface EventCounters {
  storeErrors: number;
  busErrors: number;
  middlewareErrors: number;
}

/**
 * Where a flow's (or a worker's) events go: every middleware, then the
 * recorder that batches them into the state store. Builds no event when
 * nobody listens. Store and bus failures become `store_error`/`bus_error`
 * events to the middlewares (never recorded in the failing store) and counters.
 */
export class EventHub {
  readonly counters: EventCounters = { storeErrors: 0, busErrors: 0, middlewareErrors: 0 };
  readonly recorder: EventRecorder | undefined;
  listening: boolean;
  private lastDurable: Promise<void> | undefined;

  constructor(
    private readonly flow: string,
    private readonly middlewares: FlowMiddleware[],
    store: StateStore | undefined,
    recorder: RecorderOptions | undefined,
    /** Merged into every event's `extra` (e.g. `{ worker: id }`). */
    private readonly stamp?: Record<string, unknown>,
  ) {
    this.recorder = store === undefined ? undefined : new EventRecorder(store, recorder ?? {}, (error, lost) => this.storeError(error, lost));
    this.listening = middlewares.length > 0 || this.recorder !== undefined;
  }

  /** Adds a middleware (before the flow runs). */
  use(middleware: FlowMiddleware): void {
    this.middlewares.push(middleware);
    this.listening = true;
  }

  emit(type: FlowEventType, trace: { traceId: string; tenant: string }, node?: string, fields?: EventFields): void {
    if (!this.listening) return;
    const event: FlowEvent = { id: nextId('e'), type, ts: Date.now(), flow: this.flow, traceId: trace.traceId, tenant: trace.tenant, ...fields };
    if (node !== undefined) event.node = node;
    if (this.stamp !== undefined) event.extra = { ...event.extra, ...this.stamp };
    this.dispatch(event);
    if (this.recorder !== undefined) {
      const recorded = this.recorder.record(event);
      if (this.recorder.sync) this.lastDurable = recorded;
    }
  }

  /** In sync durability: resolves when every event so far is committed (batches commit in order). */
  durablePoint(): Promise<void> | undefined {
    return this.recorder?.sync ? this.lastDurable : undefined;
  }

  storeError(error: unknown, lost: number): void {
    this.counters.storeErrors++;
    this.dispatch(this.failure('store_error', error, 'STORE_UNAVAILABLE', undefined, { lostEvents: lost }));
  }

  busError(error: unknown, msg: Message | undefined): void {
    this.counters.busErrors++;
    this.dispatch(this.failure('bus_error', error, 'BUS_UNAVAILABLE', msg));
  }

  private failure(type: FlowEventType, error: unknown, code: ErrorCode, msg: Message | undefined, extra?: Record<string, unknown>): FlowEvent {
    const json: PenguiflowErrorJSON =
      error instanceof PenguiflowError ? error.toJSON() : { name: 'Error', code, message: String((error as Error)?.message ?? error), retryable: true };
    const event: FlowEvent = { id: nextId('e'), type, ts: Date.now(), flow: this.flow, traceId: msg?.traceId ?? '', tenant: msg?.headers.tenant ?? '', error: json };
    if (msg !== undefined) event.messageId = msg.id;
    if (extra !== undefined || this.stamp !== undefined) event.extra = { ...extra, ...this.stamp };
    return event;
  }

  private dispatch(event: FlowEvent): void {
    for (const middleware of this.middlewares) {
      try {
        const r = middleware(event);
        if (r !== undefined && typeof r.then === 'function') r.then(undefined, () => this.counters.middlewareErrors++);
      } catch {
        this.counters.middlewareErrors++;
      }
    }
  }
}
