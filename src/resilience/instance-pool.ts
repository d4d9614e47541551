/**
 * The caller's view of the registry: live entries (read every `refreshMs`),
 * validated, with this caller's health marking, in-flight counts, latency
 * EWMA and one circuit breaker per instance.
 *
 * Health: an instance is marked down when its heartbeat sequence has not moved
 * for `missedHeartbeats` × its `heartbeatMs` (clock-skew free: the caller times
 * the sequence with its own clock), or after `unhealthyAfter` consecutive
 * connection-level failures, or when its entry leaves the registry. It comes
 * back up after a successful probe (GET of its agent card, time-bound).
 */
import type { AgentRegistry, LiveAgentInstance } from '../protocols/agent-registry.js';
import { checkAgentInstance } from '../registry/validate.js';
import { InstanceBreaker, type BreakerOptions } from './breaker.js';
import type { ResilienceEvent, ResilienceEventSink } from './events.js';
import type { Candidate } from './strategies.js';

export interface HealthOptions {
  /** Heartbeat periods without a new heartbeat before an instance is down. Default 1.5. */
  missedHeartbeats?: number;
  /** Consecutive connection failures before an instance is down. Default 3. */
  unhealthyAfter?: number;
  /** How often a down instance is probed. Default 1 s. */
  probeIntervalMs?: number;
  /** Bound on one probe. Default 1 s. */
  probeTimeoutMs?: number;
  /** Default: GET `<url>/.well-known/agent-card.json` answers 2xx. */
  probe?: (url: string, signal: AbortSignal) => Promise<boolean>;
}

export interface InstancePoolOptions {
  registry: AgentRegistry;
  events: ResilienceEventSink;
  health?: HealthOptions;
  breaker?: BreakerOptions | false;
  /** How often the registry is read. Default 250 ms. */
  refreshMs?: number;
  now?: () => number;
}

export class InstanceState {
  up = true;
  downReason: string | undefined;
  seqSeenAt: number;
  consecutiveErrors = 0;
  inflight = 0;
  latencyMs: number | undefined;
  latencyAt = 0;
  probing = false;
  lastProbeAt = 0;
  constructor(
    public entry: LiveAgentInstance,
    readonly breaker: InstanceBreaker | undefined,
    now: number,
  ) {
    this.seqSeenAt = now;
  }
  get id(): string {
    return this.entry.id;
  }
  get saturated(): boolean {
    return this.entry.load.inflight + this.entry.load.queueDepth + this.inflight >= this.entry.capacity;
  }
}

const EWMA_ALPHA = 0.3;

