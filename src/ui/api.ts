import type { TraceStatus } from '../core/events.js';
import type { StateStore } from '../protocols/state-store.js';
import { hasTraceListing, type TraceSummary } from '../protocols/store-capabilities.js';

const STATUSES: readonly TraceStatus[] = ['running', 'succeeded', 'failed', 'cancelled'];

export interface TraceListParams {
  tenant?: string;
  status?: string;
  /** Epoch ms: only traces active at or after it. */
  since?: number;
  /** Case-insensitive text that one of the trace's node names must contain. */
  q?: string;
  limit?: number;
  cursor?: string;
}

export class BadRequest extends Error {}

/** Reads the list filters from a query string (`tenant`, `status`, `since` in ms or `15m`/`1h`/`7d`, `q`, `limit`, `cursor`). */
export function listParamsOf(query: URLSearchParams): TraceListParams {
  const p: TraceListParams = {};
  const tenant = query.get('tenant');
  if (tenant) p.tenant = tenant;
  const status = query.get('status');
  if (status) {
    if (!STATUSES.includes(status as TraceStatus)) throw new BadRequest(`status must be one of ${STATUSES.join(', ')}`);
    p.status = status;
  }
  const since = query.get('since');
  if (since) {
    const d = /^(\d+)(m|h|d)$/.exec(since);
    if (d) p.since = Date.now() - Number(d[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[d[2] as 'm' | 'h' | 'd'];
    else if (/^\d+$/.test(since)) p.since = Number(since);
    else throw new BadRequest('since must be epoch ms or a duration like 15m, 1h, 7d');
  }
  const q = query.get('q');
  if (q) p.q = q.slice(0, 200);
  const limit = query.get('limit');
  if (limit) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1) throw new BadRequest('limit must be a positive whole number');
    p.limit = Math.min(n, 500);
  }
  const cursor = query.get('cursor');
  if (cursor) p.cursor = cursor;
  return p;
}

/**
 * Lists traces newest first through the store's `listTraces`, then keeps
 * those with a node name containing `q`; reads further pages (at most 10)
 * until `limit` traces match.
 */
export async function listTraces(store: StateStore, params: TraceListParams): Promise<{ traces: TraceSummary[]; nextCursor?: string }> {
  if (!hasTraceListing(store)) throw new BadRequest('This store cannot list traces');
  const limit = params.limit ?? 50;
  const q = params.q?.toLowerCase();
  const out: TraceSummary[] = [];
  let cursor = params.cursor;
  for (let page = 0; page < 10; page++) {
    const res = await store.listTraces({
      tenant: params.tenant ?? null,
      limit,
      ...(params.status ? { status: params.status as TraceStatus } : {}),
      ...(params.since !== undefined ? { since: params.since } : {}),
      ...(cursor ? { cursor } : {}),
    });
    for (const t of res.traces) if (q === undefined || t.nodes.some((n) => n.toLowerCase().includes(q))) out.push(t);
    cursor = res.nextCursor;
    if (out.length >= limit || !cursor || q === undefined) break;
  }
  return { traces: out.slice(0, limit), ...(cursor ? { nextCursor: cursor } : {}) };
}
