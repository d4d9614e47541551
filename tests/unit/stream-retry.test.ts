import { expect, it } from 'vitest';
import { createFlow, message, node, type Message } from '../../src/index.js';

it('a node that streams two chunks, fails, and succeeds on its in-process retry: the reader sees seq 0 and 1 once each', async () => {
  let attempts = 0;
  const talk = node(
    'talk',
    async (m: Message<string>, ctx) => {
      attempts++;
      await ctx.stream('a');
      await ctx.stream('b');
      if (attempts === 1) throw new Error('dropped the line');
      await ctx.stream('c', { done: true });
      return m.payload;
    },
    { maxRetries: 1, backoff: { baseMs: 1 } },
  );
  const flow = createFlow(talk);
  flow.run();
  const msg = message('done', { tenant: 'acme' });
  await flow.emit(msg);
  const seen: string[] = [];
  for await (const out of flow.outputs(msg.traceId)) {
    if (out.kind === 'chunk') seen.push(`${out.message.payload.seq}:${String(out.message.payload.data)}`);
    else if (out.kind === 'result') seen.push(`result:${String(out.message.payload)}`);
    else seen.push(`error:${out.error.code}`);
  }
  await flow.stop();
  expect(attempts).toBe(2);
  // the retry's own 0:a 1:b are not replayed; what it streams past them is
  expect(seen).toEqual(['0:a', '1:b', '2:c', 'result:done']);
});
