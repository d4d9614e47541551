import { message } from 'penguiflow';
import { exampleFile, startCluster } from '../shared/cluster.js';
import makeFlow from './flow.js';

const cluster = await startCluster(exampleFile(import.meta.url, 'flow.ts'), makeFlow, [['geology'], ['biology'], ['climate']]);
try {
  const out = await cluster.flow.call(message('melting glaciers', { tenant: 'example' }));
  const answers = out.payload as { field: string; answer: string; pid: number }[];
  for (const a of answers.sort((x, y) => x.field.localeCompare(y.field))) console.log(`${a.field}: ${a.answer} (worker pid ${a.pid})`);
  console.log(`joined ${answers.length} answers from ${new Set(answers.map((a) => a.pid)).size} worker processes`);
} finally {
  await cluster.stop();
}
