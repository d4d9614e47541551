import type { StoredEvent } from '../protocols/state-store.js';

/**
 * Renders a trace's events as a readable timeline: offset from the first
 * event, type, node, attempt, latency, error code. Never payloads.
 *
 * @example
 * console.log(formatTimeline(await store.loadHistory(traceId, { tenant: null })));
 */
export function formatTimeline(events: readonly StoredEvent[]): string {
  if (events.length === 0) return '  (no events)';
  const t0 = events[0]!.ts;
  return events
    .map((e) => {
      const offset = `+${String(e.ts - t0).padStart(5)} ms`;
      const parts = [offset, e.type.padEnd(20), (e.node ?? '').padEnd(10)];
      const notes: string[] = [];
      if (e.attempt !== undefined && e.attempt > 0) notes.push(`attempt ${e.attempt}`);
      if (e.latencyMs !== undefined) notes.push(`${e.latencyMs.toFixed(1)} ms`);
      if (e.error !== undefined) notes.push(e.error.code);
      const extra = e.extra ?? {};
      if (typeof extra.delayMs === 'number') notes.push(`retry in ${extra.delayMs} ms`);
      if (typeof extra.seq === 'number') notes.push(`chunk ${extra.seq}${extra.done === true ? ' (last)' : ''}`);
      if (typeof extra.status === 'string') notes.push(extra.status);
      if (typeof extra.dropped === 'number') notes.push(`${extra.dropped} dropped`);
      return `  ${parts.join(' ')} ${notes.join(', ')}`.trimEnd();
    })
    .join('\n');
}
