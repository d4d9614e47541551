/**
 * A plain @a2a-js/sdk express server (DefaultRequestHandler + InMemoryTaskStore)
 * with a small executor, for testing our client against the reference peer.
 * Not a test file itself; the bench uses the same echo agent.
 */
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Role, TaskState, type AgentCard, type Message, type Part, type Task } from '@a2a-js/sdk';
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore, type AgentExecutor, type ExecutionEventBus, type RequestContext } from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, restHandler, UserBuilder } from '@a2a-js/sdk/server/express';
import { duplicateInterfacesForLegacy } from '@a2a-js/sdk/compat/v0_3';

export interface SdkAgent {
  url: string;
  /** Messages the executor received (for metadata checks). */
  received: Message[];
  cancelled: Set<string>;
  close(): Promise<void>;
}

const text = (value: string): Part => ({ content: { $case: 'text', value }, metadata: undefined, filename: '', mediaType: '' });
const now = () => new Date().toISOString();

/**
 * - `slow` works in 50 ms steps for 5 s, checking for cancel;
 * - `stream:<n>` sends n appended chunks;
 * - anything else is echoed as one artifact.
 */
export class TestExecutor implements AgentExecutor {
  constructor(
    readonly received: Message[],
    readonly cancelled: Set<string>,
  ) {}

  cancelTask = async (taskId: string, _bus: ExecutionEventBus): Promise<void> => {
    this.cancelled.add(taskId);
  };

  async execute(ctx: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const msg = ctx.userMessage;
    this.received.push(msg);
    const { taskId, contextId } = ctx;
    const input = msg.parts[0]?.content?.$case === 'text' ? msg.parts[0].content.value : JSON.stringify(msg.parts[0]?.content?.value);
    const task: Task = ctx.task ?? { id: taskId, contextId, status: { state: TaskState.TASK_STATE_SUBMITTED, timestamp: now(), message: undefined }, artifacts: [], history: [msg], metadata: undefined };
    bus.publish(AgentEvent.task(task));
    const status = (state: TaskState) => bus.publish(AgentEvent.statusUpdate({ taskId, contextId, status: { state, timestamp: now(), message: undefined }, metadata: undefined }));
    status(TaskState.TASK_STATE_WORKING);
    if (input === 'slow') {
      for (let i = 0; i < 100; i++) {
        if (this.cancelled.has(taskId)) {
          status(TaskState.TASK_STATE_CANCELED);
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    } else if (input.startsWith('stream:')) {
      const n = Number(input.slice(7));
      for (let i = 0; i < n; i++) {
        bus.publish(
          AgentEvent.artifactUpdate({
            taskId,
            contextId,
            artifact: { artifactId: 'out', name: 'out', description: '', parts: [text(`c${i}`)], metadata: undefined, extensions: [] },
            append: i > 0,
            lastChunk: i === n - 1,
            metadata: undefined,
          }),
        );
        await new Promise((r) => setTimeout(r, 5));
      }
    } else {
      bus.publish(
        AgentEvent.artifactUpdate({
          taskId,
          contextId,
          artifact: { artifactId: randomUUID(), name: 'echo', description: '', parts: [text(input)], metadata: undefined, extensions: [] },
          append: false,
          lastChunk: true,
          metadata: undefined,
        }),
      );
    }
    status(TaskState.TASK_STATE_COMPLETED);
  }
}

export async function startSdkAgent(options: { legacyCompat?: boolean } = {}): Promise<SdkAgent> {
  const app = express();
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  const interfaces = [
    { url: `${base}/a2a/jsonrpc`, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' },
    { url: `${base}/a2a/rest`, protocolBinding: 'HTTP+JSON', tenant: '', protocolVersion: '1.0' },
  ];
  const card: AgentCard = {
    name: 'sdk test agent',
    description: 'reference peer',
    supportedInterfaces: options.legacyCompat ? duplicateInterfacesForLegacy(interfaces, ['JSONRPC']) : interfaces,
    provider: undefined,
    version: '1.0.0',
    capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text'],
    defaultOutputModes: ['text'],
    skills: [{ id: 'echo', name: 'echo', description: 'echo', tags: [], examples: [], inputModes: [], outputModes: [], securityRequirements: [] }],
    signatures: [],
  };
  const received: Message[] = [];
  const cancelled = new Set<string>();
  const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), new TestExecutor(received, cancelled));
  const legacyCompat = options.legacyCompat ? { enabled: true } : undefined;
  app.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: handler, ...(legacyCompat ? { legacyCompat } : {}) }));
  app.use('/a2a/jsonrpc', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication, ...(legacyCompat ? { legacyCompat } : {}) }));
  app.use('/a2a/rest', restHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
  return {
    url: base,
    received,
    cancelled,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export { Role };
