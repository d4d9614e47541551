import { findPenguiflowError } from '../errors/index.js';
import { backoffDelay } from '../core/backoff.js';

/**
 * Opens a broker or store connection for a long-running command, waiting for
 * it while it is unreachable: a bounded backoff (250 ms doubling to 5 s), one
 * stderr line per attempt. A worker started before its broker (a cluster
 * coming up, a broker restart) waits instead of exiting into a crash loop.
 * Misuse (a bad URL, a missing driver) fails at once; so does `signal`.
 */
export async function openWithRetry<T>(what: string, open: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await open();
    } catch (error) {
      const pf = findPenguiflowError(error);
      if (pf === undefined || !pf.retryable || signal?.aborted) throw error;
      const delayMs = backoffDelay({ baseMs: 250, multiplier: 2, maxMs: 5_000, jitter: 0.2 }, Math.min(attempt, 10));
      process.stderr.write(`penguiflow: ${what} not reachable (${pf.code}: ${pf.message}); attempt ${attempt + 1}, retrying in ${delayMs} ms\n`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
      if (signal?.aborted) throw error;
    }
  }
}
