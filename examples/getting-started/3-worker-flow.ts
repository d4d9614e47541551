/**
 * The flow of step 3, shared by the controller (3-redis-workers.ts) and the
 * worker processes (`penguiflow worker --flow 3-worker-flow.ts`). `resize`
 * runs on workers; `report` runs in the controller.
 */
import { createFlow, node, type Message } from 'penguiflow';

const resize = node('resize', (m: Message<number>) => ({ image: m.payload, size: m.payload * 2, pid: process.pid }), { placement: 'distributed' });
const report = node('report', (m: Message<{ image: number; size: number; pid: number }>) => m.payload);

export default function makeFlow() {
  return createFlow(resize.to(report), { name: 'getting-started' });
}
