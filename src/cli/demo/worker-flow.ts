/**
 * The demo's distributed flow: `resize` runs on worker processes. This module
 * is loaded by the demo (the controller) and by `penguiflow worker`.
 */
import { createFlow, node, sleep, type Message } from '../../index.js';
import type { StateStore } from '../../protocols/state-store.js';

/** `stateStore`: where the controller records its side of each trace (workers record theirs). */
export default (stateStore?: StateStore) => {
  const intake = node('intake', (m: Message<{ image: number }>) => m.payload);
  const resize = node(
    'resize',
    async (m: Message<{ image: number }>) => {
      await sleep(15);
      return { image: m.payload.image, worker: process.pid };
    },
    { placement: 'distributed' },
  );
  return createFlow(intake.to(resize), { name: 'demo-workers', stateStore });
};
