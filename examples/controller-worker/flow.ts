/** Controller-worker: the controller hands tasks to a pool of workers and collects each result. */
import { createFlow, node, sleep, type Message } from 'penguiflow';

export default () =>
  createFlow(
    node(
      'solve',
      async (m: Message<{ task: number }>) => {
        await sleep(5);
        return { task: m.payload.task, answer: m.payload.task * 7, pid: process.pid };
      },
      { placement: 'distributed' },
    ),
    { name: 'ctrlwork' },
  );
