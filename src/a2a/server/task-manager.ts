/**
 * Tenant-scoped A2A tasks on top of a flow and the StateStore tasks
 * capability. The task id IS the flow trace id. One "turn" = one message
 * emitted into the trace plus every output of that round; a task completes
 * when its trace has no work left (not at the first result), moves to
 * `input-required` when a result asks for it, and the next message with that
 * task id runs the next round of the same trace.
 *
 * Every task event is appended to the per-task event log before it is
 * published to live subscribers, in one serial chain per task, so
 * "snapshot + events after seq N" is exact and several subscribers see
 * identical sequences.
 */
import { message as makeMessage, type Message, type StreamChunk } from '../../core/message.js';
import { randomUUID } from 'node:crypto';
import { findPenguiflowError, isPenguiflowError } from '../../errors/index.js';
import type { StateStore } from '../../protocols/state-store.js';
import type { TaskRecord, TaskState, TaskStore } from '../../protocols/store-capabilities.js';
import { A2AProtocolError, invalidParams } from '../protocol/errors.js';
import { partsToPayload, payloadToParts } from '../protocol/payload.js';
import type { A2AMessage, Artifact, ListTasksRequest, ListTasksResponse, Part, SendMessageRequest, StreamResponse, Task, TaskPushNotificationConfig } from '../protocol/types.js';
import type { PushNotifier, StoredPushConfig } from './push-notifier.js';
import { isInputRequired, type A2AFlowHandle } from './flow-handle.js';
import { PushConfigs, pushConfigsOf, PUSH_METADATA } from './push-configs.js';
import { readRound, RoundWatchdog } from './round-reader.js';
import { isInterrupted, isTerminal, PUBLIC_METADATA, stateFromWire, stateToWire, toWireTask, type TaskViewOptions } from './task-view.js';

export interface LoggedEvent {
  seq: number;
  event: StreamResponse;
}
type Listener = (e: LoggedEvent) => void;

/** Where a request comes from: the tenant it is scoped to and the caller's forwarded context. */
export interface RequestScope {
  tenant: string;
  callerTraceId?: string;
  /** Absolute epoch ms forwarded by the caller. */
  deadline?: number;
}

export interface PayloadCodec {
  /** Incoming A2A message → flow payload. Default: one text/data part → the bare value, else `Part[]`. */
  decode?(message: A2AMessage): unknown;
  /** Flow payload → parts. Default: string → text part, anything else → data part. */
  encode?(payload: unknown): Part[];
}

export interface TaskManagerOptions {
  flow: A2AFlowHandle;
  store: StateStore & TaskStore;
  codec?: PayloadCodec;
  /** Called on internal failures with ids only (never payloads). */
  onError?: (error: unknown, fields: Record<string, unknown>) => void;
  /** Delivers task events to webhooks; absent when push notifications are off. */
  notifier?: PushNotifier;
  /** SSRF guard for webhook URLs. */
  allowPushUrl?: (url: URL) => boolean | Promise<boolean>;
  /** How often a task run by another process (same store) is polled for subscribers and blocking waits. Default 250 ms. */
  pollMs?: number;
}

class ActiveTask {
  lastSeq = 0;
  readonly listeners = new Set<Listener>();
  chain: Promise<unknown> = Promise.resolve();
  running = false;
  /** The running turn, so a continuation can wait for its end. */
  turn: Promise<void> = Promise.resolve();
  cancelled = false;
  /** A terminal or interrupted status was committed. */
  settled = false;
  artifactCount: number;
  /** Webhooks of this task (kept in the task's metadata, cached here). */
  push: StoredPushConfig[] = [];
  constructor(
    readonly id: string,
    readonly tenant: string,
    readonly contextId: string,
    artifactCount: number,
  ) {
    this.artifactCount = artifactCount;
  }
}

export interface SendOutcome {
  taskId: string;
  /** The messageId was seen before: nothing new runs. */
  duplicate: boolean;
  /** Seq of the last logged event before this turn (replay from here to see the turn). */
  startSeq: number;
  /** The message continued an existing task. */
  continued: boolean;
}

export interface SubscribeResult {
  task: Task;
  /** Seq of the last event the snapshot reflects. */
  seq: number;
  /** Logged events after the requested seq (only when one was given). */
  replay: LoggedEvent[];
  /** True when nothing more will come (terminal or interrupted, and no turn running here). */
  done: boolean;
  unsubscribe(): void;
}

const DUPLICATE_WAIT_MS = 2_000;

