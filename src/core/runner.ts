import {
  DeadlineExceededError,
  NodeExceptionError,
  NodeTimeoutError,
  PenguiflowError,
  UnknownNodeError,
  ValidationFailedError,
} from '../errors/index.js';
import { backoffDelay, sleep } from './backoff.js';
import { NodeContextImpl } from './context.js';
import { KeyedLimiter } from './keyed-limiter.js';
import type { RunnerHost } from './runner-host.js';
import { childMessage, type ChildOverrides, type Message } from './message.js';
import type { EmitOptions, Node } from './node.js';
import type { TraceState } from './trace.js';
import { validateWith } from './validation.js';

/**
 * Runs one node's messages: deadline check, input validation, attempts with
 * timeout and retries, output validation, and forwarding to successors.
 */
export class NodeRunner {
  readonly concurrency: number;
  /** Per-key concurrency limit, when the policy sets `concurrencyKey`. */
  readonly keyed: KeyedLimiter | undefined;
  private readonly maxRetries: number;
  /** Non-empty successor list, or undefined when results go to the flow output. */
  private readonly next: readonly string[] | undefined;

  constructor(
    private readonly flow: RunnerHost,
    readonly node: Node,
    successors: readonly string[],
  ) {
    this.concurrency = node.policy.concurrency ?? 1;
    const keyOf = node.policy.concurrencyKey;
    this.keyed = keyOf === undefined ? undefined : new KeyedLimiter(keyOf, node.policy.maxPerKey ?? 1);
    this.maxRetries = node.policy.maxRetries ?? 0;
    this.next = successors.length > 0 ? successors : undefined;
  }

  /** Runs one message to completion. Returns a promise only when something had to wait. */
  process(msg: Message, traceState?: TraceState): Promise<void> | undefined {
    const flow = this.flow;
    const trace = traceState ?? flow.trace(msg.traceId)!;
    if (trace.cancelled) {
      flow.release(trace);
      return undefined;
    }
    if (msg.deadline !== undefined && Date.now() >= msg.deadline) {
      flow.event('deadline_skip', trace, this.node.name, { messageId: msg.id, extra: { deadline: msg.deadline } });
      trace.failed = true;
      flow.deliver(trace, {
        kind: 'error',
        error: new DeadlineExceededError(`The deadline of trace ${msg.traceId} passed before node "${this.node.name}" ran`, {
          details: { node: this.node.name, traceId: msg.traceId, deadline: msg.deadline },
        }),
      });
      flow.release(trace);
      return undefined;
    }
    trace.inflight++;
    return this.attempts(msg, trace);
  }

