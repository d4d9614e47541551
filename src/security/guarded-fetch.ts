/**
 * The one guarded `fetch` every outbound call goes through (webhooks, agent
 * cards, remote agents): the URL is checked before each connection,
 * redirects are never followed (a 3xx fails the call, so a hop cannot leave
 * the allowlist or the SSRF policy), and response bodies are size-bounded
 * while they stream (a huge or endless body fails with PAYLOAD_TOO_LARGE
 * instead of filling memory). SSE responses are bounded per event by the
 * reader, not in total.
 */
import { ForbiddenError, PayloadTooLargeError } from '../errors/index.js';

export interface GuardedFetchOptions {
  /** Checked before every request (each hop is a new request: redirects are not followed). Default: every URL. */
  allowUrl?: (url: URL) => boolean | Promise<boolean>;
  /** Largest response body (decoded bytes) of a non-SSE response. Default 16 MiB. */
  maxResponseBytes?: number;
  /** The fetch being guarded. Default the global fetch. */
  fetch?: typeof fetch;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

function tooLarge(limit: number, url: URL): PayloadTooLargeError {
  return new PayloadTooLargeError(`Response from ${url.host} is larger than ${limit} bytes`, { details: { reason: 'RESPONSE_TOO_LARGE', limitBytes: limit, host: url.host }, retryable: false });
}

/** The body of `res`, failing with PAYLOAD_TOO_LARGE past `limit` bytes (as it streams; the rest is not read). */
function bounded(res: Response, limit: number, url: URL): Response {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    void res.body?.cancel().catch(() => undefined);
    throw tooLarge(limit, url);
  }
  if (!res.body) return res;
  let seen = 0;
  const counted = res.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > limit) controller.error(tooLarge(limit, url));
        else controller.enqueue(chunk);
      },
    }),
  );
  const out = new Response(counted, { status: res.status, statusText: res.statusText, headers: res.headers });
  Object.defineProperty(out, 'url', { value: res.url });
  return out;
}

/**
 * @example
 * const allowed = createUrlAllowlist(['https://research.internal:8443']);
 * const guarded = createGuardedFetch({ allowUrl: (u) => allowed(u), maxResponseBytes: 1024 * 1024 });
 * await guarded('https://research.internal:8443/.well-known/agent-card.json'); // a 302 elsewhere throws FORBIDDEN
 */
export function createGuardedFetch(options: GuardedFetchOptions = {}): typeof fetch {
  const inner = options.fetch ?? ((input: string | URL | Request, init?: RequestInit) => fetch(input, init));
  const limit = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const guarded = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    if (options.allowUrl && !(await options.allowUrl(url))) {
      throw new ForbiddenError('Outbound URL is not allowed', { details: { reason: 'OUTBOUND_URL_NOT_ALLOWED', host: url.host }, retryable: false });
    }
    const res = await inner(input, { ...init, redirect: 'manual' });
    if ((res.status >= 300 && res.status < 400) || res.type === 'opaqueredirect') {
      await res.body?.cancel().catch(() => undefined);
      throw new ForbiddenError(`Redirect from ${url.host} not followed (HTTP ${res.status})`, {
        details: { reason: 'REDIRECT_NOT_FOLLOWED', host: url.host, httpStatus: res.status },
        retryable: false,
      });
    }
    if (res.headers.get('content-type')?.startsWith('text/event-stream') === true) return res;
    return bounded(res, limit, url);
  };
  return guarded;
}
