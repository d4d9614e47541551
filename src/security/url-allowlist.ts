/**
 * Allowlist of remote agent URLs, applied as a transport decorator: a call
 * to an agent outside the list fails with a non-retryable ForbiddenError
 * before any connection (card fetch included). With an A2A client the list
 * also applies to every URL the agent card names and to every hop
 * (redirects are not followed).
 */
import { ForbiddenError } from '../errors/index.js';
import type { RemoteTransport } from '../protocols/remote-transport.js';

/**
 * Entries are URL prefixes (`https://agents.example.com/research`) — same
 * scheme, host and port, and a path under the entry's — or `*.example.com`
 * style host patterns with a scheme (`https://*.example.com`).
 *
 * @example
 * const allowed = createUrlAllowlist(['https://research.internal:8443', 'https://*.agents.example.com']);
 * allowed('https://a.agents.example.com/x'); // true
 */
export function createUrlAllowlist(entries: readonly string[]): (url: string | URL) => boolean {
  const rules = entries.map((e) => {
    const wildcard = /^(https?:)\/\/\*\.([^/:]+)(?::(\d+))?(\/.*)?$/.exec(e);
    if (wildcard) return { kind: 'wildcard' as const, protocol: wildcard[1]!, suffix: `.${wildcard[2]!.toLowerCase()}`, port: wildcard[3] ?? '', path: wildcard[4] ?? '/' };
    const u = new URL(e);
    return { kind: 'prefix' as const, protocol: u.protocol, host: u.host.toLowerCase(), path: u.pathname };
  });
  return (input) => {
    let u: URL;
    try {
      u = typeof input === 'string' ? new URL(input) : input;
    } catch {
      return false;
    }
    if (u.username !== '' || u.password !== '') return false;
    const path = u.pathname;
    return rules.some((r) => {
      if (r.protocol !== u.protocol) return false;
      const pathOk = r.path === '/' || path === r.path || path.startsWith(r.path.endsWith('/') ? r.path : `${r.path}/`);
      if (r.kind === 'wildcard') return u.hostname.toLowerCase().endsWith(r.suffix) && u.port === r.port && pathOk;
      return u.host.toLowerCase() === r.host && pathOk;
    });
  };
}

function refused(agentUrl: unknown): ForbiddenError {
  return new ForbiddenError('Remote agent URL is not on the allowlist', { details: { reason: 'AGENT_URL_NOT_ALLOWED', agentUrl: String(agentUrl) }, retryable: false });
}

function urlOf(args: unknown[]): unknown {
  const a = args[0];
  if (typeof a === 'string') return a;
  if (a !== null && typeof a === 'object' && 'agentUrl' in a) return (a).agentUrl;
  return undefined;
}

const STREAMING = new Set(['stream', 'subscribe']);

/**
 * Wraps a transport (e.g. `createA2AClient()`) so every method whose first
 * argument is an agent URL (or carries `agentUrl`) checks it first. Streaming
 * methods return an iterable that fails on the first `next()`.
 *
 * @example
 * const transport = allowlistTransport(createA2AClient(), ['https://research.internal:8443']);
 * const researcher = remoteNode({ name: 'research', transport, agentUrl: 'https://research.internal:8443' });
 */
export function allowlistTransport<T extends RemoteTransport>(transport: T, allow: readonly string[] | ((url: string | URL) => boolean)): T {
  const isAllowed = typeof allow === 'function' ? allow : createUrlAllowlist(allow);
  // A transport that can check each connection (A2AClient: the card's interface URLs, every request; no redirects)
  // gets the allowlist too, so a card cannot send the call elsewhere.
  const restrictable = transport as T & { restrictTo?: (allow: (url: URL) => boolean) => T };
  const inner = typeof restrictable.restrictTo === 'function' ? restrictable.restrictTo((u) => isAllowed(u)) : transport;
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        const url = urlOf(args);
        if (url !== undefined && (typeof url !== 'string' || !isAllowed(url))) {
          const error = refused(url);
          if (STREAMING.has(String(prop))) {
            return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }) };
          }
          return Promise.reject(error);
        }
        return fn.apply(target, args);
      };
    },
  });
}
