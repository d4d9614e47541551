import { message } from 'penguiflow';
import { exampleFile, startCluster } from '../shared/cluster.js';
import makeFlow from './flow.js';

const cluster = await startCluster(exampleFile(import.meta.url, 'flow.ts'), makeFlow, [[], [], []]);
try {
  const results = await Promise.all(Array.from({ length: 60 }, (_, task) => cluster.flow.call(message({ task }, { tenant: 'example' }))));
  const byPid = new Map<number, number>();
  let correct = 0;
  for (const r of results) {
    const p = r.payload as { task: number; answer: number; pid: number };
    if (p.answer === p.task * 7) correct++;
    byPid.set(p.pid, (byPid.get(p.pid) ?? 0) + 1);
  }
  console.log(`${correct}/${results.length} tasks solved correctly by ${byPid.size} workers: ${[...byPid.values()].join(', ')} each`);
} finally {
  await cluster.stop();
}
