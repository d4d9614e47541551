import type { Registry } from 'prom-client';

/** Per-node counters kept as plain numbers: one Map lookup and an increment per event. */
export const NODE_COUNTERS = ['success', 'error', 'timeout', 'retry', 'failed', 'cancelled', 'deadline', 'chunks'] as const;
export type NodeCounter = (typeof NODE_COUNTERS)[number];
export type LatencyOutcome = 'success' | 'error' | 'timeout';

interface Histo {
  counts: number[];
  sum: number;
  count: number;
}

export interface NodeSeries {
  labels: Record<string, string>;
  counts: Record<NodeCounter, number>;
  latency: Partial<Record<LatencyOutcome, Histo>>;
  running: number;
}

interface Value {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/**
 * The hot-path half of the node metrics: events bump numbers in a Map, and
 * the registry reads them at scrape time through metric objects registered
 * with `registerMetric` (the same `get()` shape prom-client's own metrics
 * have). prom-client's `inc(labels)` hashes the label set on every call,
 * which cost a flow two thirds of its throughput in bench/suites/observability.ts.
 */
export class NodeSeriesTable {
  private readonly series = new Map<string, NodeSeries>();

  constructor(private readonly buckets: number[]) {}

  get(key: string, labels: () => Record<string, string>): NodeSeries {
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels: labels(), counts: { success: 0, error: 0, timeout: 0, retry: 0, failed: 0, cancelled: 0, deadline: 0, chunks: 0 }, latency: {}, running: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  observe(s: NodeSeries, outcome: LatencyOutcome, seconds: number): void {
    let h = s.latency[outcome];
    if (h === undefined) {
      h = { counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      s.latency[outcome] = h;
    }
    const b = this.buckets;
    for (let i = 0; i < b.length; i++) {
      if (seconds <= b[i]!) {
        h.counts[i]!++;
        break;
      }
    }
    h.sum += seconds;
    h.count++;
  }

  /** Registers a counter exposing one of the numbers. */
  registerCounter(registry: Registry, name: string, help: string, which: NodeCounter): void {
    this.register(registry, name, help, 'counter', () => [...this.series.values()].map((s) => ({ labels: s.labels, value: s.counts[which] })));
  }

  registerInFlight(registry: Registry, name: string, help: string): void {
    this.register(registry, name, help, 'gauge', () => [...this.series.values()].map((s) => ({ labels: s.labels, value: s.running })));
  }

  registerLatency(registry: Registry, name: string, help: string): void {
    this.register(registry, name, help, 'histogram', () => {
      const out: Value[] = [];
      for (const s of this.series.values()) {
        for (const outcome of ['success', 'error', 'timeout'] as const) {
          const h = s.latency[outcome];
          if (h === undefined) continue;
          const labels = { ...s.labels, status: outcome };
          let cumulative = 0;
          this.buckets.forEach((le, i) => {
            cumulative += h.counts[i]!;
            out.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
          });
          out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
          out.push({ metricName: `${name}_sum`, labels, value: h.sum });
          out.push({ metricName: `${name}_count`, labels, value: h.count });
        }
      }
      return out;
    });
  }

  private register(registry: Registry, name: string, help: string, type: 'counter' | 'gauge' | 'histogram', values: () => Value[]): void {
    const aggregator = 'sum';
    registry.registerMetric({ name, help, type, aggregator, get: async () => ({ name, help, type, aggregator, values: values() }) } as never);
  }
}
