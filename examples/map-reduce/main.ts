import { message } from 'penguiflow';
import { exampleFile, startCluster } from '../shared/cluster.js';
import makeFlow, { ITEMS } from './flow.js';

const cluster = await startCluster(exampleFile(import.meta.url, 'flow.ts'), makeFlow, [[], []]);
try {
  const items = Array.from({ length: ITEMS }, (_, i) => i + 1);
  const out = await cluster.flow.call(message(items, { tenant: 'example' }), { timeoutMs: 60_000 });
  const result = out.payload as { total: number; workers: number; items: number };
  const expected = items.reduce((a, x) => a + x * x, 0);
  console.log(`sum of squares of 1..${ITEMS} = ${result.total} (expected ${expected}) over ${result.items} items on ${result.workers} workers`);
} finally {
  await cluster.stop();
}
