/**
 * The A2A operations, independent of the binding (JSON-RPC or REST). Both
 * bindings parse their wire form into the v1.0 request objects and call here.
 */
import { METHODS, type A2AMethod } from '../protocol/constants.js';
import { A2AProtocolError } from '../protocol/errors.js';
import { assertAdmitted } from './gate.js';
import { INTERRUPTED_WIRE_STATES, TERMINAL_WIRE_STATES } from '../protocol/types.js';
import type { AgentCard, ListTasksRequest, ListTasksResponse, SendMessageRequest, SendMessageResponse, StreamResponse, Task } from '../protocol/types.js';
import type { PushConfigs } from './push-configs.js';
import type { LoggedEvent, RequestScope, TaskManager } from './task-manager.js';

export interface OperationContext {
  scope: RequestScope;
  /** Registers a callback for when the client goes away (used by blocking waits). */
  gone?: (cb: () => void) => void;
}

export interface StreamSink {
  /** Called for each event in order; the first call is always a `task` snapshot. */
  event(e: { seq: number; event: StreamResponse }): void;
  /** Called once when the stream is complete (terminal or interrupted state). */
  end(): void;
}

export interface OperationsOptions {
  card: AgentCard;
  blockingTimeoutMs: number;
  extendedCard?: AgentCard | ((scope: RequestScope) => AgentCard | Promise<AgentCard>);
  /** Present when push notifications are enabled. */
  push?: PushConfigs;
}

function isSettling(event: StreamResponse): boolean {
  if (!('statusUpdate' in event)) return false;
  const s = event.statusUpdate.status.state;
  return TERMINAL_WIRE_STATES.has(s) || INTERRUPTED_WIRE_STATES.has(s);
}

const PUSH_OPERATIONS: ReadonlySet<A2AMethod> = new Set([METHODS.createPushConfig, METHODS.getPushConfig, METHODS.listPushConfigs, METHODS.deletePushConfig]);

export class A2AOperations {
  constructor(
    readonly manager: TaskManager,
    private readonly options: OperationsOptions,
  ) {}

  get card(): AgentCard {
    return this.options.card;
  }

  async sendMessage(ctx: OperationContext, req: SendMessageRequest): Promise<SendMessageResponse> {
    assertAdmitted(ctx.scope, METHODS.sendMessage);
    const { taskId } = await this.manager.send(ctx.scope, req);
    if (req.configuration?.returnImmediately !== true) {
      const wait = { timeoutMs: this.options.blockingTimeoutMs, tenant: ctx.scope.tenant };
      await this.manager.waitSettled(taskId, ctx.gone ? { ...wait, gone: ctx.gone } : wait);
    }
    const view = req.configuration?.historyLength === undefined ? {} : { historyLength: req.configuration.historyLength };
    return { task: await this.manager.getTask(ctx.scope.tenant, taskId, view) };
  }

  /** SendStreamingMessage: the task as created, then every event of the turn until it settles. */
  async streamMessage(ctx: OperationContext, req: SendMessageRequest, sink: StreamSink): Promise<() => void> {
    assertAdmitted(ctx.scope, METHODS.sendStreamingMessage);
    this.requireStreaming();
    const { taskId, duplicate, startSeq, continued } = await this.manager.send(ctx.scope, req);
    if (duplicate) return this.pipe(ctx.scope.tenant, taskId, undefined, sink);
    return this.pipe(ctx.scope.tenant, taskId, startSeq, sink, continued ? 'continued' : 'new');
  }

  /**
   * SubscribeToTask: the current task, then live events. With `afterSeq`
   * (from Last-Event-ID) every logged event after it is replayed first, and a
   * task that finished meanwhile is served too (the stream then closes).
   */
  async subscribe(ctx: OperationContext, taskId: string, afterSeq: number | undefined, sink: StreamSink): Promise<() => void> {
    assertAdmitted(ctx.scope, METHODS.subscribeToTask);
    this.requireStreaming();
    return this.pipe(ctx.scope.tenant, taskId, afterSeq, sink, undefined, afterSeq === undefined);
  }

