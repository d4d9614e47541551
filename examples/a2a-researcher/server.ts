/** Process 1: serves the researcher agent on 127.0.0.1 and prints its URL. */
import { createA2AServer } from 'penguiflow/a2a';
import { InMemoryStateStore } from 'penguiflow/memory';
import flow, { card } from './agent.js';

flow.run();
const server = createA2AServer({ flow, card, store: new InMemoryStateStore() });
const { url } = await server.listen({ port: Number(process.env.PORT ?? 0) });
console.log(`AGENT_URL=${url}`);
const stop = async () => {
  await server.close();
  await flow.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
