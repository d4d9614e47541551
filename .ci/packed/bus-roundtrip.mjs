// A distributed round trip through a worker process on the bus at argv[2]:
// `penguiflow worker --bus <url>` in a child process, this process as the controller.
// The controller passes the URL, so flow.stop() closes the bus: the script must exit by itself.
import { message } from 'penguiflow';
import makeFlow from './worker-flow.mjs';
import { assert, ok, startWorker, within } from './lib.mjs';

const url = process.argv[2];
const label = process.argv[3] ?? url.split(':')[0];
const worker = startWorker(['--flow', './worker-flow.mjs', '--bus', url, '--lease-ms', '5000']);
await worker.ready;
assert.match(worker.output(), /penguiflow worker: bus \w+:/, 'the worker prints where it connects');
assert.ok(!/guest:guest|:\/\/[^/]*:[^/]*@/.test(worker.output()), 'no credentials printed');
const flow = makeFlow();
flow.run({ distributed: { bus: url } });
try {
  const results = await within(30_000, Promise.all([1, 2, 3, 4, 5].map((n) => flow.call(message(n, { tenant: 'packed' })))), `${label} round trip`);
  assert.deepEqual(results.map((r) => r.payload.n), [2, 4, 6, 8, 10]);
  assert.ok(results.every((r) => r.payload.pid === worker.child.pid), 'the distributed node ran in the worker process');
  ok(`${label}: 5 messages through worker process ${worker.child.pid} and back`);
} finally {
  await flow.stop();
  const code = await worker.stop();
  assert.equal(code, 0, `worker drained and exited 0:\n${worker.output()}`);
}
ok(`${label}: flow.stop() closed the bus it opened; worker drained`);
