/**
 * Shared agents for the A2A tests: real flows served by createA2AServer on
 * 127.0.0.1:0 with the in-memory store. Not a test file itself.
 */
import { createFlow, node, sleep, type Flow, type Message, type NodeContext } from '../../src/index.js';
import { InMemoryStateStore } from '../../src/adapters/memory/index.js';
import { createA2AServer, inputRequired, type A2AServer, type A2AServerOptions } from '../../src/a2a/index.js';

export interface RunningAgent {
  server: A2AServer;
  flow: Flow;
  store: InMemoryStateStore;
  url: string;
  /** Every message the entry node received (payload, tenant, trace, deadline, meta). */
  seen: Message[];
  /** Trace ids whose node observed an abort. */
  aborted: string[];
  close(): Promise<void>;
}

/**
 * One flow with one node that understands a few commands (as text payloads):
 * - `slow:<ms>` waits (abortable), then answers `done`
 * - `stream:<n>[:<ms>]` streams n chunks `c0..c(n-1)` (ms apart) then answers `streamed`
 * - `multi:<n>` emits n results `r0..r(n-1)`
 * - `ask` asks for input; the answer `city:<x>` completes with `weather in <x>`
 * - `fail` throws
 * - anything else is echoed back.
 */
export function makeAgentFlow(seen: Message[], aborted: string[]): Flow {
  const agent = node(
    'agent',
    async (msg: Message, ctx: NodeContext) => {
      seen.push(msg);
      const p = msg.payload;
      if (typeof p !== 'string') return p;
      ctx.signal.addEventListener('abort', () => aborted.push(msg.traceId), { once: true });
      if (p.startsWith('slow:')) {
        await sleep(Number(p.slice(5)), ctx.signal);
        return 'done';
      }
      if (p.startsWith('stream:')) {
        const [n, gap] = p.slice(7).split(':').map(Number) as [number, number | undefined];
        for (let i = 0; i < n; i++) {
          await ctx.stream(`c${i}`, { done: i === n - 1 });
          await sleep(gap ?? 5, ctx.signal);
        }
        return 'streamed';
      }
      if (p.startsWith('multi:')) {
        const n = Number(p.slice(6));
        for (let i = 0; i < n; i++) await ctx.emit(`r${i}`);
        return undefined;
      }
      if (p === 'ask') {
        await ctx.emit(...inputRequired('Which city?'));
        return undefined;
      }
      if (p.startsWith('city:')) return `weather in ${p.slice(5)}`;
      if (p === 'fail') throw new Error('boom');
      return p;
    },
    { concurrency: 16 },
  );
  return createFlow(agent, { name: 'agent-under-test', queueSize: 256 });
}

export async function startAgent(overrides: Partial<A2AServerOptions> = {}): Promise<RunningAgent> {
  const seen: Message[] = [];
  const aborted: string[] = [];
  const flow = makeAgentFlow(seen, aborted);
  flow.run();
  const store = new InMemoryStateStore();
  const server = createA2AServer({
    flow,
    store,
    card: { name: 'test agent', description: 'Echo and friends', skills: [{ id: 'echo', name: 'echo', description: 'echoes', tags: ['test'] }] },
    onError: () => undefined,
    ...overrides,
  });
  const { url } = await server.listen();
  return {
    server,
    flow,
    store,
    url,
    seen,
    aborted,
    async close() {
      await server.close();
      await flow.stop();
    },
  };
}
