import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createA2AClient } from '../../a2a/index.js';
import { createFlow, message, node, type Message } from '../../index.js';
import type { StateStore } from '../../protocols/state-store.js';
import { remoteNode, type RemoteResultMeta } from '../../remote/index.js';

/** Serves the researcher agent in a child process with `penguiflow serve`; resolves its URL. */
function serveAgent(dir: string): { child: ChildProcess; url: Promise<string> } {
  const here = fileURLToPath(import.meta.url);
  const agentFile = path.join(path.dirname(here), `researcher-agent${path.extname(here)}`);
  const child = spawn(
    process.execPath,
    [...process.execArgv, process.argv[1]!, 'serve', agentFile, '--port', '0', '--store', `sqlite:${path.join(dir, 'agent.db')}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const url = new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /serving \S+ at (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`agent exited with ${code}: ${out.trim()}`)));
  });
  return { child, url };
}

/**
 * A remote agent as a node: a local flow calls the researcher agent (another
 * process, over A2A) through remoteNode, streams its findings, then cancels a
 * long call and shows the remote task was cancelled too.
 */
export async function runRemoteDemo(dir: string, store: StateStore, print: (line: string) => void): Promise<string[]> {
  const agent = serveAgent(dir);
  const traceIds: string[] = [];
  try {
    const agentUrl = await agent.url;
    print(`  researcher agent (pid ${agent.child.pid}) at ${agentUrl}`);
    const a2a = createA2AClient({ timeoutMs: 30_000 });
    const plan = node('plan', (msg: Message<string>) => msg.payload.trim().toLowerCase());
    const researcher = remoteNode({ name: 'researcher', transport: a2a, agentUrl, skill: 'research', streaming: true, policy: { timeoutMs: 20_000 } });
    const write = node('write', (msg: Message<string>) => `REPORT ${msg.payload} [remote task ${(msg.meta.remote as RemoteResultMeta).taskId}]`);
    const flow = createFlow(plan.to(researcher), researcher.to(write), { name: 'demo-remote', stateStore: store });
    flow.run();
    try {
      const first = message('Emperor Penguins', { tenant: 'demo', deadlineMs: 20_000 });
      traceIds.push(first.traceId);
      await flow.emit(first);
      let chunks = 0;
      for await (const out of flow.outputs(first.traceId)) {
        if (out.kind === 'chunk') chunks++;
        if (out.kind === 'result') print(`  ${chunks} findings streamed, then: ${String(out.message.payload)}`);
        if (out.kind === 'error') throw out.error;
      }

      const second = message('deep ocean currents', { tenant: 'demo' });
      traceIds.push(second.traceId);
      await flow.emit(second);
      let bindings = await store.findRemoteBindings({ tenant: 'demo', traceId: second.traceId });
      for (let i = 0; i < 250 && bindings.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        bindings = await store.findRemoteBindings({ tenant: 'demo', traceId: second.traceId });
      }
      await new Promise((r) => setTimeout(r, 150));
      await flow.cancel(second.traceId);
      const taskId = bindings[0]?.taskId;
      if (taskId !== undefined) {
        // The remote cancel travels after the local one: give it a moment to land.
        let remote = await a2a.getTask(agentUrl, taskId, { tenant: 'demo' });
        for (let i = 0; i < 50 && remote.status.state !== 'TASK_STATE_CANCELED'; i++) {
          await new Promise((r) => setTimeout(r, 20));
          remote = await a2a.getTask(agentUrl, taskId, { tenant: 'demo' });
        }
        print(`  a long call cancelled locally: remote task ${taskId} is ${remote.status.state}`);
      }
    } finally {
      await flow.stop();
    }
  } finally {
    await new Promise<void>((resolve) => {
      if (agent.child.exitCode !== null) return resolve();
      agent.child.once('exit', () => resolve());
      agent.child.kill('SIGTERM');
    });
  }
  return traceIds;
}
