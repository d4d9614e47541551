// Type-checked with skipLibCheck off against the installed package: the core, the A2A entry and
// penguiflow/stores need no peer's types (the redis/pg/… entries need their driver's types, as documented).
import { createFlow, message, node, type Message } from 'penguiflow';
import { InMemoryStateStore } from 'penguiflow/memory';
import { isPenguiflowError, MissingPeerDependencyError } from 'penguiflow/errors';
import type { StateStore } from 'penguiflow/protocols';
import { createA2AClient, createA2AServer } from 'penguiflow/a2a';
import { openStateStore } from 'penguiflow/stores';

const stateStore: StateStore = new InMemoryStateStore();
const flow = createFlow(node('a', (m: Message<number>) => m.payload + 1), { stateStore });
flow.run({ distributed: { bus: 'memory:' } });
const result = await flow.call(message(1, { tenant: 't' }));
const n: unknown = result.payload;
export const checks = [n, isPenguiflowError(new MissingPeerDependencyError()), createA2AClient, createA2AServer, openStateStore];
