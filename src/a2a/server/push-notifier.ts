/**
 * Push notifications: webhook delivery of every task event (a StreamResponse,
 * as on a stream) to the task's configured URLs, in order per webhook, with
 * a timeout per POST and exponential-backoff retries. Failures are reported
 * with ids only and never block the task.
 */
import { A2A_CONTENT_TYPE } from '../protocol/constants.js';
import type { AuthenticationInfo, StreamResponse } from '../protocol/types.js';
import type { OutboundPolicy } from '../../security/ssrf.js';
import { isPenguiflowError } from '../../errors/index.js';

export interface A2APushOptions {
  /** Turns the capability on (card `pushNotifications: true`). Default false. */
  enabled?: boolean;
  /**
   * Which webhook URLs are acceptable, checked when a config is set. Default:
   * the SSRF guard (`createWebhookGuard(outbound)` from `penguiflow/security`):
   * public addresses only, every resolved address checked.
   */
  allowUrl?: (url: URL) => boolean | Promise<boolean>;
  /**
   * Address policy of the default guard (used for `allowUrl` and `fetch` when
   * they are not given): `allowLoopback` / `allowPrivate` for tests and trusted networks.
   */
  outbound?: OutboundPolicy;
  /** Per POST. Default 10 s. */
  timeoutMs?: number;
  /** Attempts per event. Default 4. */
  maxAttempts?: number;
  /** First retry delay, doubled each time. Default 200 ms. */
  backoffMs?: number;
  /** Delivery. Default: the SSRF guard's fetch (address checked and pinned per connection, redirects never followed). */
  fetch?: typeof fetch;
}

/** A webhook as stored in the task's metadata. */
export interface StoredPushConfig {
  id: string;
  url: string;
  token?: string;
  authentication?: AuthenticationInfo;
}

export const PUSH_TOKEN_HEADER = 'X-A2A-Notification-Token';

export class PushNotifier {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly fetchImpl: typeof fetch;

  constructor(
    private readonly options: A2APushOptions,
    private readonly onError: (error: unknown, fields: Record<string, unknown>) => void,
  ) {
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, { ...init, redirect: 'manual' }));
  }

  deliver(taskId: string, configs: readonly StoredPushConfig[], event: StreamResponse): void {
    const body = JSON.stringify(event);
    for (const cfg of configs) {
      const key = `${taskId}\u0000${cfg.id}`;
      const prev = this.chains.get(key) ?? Promise.resolve();
      const next = prev.then(() => this.post(taskId, cfg, body));
      this.chains.set(key, next);
      void next.finally(() => {
        if (this.chains.get(key) === next) this.chains.delete(key);
      });
    }
  }

  /** Resolves when every queued delivery has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.all([...this.chains.values()]);
  }

  private async post(taskId: string, cfg: StoredPushConfig, body: string): Promise<void> {
    const attempts = this.options.maxAttempts ?? 4;
    const headers: Record<string, string> = { 'Content-Type': A2A_CONTENT_TYPE };
    if (cfg.token) headers[PUSH_TOKEN_HEADER] = cfg.token;
    if (cfg.authentication?.scheme) headers.Authorization = `${cfg.authentication.scheme} ${cfg.authentication.credentials ?? ''}`.trim();
    let last: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, (this.options.backoffMs ?? 200) * 2 ** (attempt - 1)));
      try {
        // redirect: 'manual': a 3xx is the receiver's answer, never a second hop carrying the token
        const res = await this.fetchImpl(cfg.url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000) });
        await res.body?.cancel();
        if (res.ok) return;
        last = new Error(`webhook answered HTTP ${res.status}`);
        if (res.status >= 300 && res.status < 400) break; // redirects are not followed
        if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) break; // the receiver refuses: do not insist
      } catch (error) {
        last = error;
        if (isPenguiflowError(error) && !error.retryable) break; // refused by the guard (address, redirect): retrying cannot help
      }
    }
    this.onError(last, { where: 'push', taskId, pushConfigId: cfg.id, bytes: body.length });
  }
}
