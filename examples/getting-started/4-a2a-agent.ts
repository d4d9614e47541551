/**
 * Step 4: serve the agent of 4-agent.ts over A2A (JSON-RPC, REST, SSE) and call it
 * with the A2A client. No extra package is needed for either side.
 *
 *   npx tsx 4-a2a-agent.ts
 */
import { message } from 'penguiflow';
import { createA2AClient, createA2AServer } from 'penguiflow/a2a';
import { InMemoryStateStore } from 'penguiflow/memory';
import flow, { card } from './4-agent.js';

flow.run();
const server = createA2AServer({ flow, card, store: new InMemoryStateStore() });
const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
console.log(`agent ${card.name} at ${url}`);
try {
  const client = createA2AClient({ timeoutMs: 10_000 });
  const answer = await client.send({ agentUrl: url, skill: 'shout', message: message('hello penguins', { tenant: 'acme' }), idempotencyKey: 'gs-1' });
  console.log(`answer (${answer.state}): ${JSON.stringify(answer.payload)}`);
} finally {
  await server.close();
  await flow.stop();
}
