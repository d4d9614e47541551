/** Pipeline parallelism: three stages, each on its own worker process, so stage 1 of message n+1 overlaps stage 2 of message n. */
import { createFlow, node, sleep, type Message } from 'penguiflow';

type Doc = { id: number; text: string; by: number[] };

export default () => {
  const stage = (name: string, fn: (d: Doc) => Doc) =>
    node(
      name,
      async (m: Message<Doc>) => {
        await sleep(10);
        const out = fn(m.payload);
        return { ...out, by: [...out.by, process.pid] };
      },
      { placement: 'distributed' },
    );
  const clean = stage('clean', (d) => ({ ...d, text: d.text.trim().toLowerCase() }));
  const tokenize = stage('tokenize', (d) => ({ ...d, text: d.text.split(/\s+/).join('|') }));
  const tag = stage('tag', (d) => ({ ...d, text: `<${d.text}>` }));
  return createFlow(clean.to(tokenize), tokenize.to(tag), { name: 'pipeline' });
};
