import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryStateStore } from '../../src/adapters/memory/index.js';
import { createFlow, message, node, type Message } from '../../src/index.js';
import { observabilityFromEnv, parsePrometheusText, sumSamples, type EnvObservability } from '../../src/observability/index.js';

const opened: EnvObservability[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) await o.close();
});

describe('observabilityFromEnv', () => {
  it('does nothing when no variable is set', async () => {
    const obs = await observabilityFromEnv({ env: {} });
    opened.push(obs);
    expect(obs.middlewares).toEqual([]);
    expect(obs.ops).toBeUndefined();
  });

  it('PENGUIFLOW_METRICS_PORT serves /metrics, /healthz and /readyz (store probe) for the middlewares it returns', async () => {
    const store = new InMemoryStateStore();
    const obs = await observabilityFromEnv({ store, env: { PENGUIFLOW_METRICS_PORT: '0', PENGUIFLOW_METRICS_HOST: '127.0.0.1', PENGUIFLOW_TRACING: '1' } });
    opened.push(obs);
    expect(obs.middlewares).toHaveLength(2);
    const flow = createFlow(node('n', (m: Message) => m.payload), { name: 'env', middlewares: obs.middlewares });
    flow.run();
    await flow.call(message(1, { tenant: 't' }));
    await flow.stop();
    const base = obs.ops!.url;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const samples = parsePrometheusText(await (await fetch(`${base}/metrics`)).text());
    expect(sumSamples(samples, 'penguiflow_node_success_total', { flow: 'env', node: 'n' })).toBe(1);
  });
});
