/**
 * A circuit breaker per instance: closed → open (after the trip rule fires) →
 * half-open (after `halfOpenAfterMs`, one trial call at a time) → closed on a
 * successful trial, open again on a failed one.
 *
 * The trip rule is cockatiel's (`ConsecutiveBreaker`, `SamplingBreaker`,
 * `CountBreaker`, or any `IBreaker`). The state machine is our own, because
 * cockatiel's `CircuitBreakerPolicy` only changes state inside `execute(fn)`
 * around one promise: a balanced transport must (a) see that an open breaker is
 * due for a trial *before* it chooses an instance, so the selector can route
 * the trial there, (b) record the outcome of a stream that spans many events,
 * and (c) use the runtime's clock in tests and report transitions as events.
 */
import { CircuitState, ConsecutiveBreaker, type IBreaker } from '../peers/cockatiel.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** The trip rule, made per instance. Default `() => new ConsecutiveBreaker(3)`. */
  trip?: () => IBreaker;
  /** Time an open breaker waits before it lets one trial through. Default 5 s. */
  halfOpenAfterMs?: number;
}

export type Admission = 'pass' | 'trial' | 'blocked';

export class InstanceBreaker {
  private current: BreakerState = 'closed';
  private openedAt = 0;
  private trialInFlight = false;
  private readonly rule: IBreaker;
  private readonly halfOpenAfterMs: number;

  constructor(
    options: BreakerOptions,
    private readonly now: () => number,
    private readonly onChange: (state: BreakerState, reason: string) => void,
  ) {
    this.rule = options.trip ? options.trip() : new ConsecutiveBreaker(3);
    this.halfOpenAfterMs = options.halfOpenAfterMs ?? 5_000;
  }

  get state(): BreakerState {
    return this.current;
  }

  /** Would a call be let through now (without taking the trial slot)? */
  canPass(): boolean {
    if (this.current === 'closed') return true;
    if (this.trialInFlight) return false;
    return this.current === 'half-open' || this.now() - this.openedAt >= this.halfOpenAfterMs;
  }

  /** Lets a call through: `pass` when closed, `trial` when it is the half-open trial. */
  admit(): Admission {
    if (this.current === 'closed') return 'pass';
    if (!this.canPass()) return 'blocked';
    if (this.current === 'open') {
      this.current = 'half-open';
      this.onChange('half-open', 'timer');
    }
    this.trialInFlight = true;
    return 'trial';
  }

  success(admission: Admission): void {
    if (admission === 'trial') {
      this.trialInFlight = false;
      this.rule.success(CircuitState.HalfOpen);
      this.current = 'closed';
      this.onChange('closed', 'trial succeeded');
      return;
    }
    this.rule.success(CircuitState.Closed);
  }

  failure(admission: Admission, reason: string): void {
    if (admission === 'trial') {
      this.trialInFlight = false;
      this.rule.failure(CircuitState.HalfOpen);
      this.open(`trial failed: ${reason}`);
      return;
    }
    if (this.current === 'closed' && this.rule.failure(CircuitState.Closed)) this.open(reason);
  }

  /** A trial that ended without a verdict (the caller cancelled): free the slot. */
  release(admission: Admission): void {
    if (admission === 'trial') this.trialInFlight = false;
  }

  private open(reason: string): void {
    this.current = 'open';
    this.openedAt = this.now();
    this.onChange('open', reason);
  }
}
