/**
 * The researcher agent: one flow served over A2A. It streams findings as it
 * goes, returns a summary, and stops promptly when its task is cancelled
 * (its signal aborts). Serve it with `npx penguiflow serve examples/a2a-researcher/agent.ts`
 * or with server.ts. (The `npm start` demo serves a copy of it: src/cli/demo/researcher-agent.ts.)
 */
import { createFlow, node, sleep, type Message, type NodeContext } from 'penguiflow';
import type { A2ACardOptions } from 'penguiflow/a2a';

export const card: A2ACardOptions = {
  name: 'researcher',
  description: 'Researches a topic, streaming findings as it goes',
  skills: [{ id: 'research', name: 'research', description: 'Find facts about a topic', tags: ['research'], examples: ['penguins'] }],
};

const research = node(
  'research',
  async (msg: Message<string>, ctx: NodeContext) => {
    const topic = String(msg.payload);
    const steps = topic.startsWith('deep ') ? 200 : 4;
    const findings: string[] = [];
    for (let i = 1; i <= steps; i++) {
      await sleep(50, ctx.signal); // throws when the task is cancelled
      const finding = `finding ${i} about ${topic}`;
      findings.push(finding);
      await ctx.stream(finding + '\n', { done: i === steps });
    }
    return `summary: ${findings.length} findings about ${topic} (for tenant ${ctx.tenant})`;
  },
  { concurrency: 8 },
);

export default createFlow(research, { name: 'researcher' });