export class TaskManager {
  private readonly active = new Map<string, ActiveTask>();
  /** Claimed task ids whose creation failed here (bounded): a retry of the message adopts the id at once. */
  private readonly failedCreates = new Set<string>();
  private readonly flow: A2AFlowHandle;
  private readonly store: StateStore & TaskStore;
  private readonly decode: (m: A2AMessage) => unknown;
  private readonly encode: (p: unknown) => Part[];
  private readonly onError: (error: unknown, fields: Record<string, unknown>) => void;
  private readonly notifier: PushNotifier | undefined;
  private readonly allowPushUrl: ((url: URL) => boolean | Promise<boolean>) | undefined;
  private readonly watchdog = new RoundWatchdog();
  private readonly pollMs: number;

  constructor(options: TaskManagerOptions) {
    this.notifier = options.notifier;
    this.pollMs = options.pollMs ?? 250;
    this.allowPushUrl = options.allowPushUrl;
    this.flow = options.flow;
    this.store = options.store;
    const codec = options.codec;
    this.decode = codec?.decode ? (m) => codec.decode!(m) : (m) => partsToPayload(m.parts);
    this.encode = codec?.encode ? (p) => codec.encode!(p) : payloadToParts;
    this.onError = options.onError ?? (() => undefined);
  }

  /** Number of tasks with a turn running in this process. */
  get runningCount(): number {
    let n = 0;
    for (const a of this.active.values()) if (a.running) n++;
    return n;
  }

  // ------------------------------------------------------------ send

  /**
   * Starts a new task, or the next turn of an interrupted one. Returns as soon
   * as the task exists; the turn runs in the background. A messageId seen
   * before (same tenant) returns the task it started, without running again.
   */
  async send(scope: RequestScope, req: SendMessageRequest): Promise<SendOutcome> {
    const msg = req.message;
    const tenantScope = { tenant: scope.tenant };
    if (msg.taskId) return this.continueTask(scope, req, msg.taskId);

    // Ids cross the trust boundary (callers see them, tenants must not guess each other's): random 128-bit.
    let taskId: string = randomUUID();
    const owner = await this.store.claimIdempotencyKey(tenantScope, msg.messageId, taskId);
    if (owner !== taskId) {
      const existing = await this.awaitDuplicate(scope.tenant, ownerTask(owner));
      if (existing !== undefined) return { taskId: existing, duplicate: true, startSeq: 0, continued: false };
      // The claim's task was never created (its creation failed): this retry creates it under the claimed id,
      // so a transient failure does not burn the messageId. createTask is atomic on the id: a racing creator wins.
      taskId = ownerTask(owner);
    }

    const contextId = msg.contextId || randomUUID();
    const now = Date.now();
    const userMessage: A2AMessage = { ...msg, taskId, contextId };
    const metadata: Record<string, unknown> = {};
    if (req.metadata) metadata[PUBLIC_METADATA] = req.metadata;
    if (scope.callerTraceId) metadata.callerTraceId = scope.callerTraceId;
    const initialPush = req.configuration?.taskPushNotificationConfig;
    if (initialPush) {
      try {
        if (!this.notifier) throw new A2AProtocolError('PUSH_NOTIFICATION_NOT_SUPPORTED');
        metadata[PUSH_METADATA] = [await this.storedConfig(initialPush)];
      } catch (error) {
        this.createFailed(taskId);
        throw error;
      }
    }
    const record: TaskRecord = {
      id: taskId,
      tenant: scope.tenant,
      contextId,
      state: 'submitted',
      statusTs: now,
      artifacts: [],
      history: [userMessage],
      metadata,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.store.createTask(record);
    } catch (error) {
      if (isPenguiflowError(error, 'STORE_CONFLICT')) {
        // another request created the claimed task first: this one is its duplicate
        const existing = await this.awaitDuplicate(scope.tenant, taskId);
        if (existing !== undefined) return { taskId: existing, duplicate: true, startSeq: 0, continued: false };
      }
      this.createFailed(taskId);
      if (isPenguiflowError(error, 'LOAD_SHED')) throw new A2AProtocolError('RESOURCE_EXHAUSTED', { message: 'The task store is full; retry later', metadata: { retryAfterSeconds: '1' }, cause: error });
      throw error;
    }
    const active = new ActiveTask(taskId, scope.tenant, contextId, 0);
    active.push = pushConfigsOf(record);
    this.active.set(taskId, active);
    this.startTurn(active, scope, userMessage, req.metadata);
    return { taskId, duplicate: false, startSeq: 0, continued: false };
  }

