/**
 * An SSRF-safe `fetch` for webhooks: the host is resolved once, every
 * address is checked against the outbound policy, and the connection is made
 * to the checked address (undici's `connect.lookup` returns it), so a DNS
 * answer that changes between the check and the connection (rebinding)
 * cannot reach an internal address. Redirects are not followed.
 */
import { Agent, fetch as undiciFetch } from '../peers/undici.js';
import type { LookupAddress } from 'node:dns';
import { createGuardedFetch } from './guarded-fetch.js';
import { checkOutboundUrl, type OutboundPolicy } from './ssrf.js';

export interface SafeFetchOptions extends OutboundPolicy {
  /** TCP/TLS connect timeout. Default 5 s. */
  connectTimeoutMs?: number;
  /** Time to the response headers. Default 10 s. */
  headersTimeoutMs?: number;
}

export interface WebhookGuard {
  /** For `push.allowUrl`: checked when a webhook is configured (scheme, literal and resolved addresses). */
  readonly allowUrl: (url: URL) => Promise<boolean>;
  /** For `push.fetch`: checked again and pinned at each connection. */
  readonly fetch: typeof fetch;
  close(): Promise<void>;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address?: string | LookupAddress[], family?: number) => void;

/**
 * @example
 * const webhooks = createWebhookGuard();
 * createA2AServer({ …, push: { enabled: true, allowUrl: webhooks.allowUrl, fetch: webhooks.fetch } });
 */
export function createWebhookGuard(options: SafeFetchOptions = {}): WebhookGuard {
  const lookup = (hostname: string, opts: { all?: boolean }, cb: LookupCallback) => {
    checkOutboundUrl(`http://${hostname.includes(':') ? `[${hostname}]` : hostname}/`, { ...options, schemes: ['http:'] }).then(
      ({ address, family }) => (opts.all ? cb(null, [{ address, family }]) : cb(null, address, family)),
      (error: Error) => cb(Object.assign(error, { code: 'ESSRF' })),
    );
  };
  const agent = new Agent({
    connect: { lookup: lookup as never, timeout: options.connectTimeoutMs ?? 5_000 },
    headersTimeout: options.headersTimeoutMs ?? 10_000,
    bodyTimeout: options.headersTimeoutMs ?? 10_000,
  });
  const pinnedFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    await checkOutboundUrl(url, options); // literal IPs never reach lookup: check them here
    const res = await undiciFetch(url, { ...(init as object), redirect: 'manual', dispatcher: agent });
    return res as unknown as Response;
  };
  // the shared guard on top: redirects fail instead of being followed, replies are bounded (a webhook's answer is not read)
  const safeFetch = createGuardedFetch({ fetch: pinnedFetch, maxResponseBytes: 64 * 1024 });
  return {
    allowUrl: (url) => checkOutboundUrl(url, options).then(() => true, () => false),
    fetch: safeFetch,
    close: () => agent.close(),
  };
}
