/**
 * `createBalancedTransport`: a RemoteTransport that resolves `agent://<name>`
 * and `skill://<skill>` to live instances from an AgentRegistry and calls one
 * through an inner transport (e.g. `createA2AClient()`), with balancing,
 * health marking, a breaker per instance, a retry budget, failover with the
 * same idempotency key, graceful degradation and load shedding. Other URLs go
 * straight to the inner transport. `remoteNode({ transport: balanced, agentUrl:
 * 'agent://researcher' })` works unchanged.
 */
import { LoadShedError, NotFoundError, RemoteError, RemoteUnavailableError } from '../errors/index.js';
import type { AgentRegistry } from '../protocols/agent-registry.js';
import type { RemoteCallRequest, RemoteCallResult, RemoteStreamEvent, RemoteTransport } from '../protocols/remote-transport.js';
import { StreamAnswer, type AnswerCache } from './answer-cache.js';
import { isFailoverable, parseTarget, reasonOf, type Target } from './targets.js';
import type { Admission, BreakerOptions } from './breaker.js';
import type { ResilienceEvent, ResilienceEventSink } from './events.js';
import { InstancePool, type HealthOptions, type InstanceState } from './instance-pool.js';
import { RetryBudget, type RetryBudgetOptions } from './retry-budget.js';
import { roundRobin, type Strategy } from './strategies.js';

/** Why the fallback was used. */
export interface FallbackContext {
  reason: 'ALL_OPEN' | 'NO_INSTANCES' | 'EXHAUSTED';
  target: string;
  error?: unknown;
}

/** Returns the answer to use instead (a payload), e.g. a cached one or a local node's. */
export type Fallback = (request: RemoteCallRequest, context: FallbackContext) => unknown;

export interface BalancedTransportOptions {
  registry: AgentRegistry;
  /** Calls one instance (its `agentUrl` is the instance's URL). */
  transport: RemoteTransport;
  /** Default `roundRobin()`. */
  strategy?: Strategy;
  /** Breaker per instance; `false` turns breakers off. */
  breaker?: BreakerOptions | false;
  /** A shared budget, options for one, or `false` (no limit besides `maxAttempts`). */
  retryBudget?: RetryBudget | RetryBudgetOptions | false;
  /** Used when no instance can take the call (after `answers`). Without either the call fails with REMOTE_UNAVAILABLE. */
  fallback?: Fallback;
  /** Records the answer of every completed call; answers from it when no instance can take a call. */
  answers?: AnswerCache;
  /** Where events go; see `flowEventSink`. */
  events?: ResilienceEventSink;
  /** Instances tried per call (first + failovers). Default 3. */
  maxAttempts?: number;
  /** Bound on one attempt: a whole `send`, or a stream's time to its first event. Default: the call's budget. */
  attemptTimeoutMs?: number;
  /** Whole-call budget when the request has no `timeoutMs`. Default 30 s. */
  callTimeoutMs?: number;
  /**
   * May a call that already started on an instance (a stream past its first
   * event) be cancelled there and sent again to another? Default false:
   * only calls that never reached an instance fail over.
   */
  idempotent?: boolean | ((request: RemoteCallRequest) => boolean);
  /** Calls with `headers.priority` below this are shed (LOAD_SHED) when every instance is at capacity. Default 0. */
  shedBelowPriority?: number;
  health?: HealthOptions;
  /** How often the registry is read. Default 250 ms. */
  refreshMs?: number;
  now?: () => number;
}


interface TaskRoute {
  instance: InstanceState;
  request: RemoteCallRequest;
}

const MAX_ROUTES = 10_000;

/** See the module comment; create with {@link createBalancedTransport}. */
export class BalancedTransport implements RemoteTransport {
  readonly pool: InstancePool;
  readonly budget: RetryBudget | undefined;
  private readonly strategy: Strategy;
  private readonly inner: RemoteTransport;
  private readonly routes = new Map<string, TaskRoute>();
  private readonly now: () => number;
  /** Optional A2A extras, present when the inner transport has them (RemoteNode resumes with `subscribe`). */
  subscribe?: (agentUrl: string, taskId: string, options: { tenant?: string; lastEventId?: string; signal?: AbortSignal; timeoutMs?: number }) => AsyncIterable<RemoteStreamEvent>;

