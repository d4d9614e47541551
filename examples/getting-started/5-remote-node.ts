/**
 * Step 5: the agent as a node of a local flow. Starts `penguiflow serve 4-agent.ts`
 * in a second process and calls it through `remoteNode`: tenant, trace id and
 * deadline travel with the call, and the remote task is recorded.
 *
 *   npx tsx 5-remote-node.ts
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createFlow, message, node, type Message } from 'penguiflow';
import { createA2AClient } from 'penguiflow/a2a';
import { InMemoryStateStore } from 'penguiflow/memory';
import { remoteNode, type RemoteResultMeta } from 'penguiflow/remote';
import { penguiflowCommand } from './cli.js';

const agent = spawn(process.execPath, [...penguiflowCommand(), 'serve', path.join(import.meta.dirname, '4-agent.ts'), '--port', '0', '--store', 'memory:'], { stdio: ['ignore', 'pipe', 'pipe'] });
const agentUrl = await new Promise<string>((resolve, reject) => {
  let out = '';
  agent.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const m = /serving \S+ at (\S+)/.exec(out);
    if (m) resolve(m[1]!);
  });
  agent.once('exit', (code) => reject(new Error(`agent exited with ${code}`)));
});

const shouter = remoteNode({ name: 'shouter', transport: createA2AClient({ timeoutMs: 10_000 }), agentUrl, skill: 'shout' });
const frame = node('frame', (m: Message<unknown>) => `remote said ${JSON.stringify(m.payload)} (task ${(m.meta.remote as RemoteResultMeta).taskId})`);
const stateStore = new InMemoryStateStore();
const flow = createFlow(shouter.to(frame), { name: 'caller', stateStore });
flow.run();
try {
  const msg = message('remote penguins', { tenant: 'acme', deadlineMs: 10_000 });
  const result = await flow.call(msg);
  console.log(String(result.payload));
  const bindings = await stateStore.findRemoteBindings({ tenant: 'acme', traceId: msg.traceId });
  console.log(`recorded ${bindings.length} remote binding(s) for trace ${msg.traceId}`);
} finally {
  await flow.stop();
  agent.kill('SIGTERM');
}