  private createFailed(taskId: string): void {
    if (this.failedCreates.size >= 1024) this.failedCreates.delete(this.failedCreates.values().next().value!);
    this.failedCreates.add(taskId);
  }

  private async continueTask(scope: RequestScope, req: SendMessageRequest, taskId: string): Promise<SendOutcome> {
    const msg = req.message;
    const tenantScope = { tenant: scope.tenant };
    const record = await this.store.getTask(taskId, tenantScope);
    if (!record) throw new A2AProtocolError('TASK_NOT_FOUND', { metadata: { taskId } });
    if (msg.contextId && msg.contextId !== record.contextId) throw invalidParams('message.contextId', 'does not match the task');
    const claim = `${taskId}/${randomUUID()}`;
    const owner = await this.store.claimIdempotencyKey(tenantScope, msg.messageId, claim);
    if (owner !== claim) return { taskId: ownerTask(owner), duplicate: true, startSeq: 0, continued: true };
    if (isTerminal(record.state)) {
      throw new A2AProtocolError('UNSUPPORTED_OPERATION', { message: `Task ${taskId} is ${record.state} and accepts no more messages`, metadata: { taskId } });
    }
    let existing = this.active.get(taskId);
    if (existing?.running && existing.settled && !existing.cancelled) {
      // The turn asked for input and is winding down: let it end before the next round.
      await existing.turn;
      existing = this.active.get(taskId);
    }
    if (existing?.running || (!existing && !isInterrupted(record.state))) {
      throw new A2AProtocolError('UNSUPPORTED_OPERATION', { message: `Task ${taskId} is still working; send the next message once it asks for input`, metadata: { taskId } });
    }
    const active = existing ?? new ActiveTask(taskId, scope.tenant, record.contextId, record.artifacts.length);
    if (!existing) active.push = pushConfigsOf(record);
    active.settled = false;
    this.active.set(taskId, active);
    if (!existing) {
      const events = await this.store.loadTaskEvents(taskId, { tenant: scope.tenant, afterSeq: 0 });
      active.lastSeq = events.at(-1)?.seq ?? 0;
    }
    const userMessage: A2AMessage = { ...msg, taskId, contextId: record.contextId };
    await this.store.appendTaskHistory(taskId, tenantScope, userMessage);
    const startSeq = active.lastSeq;
    this.startTurn(active, scope, userMessage, req.metadata);
    return { taskId, duplicate: false, startSeq, continued: true };
  }

