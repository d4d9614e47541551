// penguiflow + @grpc/grpc-js + @a2a-js/sdk + @bufbuild/protobuf: the A2A gRPC binding, server and client.
import { randomUUID } from 'node:crypto';
import { createFlow, node } from 'penguiflow';
import { createA2AServer } from 'penguiflow/a2a';
import { createA2AGrpcClient, createA2AGrpcServer } from 'penguiflow/a2a/grpc';
import { InMemoryStateStore } from 'penguiflow/memory';
import { assert, ok } from './lib.mjs';

const agent = createFlow(node('echo', (m) => `echo: ${JSON.stringify(m.payload)}`), { name: 'echo' });
agent.run();
const http = createA2AServer({ flow: agent, store: new InMemoryStateStore(), card: { name: 'echo', description: 'echoes', skills: [] } });
const grpcServer = createA2AGrpcServer({ server: http, onError: () => undefined });
const { target } = await grpcServer.listen({ host: '127.0.0.1', port: 0 });
const client = createA2AGrpcClient(target, { timeoutMs: 10_000 });
try {
  const out = await client.sendMessage({ message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text: 'over grpc' }] } });
  const task = 'task' in out ? out.task : undefined;
  assert.ok(task, `sendMessage returns a task: ${JSON.stringify(out).slice(0, 200)}`);
  const texts = (task.artifacts ?? []).flatMap((a) => a.parts.map((p) => p.text));
  assert.ok(texts.some((t) => String(t).includes('over grpc')), `artifact text: ${texts.join('|')}`);
  ok(`A2A over gRPC at ${target}: task ${task.id} ${task.status?.state}`);
} finally {
  client.close?.();
  await grpcServer.close();
  await agent.stop();
}
