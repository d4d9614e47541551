import { afterEach } from 'vitest';
import type { Flow } from '../../src/index.js';

/**
 * Runs a flow for one test and stops it afterwards. Call at module level:
 * `const started = startedFlows();` then `const flow = started(createFlow(...))`.
 */
export function startedFlows(): (flow: Flow) => Flow {
  const flows: Flow[] = [];
  afterEach(async () => {
    await Promise.all(flows.splice(0).map((f) => f.stop({ timeoutMs: 1_000 })));
  });
  return (flow) => {
    flows.push(flow);
    flow.run();
    return flow;
  };
}
