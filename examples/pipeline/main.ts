import { message } from 'penguiflow';
import { exampleFile, startCluster } from '../shared/cluster.js';
import makeFlow from './flow.js';

const cluster = await startCluster(exampleFile(import.meta.url, 'flow.ts'), makeFlow, [['clean'], ['tokenize'], ['tag']]);
try {
  const t0 = Date.now();
  const docs = await Promise.all(
    Array.from({ length: 30 }, (_, id) => cluster.flow.call(message({ id, text: `  Penguin Doc ${id} `, by: [] }, { tenant: 'example' }))),
  );
  const elapsed = Date.now() - t0;
  const first = docs[0]!.payload as { text: string; by: number[] };
  console.log(`doc 0: ${first.text} (stages ran in pids ${first.by.join(' → ')})`);
  console.log(`${docs.length} docs through 3 stages on ${new Set(first.by).size} processes in ${elapsed} ms (serial would be ≥ ${30 * 3 * 10} ms)`);
} finally {
  await cluster.stop();
}
