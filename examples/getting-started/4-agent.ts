/**
 * Step 4: a flow served as an A2A agent. This module only defines it; serve it with
 *
 *   npx penguiflow serve 4-agent.ts --port 8080 --store memory:
 *
 * or in your own process with `createA2AServer` (see 4-a2a-agent.ts).
 */
import { createFlow, node, type Message } from 'penguiflow';
import type { A2ACardOptions } from 'penguiflow/a2a';

export const card: A2ACardOptions = {
  name: 'shouter',
  description: 'Answers in capitals',
  skills: [{ id: 'shout', name: 'shout', description: 'Upper-cases the text', tags: ['text'], examples: ['hello'] }],
};

const shout = node('shout', (m: Message<string>) => `${String(m.payload).toUpperCase()}! (tenant ${m.headers.tenant})`);

export default createFlow(shout, { name: 'shouter' });
