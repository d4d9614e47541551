/**
 * Must show (issue 7): a TCP proxy on loopback between the caller and one of
 * three agent processes blackholes its traffic: attempts time out, the
 * breaker opens, calls fail over, and after the proxy heals the breaker
 * half-opens and closes. Then every instance fails (connections reset): the
 * remote attempts stay within (1 + budget) × calls.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlow, message, type FlowEvent } from '../../src/index.js';
import { createA2AClient } from '../../src/a2a/index.js';
import { isPenguiflowError } from '../../src/errors/index.js';
import { remoteNode } from '../../src/remote/index.js';
import { openAgentRegistry } from '../../src/registry/index.js';
import type { AgentRegistry } from '../../src/protocols/agent-registry.js';
import { createBalancedTransport, flowEventSink, roundRobin, type BalancedTransportOptions } from '../../src/resilience/index.js';
import { startAgent, type AgentProcess } from '../helpers/agent-processes.js';
import { serviceUrl } from '../helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const redisUrl = await serviceUrl('redis');
const prefix = `pf-part-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;

const waitFor = async (pred: () => boolean, ms: number, what: string) => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe.skipIf(!redisUrl)('partition and retry budget over real agent processes behind TCP proxies (registry in Redis)', () => {
  const agents: AgentProcess[] = [];
  const proxies = new Map<string, TcpProxy>();
  let registry: AgentRegistry;
  const client = createA2AClient({ timeoutMs: 10_000 });

  beforeAll(async () => {
    const url = `${redisUrl}?prefix=${prefix}`;
    registry = await openAgentRegistry(url);
    for (const id of ['a', 'b', 'c']) {
      const proxy = await startTcpProxy();
      proxies.set(id, proxy);
      const agent = await startAgent({ PF_REGISTRY: url, PF_INSTANCE_ID: id, PF_DELAY_MS: '2', PF_HEARTBEAT_MS: '500', PF_PUBLIC_URL: proxy.url });
      proxy.target = agent.port;
      agents.push(agent);
    }
  });
  afterAll(async () => {
    for (const a of agents) await a.stop('SIGKILL');
    for (const p of proxies.values()) await p.close();
    await registry?.close?.();
    const r = new Redis(redisUrl!);
    const keys = await r.keys(`${prefix}:*`);
    if (keys.length) await r.del(...keys);
    await r.quit();
  });

  function caller(options: Partial<BalancedTransportOptions>) {
    const events: FlowEvent[] = [];
    const ref: { t?: ReturnType<typeof createBalancedTransport> } = {};
    const node = remoteNode({ name: 'echo', transport: { send: (r) => ref.t!.send(r), stream: (r) => ref.t!.stream(r), cancel: (t) => ref.t!.cancel(t) }, agentUrl: 'agent://echo', recordBinding: false, policy: { timeoutMs: 15_000, concurrency: 8 } });
    const flow = createFlow(node, { name: 'caller', middlewares: [(e) => void events.push(e)] });
    const transport = (ref.t = createBalancedTransport({ registry, transport: client, strategy: roundRobin(), refreshMs: 100, events: flowEventSink(flow, { node: 'echo' }), ...options }));
    flow.run();
    const call = async (i: number) => (await flow.call(message(`p${i}`, { tenant: 'acme' }), { timeoutMs: 20_000 })).payload as { instance: string };
    return { events, transport, flow, call };
  }
  const of = (events: FlowEvent[], type: string, id: string) => events.filter((e) => e.type === type && e.extra?.instanceId === id);

  it('blackholed instance: timeouts, breaker opens, calls fail over; after healing it half-opens and closes', async () => {
    // The echo is idempotent: a call cut mid-stream by the partition may run again elsewhere.
    const { events, transport, flow, call } = caller({ idempotent: true, attemptTimeoutMs: 400, breaker: { halfOpenAfterMs: 1_000 }, health: { probeIntervalMs: 250, probeTimeoutMs: 300 } });
    await transport.ready();
    const served: string[] = [];
    const failures: string[] = [];
    let running = true;
    let i = 0;
    const traffic = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (running) {
          try {
            served.push((await call(i++)).instance);
          } catch (error) {
            failures.push(String((error as { code?: string }).code ?? error));
          }
        }
      }),
    );
    await waitFor(() => served.length >= 30, 10_000, 'warm-up traffic');
    expect(new Set(served)).toEqual(new Set(['a', 'b', 'c']));

    proxies.get('b')!.setMode('blackhole');
    await waitFor(() => of(events, 'breaker_open', 'b').length > 0, 10_000, 'the breaker of b to open');
    const openedAt = served.length;
    await new Promise((r) => setTimeout(r, 1_500));
    const whileOpen = served.slice(openedAt);
    expect(whileOpen.length).toBeGreaterThan(20);
    expect(whileOpen.filter((s) => s === 'b')).toHaveLength(0);
    const timeouts = events.filter((e) => e.type === 'failover' && e.extra?.from === 'b' && e.extra?.reason === 'TIMEOUT');
    expect(timeouts.length, 'timeouts failed over').toBeGreaterThan(0);

    proxies.get('b')!.setMode('forward');
    await waitFor(() => of(events, 'breaker_closed', 'b').length > 0, 15_000, 'the breaker of b to close');
    const halfOpen = of(events, 'breaker_half_open', 'b');
    const closed = of(events, 'breaker_closed', 'b')[0]!;
    expect(halfOpen.some((e) => e.ts <= closed.ts)).toBe(true);
    const healedAt = served.length;
    await waitFor(() => served.slice(healedAt).includes('b'), 10_000, 'b to serve again');
    running = false;
    await traffic;
    expect(failures, 'no call failed').toEqual([]);
    await flow.stop();
    await transport.close();
  });

  it('under 100 % remote failure the attempts stay within (1 + budget) × calls', async () => {
    const { transport, flow, call, events } = caller({ breaker: false, health: { unhealthyAfter: 1e9 }, retryBudget: { ratio: 0.2, minRetries: 0 }, maxAttempts: 3 });
    await transport.ready();
    for (const p of proxies.values()) p.setMode('reset');
    const before = [...proxies.values()].reduce((n, p) => n + p.connections, 0);
    const calls = 150;
    let failed = 0;
    for (let k = 0; k < calls; k += 5) {
      const results = await Promise.allSettled(Array.from({ length: 5 }, (_, j) => call(k + j)));
      for (const r of results) if (r.status === 'rejected' && isPenguiflowError(r.reason, 'REMOTE_UNAVAILABLE')) failed++;
    }
    const attempts = [...proxies.values()].reduce((n, p) => n + p.connections, 0) - before;
    expect(failed).toBe(calls);
    expect(attempts, `${attempts} remote attempts for ${calls} calls`).toBeLessThanOrEqual(Math.floor(1.2 * calls));
    expect(attempts).toBeGreaterThanOrEqual(calls);
    expect(events.some((e) => e.type === 'retry_budget_exhausted')).toBe(true);
    await flow.stop();
    await transport.close();
    for (const p of proxies.values()) p.setMode('forward');
  });
});