  constructor(private readonly options: BalancedTransportOptions) {
    this.now = options.now ?? Date.now;
    this.inner = options.transport;
    this.strategy = options.strategy ?? roundRobin();
    const rb = options.retryBudget;
    this.budget = rb === false ? undefined : rb instanceof RetryBudget ? rb : new RetryBudget({ ...rb, ...(options.now ? { now: options.now } : {}) });
    this.pool = new InstancePool({
      registry: options.registry,
      events: (e) => this.emit(e),
      ...(options.health ? { health: options.health } : {}),
      ...(options.breaker !== undefined ? { breaker: options.breaker } : {}),
      ...(options.refreshMs !== undefined ? { refreshMs: options.refreshMs } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
    const inner = this.inner as RemoteTransport & { subscribe?: BalancedTransport['subscribe'] };
    if (typeof inner.subscribe === 'function') {
      const sub = inner.subscribe.bind(inner);
      this.subscribe = (agentUrl, taskId, opts) => this.resubscribe(sub, agentUrl, taskId, opts);
    }
  }

  /** Starts reading the registry; calls wait for the first read anyway. */
  ready(): Promise<void> {
    return this.pool.ready();
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private emit(e: ResilienceEvent): void {
    try {
      this.options.events?.(e);
    } catch {
      // a failing sink must not break calls
    }
  }

  private callEvent(type: ResilienceEvent['type'], req: RemoteCallRequest, target: Target, fields: Partial<ResilienceEvent> = {}): void {
    this.emit({ type, ts: this.now(), target: target.label, traceId: req.message.traceId, tenant: req.message.headers.tenant, idempotencyKey: req.idempotencyKey, ...fields });
  }

  private idempotent(req: RemoteCallRequest): boolean {
    const i = this.options.idempotent;
    return typeof i === 'function' ? i(req) : i === true;
  }

  /** Picks an instance for attempt `attempt`, or says why none can be used. */
  private select(target: Target, req: RemoteCallRequest, tried: Set<string>, attempt: number): { instance: InstanceState; admission: Admission } | { none: FallbackContext['reason'] } {
    const members = this.pool.members(target);
    if (members.length === 0) return { none: 'NO_INSTANCES' };
    const eligible = members.filter((s) => s.up && !tried.has(s.id) && (s.breaker?.canPass() ?? true));
    if (eligible.length === 0) return { none: members.every((s) => tried.has(s.id)) ? 'EXHAUSTED' : 'ALL_OPEN' };
    if (attempt === 0 && (req.message.headers.priority ?? 0) < (this.options.shedBelowPriority ?? 0) && eligible.every((s) => s.saturated)) {
      this.callEvent('load_shed', req, target, { reason: 'ALL_SATURATED', extra: { priority: req.message.headers.priority, instances: eligible.length } });
      throw new LoadShedError(`Every instance of ${target.label} is at capacity; a priority ${req.message.headers.priority} call was shed`, { details: { target: target.label } });
    }
    const byId = new Map(eligible.map((s) => [s.id, s]));
    const picked = this.strategy.pick(
      eligible.map((s) => this.pool.candidate(s)),
      { request: req, attempt },
    );
    const instance = picked ? byId.get(picked.id) : undefined;
    if (!instance) return { none: 'ALL_OPEN' };
    const admission = instance.breaker?.admit() ?? 'pass';
    if (admission === 'blocked') return this.select(target, req, new Set([...tried, instance.id]), attempt);
    return { instance, admission };
  }

  private settle(s: InstanceState, admission: Admission, started: number, error: unknown, aborted: boolean): void {
    s.inflight--;
    const latency = this.now() - started;
    if (aborted) return s.breaker?.release(admission);
    if (error === undefined || !isFailoverable(error)) {
      s.breaker?.success(admission);
      this.pool.succeeded(s, latency);
    } else {
      s.breaker?.failure(admission, reasonOf(error));
      this.pool.failed(s, latency);
    }
  }

  private async degrade(req: RemoteCallRequest, target: Target, reason: FallbackContext['reason'], error: unknown): Promise<{ payload: unknown }> {
    const cached = this.options.answers?.lookup(req);
    if (cached) {
      this.callEvent('fallback_used', req, target, { reason, extra: { cached: true } });
      return cached;
    }
    if (this.options.fallback) {
      this.callEvent('fallback_used', req, target, { reason });
      const ctx: FallbackContext = { reason, target: target.label };
      if (error !== undefined) ctx.error = error;
      return { payload: await this.options.fallback(req, ctx) };
    }
    if (error !== undefined && reason === 'EXHAUSTED') throw error;
    throw new RemoteUnavailableError(`No instance of ${target.label} can take the call (${reason})`, { cause: error, details: { target: target.label, reason } });
  }

  private canDegrade(req: RemoteCallRequest): boolean {
    return this.options.fallback !== undefined || this.options.answers?.lookup(req) !== undefined;
  }

  /** Per-attempt request: the instance URL and a timeout within what is left of the call. */
  private attemptRequest(req: RemoteCallRequest, s: InstanceState, deadline: number, perAttempt: boolean): RemoteCallRequest {
    const left = Math.max(1, deadline - this.now());
    const bound = perAttempt && this.options.attemptTimeoutMs !== undefined ? Math.min(left, this.options.attemptTimeoutMs) : left;
    return { ...req, agentUrl: s.entry.url, timeoutMs: bound };
  }

  private async beginCall(req: RemoteCallRequest): Promise<{ deadline: number }> {
    const deadline = this.now() + (req.timeoutMs ?? this.options.callTimeoutMs ?? 30_000);
    // The first registry read, bounded: a registry that does not answer leaves an empty view (NO_INSTANCES).
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.pool.ready(), new Promise<void>((r) => (timer = setTimeout(r, Math.max(1, Math.min(5_000, deadline - this.now())))))]);
    clearTimeout(timer);
    this.budget?.recordCall();
    return { deadline };
  }

  /** Before attempt n>0: the retry budget allows it, with a `failover` event; false otherwise. */
  private mayFailOver(req: RemoteCallRequest, target: Target, from: InstanceState, to: InstanceState, attempt: number, error: unknown, midStream: boolean): boolean {
    if (this.budget && !this.budget.tryRetry()) {
      this.callEvent('retry_budget_exhausted', req, target, { instanceId: from.id, reason: reasonOf(error), extra: this.budget.stats() });
      return false;
    }
    this.callEvent('failover', req, target, { instanceId: to.id, url: to.entry.url, reason: reasonOf(error), extra: { from: from.id, attempt, midStream } });
    return true;
  }

  async send(req: RemoteCallRequest): Promise<RemoteCallResult> {
    const target = parseTarget(req.agentUrl, req.skill);
    if (!target) return this.inner.send(req);
    const { deadline } = await this.beginCall(req);
    const tried = new Set<string>();
    const maxAttempts = this.options.maxAttempts ?? 3;
    let lastError: unknown;
    let last: InstanceState | undefined;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const choice = this.select(target, req, tried, attempt);
      if ('none' in choice) {
        if (lastError !== undefined && choice.none !== 'EXHAUSTED' && !this.canDegrade(req)) throw lastError;
        const { payload } = await this.degrade(req, target, choice.none, lastError);
        return { state: 'completed', payload, metadata: { fallback: true } };
      }
      const s = choice.instance;
      if (attempt > 0 && !this.mayFailOver(req, target, last!, s, attempt, lastError, false)) {
        s.breaker?.release(choice.admission);
        throw lastError;
      }
      tried.add(s.id);
      last = s;
      s.inflight++;
      const started = this.now();
      try {
        const res = await this.inner.send(this.attemptRequest(req, s, deadline, true));
        this.settle(s, choice.admission, started, undefined, false);
        if (res.taskId) this.remember(res.taskId, s, req, res.state);
        if (res.state === 'completed') this.options.answers?.record(req, res.payload);
        return res;
      } catch (error) {
        const aborted = req.signal?.aborted === true;
        this.settle(s, choice.admission, started, error, aborted);
        if (aborted || !isFailoverable(error) || this.now() >= deadline) throw error;
        lastError = error;
      }
    }
    throw lastError;
  }

  /** The inner transport's stream; one that cannot stream says so the way RemoteNode falls back on. */
  private innerStream(req: RemoteCallRequest): AsyncIterable<RemoteStreamEvent> {
    if (this.inner.stream === undefined) {
      throw new RemoteError('The transport does not stream', { retryable: false, details: { reason: 'UNSUPPORTED_OPERATION' } });
    }
    return this.inner.stream(req);
  }

  async *stream(req: RemoteCallRequest): AsyncGenerator<RemoteStreamEvent> {
    const target = parseTarget(req.agentUrl, req.skill);
    if (!target) {
      yield* this.innerStream(req);
      return;
    }
    const { deadline } = await this.beginCall(req);
    const tried = new Set<string>();
    const maxAttempts = this.options.maxAttempts ?? 3;
    let lastError: unknown;
    let last: InstanceState | undefined;
    let midStream = false;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const choice = this.select(target, req, tried, attempt);
      if ('none' in choice) {
        if (lastError !== undefined && choice.none !== 'EXHAUSTED' && !this.canDegrade(req)) throw lastError;
        const { payload } = await this.degrade(req, target, choice.none, lastError);
        yield { kind: 'message', state: 'completed', payload, final: true };
        return;
      }
      const s = choice.instance;
      if (attempt > 0 && !this.mayFailOver(req, target, last!, s, attempt, lastError, midStream)) {
        s.breaker?.release(choice.admission);
        throw lastError;
      }
      tried.add(s.id);
      last = s;
      s.inflight++;
      const started = this.now();
      const ac = new AbortController();
      const signal = req.signal ? AbortSignal.any([req.signal, ac.signal]) : ac.signal;
      const firstMs = Math.min(this.options.attemptTimeoutMs ?? Infinity, deadline - this.now());
      const timer = setTimeout(
        () => ac.abort(new RemoteUnavailableError(`No first event from ${s.entry.url} within ${firstMs} ms`, { details: { agentUrl: s.entry.url, reason: 'TIMEOUT', timeoutMs: firstMs } })),
        Math.max(1, firstMs),
      );
      let first = true;
      let final = false;
      const answer = this.options.answers ? new StreamAnswer() : undefined;
      let taskId: string | undefined;
      let settled = false;
      try {
        for await (const ev of this.innerStream({ ...this.attemptRequest(req, s, deadline, false), signal })) {
          if (first) {
            first = false;
            clearTimeout(timer);
          }
          if (ev.taskId && !taskId) taskId = ev.taskId;
          if (ev.final) final = true;
          if (taskId) this.remember(taskId, s, req, ev.final ? 'completed' : undefined);
          answer?.add(ev);
          yield ev;
        }
        if (!final) throw new RemoteUnavailableError(`The stream from ${s.entry.url} ended before its final event`, { details: { agentUrl: s.entry.url, reason: 'STREAM_CUT' } });
        settled = true;
        this.settle(s, choice.admission, started, undefined, false);
        if (answer?.completed) this.options.answers!.record(req, answer.value());
        return;
      } catch (error) {
        clearTimeout(timer);
        const aborted = req.signal?.aborted === true;
        settled = true;
        this.settle(s, choice.admission, started, error, aborted);
        if (aborted || !isFailoverable(error) || this.now() >= deadline) throw error;
        if (!first) {
          if (!this.idempotent(req)) throw error;
          // Started there: cancel it (bounded, best effort) and run it again elsewhere with the same key.
          if (taskId) void this.inner.cancel({ agentUrl: s.entry.url, taskId, tenant: req.message.headers.tenant }).catch(() => undefined);
          midStream = true;
        }
        lastError = error;
      } finally {
        clearTimeout(timer);
        // The consumer stopped early (break/return): the attempt is neither a success nor a failure.
        if (!settled) this.settle(s, choice.admission, started, undefined, true);
      }
    }
    throw lastError;
  }

