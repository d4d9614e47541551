/**
 * A retry budget (as in Finagle and gRPC's retry throttling): over a sliding
 * window, retries may be at most `ratio` × calls (plus `minRetries`, so a quiet
 * caller can still retry). Under 100 % failure the remote sees at most
 * (1 + ratio) × calls + minRetries attempts per window — never a retry storm.
 */
export interface RetryBudgetOptions {
  /** Retries allowed per call. Default 0.2. */
  ratio?: number;
  /** Retries always allowed per window. Default 3. */
  minRetries?: number;
  /** Default 10 s. */
  windowMs?: number;
  now?: () => number;
}

const SLICES = 10;

export class RetryBudget {
  readonly ratio: number;
  readonly minRetries: number;
  private readonly sliceMs: number;
  private readonly now: () => number;
  private readonly calls = new Array<number>(SLICES).fill(0);
  private readonly retries = new Array<number>(SLICES).fill(0);
  private slice = -1;

  constructor(options: RetryBudgetOptions = {}) {
    this.ratio = options.ratio ?? 0.2;
    this.minRetries = options.minRetries ?? 3;
    this.sliceMs = (options.windowMs ?? 10_000) / SLICES;
    this.now = options.now ?? Date.now;
  }

  /** Counts one logical call (not its retries). */
  recordCall(): void {
    this.calls[this.roll()]!++;
  }

  /** Takes one retry from the budget; false when it is spent. */
  tryRetry(): boolean {
    const i = this.roll();
    const calls = this.calls.reduce((a, b) => a + b, 0);
    const retries = this.retries.reduce((a, b) => a + b, 0);
    if (retries + 1 > this.minRetries + this.ratio * calls) return false;
    this.retries[i]!++;
    return true;
  }

  stats(): { calls: number; retries: number } {
    this.roll();
    return { calls: this.calls.reduce((a, b) => a + b, 0), retries: this.retries.reduce((a, b) => a + b, 0) };
  }

  private roll(): number {
    const s = Math.floor(this.now() / this.sliceMs);
    if (this.slice === -1) this.slice = s;
    const steps = Math.min(SLICES, s - this.slice);
    for (let k = 1; k <= steps; k++) {
      const j = (this.slice + k) % SLICES;
      this.calls[j] = 0;
      this.retries[j] = 0;
    }
    if (steps > 0) this.slice = s;
    return s % SLICES;
  }
}
