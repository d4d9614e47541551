/** Fan-out / fan-in: one question goes to three experts on different workers; a local join collects the answers. */
import { createFlow, joinK, node, sleep, type Message } from 'penguiflow';

export default () => {
  const ask = node('ask', (m: Message<string>) => m.payload);
  const experts = ['geology', 'biology', 'climate'].map((field) =>
    node(
      field,
      async (m: Message<string>) => {
        await sleep(20);
        return { field, answer: `${field} view on ${m.payload}`, pid: process.pid };
      },
      { placement: 'distributed' },
    ),
  );
  const join = joinK<{ field: string; answer: string; pid: number }>('join', experts.length);
  return createFlow(ask.to(...experts), ...experts.map((e) => e.to(join)), { name: 'fanout' });
};
