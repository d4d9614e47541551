import type Database from 'better-sqlite3';
import type { FlowEvent } from '../../core/events.js';
import { traceDeltas, type EventColumns } from '../shared-sql/rows.js';

/** The `type` and `extra.status` of the batch's `trace_complete` events, by id (all the summary needs beyond columns). */
export type CompletionMap = Map<string, Pick<FlowEvent, 'type' | 'extra'>>;

export function completionsOf(events: readonly FlowEvent[]): CompletionMap {
  const map: CompletionMap = new Map();
  for (const e of events) if (e.type === 'trace_complete') map.set(e.id, { type: e.type, extra: { status: e.extra?.status } });
  return map;
}

/**
 * Returns a function that writes one batch in one IMMEDIATE transaction:
 * `INSERT OR IGNORE` each event, then upsert the trace summaries from exactly
 * the rows inserted. Returns how many events were new. Used on the main
 * thread and by the writer worker.
 */
export function createEventInserter(db: Database.Database): (rows: EventColumns[], completions: CompletionMap) => number {
  const insert = db.prepare('INSERT OR IGNORE INTO events (id, tenant, trace_id, type, ts, node, body) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const current = db.prepare('SELECT nodes FROM traces WHERE tenant = ? AND trace_id = ?').pluck();
  const upsert = db.prepare(`INSERT INTO traces (tenant, trace_id, status, status_rank, first_ts, last_ts, event_count, nodes)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (tenant, trace_id) DO UPDATE SET
      first_ts = min(first_ts, excluded.first_ts),
      last_ts = max(last_ts, excluded.last_ts),
      event_count = event_count + excluded.event_count,
      status = CASE WHEN excluded.status_rank >= status_rank THEN excluded.status ELSE status END,
      status_rank = max(status_rank, excluded.status_rank),
      nodes = excluded.nodes`);
  const write = db.transaction((rows: EventColumns[], completions: CompletionMap): number => {
    const inserted: { row: EventColumns; event: Pick<FlowEvent, 'type' | 'extra'> }[] = [];
    for (const row of rows) {
      if (insert.run(row.id, row.tenant, row.traceId, row.type, row.ts, row.node, row.body).changes === 1) {
        inserted.push({ row, event: completions.get(row.id) ?? { type: row.type as FlowEvent['type'] } });
      }
    }
    for (const d of traceDeltas(inserted)) {
      const existing = current.get(d.tenant, d.traceId) as string | undefined;
      const nodes = existing ? (JSON.parse(existing) as string[]) : [];
      for (const n of d.nodes) if (!nodes.includes(n)) nodes.push(n);
      upsert.run(d.tenant, d.traceId, d.status, d.rank, d.firstTs, d.lastTs, d.count, JSON.stringify(nodes));
    }
    return inserted.length;
  });
  return (rows, completions) => write.immediate(rows, completions);
}
