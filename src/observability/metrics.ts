import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from '../peers/prom-client.js';
import type { FlowEvent, FlowMiddleware } from '../core/events.js';
import type { BusLagSource } from './bus-lag.js';
import { InFlightTraces } from './in-flight.js';
import { NodeSeriesTable, type LatencyOutcome, type NodeSeries } from './node-series.js';

export interface MetricsOptions {
  /** Where the metrics are registered. Default: a new Registry (not prom-client's global one). */
  registry?: Registry;
  /** Adds a `tenant` label to every series. Off by default: tenants can be many. */
  tenantLabel?: boolean;
  /** Prefix of every metric name. Default `penguiflow_`. */
  prefix?: string;
  /** Node latency buckets in seconds. */
  latencyBuckets?: number[];
  /** A trace with no event for this long stops counting as in flight (a lost worker, a crash). Default 10 min. */
  traceIdleMs?: number;
  /** Broker backlog per topic and group, read at scrape time (e.g. {@link redisBusLag}). */
  busLag?: BusLagSource;
}

export interface Metrics {
  /** Give to `createFlow({ middlewares })` or `runWorker({ middlewares })`. */
  middleware: FlowMiddleware;
  registry: Registry;
  /** Node `http` handler that answers with the Prometheus text of the registry. */
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** The Prometheus text exposition of the registry. */
  text(): Promise<string>;
  /** Sets the queue depth of a node's input edge from another source (e.g. the broker's lag). */
  setQueueDepth(flow: string, node: string, depth: number, tenant?: string): void;
}

