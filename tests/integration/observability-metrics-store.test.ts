/**
 * After a run of the demo flow, /metrics parses as Prometheus text and every
 * counter equals the number of matching events in the SQLite store (e.g.
 * retries counted = node_retry events stored). `penguiflow metrics`, which
 * recomputes the same counters from the store, agrees too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createSqliteStateStore } from '../../src/adapters/sqlite/index.js';
import { registerMetrics } from '../../src/cli/commands/metrics.js';
import { buildDemoFlow, runDemoTraces } from '../../src/cli/demo/local-flow.js';
import type { StoredEvent } from '../../src/index.js';
import { createMetrics, parsePrometheusText, serveOps, sumSamples } from '../../src/observability/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pf-obs-metrics-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('metrics match the store after the demo flow', () => {
  it('counts every node outcome, retry, cancel, deadline skip, chunk and completion exactly as stored', async () => {
    const db = path.join(dir, 'state.db');
    const store = createSqliteStateStore({ path: db });
    const metrics = createMetrics();
    const flow = buildDemoFlow(store, [metrics.middleware]);
    flow.run();
    await runDemoTraces(flow, 'demo', () => undefined);
    await flow.stop();

    const ops = await serveOps({ port: 0, host: '127.0.0.1', metrics });
    const res = await fetch(`${ops.url}/metrics`);
    const samples = parsePrometheusText(await res.text());
    await ops.close();

    const { traces } = await store.listTraces({ tenant: 'demo', limit: 100 });
    expect(traces.length).toBeGreaterThanOrEqual(5);
    const events: StoredEvent[] = (await Promise.all(traces.map((t) => store.loadHistory(t.traceId, { tenant: 'demo' })))).flat();
    await store.close();
    const stored = (type: string, node?: string) => events.filter((e) => e.type === type && (node === undefined || e.node === node)).length;

    expect(stored('node_retry')).toBeGreaterThan(0);
    expect(sumSamples(samples, 'penguiflow_node_retries_total')).toBe(stored('node_retry'));
    expect(stored('trace_cancel_start')).toBe(1);
    expect(stored('deadline_skip')).toBeGreaterThan(0);
    const nodes = [...new Set(events.map((e) => e.node).filter((n): n is string => n !== undefined))];
    const pairs: [string, string][] = [
      ['node_success', 'penguiflow_node_success_total'],
      ['node_error', 'penguiflow_node_errors_total'],
      ['node_timeout', 'penguiflow_node_timeouts_total'],
      ['node_retry', 'penguiflow_node_retries_total'],
      ['node_failed', 'penguiflow_node_failures_total'],
      ['node_trace_cancelled', 'penguiflow_node_cancelled_total'],
      ['deadline_skip', 'penguiflow_deadline_skips_total'],
      ['stream_chunk', 'penguiflow_stream_chunks_total'],
    ];
    for (const node of nodes) for (const [type, metric] of pairs) expect(sumSamples(samples, metric, { node }), `${metric}{node="${node}"}`).toBe(stored(type, node));
    expect(sumSamples(samples, 'penguiflow_trace_cancel_start_total')).toBe(stored('trace_cancel_start'));
    expect(sumSamples(samples, 'penguiflow_trace_cancel_finish_total')).toBe(stored('trace_cancel_finish'));
    for (const status of ['succeeded', 'failed', 'cancelled']) {
      expect(sumSamples(samples, 'penguiflow_traces_completed_total', { status })).toBe(events.filter((e) => e.type === 'trace_complete' && e.extra?.status === status).length);
    }
    expect(sumSamples(samples, 'penguiflow_node_latency_seconds_count')).toBe(stored('node_success') + stored('node_error') + stored('node_timeout'));

    // `penguiflow metrics --json` recomputes the same counters from the file
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    try {
      const program = new Command().exitOverride();
      registerMetrics(program);
      await program.parseAsync(['node', 'penguiflow', 'metrics', '--store', `sqlite:${db}`, '--tenant', 'demo', '--json']);
    } finally {
      spy.mockRestore();
    }
    const cli = out.join('').trim().split('\n').map((l) => JSON.parse(l) as { name: string; labels: Record<string, string>; value: number });
    expect(sumSamples(cli, 'penguiflow_node_retries_total')).toBe(stored('node_retry'));
    expect(sumSamples(cli, 'penguiflow_node_success_total')).toBe(sumSamples(samples, 'penguiflow_node_success_total'));
  });
});
