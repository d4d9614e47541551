import type { MessageBus } from '../protocols/message-bus.js';
import type { StateStore } from '../protocols/state-store.js';
import type { FlowMiddleware } from './events.js';
import type { RecorderOptions, RecorderStats } from './recorder.js';
import type { DistributedOptions } from './remote-edges.js';

export interface FlowOptions {
  /** Names the flow in events, metrics and bus topics. Default "flow". */
  name?: string;
  /** Capacity of each node's input queue; a full queue makes producers wait. Default 64. */
  queueSize?: number;
  /** Where every FlowEvent is recorded (off the hot path, batched). */
  stateStore?: StateStore;
  recorder?: RecorderOptions;
  /** Receives a copy of every edge hop (PenguiFlow-compatible publish). */
  bus?: MessageBus;
  middlewares?: FlowMiddleware[];
  /** Allows cycles between different nodes (self-loops need `policy.allowCycle`). */
  allowCycles?: boolean;
  /** Traces whose unfetched outputs are kept; past it the oldest idle ones are dropped. Default 10,000. */
  maxRetainedTraces?: number;
  /** Where each node runs; `distributed` nodes run on workers (see `runWorker`). Overrides `policy.placement`. */
  placement?: Record<string, Placement>;
  /** The bus that carries distributed edges; may also be given to `run()`. */
  distributed?: DistributedOptions;
}

export type Placement = 'local' | 'distributed';

export interface FetchOptions {
  traceId: string;
  signal?: AbortSignal;
  /** Give up after this long with NO_RESULT. */
  timeoutMs?: number;
}

export interface FlowStats {
  store: RecorderStats | undefined;
  storeErrors: number;
  busErrors: number;
  middlewareErrors: number;
  activeTraces: number;
}