/** The promise's value, or a rejection as soon as `signal` aborts (the promise is left to settle on its own). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('closed'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
const LATENCY_DECAY_MS = 10_000;

async function defaultProbe(url: string, signal: AbortSignal): Promise<boolean> {
  const res = await fetch(new URL('/.well-known/agent-card.json', url), { signal });
  await res.body?.cancel();
  return res.ok;
}

export class InstancePool {
  readonly instances = new Map<string, InstanceState>();
  private readonly invalid = new Map<string, number>();
  private readonly ac = new AbortController();
  private readonly now: () => number;
  private readonly first: Promise<void>;
  private markFirst!: () => void;
  private timer: ReturnType<typeof setInterval> | undefined;
  private loop: Promise<void> | undefined;
  private registryOk = true;

  constructor(private readonly options: InstancePoolOptions) {
    this.now = options.now ?? Date.now;
    this.first = new Promise((r) => (this.markFirst = r));
  }

  /** Starts reading (idempotent); resolves once the first registry read is in (or failed). */
  ready(): Promise<void> {
    if (!this.loop) {
      this.loop = this.watch();
      const every = this.options.refreshMs ?? 250;
      this.timer = setInterval(() => this.check(), Math.max(20, Math.floor(every / 2)));
      this.timer.unref?.();
    }
    return this.first;
  }

  async close(): Promise<void> {
    this.ac.abort();
    if (this.timer) clearInterval(this.timer);
    this.markFirst();
    await this.loop;
  }

  private emit(e: Omit<ResilienceEvent, 'ts'>): void {
    try {
      this.options.events({ ts: this.now(), ...e });
    } catch {
      // a failing sink must not break calls
    }
  }

  /**
   * Reads the registry every `refreshMs` and applies the differences. It lists
   * rather than `watch`es so it knows when a read failed: while the registry
   * cannot be read, nobody is marked down for missed heartbeats (an outage of
   * the registry must not take every instance out), and after it recovers the
   * heartbeat clocks restart.
   */
  private async watch(): Promise<void> {
    const every = this.options.refreshMs ?? 250;
    while (!this.ac.signal.aborted) {
      try {
        const entries = await untilAborted(this.options.registry.list(), this.ac.signal);
        if (this.ac.signal.aborted) return;
        const seen = new Set<string>();
        for (const e of entries) {
          seen.add(String(e.id));
          const known = this.instances.get(e.id);
          this.upsert(e, !known || known.entry.registeredAt !== e.registeredAt);
        }
        for (const id of [...this.instances.keys()]) if (!seen.has(id)) this.remove(id, 'removed');
        if (!this.registryOk) {
          const now = this.now();
          for (const st of this.instances.values()) st.seqSeenAt = Math.max(st.seqSeenAt, now);
        }
        this.registryOk = true;
      } catch {
        this.registryOk = false; // keep the last view; look again
      }
      this.markFirst();
      if (!this.ac.signal.aborted) await pause(every, this.ac.signal);
    }
  }

  private upsert(entry: LiveAgentInstance, added: boolean): void {
    const reason = checkAgentInstance(entry);
    const existing = this.instances.get(entry.id);
    if (reason) {
      if (existing) this.remove(entry.id, 'invalid');
      const stamp = (entry as Partial<LiveAgentInstance>).registeredAt ?? 0;
      if (this.invalid.get(entry.id) !== stamp) {
        this.invalid.set(entry.id, stamp);
        if (this.invalid.size > 10_000) this.invalid.delete(this.invalid.keys().next().value!);
        this.emit({ type: 'registry_entry_invalid', instanceId: String(entry.id), reason });
      }
      return;
    }
    this.invalid.delete(entry.id);
    const now = this.now();
    if (!existing || (added && existing.entry.registeredAt !== entry.registeredAt)) {
      if (existing) this.remove(entry.id, 'replaced');
      const breaker =
        this.options.breaker === false
          ? undefined
          : new InstanceBreaker(this.options.breaker ?? {}, this.now, (st, why) =>
              this.emit({ type: st === 'open' ? 'breaker_open' : st === 'half-open' ? 'breaker_half_open' : 'breaker_closed', instanceId: entry.id, url: entry.url, reason: why }),
            );
      const state = new InstanceState(entry, breaker, now);
      this.instances.set(entry.id, state);
      this.emit({ type: 'remote_instance_up', instanceId: entry.id, url: entry.url, reason: 'registered', extra: { name: entry.name } });
      return;
    }
    if (entry.heartbeatSeq !== existing.entry.heartbeatSeq) {
      existing.seqSeenAt = now;
      if (!existing.up && existing.downReason === 'heartbeat') this.probeSoon(existing);
    }
    existing.entry = entry;
  }

  private remove(id: string, reason: string): void {
    const s = this.instances.get(id);
    if (!s) return;
    this.instances.delete(id);
    if (s.up) this.emit({ type: 'remote_instance_down', instanceId: id, url: s.entry.url, reason });
  }

  private markDown(s: InstanceState, reason: string): void {
    if (!s.up) return;
    s.up = false;
    s.downReason = reason;
    this.emit({ type: 'remote_instance_down', instanceId: s.id, url: s.entry.url, reason, extra: { consecutiveErrors: s.consecutiveErrors } });
  }

  private markUp(s: InstanceState, reason: string): void {
    if (s.up) return;
    s.up = true;
    s.downReason = undefined;
    s.consecutiveErrors = 0;
    this.emit({ type: 'remote_instance_up', instanceId: s.id, url: s.entry.url, reason });
  }

  /** Periodic: heartbeat staleness and probes of down instances. */
  private check(): void {
    const now = this.now();
    const missed = this.options.health?.missedHeartbeats ?? 1.5;
    const probeEvery = this.options.health?.probeIntervalMs ?? 1_000;
    for (const s of this.instances.values()) {
      if (this.registryOk && s.up && now - s.seqSeenAt > missed * s.entry.heartbeatMs) this.markDown(s, 'heartbeat');
      if (!s.up && now - s.lastProbeAt >= probeEvery && (s.downReason !== 'heartbeat' || now - s.seqSeenAt <= missed * s.entry.heartbeatMs)) this.probeSoon(s);
    }
  }

  private probeSoon(s: InstanceState): void {
    if (s.probing) return;
    s.probing = true;
    s.lastProbeAt = this.now();
    const probe = this.options.health?.probe ?? defaultProbe;
    const signal = AbortSignal.any([AbortSignal.timeout(this.options.health?.probeTimeoutMs ?? 1_000), this.ac.signal]);
    probe(s.entry.url, signal)
      .catch(() => false)
      .then((ok) => {
        s.probing = false;
        const fresh = this.now() - s.seqSeenAt <= (this.options.health?.missedHeartbeats ?? 1.5) * s.entry.heartbeatMs;
        if (ok && fresh && this.instances.get(s.id) === s) this.markUp(s, 'probe');
      }, () => undefined);
  }

  /** Live, valid instances of a target (up or down). */
  members(target: { name?: string; skill?: string }): InstanceState[] {
    const out: InstanceState[] = [];
    for (const s of this.instances.values()) {
      if (target.name !== undefined && s.entry.name !== target.name) continue;
      if (target.skill !== undefined && !s.entry.skills.includes(target.skill)) continue;
      out.push(s);
    }
    return out;
  }

  candidate(s: InstanceState): Candidate {
    const labels = s.entry.labels ?? {};
    const tier = Number(labels.tier ?? 0);
    return {
      id: s.id,
      url: s.entry.url,
      capacity: s.entry.capacity,
      reported: s.entry.load,
      inflight: s.inflight,
      latencyMs: this.latency(s),
      tier: Number.isFinite(tier) ? tier : 0,
      labels,
    };
  }

  private latency(s: InstanceState): number | undefined {
    if (s.latencyMs === undefined) return undefined;
    const known = [...this.instances.values()].map((x) => x.latencyMs).filter((l): l is number => l !== undefined);
    const mean = known.reduce((a, b) => a + b, 0) / known.length;
    const w = Math.exp(-(this.now() - s.latencyAt) / LATENCY_DECAY_MS);
    return mean + (s.latencyMs - mean) * w;
  }

  /** The instance answered (any protocol-level answer counts). */
  succeeded(s: InstanceState, latencyMs: number): void {
    s.consecutiveErrors = 0;
    s.latencyMs = s.latencyMs === undefined ? latencyMs : s.latencyMs + EWMA_ALPHA * (latencyMs - s.latencyMs);
    s.latencyAt = this.now();
    if (!s.up && s.downReason === 'errors') this.markUp(s, 'call succeeded');
  }

  /** A connection-level failure (refused, reset, timeout, 5xx). */
  failed(s: InstanceState, latencyMs: number): void {
    s.consecutiveErrors++;
    s.latencyMs = s.latencyMs === undefined ? latencyMs : Math.max(s.latencyMs, latencyMs);
    s.latencyAt = this.now();
    if (s.consecutiveErrors >= (this.options.health?.unhealthyAfter ?? 3)) this.markDown(s, 'errors');
  }
}