  private async pipe(tenant: string, taskId: string, afterSeq: number | undefined, sink: StreamSink, turn?: 'new' | 'continued', refuseTerminal = false): Promise<() => void> {
    let ready = false;
    let ended = false;
    let maxSeq = -1;
    const pending: LoggedEvent[] = [];
    let unsubscribe: () => void = () => undefined;
    const finish = () => {
      if (ended) return;
      ended = true;
      unsubscribe();
      sink.end();
    };
    const deliver = (e: LoggedEvent) => {
      if (ended || e.seq <= maxSeq) return;
      maxSeq = e.seq;
      sink.event(e);
      if (isSettling(e.event)) finish();
    };
    const sub = await this.manager.subscribe(tenant, taskId, afterSeq, (e) => (ready ? deliver(e) : pending.push(e)));
    unsubscribe = () => sub.unsubscribe();
    const state = sub.task.status.state;
    if (refuseTerminal && TERMINAL_WIRE_STATES.has(state)) {
      sub.unsubscribe();
      throw new A2AProtocolError('UNSUPPORTED_OPERATION', { message: `Task ${taskId} is in a terminal state; nothing to subscribe to`, metadata: { taskId } });
    }
    let snapshot: Task = sub.task;
    if (turn !== undefined) {
      // The stream of a turn starts from the task as the turn began; the log replays the rest.
      snapshot = { ...sub.task, status: { state: turn === 'new' ? 'TASK_STATE_SUBMITTED' : 'TASK_STATE_WORKING', timestamp: sub.task.status.timestamp ?? new Date().toISOString() } };
      if (turn === 'new') delete snapshot.artifacts;
    }
    const snapshotSeq = afterSeq ?? sub.seq;
    maxSeq = snapshotSeq;
    sink.event({ seq: snapshotSeq, event: { task: snapshot } });
    for (const e of sub.replay) deliver(e);
    ready = true;
    for (const e of pending.splice(0)) deliver(e);
    if (sub.done) finish();
    return () => {
      ended = true;
      unsubscribe();
    };
  }

  async getTask(ctx: OperationContext, id: string, historyLength: number | undefined): Promise<Task> {
    assertAdmitted(ctx.scope, METHODS.getTask);
    return this.manager.getTask(ctx.scope.tenant, id, historyLength === undefined ? {} : { historyLength });
  }

  async listTasks(ctx: OperationContext, req: ListTasksRequest): Promise<ListTasksResponse> {
    assertAdmitted(ctx.scope, METHODS.listTasks);
    return this.manager.listTasks(ctx.scope.tenant, req);
  }

  async cancelTask(ctx: OperationContext, id: string): Promise<Task> {
    assertAdmitted(ctx.scope, METHODS.cancelTask);
    return this.manager.cancel(ctx.scope.tenant, id);
  }

  async extendedCard(ctx: OperationContext): Promise<AgentCard> {
    assertAdmitted(ctx.scope, METHODS.getExtendedAgentCard);
    if (this.options.card.capabilities.extendedAgentCard !== true) throw new A2AProtocolError('UNSUPPORTED_OPERATION', { message: 'This agent has no extended agent card' });
    const ext = this.options.extendedCard;
    if (ext === undefined) throw new A2AProtocolError('EXTENDED_AGENT_CARD_NOT_CONFIGURED');
    return typeof ext === 'function' ? ext(ctx.scope) : ext;
  }

  /** The push-config operations for a scope admitted for `operation`, or PushNotificationNotSupported when the capability is off (spec §3.3.4). */
  push(ctx: OperationContext, operation: A2AMethod): PushConfigs {
    if (!PUSH_OPERATIONS.has(operation)) throw new A2AProtocolError('INTERNAL_ERROR', { message: `${operation} is not a push-config operation` });
    assertAdmitted(ctx.scope, operation);
    if (this.options.card.capabilities.pushNotifications !== true || !this.options.push) throw new A2AProtocolError('PUSH_NOTIFICATION_NOT_SUPPORTED');
    return this.options.push;
  }

  private requireStreaming(): void {
    if (this.options.card.capabilities.streaming !== true) throw new A2AProtocolError('UNSUPPORTED_OPERATION', { message: 'This agent does not stream' });
  }
}