  /*
   * The attempt loop. Awaits are conditional on purpose: a synchronous node
   * whose outputs fit in the next queues finishes without a microtask, which
   * is most of the per-hop cost of a flow.
   */
  private async attempts(msg: Message, trace: TraceState): Promise<void> {
    const flow = this.flow;
    const name = this.node.name;
    const policy = this.node.policy;
    try {
      if (policy.validateIn !== undefined) {
        try {
          await validateWith(policy.validateIn, msg.payload, `Input of node "${name}"`);
        } catch (error) {
          return this.fail(msg, trace, error, 0);
        }
      }
      for (let attempt = 0; ; attempt++) {
        const started = flow.listening ? performance.now() : 0;
        if (flow.listening) {
          flow.event('node_start', trace, name, {
            messageId: msg.id,
            attempt,
            tracePending: trace.pending,
            traceInflight: trace.inflight,
            queueDepthIn: flow.queueDepth(name),
          });
        }
        const ctx = new NodeContextImpl(flow, this, msg, trace, attempt);
        try {
          let out = this.invoke(msg, ctx, trace);
          if (out !== undefined && isThenable(out)) out = await out;
          if (out !== undefined && policy.validateOut !== undefined) {
            out = await validateWith(policy.validateOut, out, `Output of node "${name}"`);
          }
          if (trace.cancelled) {
            ctx.close();
            flow.event('node_trace_cancelled', trace, name, { messageId: msg.id, attempt });
            return;
          }
          if (flow.listening) {
            flow.event('node_success', trace, name, { messageId: msg.id, attempt, latencyMs: performance.now() - started });
          }
          // In sync durability nothing moves on (no output, no result) before this step's events are committed.
          const durable = flow.durablePoint();
          if (durable !== undefined) await durable;
          if (out !== undefined) {
            const wait = this.forward(ctx, out, undefined);
            if (wait !== undefined) await wait;
          }
          ctx.close();
          return;
        } catch (error) {
          ctx.close(error);
          if (trace.cancelled) {
            flow.event('node_trace_cancelled', trace, name, { messageId: msg.id, attempt });
            return;
          }
          if (error instanceof DeadlineExceededError) {
            flow.event('deadline_skip', trace, name, { messageId: msg.id, attempt, error: error.toJSON(), extra: { during: 'run' } });
            trace.failed = true;
            flow.deliver(trace, { kind: 'error', error });
            return;
          }
          const timedOut = error instanceof NodeTimeoutError;
          flow.event(timedOut ? 'node_timeout' : 'node_error', trace, name, {
            messageId: msg.id,
            attempt,
            latencyMs: flow.listening ? performance.now() - started : undefined,
            error: toErrorJSON(error),
          });
          const retryable = !(error instanceof PenguiflowError) || error.retryable;
          if (attempt < this.maxRetries && retryable) {
            const delayMs = backoffDelay(policy.backoff, attempt);
            flow.event('node_retry', trace, name, { messageId: msg.id, attempt: attempt + 1, extra: { delayMs } });
            if (!(await this.sleepUnlessCancelled(delayMs, trace))) {
              flow.event('node_trace_cancelled', trace, name, { messageId: msg.id, attempt });
              return;
            }
            continue;
          }
          return this.fail(msg, trace, error, attempt);
        }
      }
    } finally {
      trace.inflight--;
      flow.release(trace);
    }
  }

  private fail(msg: Message, trace: TraceState, error: unknown, attempt: number): void {
    const failure = asFailure(error, this.node.name, attempt);
    this.flow.event('node_failed', trace, this.node.name, { messageId: msg.id, attempt, error: failure.toJSON() });
    trace.failed = true;
    this.flow.deliver(trace, { kind: 'error', error: failure });
  }

  private async sleepUnlessCancelled(ms: number, trace: TraceState): Promise<boolean> {
    const controller = new AbortController();
    const hook = (reason: Error) => controller.abort(reason);
    trace.onCancel(hook);
    try {
      await sleep(ms, controller.signal);
      return true;
    } catch {
      return false;
    } finally {
      trace.offCancel(hook);
    }
  }

