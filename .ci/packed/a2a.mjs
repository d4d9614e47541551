// penguiflow alone: an A2A server and the A2A client (JSON-RPC + SSE streaming), and a RemoteNode.
import { createFlow, message, node, sleep } from 'penguiflow';
import { createA2AClient, createA2AServer } from 'penguiflow/a2a';
import { InMemoryStateStore } from 'penguiflow/memory';
import { remoteNode } from 'penguiflow/remote';
import { assert, ok } from './lib.mjs';

const agent = createFlow(
  node('shout', async (m, ctx) => {
    for (const word of String(m.payload).split(' ')) {
      await sleep(5, ctx.signal);
      await ctx.stream(word.toUpperCase());
    }
    return `${String(m.payload).toUpperCase()}!`;
  }),
  { name: 'shouter' },
);
agent.run();
const server = createA2AServer({ flow: agent, store: new InMemoryStateStore(), card: { name: 'shouter', description: 'shouts', skills: [{ id: 'shout', name: 'shout', description: 'shouts', tags: [] }] } });
const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
try {
  const client = createA2AClient({ timeoutMs: 10_000 });
  const sent = await client.send({ agentUrl: url, skill: 'shout', message: message('hello packed world', { tenant: 'packed' }), idempotencyKey: 'k1' });
  assert.equal(sent.state, 'completed');
  assert.ok(JSON.stringify(sent.payload).includes('HELLO PACKED WORLD!'), `payload: ${JSON.stringify(sent.payload)}`);
  ok('A2A send over JSON-RPC');
  const events = [];
  for await (const e of client.stream({ agentUrl: url, skill: 'shout', message: message('one two three', { tenant: 'packed' }), idempotencyKey: 'k2' })) events.push(e);
  assert.ok(events.at(-1).final);
  assert.ok(events.filter((e) => e.kind === 'artifact').length >= 3, `streamed artifacts: ${events.map((e) => e.kind).join(',')}`);
  ok(`A2A stream over SSE (${events.length} events)`);

  const remote = remoteNode({ name: 'shouter', transport: client, agentUrl: url, skill: 'shout' });
  const caller = createFlow(remote, { name: 'caller' });
  caller.run();
  const r = await caller.call(message('remote call', { tenant: 'packed', deadlineMs: 10_000 }));
  assert.ok(JSON.stringify(r.payload).includes('REMOTE CALL!'), `payload: ${JSON.stringify(r.payload)}`);
  await caller.stop();
  ok('a RemoteNode in a local flow calls the agent');
} finally {
  await server.close();
  await agent.stop();
}