const DEFAULT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * Prometheus metrics from FlowEvents. Labels are `flow`, `node`, `status`
 * (and `tenant` when switched on), never a trace or message id, so the number
 * of series stays bounded by the graph. Reads only ids, names, counts and
 * timings from events: no payload text can reach a metric.
 *
 * @example
 * const metrics = createMetrics();
 * const flow = createFlow(a.to(b), { middlewares: [metrics.middleware] });
 * serveOps({ port: 9464, metrics, ready: async () => true });
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = options.registry ?? new Registry();
  const p = options.prefix ?? 'penguiflow_';
  const withTenant = options.tenantLabel === true;
  const t = (names: string[]): string[] => (withTenant ? [...names, 'tenant'] : names);
  const registers = [registry];
  const counter = (name: string, help: string, labels: string[]) => new Counter({ name: p + name, help, labelNames: t(labels), registers });

  const buckets = options.latencyBuckets ?? DEFAULT_BUCKETS;
  const table = new NodeSeriesTable(buckets);
  for (const [name, help, which] of [
    ['node_success_total', 'Node attempts that succeeded', 'success'],
    ['node_errors_total', 'Node attempts that threw (each attempt, before any retry)', 'error'],
    ['node_timeouts_total', 'Node attempts abandoned on their timeout', 'timeout'],
    ['node_retries_total', 'Retries scheduled (one per node_retry event)', 'retry'],
    ['node_failures_total', 'Messages whose node failed after its last attempt', 'failed'],
    ['node_cancelled_total', 'Node work dropped or abandoned because its trace was cancelled', 'cancelled'],
    ['deadline_skips_total', 'Messages skipped or aborted because their deadline passed', 'deadline'],
    ['stream_chunks_total', 'Stream chunks produced', 'chunks'],
  ] as const) table.registerCounter(registry, p + name, help, which);
  table.registerLatency(registry, p + 'node_latency_seconds', 'Node attempt latency, by outcome (success, error, timeout)');
  table.registerInFlight(registry, p + 'node_attempts_in_flight', 'Node attempts running now in this process');
  const node = {
    shed: counter('load_shed_total', 'Messages refused by load shedding', ['flow', 'node']),
    redelivery: counter('bus_redeliveries_total', 'Bus deliveries after the first', ['flow', 'node']),
    deadLetter: counter('bus_dead_letters_total', 'Envelopes moved to the dead letters', ['flow', 'node']),
    leaseLost: counter('bus_lease_lost_total', 'Ack, nack, extend or dead-letter refused because the delivery lease was lost', ['flow', 'node']),
    duplicate: counter('bus_duplicates_total', 'Deliveries of messages already completed, acked without running', ['flow', 'node']),
  };
  const trace = {
    cancelStart: counter('trace_cancel_start_total', 'Trace cancels started', ['flow']),
    cancelFinish: counter('trace_cancel_finish_total', 'Trace cancels finished (no work left)', ['flow']),
  };
  // one per message: kept as numbers, read at scrape time (see NodeSeriesTable)
  const completed = new Map<string, { labels: Record<string, string>; n: number }>();
  new Counter({
    name: p + 'traces_completed_total',
    help: 'Trace rounds that ended, by status',
    labelNames: t(['flow', 'status']),
    registers,
    collect() {
      this.reset();
      for (const c of completed.values()) this.inc(c.labels, c.n);
    },
  });
  const complete = (e: FlowEvent) => {
    const status = String(e.extra?.status ?? 'succeeded');
    const key = withTenant ? `${e.flow}\u0000${status}\u0000${e.tenant}` : `${e.flow}\u0000${status}`;
    const c = completed.get(key);
    if (c) c.n++;
    else completed.set(key, { labels: labels(e, { status }), n: 1 });
  };
  const remote = {
    calls: counter('remote_calls_total', 'Remote agent calls that ended, by status (success, error, cancelled)', ['flow', 'node', 'status']),
    cancels: counter('remote_cancels_total', 'Cancels sent to remote tasks, by status (success, failure)', ['flow', 'node', 'status']),
  };
  const errors = {
    store: counter('store_errors_total', 'State store write failures', ['flow']),
    bus: counter('bus_errors_total', 'Bus publish failures', ['flow']),
  };
  const breakerStates = new Map<string, { labels: Record<string, string>; state: string }>();
  const resilience = {
    transitions: counter('breaker_transitions_total', 'Circuit breaker state changes of remote instances, by new state', ['flow', 'node', 'state']),
    instances: counter('remote_instance_changes_total', 'Remote instances that came up or went down (heartbeats, probes)', ['flow', 'node', 'status']),
    failovers: counter('failovers_total', 'Remote calls moved to another instance', ['flow', 'node']),
    fallbacks: counter('fallbacks_total', 'Remote calls answered by a fallback', ['flow', 'node']),
    budget: counter('retry_budget_exhausted_total', 'Retries refused because the retry budget was spent', ['flow', 'node']),
    invalid: counter('registry_entries_invalid_total', 'Agent registry entries rejected as invalid', ['flow']),
    breaker(e: FlowEvent, state: string) {
      this.transitions.inc(nodeLabels(e, { state }));
      const instance = typeof e.extra?.instanceId === 'string' ? e.extra.instanceId : typeof e.extra?.url === 'string' ? e.extra.url : '';
      breakerStates.set(`${e.flow}\u0000${e.node ?? ''}\u0000${instance}`, { labels: nodeLabels(e), state });
    },
  };
  new Gauge({
    name: p + 'breakers',
    help: 'Remote instances per circuit breaker state (closed, half_open, open), from the last transition seen',
    labelNames: t(['flow', 'node', 'state']),
    registers,
    collect() {
      this.reset();
      const counts = new Map<string, { labels: Record<string, string>; n: number }>();
      for (const { labels: l, state } of breakerStates.values()) {
        const key = JSON.stringify([l, state]);
        const c = counts.get(key) ?? { labels: { ...l, state }, n: 0 };
        c.n++;
        counts.set(key, c);
      }
      for (const c of counts.values()) this.set(c.labels, c.n);
    },
  });
  const remoteLatency = new Histogram({ name: p + 'remote_call_latency_seconds', help: 'Remote call latency, by outcome (success, error)', labelNames: t(['flow', 'node', 'status']), buckets, registers });
  const queueDepth = new Gauge({ name: p + 'queue_depth', help: "Messages waiting on a node's input edge (last value reported by an event)", labelNames: t(['flow', 'node']), registers });
  if (options.busLag) {
    const source = options.busLag;
    let last: Promise<Awaited<ReturnType<BusLagSource>>> | undefined;
    // one broker round per scrape for both gauges
    const read = () => (last ??= source().finally(() => setTimeout(() => (last = undefined), 0)));
    new Gauge({
      name: p + 'bus_lag',
      help: 'Entries on the topic not yet delivered to the consumer group (broker view)',
      labelNames: ['topic', 'group'],
      registers,
      async collect() {
        this.reset();
        for (const s of await read()) if (s.lag !== null) this.set({ topic: s.topic, group: s.group }, s.lag);
      },
    });
    new Gauge({
      name: p + 'bus_pending',
      help: 'Entries delivered to the consumer group and not acked yet (broker view)',
      labelNames: ['topic', 'group'],
      registers,
      async collect() {
        this.reset();
        for (const s of await read()) this.set({ topic: s.topic, group: s.group }, s.pending);
      },
    });
  }
  const traces = new InFlightTraces(options.traceIdleMs ?? 600_000);
  new Gauge({
    name: p + 'traces_in_flight',
    help: 'Traces started here and not complete, or with an attempt running here (workers)',
    labelNames: t(['flow']),
    registers,
    collect() {
      this.reset();
      for (const [key, n] of traces.counts(Date.now())) {
        const [flow = '', tenant = ''] = key.split('\u0000');
        this.set(withTenant ? { flow, tenant } : { flow }, n);
      }
    },
  });
  const seriesOf = (e: FlowEvent): NodeSeries =>
    table.get(withTenant ? `${e.flow}\u0000${e.node ?? ''}\u0000${e.tenant}` : `${e.flow}\u0000${e.node ?? ''}`, () => nodeLabels(e));

  const labels = (e: FlowEvent, more?: Record<string, string>): Record<string, string> => {
    const l: Record<string, string> = { flow: e.flow, ...more };
    if (withTenant) l.tenant = e.tenant;
    return l;
  };
  const nodeLabels = (e: FlowEvent, more?: Record<string, string>) => labels(e, { node: e.node ?? '', ...more });
  const attemptEnded = (s: NodeSeries) => {
    if (s.running > 0) s.running--;
  };
  const ended = (s: NodeSeries, e: FlowEvent, outcome: LatencyOutcome) => {
    s.counts[outcome]++;
    if (e.latencyMs !== undefined) table.observe(s, outcome, e.latencyMs / 1000);
    attemptEnded(s);
  };

  const middleware: FlowMiddleware = (e) => {
    traces.observe(e);
    if (e.queueDepthIn !== undefined && e.node !== undefined) queueDepth.set(nodeLabels(e), e.queueDepthIn);
    // A plain string: event types added by other layers fall through instead of breaking this switch.
    const type: string = e.type;
    switch (type) {
      case 'node_start': {
        seriesOf(e).running++;
        return;
      }
      case 'node_success':
        return ended(seriesOf(e), e, 'success');
      case 'node_error':
        return ended(seriesOf(e), e, 'error');
      case 'node_timeout':
        return ended(seriesOf(e), e, 'timeout');
      case 'node_retry':
        return void seriesOf(e).counts.retry++;
      case 'node_failed':
        return void seriesOf(e).counts.failed++;
      case 'node_trace_cancelled': {
        const s = seriesOf(e);
        s.counts.cancelled++;
        return attemptEnded(s);
      }
      case 'deadline_skip': {
        const s = seriesOf(e);
        s.counts.deadline++;
        if (e.extra?.during === 'run') attemptEnded(s);
        return;
      }
      case 'stream_chunk':
        return void seriesOf(e).counts.chunks++;
      case 'load_shed':
        node.shed.inc(nodeLabels(e));
        if (typeof e.extra?.depth === 'number' && e.node !== undefined) queueDepth.set(nodeLabels(e), e.extra.depth);
        return;
      case 'bus_redelivery':
        return void node.redelivery.inc(nodeLabels(e));
      case 'bus_dead_letter':
        return void node.deadLetter.inc(nodeLabels(e));
      case 'bus_lease_lost':
        return void node.leaseLost.inc(nodeLabels(e));
      case 'bus_duplicate':
        return void node.duplicate.inc(nodeLabels(e));
      case 'trace_cancel_start':
        return void trace.cancelStart.inc(labels(e));
      case 'trace_cancel_finish':
        return void trace.cancelFinish.inc(labels(e));
      case 'trace_complete':
        return complete(e);
      case 'remote_call_success':
        remote.calls.inc(nodeLabels(e, { status: 'success' }));
        if (e.latencyMs !== undefined) remoteLatency.observe(nodeLabels(e, { status: 'success' }), e.latencyMs / 1000);
        return;
      case 'remote_call_error':
        remote.calls.inc(nodeLabels(e, { status: 'error' }));
        if (e.latencyMs !== undefined) remoteLatency.observe(nodeLabels(e, { status: 'error' }), e.latencyMs / 1000);
        return;
      case 'remote_call_cancelled':
        remote.calls.inc(nodeLabels(e, { status: 'cancelled' }));
        remote.cancels.inc(nodeLabels(e, { status: 'success' }));
        return;
      case 'remote_cancel_error':
        return void remote.cancels.inc(nodeLabels(e, { status: 'failure' }));
      case 'store_error':
        return void errors.store.inc(labels(e));
      case 'bus_error':
        return void errors.bus.inc(labels(e));
      case 'breaker_open':
      case 'breaker_half_open':
      case 'breaker_closed':
        return resilience.breaker(e, type.slice('breaker_'.length));
      case 'remote_instance_up':
        return void resilience.instances.inc(nodeLabels(e, { status: 'up' }));
      case 'remote_instance_down':
        return void resilience.instances.inc(nodeLabels(e, { status: 'down' }));
      case 'failover':
        return void resilience.failovers.inc(nodeLabels(e));
      case 'fallback_used':
        return void resilience.fallbacks.inc(nodeLabels(e));
      case 'retry_budget_exhausted':
        return void resilience.budget.inc(nodeLabels(e));
      case 'registry_entry_invalid':
        return void resilience.invalid.inc(labels(e));
      default:
        return;
    }
  };

  return {
    middleware,
    registry,
    text: () => registry.metrics(),
    handler: (_req, res) => {
      registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(body);
        },
        (error: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics failed: ${error instanceof Error ? error.message : String(error)}\n`);
        },
      );
    },
    setQueueDepth: (flow, nodeName, depth, tenant) => queueDepth.set({ flow, node: nodeName, ...(withTenant ? { tenant: tenant ?? '' } : {}) }, depth),
  };
}