  /**
   * Calls the node function. An attempt that outlives its timeout, its
   * deadline or its trace is abandoned: the caller moves on at once and the
   * node's signal aborts so cooperative code stops too.
   */
  private invoke(msg: Message, ctx: NodeContextImpl, trace: TraceState): unknown {
    let result: unknown;
    try {
      result = this.node.fn(msg, ctx);
    } catch (error) {
      return Promise.reject(error);
    }
    if (!isThenable(result)) return result;
    const timeoutMs = this.node.policy.timeoutMs;
    const deadline = msg.deadline;
    return new Promise((resolve, reject) => {
      let settled = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const abandon = (reason: Error) => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        trace.offCancel(abandon);
        ctx.abort(reason);
        reject(reason);
      };
      trace.onCancel(abandon);
      if (timeoutMs !== undefined || deadline !== undefined) {
        const untilDeadline = deadline === undefined ? Infinity : deadline - Date.now();
        const byDeadline = untilDeadline < (timeoutMs ?? Infinity);
        timer = setTimeout(
          () =>
            abandon(
              byDeadline
                ? new DeadlineExceededError(`The deadline passed while node "${this.node.name}" ran`, {
                    details: { node: this.node.name, traceId: msg.traceId },
                  })
                : new NodeTimeoutError(`Node "${this.node.name}" took longer than ${timeoutMs} ms`, {
                    details: { node: this.node.name, timeoutMs },
                  }),
            ),
          Math.max(0, byDeadline ? untilDeadline : timeoutMs!),
        );
      }
      (result as Promise<unknown>).then(
        (value) => {
          if (settled) return;
          settled = true;
          if (timer !== undefined) clearTimeout(timer);
          trace.offCancel(abandon);
          resolve(value);
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          if (timer !== undefined) clearTimeout(timer);
          trace.offCancel(abandon);
          reject(error);
        },
      );
    });
  }

  /** Sends `payload` on: to `options.to`, else every successor, else the flow output. Returns a promise only when it must wait. */
  forward(ctx: NodeContextImpl, payload: unknown, options: EmitOptions | undefined): Promise<void> | undefined {
    const flow = this.flow;
    const parent = ctx.message;
    const trace = ctx.trace;
    let targets = this.next;
    let overrides: ChildOverrides | undefined;
    if (options !== undefined) {
      if (options.to !== undefined) targets = this.resolveTargets(options.to);
      if (options.meta !== undefined || options.headers !== undefined) {
        overrides = {};
        if (options.meta !== undefined) overrides.meta = { ...parent.meta, ...options.meta };
        if (options.headers !== undefined) overrides.headers = { ...options.headers, tenant: parent.headers.tenant };
      }
    }
    if (targets === undefined) {
      flow.deliver(trace, { kind: 'result', message: this.child(ctx, payload, overrides) });
      return undefined;
    }
    for (let i = 0; i < targets.length; i++) {
      const wait = flow.enqueue(targets[i]!, this.child(ctx, payload, overrides), trace, this.node.name);
      if (wait !== undefined) return this.forwardRest(wait, ctx, payload, overrides, targets, i + 1);
    }
    return flow.backpressure();
  }

  private child(ctx: NodeContextImpl, payload: unknown, overrides: ChildOverrides | undefined): Message {
    const msg = childMessage(ctx.message, payload, overrides);
    const id = this.flow.childId(ctx.message, this.node.name, ctx.outputs++);
    if (id !== undefined) msg.id = id;
    return msg;
  }

  private async forwardRest(
    wait: Promise<void>,
    ctx: NodeContextImpl,
    payload: unknown,
    overrides: ChildOverrides | undefined,
    targets: readonly string[],
    from: number,
  ): Promise<void> {
    await wait;
    for (let i = from; i < targets.length; i++) {
      const next = this.flow.enqueue(targets[i]!, this.child(ctx, payload, overrides), ctx.trace, this.node.name);
      if (next !== undefined) await next;
    }
    const slow = this.flow.backpressure();
    if (slow !== undefined) await slow;
  }

  private resolveTargets(to: string | string[]): readonly string[] {
    const list = typeof to === 'string' ? [to] : to;
    for (const t of list) {
      if (!this.next?.includes(t)) {
        throw new UnknownNodeError(`Node "${this.node.name}" has no successor named "${t}"`, {
          details: { node: this.node.name, to: t, successors: this.next ?? [] },
        });
      }
    }
    return list;
  }
}

function toErrorJSON(error: unknown) {
  if (error instanceof PenguiflowError) return error.toJSON();
  const e = error instanceof Error ? error : new Error(String(error));
  return { name: e.name, code: 'NODE_EXCEPTION' as const, message: e.message, retryable: true };
}

/** What the caller of fetch sees after the last attempt. */
function asFailure(error: unknown, node: string, attempt: number): PenguiflowError {
  if (error instanceof ValidationFailedError) {
    return new NodeExceptionError(`Node "${node}": ${error.message}`, {
      cause: error,
      retryable: false,
      details: { node, attempts: attempt + 1, issues: error.details?.issues },
    });
  }
  if (error instanceof PenguiflowError && error.family === 'failure') return error;
  const message = error instanceof Error ? error.message : String(error);
  // A plain error is retryable (it was retried here too); the caller or a bus may try again.
  return new NodeExceptionError(`Node "${node}" failed: ${message}`, {
    cause: error,
    retryable: !(error instanceof PenguiflowError),
    details: { node, attempts: attempt + 1 },
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function';
}
