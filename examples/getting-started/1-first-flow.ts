/**
 * Step 1: a first flow, in one process, with nothing but `penguiflow`.
 *
 *   npm install penguiflow && npm install -D tsx
 *   npx tsx 1-first-flow.ts
 */
import { createFlow, message, node, type Message } from 'penguiflow';

const clean = node('clean', (m: Message<string>) => m.payload.trim().toLowerCase());
const count = node('count', (m: Message<string>) => ({ text: m.payload, words: m.payload.split(/\s+/).length }), {
  timeoutMs: 1_000,
  maxRetries: 2,
});

const flow = createFlow(clean.to(count));
flow.run();
const result = await flow.call(message('  Emperor penguins dive deep  ', { tenant: 'acme' }));
console.log('result:', JSON.stringify(result.payload));
await flow.stop();