  async cancel(target: { agentUrl: string; taskId: string; tenant?: string }): Promise<void> {
    if (!parseTarget(target.agentUrl, undefined)) return this.inner.cancel(target);
    const route = this.routes.get(target.taskId);
    if (!route) throw new NotFoundError(`No instance known for task ${target.taskId} of ${target.agentUrl}`, { details: { taskId: target.taskId } });
    return this.inner.cancel({ ...target, agentUrl: route.instance.entry.url });
  }

  private remember(taskId: string, instance: InstanceState, request: RemoteCallRequest, state: string | undefined): void {
    if (state === 'completed') {
      this.routes.delete(taskId);
      return;
    }
    if (this.routes.get(taskId)?.instance === instance) return;
    this.routes.set(taskId, { instance, request });
    if (this.routes.size > MAX_ROUTES) this.routes.delete(this.routes.keys().next().value!);
  }

  /** RemoteNode's resume: re-attach on the instance that runs the task, or (idempotent calls) run it again elsewhere. */
  private async *resubscribe(
    sub: NonNullable<BalancedTransport['subscribe']>,
    agentUrl: string,
    taskId: string,
    opts: { tenant?: string; lastEventId?: string; signal?: AbortSignal; timeoutMs?: number },
  ): AsyncGenerator<RemoteStreamEvent> {
    if (!parseTarget(agentUrl, undefined)) {
      yield* sub(agentUrl, taskId, opts);
      return;
    }
    const route = this.routes.get(taskId);
    if (route && route.instance.up && this.pool.instances.get(route.instance.id) === route.instance) {
      yield* sub(route.instance.entry.url, taskId, opts);
      return;
    }
    if (route && this.idempotent(route.request)) {
      yield* this.stream({ ...route.request, ...(opts.signal ? { signal: opts.signal } : {}) });
      return;
    }
    throw new RemoteUnavailableError(`The instance that ran task ${taskId} of ${agentUrl} is gone`, { details: { taskId, reason: 'INSTANCE_GONE' } });
  }
}

/**
 * @example
 * const registry = await openAgentRegistry('redis://127.0.0.1:6379');
 * const transport = createBalancedTransport({ registry, transport: createA2AClient(), strategy: leastLoaded(), attemptTimeoutMs: 2_000, events: flowEventSink(flow) });
 * const research = remoteNode({ name: 'research', transport, agentUrl: 'agent://researcher' });
 */
export function createBalancedTransport(options: BalancedTransportOptions): BalancedTransport {
  return new BalancedTransport(options);
}
