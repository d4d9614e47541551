/** One consumer group's backlog on one topic. */
export interface BusLagSample {
  topic: string;
  group: string;
  /** Entries in the stream not yet delivered to the group (Redis 7 `lag`); null when the broker cannot tell. */
  lag: number | null;
  /** Delivered but not yet acked (running, or waiting for redelivery). */
  pending: number;
}

/** Read at scrape time by `createMetrics({ busLag })`. */
export type BusLagSource = () => Promise<BusLagSample[]>;

/** The parts of `RedisMessageBus` this needs (structural: no driver import). */
export interface RedisBusLike {
  readonly client: { xinfo(subcommand: 'GROUPS', key: string): Promise<unknown> };
  keys(topic: string): { stream: string };
}

function fields(row: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (Array.isArray(row)) for (let i = 0; i + 1 < row.length; i += 2) out[String(row[i])] = row[i + 1];
  return out;
}

/**
 * Backlog of Redis Streams topics from `XINFO GROUPS`: per consumer group, the
 * entries not yet delivered (`lag`) and the delivered-but-unacked ones
 * (`pending`). A topic whose stream does not exist yet reports nothing.
 * Topics are `<flow>.<node>`, so the series stay bounded by the graph.
 *
 * @example
 * const metrics = createMetrics({ busLag: redisBusLag(bus, ['docs.summarize', 'docs.store']) });
 */
export function redisBusLag(bus: RedisBusLike, topics: readonly string[]): BusLagSource {
  return async () => {
    const out: BusLagSample[] = [];
    for (const topic of topics) {
      let groups: unknown;
      try {
        groups = await bus.client.xinfo('GROUPS', bus.keys(topic).stream);
      } catch (error) {
        if (/no such key/i.test(String((error as Error)?.message))) continue;
        throw error;
      }
      for (const row of Array.isArray(groups) ? groups : []) {
        const f = fields(row);
        const lag = f.lag === null || f.lag === undefined ? null : Number(f.lag);
        out.push({ topic, group: String(f.name), lag, pending: Number(f.pending ?? 0) });
      }
    }
    return out;
  };
}
