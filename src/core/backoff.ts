/** Exponential backoff with jitter, per attempt. */
export interface BackoffPolicy {
  /** First retry delay. Default 100 ms. */
  baseMs?: number;
  /** Growth per retry. Default 2. */
  multiplier?: number;
  /** Cap. Default 10 s. */
  maxMs?: number;
  /** Fraction of the delay randomised, 0..1. Default 0.2 (±20%). */
  jitter?: number;
}

/** Delay before retry number `retry` (0 = first retry). */
export function backoffDelay(policy: BackoffPolicy | undefined, retry: number, random: () => number = Math.random): number {
  const base = policy?.baseMs ?? 100;
  const multiplier = policy?.multiplier ?? 2;
  const max = policy?.maxMs ?? 10_000;
  const jitter = Math.min(1, Math.max(0, policy?.jitter ?? 0.2));
  const raw = Math.min(max, base * multiplier ** retry);
  const spread = raw * jitter * (random() * 2 - 1);
  return Math.max(0, Math.round(raw + spread));
}

/** Sleeps `ms`, ending early (rejecting with the signal's reason) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 && !signal?.aborted) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
