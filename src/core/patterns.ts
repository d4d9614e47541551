import { InvalidFlowError } from '../errors/index.js';
import type { Flow } from './flow.js';
import { childMessage, type Message } from './message.js';
import { node, type Node, type NodeContext, type NodePolicy } from './node.js';

/**
 * A node that sends each message on to the successor(s) `pick` names.
 * Returning `undefined` or `[]` drops the message.
 *
 * @example
 * const route = router('route', (msg) => (msg.payload.urgent ? 'fast' : 'slow'));
 * createFlow(route.to(fast, slow));
 */
export function router<T>(
  name: string,
  pick: (msg: Message<T>) => string | string[] | undefined | Promise<string | string[] | undefined>,
  policy?: NodePolicy,
): Node<T, undefined> {
  return node<T, undefined>(
    name,
    async (msg, ctx) => {
      const to = await pick(msg);
      if (to === undefined || (Array.isArray(to) && to.length === 0)) return undefined;
      await ctx.emit(msg.payload, { to });
      return undefined;
    },
    policy,
  );
}

/**
 * Routes a discriminated union by one field: `{ kind: 'a' }` goes to the
 * node registered for 'a'. An unmapped value fails the message.
 *
 * @example
 * const route = unionRouter('route', 'kind', { text: 'onText', image: 'onImage' });
 */
export function unionRouter<T extends Record<K, string>, K extends string>(
  name: string,
  field: K,
  routes: Record<string, string>,
  policy?: NodePolicy,
): Node<T, undefined> {
  return router<T>(
    name,
    (msg) => {
      const key = msg.payload[field];
      const to = routes[key];
      if (to === undefined) throw new InvalidFlowError(`Router "${name}" has no route for ${field}=${JSON.stringify(key)}`);
      return to;
    },
    { maxRetries: 0, ...policy },
  );
}

/**
 * Waits for exactly `k` messages of a trace, then emits their payloads as
 * an array (arrival order). Keeps one buffer per active trace.
 */
export function joinK<T = unknown>(name: string, k: number, policy?: NodePolicy): Node<T, T[]> {
  if (!Number.isInteger(k) || k < 1) throw new InvalidFlowError(`joinK("${name}") needs k >= 1`);
  const parts = new Map<string, T[]>();
  return node<T, T[]>(
    name,
    (msg) => {
      const got = parts.get(msg.traceId) ?? [];
      got.push(msg.payload);
      if (got.length < k) {
        parts.set(msg.traceId, got);
        return undefined;
      }
      parts.delete(msg.traceId);
      return got;
    },
    policy,
  );
}

/**
 * Runs `fn` over `items` with at most `limit` in flight; results keep input
 * order. Stops starting new items once `signal` aborts.
 */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  options: { signal?: AbortSignal } = {},
): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1) throw new InvalidFlowError('mapConcurrent needs limit >= 1');
  const results = new Array<R>(items.length);
  let nextIndex = 0;
  const worker = async () => {
    while (nextIndex < items.length) {
      options.signal?.throwIfAborted();
      const i = nextIndex++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Runs a running child flow on the current trace and waits for its result.
 * The child inherits tenant, trace id, deadline and meta, and is cancelled
 * when the parent's signal aborts (trace cancel, timeout, deadline).
 */
export async function callSubflow<T = unknown>(ctx: NodeContext, child: Flow, payload: unknown): Promise<Message<T>> {
  const msg = childMessage(ctx.message, payload);
  const signal = ctx.signal;
  signal.throwIfAborted();
  const onAbort = () => void child.cancel(msg.traceId);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return (await child.call(msg, { signal })) as Message<T>;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
