// The flow a `penguiflow worker` process runs in the bus scenarios: `double` is distributed.
import { createFlow, node } from 'penguiflow';

const double = node('double', (m) => ({ n: m.payload * 2, pid: process.pid }), { placement: 'distributed' });
const done = node('done', (m) => m.payload);
export default () => createFlow(double.to(done), { name: process.env.PACKED_FLOW ?? 'packed' });