  /** The first request may still be creating the task: wait briefly for it to appear. Undefined: it never was. */
  private async awaitDuplicate(tenant: string, taskId: string): Promise<string | undefined> {
    if (this.failedCreates.delete(taskId)) return undefined; // this process saw its creation fail
    const until = Date.now() + DUPLICATE_WAIT_MS;
    for (;;) {
      if (this.active.has(taskId) || (await this.store.getTask(taskId, { tenant }))) return taskId;
      if (Date.now() > until) return undefined;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private startTurn(active: ActiveTask, scope: RequestScope, userMessage: A2AMessage, requestMetadata: Record<string, unknown> | undefined): void {
    active.running = true;
    const a2aMeta: Record<string, unknown> = { taskId: active.id, contextId: active.contextId, messageId: userMessage.messageId };
    if (scope.callerTraceId) a2aMeta.callerTraceId = scope.callerTraceId;
    if (requestMetadata) a2aMeta.metadata = requestMetadata;
    if (userMessage.metadata) a2aMeta.messageMetadata = userMessage.metadata;
    const init: Parameters<typeof makeMessage>[1] = { tenant: active.tenant, traceId: active.id, meta: { a2a: a2aMeta } };
    if (scope.deadline !== undefined) init.deadline = scope.deadline;
    let msg: Message;
    try {
      msg = makeMessage(this.decode(userMessage), init);
    } catch (error) {
      void this.finishTurn(active, error, false, new Map());
      return;
    }
    active.turn = this.runTurn(active, msg).catch((error: unknown) => this.onError(error, { taskId: active.id, where: 'turn' }));
  }

  private async runTurn(active: ActiveTask, msg: Message): Promise<void> {
    const streams = new Map<string, { artifactId: string; parts: Part[] }>();
    let failure: unknown;
    let asked = false;
    try {
      await this.commit(active, 'working');
      await this.flow.emit(msg);
      for await (const out of readRound(this.flow, active.id, this.watchdog)) {
        if (active.cancelled || failure !== undefined) continue; // drain what the cancel left behind
        if (out.kind === 'chunk') await this.onChunk(active, out.message, streams);
        else if (out.kind === 'result') {
          if (isInputRequired(out.message)) {
            asked = true;
            await this.commit(active, 'input-required', this.agentMessage(active, out.message.payload));
          } else await this.onResult(active, out.message.payload);
        } else {
          failure = out.error;
          // The task has failed: stop the rest of the trace's work.
          void this.flow.cancel(active.id).catch(() => undefined);
        }
      }
    } catch (error) {
      failure = error;
    }
    await this.finishTurn(active, failure, asked, streams);
  }

  private async finishTurn(active: ActiveTask, failure: unknown, asked: boolean, streams: Map<string, { artifactId: string; parts: Part[] }>): Promise<void> {
    try {
      for (const s of streams.values()) await this.store.appendTaskArtifact(active.id, { tenant: active.tenant }, this.streamArtifact(s));
      if (active.cancelled) return;
      if (failure !== undefined) await this.commit(active, 'failed', this.errorMessage(active, failure));
      else if (!asked) await this.commit(active, 'completed');
    } catch (error) {
      this.onError(error, { taskId: active.id, where: 'finish' });
    } finally {
      active.running = false;
      if (this.active.get(active.id) === active && active.settled) this.active.delete(active.id);
    }
  }

  private async onResult(active: ActiveTask, payload: unknown): Promise<void> {
    const n = ++active.artifactCount;
    const artifact: Artifact = { artifactId: `result-${n}`, name: 'result', parts: this.encode(payload) };
    await this.enqueue(active, async () => {
      await this.store.appendTaskArtifact(active.id, { tenant: active.tenant }, artifact);
      return { artifactUpdate: { taskId: active.id, contextId: active.contextId, artifact, lastChunk: true } };
    });
  }

  private async onChunk(active: ActiveTask, msg: Message<StreamChunk>, streams: Map<string, { artifactId: string; parts: Part[] }>): Promise<void> {
    const chunk = msg.payload;
    let s = streams.get(chunk.streamId);
    const first = s === undefined;
    if (!s) {
      s = { artifactId: `stream-${chunk.streamId}`, parts: [] };
      streams.set(chunk.streamId, s);
    }
    const parts = this.encode(chunk.data);
    s.parts.push(...parts);
    const artifact: Artifact = { artifactId: s.artifactId, name: 'stream', parts };
    const stream = s;
    await this.enqueue(active, async () => {
      if (chunk.done) {
        streams.delete(chunk.streamId);
        await this.store.appendTaskArtifact(active.id, { tenant: active.tenant }, this.streamArtifact(stream));
      }
      return { artifactUpdate: { taskId: active.id, contextId: active.contextId, artifact, append: !first, lastChunk: chunk.done } };
    });
  }

  private streamArtifact(s: { artifactId: string; parts: Part[] }): Artifact {
    const allText = s.parts.length > 0 && s.parts.every((p) => p.text !== undefined);
    const parts = allText ? [{ text: s.parts.map((p) => p.text).join('') }] : s.parts;
    return { artifactId: s.artifactId, name: 'stream', parts };
  }

  private agentMessage(active: ActiveTask, payload: unknown): A2AMessage {
    return { messageId: randomUUID(), role: 'ROLE_AGENT', parts: this.encode(payload), taskId: active.id, contextId: active.contextId };
  }

  private errorMessage(active: ActiveTask, error: unknown): A2AMessage {
    const pf = findPenguiflowError(error);
    const text = pf ? pf.message : error instanceof Error ? error.message : 'The task failed';
    const msg = this.agentMessage(active, text);
    msg.metadata = { code: pf?.code ?? 'INTERNAL' };
    return msg;
  }

  // ------------------------------------------------------------ the serial log

  /** Runs `fn` in the task's serial chain; the event it returns is logged, then published. */
  private enqueue(active: ActiveTask, fn: () => Promise<StreamResponse | undefined>): Promise<void> {
    const run = active.chain.then(async () => {
      if (active.settled && active.cancelled) return; // nothing lands after a cancel
      const event = await fn();
      if (event === undefined) return;
      const seq = await this.store.appendTaskEvent(active.id, { tenant: active.tenant }, event);
      active.lastSeq = seq;
      for (const l of [...active.listeners]) l({ seq, event });
      if (this.notifier && active.push.length > 0) this.notifier.deliver(active.id, active.push, event);
    });
    active.chain = run.catch((error: unknown) => this.onError(error, { taskId: active.id, where: 'log' }));
    return run;
  }

  /** Changes the task's state and logs the status update. */
  private commit(active: ActiveTask, state: TaskState, statusMessage?: A2AMessage): Promise<void> {
    return this.enqueue(active, async () => {
      const statusTs = Date.now();
      const patch: Parameters<TaskStore['updateTask']>[2] = { state, statusTs };
      if (statusMessage) patch.statusMessage = statusMessage;
      else patch.statusMessage = null;
      await this.store.updateTask(active.id, { tenant: active.tenant }, patch);
      if (statusMessage && state !== 'failed') await this.store.appendTaskHistory(active.id, { tenant: active.tenant }, statusMessage);
      if (isTerminal(state) || isInterrupted(state)) active.settled = true;
      const status: Task['status'] = { state: stateToWire(state), timestamp: new Date(statusTs).toISOString() };
      if (statusMessage) status.message = statusMessage;
      return { statusUpdate: { taskId: active.id, contextId: active.contextId, status } };
    });
  }

  private async storedConfig(cfg: TaskPushNotificationConfig): Promise<StoredPushConfig> {
    if (this.allowPushUrl && !(await this.allowPushUrl(new URL(cfg.url)))) throw invalidParams('configuration.taskPushNotificationConfig.url', 'is not an allowed webhook URL');
    const stored: StoredPushConfig = { id: cfg.id || randomUUID(), url: cfg.url };
    if (cfg.token) stored.token = cfg.token;
    if (cfg.authentication) stored.authentication = cfg.authentication;
    return stored;
  }

  /** Push-config operations (they share the task's metadata and this process's cache). */
  pushConfigs(): PushConfigs {
    return new PushConfigs(this.store, (id) => this.active.get(id), this.allowPushUrl);
  }

  // ------------------------------------------------------------ reads

  async getTask(tenant: string, id: string, view: TaskViewOptions = {}): Promise<Task> {
    const record = await this.store.getTask(id, { tenant });
    if (!record) throw new A2AProtocolError('TASK_NOT_FOUND', { metadata: { taskId: id } });
    return toWireTask(record, view);
  }

  async listTasks(tenant: string, req: ListTasksRequest): Promise<ListTasksResponse> {
    const pageSize = req.pageSize ?? 50;
    const query: Parameters<TaskStore['listTasks']>[0] = { tenant, pageSize };
    if (req.contextId) query.contextId = req.contextId;
    if (req.status) query.state = stateFromWire(req.status);
    if (req.pageToken) query.pageToken = req.pageToken;
    if (req.statusTimestampAfter) query.updatedAfter = Date.parse(req.statusTimestampAfter);
    let page;
    try {
      page = await this.store.listTasks(query);
    } catch (error) {
      if (req.pageToken) throw invalidParams('pageToken', 'is not a token this server issued');
      throw error;
    }
    const view: TaskViewOptions = { includeArtifacts: req.includeArtifacts === true };
    if (req.historyLength !== undefined) view.historyLength = req.historyLength;
    return { tasks: page.tasks.map((t) => toWireTask(t, view)), nextPageToken: page.nextPageToken, pageSize, totalSize: page.totalSize };
  }

  /** Resolves when the task is terminal or interrupted here, on timeout, or on abort. */
  waitSettled(id: string, options: { timeoutMs: number; gone?: (cb: () => void) => void; tenant?: string }): Promise<void> {
    const active = this.active.get(id);
    if (!active && options.tenant !== undefined) return this.waitElsewhere(options.tenant, id, options);
    if (!active || active.settled) return Promise.resolve();
    return new Promise((resolve) => {
      let finished = false;
      const done = () => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        active.listeners.delete(listener);
        resolve();
      };
      const listener: Listener = () => {
        if (active.settled) done();
      };
      const timer = setTimeout(done, options.timeoutMs);
      options.gone?.(done);
      active.listeners.add(listener);
    });
  }

  /** A blocking wait on a task another process runs (or a finished one): poll the store. */
  private async waitElsewhere(tenant: string, id: string, options: { timeoutMs: number; gone?: (cb: () => void) => void }): Promise<void> {
    let gone = false;
    options.gone?.(() => (gone = true));
    const until = Date.now() + options.timeoutMs;
    for (;;) {
      const record = await this.store.getTask(id, { tenant });
      if (!record || isTerminal(record.state) || isInterrupted(record.state) || gone || Date.now() >= until) return;
      if (this.active.has(id)) return this.waitSettled(id, { ...options, timeoutMs: Math.max(0, until - Date.now()) });
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }

  /**
   * The current task plus every logged event after `afterSeq` (when given),
   * then live events through `listener` until unsubscribed.
   */
  async subscribe(tenant: string, id: string, afterSeq: number | undefined, listener: Listener): Promise<SubscribeResult> {
    const active = this.active.get(id);
    if (active && active.tenant === tenant) {
      let result: SubscribeResult | undefined;
      const step = active.chain.then(async () => {
        const record = await this.store.getTask(id, { tenant });
        if (!record) throw new A2AProtocolError('TASK_NOT_FOUND', { metadata: { taskId: id } });
        const replay = afterSeq === undefined ? [] : await this.loadEvents(tenant, id, afterSeq);
        const done = active.settled && !active.running;
        if (!done) active.listeners.add(listener);
        result = { task: toWireTask(record), seq: active.lastSeq, replay, done, unsubscribe: () => active.listeners.delete(listener) };
      });
      active.chain = step.catch(() => undefined);
      await step;
      return result!;
    }
    const record = await this.store.getTask(id, { tenant });
    if (!record) throw new A2AProtocolError('TASK_NOT_FOUND', { metadata: { taskId: id } });
    const events = await this.loadEvents(tenant, id, afterSeq ?? 0);
    const seq = events.at(-1)?.seq ?? afterSeq ?? 0;
    const live = !isTerminal(record.state) && !isInterrupted(record.state);
    // Another process runs this task (replicas on one store): tail its event log.
    const stop = live ? this.tailLog(tenant, id, seq, listener) : () => undefined;
    return { task: toWireTask(record), seq, replay: afterSeq === undefined ? [] : events, done: !live, unsubscribe: stop };
  }

  /** Polls the shared event log of a task run elsewhere, until it settles or the subscriber leaves. */
  private tailLog(tenant: string, id: string, fromSeq: number, listener: Listener): () => void {
    let stopped = false;
    let last = fromSeq;
    const loop = async () => {
      while (!stopped) {
        await new Promise((r) => setTimeout(r, this.pollMs));
        if (stopped) return;
        // A task that started running here meanwhile is served by the in-process path from now on.
        for (const e of await this.loadEvents(tenant, id, last)) {
          last = e.seq;
          listener(e);
          if ('statusUpdate' in e.event && isSettlingWire(e.event.statusUpdate.status.state)) stopped = true;
        }
      }
    };
    loop().catch((error: unknown) => this.onError(error, { taskId: id, where: 'tail' }));
    return () => {
      stopped = true;
    };
  }

  private async loadEvents(tenant: string, id: string, afterSeq: number): Promise<LoggedEvent[]> {
    const rows = await this.store.loadTaskEvents(id, { tenant, afterSeq });
    return rows.map((r) => ({ seq: r.seq, event: r.event as StreamResponse }));
  }

  // ------------------------------------------------------------ cancel

  async cancel(tenant: string, id: string): Promise<Task> {
    const record = await this.store.getTask(id, { tenant });
    if (!record) throw new A2AProtocolError('TASK_NOT_FOUND', { metadata: { taskId: id } });
    if (isTerminal(record.state)) {
      throw new A2AProtocolError('TASK_NOT_CANCELABLE', { message: `Task ${id} is already ${record.state}`, metadata: { taskId: id } });
    }
    let active = this.active.get(id);
    if (!active) {
      active = new ActiveTask(id, tenant, record.contextId, record.artifacts.length);
      active.push = pushConfigsOf(record);
      this.active.set(id, active);
    }
    if (active.cancelled) return this.getTask(tenant, id);
    await this.commit(active, 'canceled');
    active.cancelled = true;
    if (!active.running && this.active.get(id) === active) this.active.delete(id);
    // The trace may be running here (or not at all, after a restart): cancel is best effort and idempotent.
    this.flow.cancel(id).catch((error: unknown) => this.onError(error, { taskId: id, where: 'cancel' }));
    return this.getTask(tenant, id);
  }
}

function isSettlingWire(state: Task['status']['state']): boolean {
  const s = stateFromWire(state);
  return isTerminal(s) || isInterrupted(s);
}

function ownerTask(owner: string): string {
  const i = owner.indexOf('/');
  return i < 0 ? owner : owner.slice(0, i);
}
