import {
  createFlow,
  isPenguiflowError,
  joinK,
  message,
  node,
  sleep,
  unionRouter,
  type Flow,
  type FlowMiddleware,
  type Message,
} from '../../index.js';
import type { StateStore } from '../../protocols/state-store.js';

type Job =
  | { kind: 'research'; topic: string }
  | { kind: 'write'; topic: string }
  | { kind: 'flaky'; topic: string }
  | { kind: 'slow'; topic: string };

/**
 * The demo flow: a union router in front of four small pipelines that show
 * fan-out + join, streaming, retry, and slow work for cancel and deadlines.
 */
export function buildDemoFlow(stateStore: StateStore, middlewares: FlowMiddleware[] = []): Flow {
  const route = unionRouter<Job, 'kind'>('route', 'kind', {
    research: 'split',
    write: 'writer',
    flaky: 'flaky',
    slow: 'slow',
  });
  const split = node('split', (m: Message<Job>) => m.payload.topic);
  const lookup = node('lookup', async (m: Message<string>) => {
    await sleep(15);
    return `facts about ${m.payload}`;
  });
  const score = node('score', async (m: Message<string>) => {
    await sleep(5);
    return `${m.payload.length} letters`;
  });
  const join = joinK<string>('join', 2);
  const writer = node('writer', async (m: Message<Job>, ctx) => {
    const words = `penguins are birds that ${m.payload.topic}`.split(' ');
    for (const [i, word] of words.entries()) {
      await sleep(3);
      await ctx.stream(word, { done: i === words.length - 1 });
    }
    return words.join(' ');
  });
  let flakyCalls = 0;
  const flaky = node(
    'flaky',
    (m: Message<Job>) => {
      flakyCalls++;
      if (flakyCalls === 1) throw new Error('upstream hiccup');
      return `recovered: ${m.payload.topic}`;
    },
    { maxRetries: 2, backoff: { baseMs: 20, jitter: 0 } },
  );
  const slow = node('slow', async (m: Message<Job>, ctx) => {
    await sleep(400, ctx.signal);
    return `slow: ${m.payload.topic}`;
  });
  return createFlow(route.to(split, writer, flaky, slow), split.to(lookup, score), lookup.to(join), score.to(join), flaky, slow, {
    name: 'demo',
    stateStore,
    middlewares,
  });
}

export interface DemoTrace {
  label: string;
  traceId: string;
  outcome: string;
}

/** Runs the five demo traces and says how each ended. */
export async function runDemoTraces(flow: Flow, tenant: string, print: (line: string) => void): Promise<DemoTrace[]> {
  const traces: DemoTrace[] = [];
  const send = (label: string, job: Job, deadlineMs?: number) => {
    const msg = message(job, { tenant, deadlineMs });
    const trace: DemoTrace = { label, traceId: msg.traceId, outcome: '' };
    traces.push(trace);
    return { msg, trace };
  };
  const settle = async (trace: DemoTrace, run: Promise<Message>) => {
    try {
      const out = await run;
      trace.outcome = `result ${JSON.stringify(out.payload)}`;
    } catch (error) {
      trace.outcome = isPenguiflowError(error) ? `${error.code}: ${error.message}` : String(error);
    }
    print(`  ${trace.label.padEnd(22)} ${trace.outcome}`);
  };

  const research = send('fan-out + join', { kind: 'research', topic: 'emperor penguins' });
  const flaky = send('retry after a failure', { kind: 'flaky', topic: 'krill prices' });
  const expiring = send('deadline expires', { kind: 'slow', topic: 'ice sheets' }, 60);
  const cancelled = send('cancelled midway', { kind: 'slow', topic: 'migration' });
  const streamed = send('streaming', { kind: 'write', topic: 'cannot fly' });

  const runs = [research, flaky, expiring, cancelled].map(({ msg, trace }) => settle(trace, flow.call(msg)));
  setTimeout(() => void flow.cancel(cancelled.msg.traceId), 80);

  await flow.emit(streamed.msg);
  const tokens: string[] = [];
  let final = '';
  for await (const out of flow.outputs(streamed.msg.traceId)) {
    if (out.kind === 'chunk') tokens.push(String(out.message.payload.data));
    if (out.kind === 'result') final = String(out.message.payload);
  }
  streamed.trace.outcome = `${tokens.length} chunks streamed, result "${final}"`;
  print(`  ${streamed.trace.label.padEnd(22)} ${streamed.trace.outcome}`);
  await Promise.all(runs);
  return traces;
}
