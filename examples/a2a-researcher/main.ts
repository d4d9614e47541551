/**
 * Two processes: this one runs a local flow (plan → remote researcher →
 * write) and calls the researcher agent, served by a child process, through
 * a RemoteNode over A2A, with streaming and then a cancel.
 *
 *   npx tsx examples/a2a-researcher/main.ts
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createFlow, message, node, type Message } from 'penguiflow';
import { InMemoryStateStore } from 'penguiflow/memory';
import { createA2AClient } from 'penguiflow/a2a';
import { remoteNode, type RemoteResultMeta } from 'penguiflow/remote';

const here = import.meta.dirname;
const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'server.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
const agentUrl = await new Promise<string>((resolve, reject) => {
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const m = /AGENT_URL=(\S+)/.exec(out);
    if (m) resolve(m[1]!);
  });
  child.once('exit', (code) => reject(new Error(`agent exited with ${code}`)));
});
console.log(`researcher agent (pid ${child.pid}) at ${agentUrl}`);

const a2a = createA2AClient({ timeoutMs: 30_000 });
const plan = node('plan', (msg: Message<string>) => msg.payload.trim().toLowerCase());
const researcher = remoteNode({ name: 'researcher', transport: a2a, agentUrl, skill: 'research', streaming: true, policy: { timeoutMs: 20_000 } });
const write = node('write', (msg: Message<string>) => `REPORT ${msg.payload} [remote task ${(msg.meta.remote as RemoteResultMeta).taskId}]`);
const store = new InMemoryStateStore();
const flow = createFlow(plan.to(researcher), researcher.to(write), write, { name: 'writer', stateStore: store });
flow.run();

try {
  // 1. A streamed call: chunks arrive as the remote agent works.
  const first = message('Emperor Penguins', { tenant: 'acme', deadlineMs: 20_000 });
  await flow.emit(first);
  for await (const out of flow.outputs(first.traceId)) {
    if (out.kind === 'chunk') process.stdout.write(`  streamed: ${String(out.message.payload.data)}`);
    if (out.kind === 'result') {
      console.log(String(out.message.payload));
      break; // one report per question
    }
    if (out.kind === 'error') throw out.error;
  }

  // 2. A long call, cancelled locally: the remote task is cancelled too.
  const second = message('deep ocean currents', { tenant: 'acme' });
  await flow.emit(second);
  let bindings = await store.findRemoteBindings({ tenant: 'acme', traceId: second.traceId });
  while (bindings.length === 0) {
    await new Promise((r) => setTimeout(r, 20));
    bindings = await store.findRemoteBindings({ tenant: 'acme', traceId: second.traceId });
  }
  await new Promise((r) => setTimeout(r, 200));
  await flow.cancel(second.traceId);
  const taskId = bindings[0]!.taskId;
  // The remote cancel travels after the local one: give it a moment to land.
  let remote = await a2a.getTask(agentUrl, taskId, { tenant: 'acme' });
  for (let i = 0; i < 50 && remote.status.state !== 'TASK_STATE_CANCELED'; i++) {
    await new Promise((r) => setTimeout(r, 20));
    remote = await a2a.getTask(agentUrl, taskId, { tenant: 'acme' });
  }
  console.log(`cancelled locally; remote task ${taskId} is ${remote.status.state}`);
} finally {
  await flow.stop();
  child.kill('SIGTERM');
}
