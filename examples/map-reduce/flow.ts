/** Map-reduce over 1,000 items: `split` emits one message per item, `square` runs on the workers, `sum` reduces locally. */
import { createFlow, joinK, node, type Message } from 'penguiflow';

export const ITEMS = 1_000;

export default () => {
  const split = node('split', async (m: Message<number[]>, ctx) => {
    for (const item of m.payload) await ctx.emit(item);
    return undefined;
  });
  const square = node('square', (m: Message<number>) => ({ value: m.payload * m.payload, pid: process.pid }), {
    placement: 'distributed',
    concurrency: 8,
  });
  const gather = joinK<{ value: number; pid: number }>('gather', ITEMS);
  const sum = node('sum', (m: Message<{ value: number; pid: number }[]>) => ({
    total: m.payload.reduce((acc, x) => acc + x.value, 0),
    workers: [...new Set(m.payload.map((x) => x.pid))].length,
    items: m.payload.length,
  }));
  return createFlow(split.to(square), square.to(gather), gather.to(sum), { name: 'mapreduce', queueSize: 256 });
};
