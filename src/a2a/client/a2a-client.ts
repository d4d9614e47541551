/**
 * `createA2AClient`: a RemoteTransport that speaks A2A v1.0 (JSON-RPC or
 * HTTP+JSON) and the v0.3 JSON-RPC dialect, picked from the agent card.
 *
 * - Discovery from a base URL or a full card URL, falling back to
 *   `/.well-known/agent.json`; cards are cached (`cardTtlMs`).
 * - `A2A-Version` on every request; tenant, trace id and deadline travel as
 *   `X-Penguiflow-*` headers and in the penguiflow extension metadata.
 * - Every call is bounded by `timeoutMs`, the message deadline and the
 *   caller's `signal`. Connections are reused (Node's fetch keeps them alive).
 * - Wire errors become typed PenguiflowErrors that keep the A2A code and reason.
 */
import { DeadlineExceededError, findPenguiflowError, ForbiddenError, RemoteError } from '../../errors/index.js';
import { createGuardedFetch } from '../../security/guarded-fetch.js';
import type { Message } from '../../core/message.js';
import type { RemoteCallRequest, RemoteCallResult, RemoteStreamEvent, RemoteTaskState, RemoteTransport } from '../../protocols/remote-transport.js';
import {
  A2A_EXTENSIONS_HEADER,
  A2A_VERSION_HEADER,
  AGENT_CARD_PATH,
  DEADLINE_HEADER,
  LEGACY_AGENT_CARD_PATH,
  PENGUIFLOW_EXTENSION_URI,
  TENANT_HEADER,
  TRACE_HEADER,
} from '../protocol/constants.js';
import { cardFromAny } from '../protocol/legacy.js';
import { joinTextParts, partsToPayload, payloadToParts } from '../protocol/payload.js';
import { INTERRUPTED_WIRE_STATES, TERMINAL_WIRE_STATES, type AgentCard, type Artifact, type Part, type SendMessageRequest, type StreamResponse, type Task, type WireTaskState } from '../protocol/types.js';
import { createBinding, type HttpContext, type WireBinding } from './bindings.js';
import { fromTransportFailure } from './wire-errors.js';

export interface A2AClientOptions {
  /** Per-call budget when the request gives none. Default 30 s. */
  timeoutMs?: number;
  /** Preferred binding. Default: the card's order, v1.0 first. */
  binding?: 'JSONRPC' | 'HTTP+JSON' | 'GRPC';
  /** '0.3' forces the v0.3 JSON-RPC dialect; default picks 1.0 when the card offers it. */
  protocolVersion?: '1.0' | '0.3';
  /** Extra headers (e.g. Authorization) on every request. */
  headers?: Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);
  fetch?: typeof fetch;
  /**
   * Checked before every connection the client makes: the card URL, every
   * interface URL the card names (including gRPC targets, as `http://host:port`)
   * and each request. Redirects are never followed, so a 3xx cannot lead
   * elsewhere. `allowlistTransport` sets it from an allowlist.
   */
  allowUrl?: (url: URL) => boolean | Promise<boolean>;
  /** Largest response body (JSON reply; the card at most 1 MiB); past it PAYLOAD_TOO_LARGE. SSE streams are bounded per event. Default 16 MiB. */
  maxResponseBytes?: number;
  /** How long a fetched card is reused. Default 5 min. */
  cardTtlMs?: number;
  /** Payload → parts (default: string → text part, else data part). */
  encode?: (payload: unknown) => Part[];
  /** Parts → payload (default: one text/data part → the value, else `Part[]`). */
  decode?: (parts: Part[]) => unknown;
}

/** Largest agent card read. */
const MAX_CARD_BYTES = 1024 * 1024;

interface ResolvedAgent {
  card: AgentCard;
  binding: WireBinding;
  fetchedAt: number;
}

const STATE_NAMES: Record<WireTaskState, RemoteTaskState> = {
  TASK_STATE_SUBMITTED: 'submitted',
  TASK_STATE_WORKING: 'working',
  TASK_STATE_COMPLETED: 'completed',
  TASK_STATE_FAILED: 'failed',
  TASK_STATE_CANCELED: 'canceled',
  TASK_STATE_INPUT_REQUIRED: 'input-required',
  TASK_STATE_REJECTED: 'rejected',
  TASK_STATE_AUTH_REQUIRED: 'auth-required',
};

export function remoteState(state: WireTaskState | undefined): RemoteTaskState {
  return (state && STATE_NAMES[state]) ?? 'unknown';
}

interface CallScope {
  http: HttpContext;
  done(): void;
  failure(error: unknown): unknown;
}

/** A2A client transport; see {@link createA2AClient}. */
export class A2AClient implements RemoteTransport {
  private readonly agents = new Map<string, Promise<ResolvedAgent>>();
  private readonly fetchImpl: typeof fetch;
  /** Card discovery: same guard without the URL check (the card URL derives from the agent URL, checked once per discovery). */
  private readonly cardFetch: typeof fetch;
  private readonly encode: (payload: unknown) => Part[];
  private readonly decode: (parts: Part[]) => unknown;

  constructor(private readonly options: A2AClientOptions = {}) {
    // One guarded fetch for every hop: allowlist check, redirects not followed, bounded bodies.
    this.fetchImpl = createGuardedFetch({
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.allowUrl ? { allowUrl: options.allowUrl } : {}),
      ...(options.maxResponseBytes !== undefined ? { maxResponseBytes: options.maxResponseBytes } : {}),
    });
    this.cardFetch = createGuardedFetch({
      ...(options.fetch ? { fetch: options.fetch } : {}),
      maxResponseBytes: Math.min(options.maxResponseBytes ?? MAX_CARD_BYTES, MAX_CARD_BYTES),
    });
    this.encode = options.encode ?? payloadToParts;
    this.decode = options.decode ?? ((parts) => partsToPayload(parts));
  }

  /** A client with the same options whose every connection must also pass `allow` (used by `allowlistTransport`). */
  restrictTo(allow: (url: URL) => boolean | Promise<boolean>): A2AClient {
    const prev = this.options.allowUrl;
    return new A2AClient({ ...this.options, allowUrl: prev ? async (u) => (await prev(u)) && (await allow(u)) : allow });
  }

  // ------------------------------------------------------------ discovery

  /** The agent's card and the binding this client will use for it. */
  async resolve(agentUrl: string, signal?: AbortSignal): Promise<{ card: AgentCard; binding: string; protocolVersion: string; url: string }> {
    const a = await this.agent(agentUrl, signal);
    return { card: a.card, binding: a.binding.name, protocolVersion: a.binding.version, url: agentUrl };
  }

  private agent(agentUrl: string, signal?: AbortSignal): Promise<ResolvedAgent> {
    const cached = this.agents.get(agentUrl);
    if (cached) {
      return cached.then((a) => {
        if (Date.now() - a.fetchedAt < (this.options.cardTtlMs ?? 300_000)) return a;
        this.agents.delete(agentUrl);
        return this.agent(agentUrl, signal);
      });
    }
    const p = this.discover(agentUrl, signal);
    this.agents.set(agentUrl, p);
    p.catch(() => this.agents.delete(agentUrl));
    return p;
  }

  private async discover(agentUrl: string, signal?: AbortSignal): Promise<ResolvedAgent> {
    const allow = this.options.allowUrl;
    if (allow && !(await allow(new URL(agentUrl)))) {
      throw new ForbiddenError('Remote agent URL is not on the allowlist', { retryable: false, details: { agentUrl, reason: 'AGENT_URL_NOT_ALLOWED' } });
    }
    // the well-known card paths are on the agent URL's own origin
    const candidates = agentUrl.endsWith('.json')
      ? [agentUrl]
      : [new URL(AGENT_CARD_PATH, agentUrl).href, new URL(LEGACY_AGENT_CARD_PATH, agentUrl).href];
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 30_000);
    const sig = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let lastStatus = 0;
    for (const url of candidates) {
      let res: Response;
      try {
        res = await this.cardFetch(url, { headers: { [A2A_VERSION_HEADER]: '1.0', ...(await this.extraHeaders()) }, signal: sig });
      } catch (error) {
        throw fromTransportFailure(error, { agentUrl, method: 'GetAgentCard', callerSignal: signal, timedOut: timeout.aborted, byDeadline: false, timeoutMs: this.options.timeoutMs ?? 30_000 });
      }
      lastStatus = res.status;
      if (res.status === 404) {
        await res.body?.cancel();
        continue;
      }
      if (!res.ok) break;
      let body: unknown;
      try {
        body = await res.json();
      } catch (error) {
        const typed = findPenguiflowError(error); // a bounded body that overflowed (fetch wraps it in a TypeError)
        if (typed) throw typed;
        throw new RemoteError(`The agent card at ${url} is not JSON`, { retryable: false, cause: error, details: { agentUrl, reason: 'INVALID_AGENT_RESPONSE' } });
      }
      const card = cardFromAny(body);
      return { card, binding: await this.pickBinding(card, agentUrl), fetchedAt: Date.now() };
    }
    throw new RemoteError(`No agent card at ${agentUrl} (HTTP ${lastStatus})`, { retryable: lastStatus >= 500, details: { agentUrl, httpStatus: lastStatus } });
  }

  /** An interface URL the client may connect to (gRPC targets are `host:port`). */
  private async interfaceAllowed(url: string, binding: string): Promise<boolean> {
    const allow = this.options.allowUrl;
    if (!allow) return true;
    let parsed: URL;
    try {
      parsed = new URL(binding.toUpperCase() === 'GRPC' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? `http://${url}` : url);
    } catch {
      return false;
    }
    if (await allow(parsed)) return true;
    if (binding.toUpperCase() !== 'GRPC') return false;
    parsed.protocol = 'https:';
    return allow(parsed);
  }

  private async pickBinding(card: AgentCard, agentUrl: string): Promise<WireBinding> {
    const wantVersion = this.options.protocolVersion;
    const ifaces = card.supportedInterfaces.map((i) => ({ ...i, version: i.protocolVersion.startsWith('0.') ? ('0.3' as const) : ('1.0' as const) }));
    const ordered = [...ifaces].sort((a, b) => {
      const score = (x: (typeof ifaces)[number]) =>
        (wantVersion ? (x.version === wantVersion ? 0 : 10) : x.version === '1.0' ? 0 : 5) + (this.options.binding && x.protocolBinding.toUpperCase() !== this.options.binding ? 2 : 0);
      return score(a) - score(b);
    });
    let refused = 0;
    for (const i of ordered) {
      if (wantVersion && i.version !== wantVersion) continue;
      // the card is data from the peer: an interface outside the allowlist is never connected to
      if (!(await this.interfaceAllowed(i.url, i.protocolBinding))) {
        refused++;
        continue;
      }
      const b = createBinding(i.protocolBinding, i.url, i.version);
      if (b) return b;
    }
    if (refused > 0) {
      throw new ForbiddenError(`The agent card at ${agentUrl} names only interfaces outside the allowlist`, {
        retryable: false,
        details: { agentUrl, reason: 'AGENT_URL_NOT_ALLOWED', refusedInterfaces: refused },
      });
    }
    throw new RemoteError(`The agent at ${agentUrl} offers no binding this client speaks`, {
      retryable: false,
      details: { agentUrl, offered: card.supportedInterfaces.map((i) => `${i.protocolBinding}@${i.protocolVersion}`) },
    });
  }

  private async extraHeaders(): Promise<Record<string, string>> {
    const h = this.options.headers;
    if (h === undefined) return {};
    return typeof h === 'function' ? h() : h;
  }

  // ------------------------------------------------------------ per-call scope

  private async scope(agentUrl: string, method: string, binding: WireBinding, msg: Message | undefined, tenant: string | undefined, timeoutMs: number | undefined, signal: AbortSignal | undefined): Promise<CallScope> {
    const budget = timeoutMs ?? this.options.timeoutMs ?? 30_000;
    const deadline = msg?.deadline;
    const remaining = deadline === undefined ? Infinity : deadline - Date.now();
    if (remaining <= 0) throw new DeadlineExceededError(`The deadline passed before ${method}`, { details: { agentUrl, method } });
    const byDeadline = remaining < budget;
    const ms = Math.max(1, Math.min(budget, remaining));
    const timer = new AbortController();
    const handle = setTimeout(() => timer.abort(new DOMException('timeout', 'TimeoutError')), ms);
    const sig = signal ? AbortSignal.any([signal, timer.signal]) : timer.signal;
    const headers: Record<string, string> = { ...(await this.extraHeaders()), [A2A_VERSION_HEADER]: binding.version, [A2A_EXTENSIONS_HEADER]: PENGUIFLOW_EXTENSION_URI };
    const t = tenant ?? msg?.headers.tenant;
    if (t) headers[TENANT_HEADER] = t;
    if (msg) headers[TRACE_HEADER] = msg.traceId;
    if (deadline !== undefined) headers[DEADLINE_HEADER] = String(deadline);
    return {
      http: { fetch: this.fetchImpl, headers, signal: sig, agentUrl, bytes: { sent: 0, received: 0 } },
      done: () => clearTimeout(handle),
      failure: (error) => fromTransportFailure(error, { agentUrl, method, callerSignal: signal, timedOut: timer.signal.aborted, byDeadline, timeoutMs: ms }),
    };
  }

  private buildRequest(req: RemoteCallRequest): SendMessageRequest {
    const msg = req.message;
    const ext: Record<string, unknown> = { tenant: msg.headers.tenant, traceId: msg.traceId };
    if (msg.deadline !== undefined) ext.deadline = msg.deadline;
    if (req.skill) ext.skill = req.skill;
    const out: SendMessageRequest = {
      message: {
        messageId: req.idempotencyKey,
        role: 'ROLE_USER',
        parts: this.encode(msg.payload),
        metadata: { [PENGUIFLOW_EXTENSION_URI]: ext },
        extensions: [PENGUIFLOW_EXTENSION_URI],
      },
      configuration: { returnImmediately: false },
    };
    if (req.taskId) out.message.taskId = req.taskId;
    if (req.contextId) out.message.contextId = req.contextId;
    return out;
  }

  // ------------------------------------------------------------ RemoteTransport

  async send(req: RemoteCallRequest): Promise<RemoteCallResult> {
    const agent = await this.agent(req.agentUrl, req.signal);
    const s = await this.scope(req.agentUrl, 'SendMessage', agent.binding, req.message, undefined, req.timeoutMs, req.signal);
    try {
      const response = await agent.binding.send(this.buildRequest(req), s.http);
      let result: RemoteCallResult;
      if ('task' in response) result = this.taskResult(response.task);
      else if ('message' in response) result = { state: 'completed', payload: this.decode(response.message.parts), contextId: response.message.contextId };
      else throw new RemoteError('SendMessage answered with a stream event', { retryable: false, details: { agentUrl: req.agentUrl, reason: 'INVALID_AGENT_RESPONSE' } });
      return { ...result, requestBytes: s.http.bytes.sent, responseBytes: s.http.bytes.received };
    } catch (error) {
      throw s.failure(error);
    } finally {
      s.done();
    }
  }

  async *stream(req: RemoteCallRequest): AsyncGenerator<RemoteStreamEvent, void, undefined> {
    const agent = await this.agent(req.agentUrl, req.signal);
    const s = await this.scope(req.agentUrl, 'SendStreamingMessage', agent.binding, req.message, undefined, req.timeoutMs, req.signal);
    try {
      for await (const { event, id } of agent.binding.stream(this.buildRequest(req), s.http)) {
        const ev = this.streamEvent(event);
        if (id !== undefined) ev.eventId = id;
        yield ev;
        if (ev.final) return;
      }
    } catch (error) {
      throw s.failure(error);
    } finally {
      s.done();
    }
  }

  async cancel(target: { agentUrl: string; taskId: string; tenant?: string; signal?: AbortSignal; timeoutMs?: number }): Promise<void> {
    const agent = await this.agent(target.agentUrl, target.signal);
    const s = await this.scope(target.agentUrl, 'CancelTask', agent.binding, undefined, target.tenant, target.timeoutMs, target.signal);
    try {
      await agent.binding.cancel(target.taskId, s.http);
    } catch (error) {
      const e = s.failure(error);
      // Cancelling a task that already ended is not a failure: the goal is reached (spec §3.3.1).
      if ((e as { details?: { reason?: string } }).details?.reason === 'TASK_NOT_CANCELABLE') return;
      throw e;
    } finally {
      s.done();
    }
  }

  // ------------------------------------------------------------ extras

  async getTask(agentUrl: string, taskId: string, options: { tenant?: string; historyLength?: number; signal?: AbortSignal; timeoutMs?: number } = {}): Promise<Task> {
    const agent = await this.agent(agentUrl, options.signal);
    const s = await this.scope(agentUrl, 'GetTask', agent.binding, undefined, options.tenant, options.timeoutMs, options.signal);
    try {
      return await agent.binding.getTask(taskId, options.historyLength, s.http);
    } catch (error) {
      throw s.failure(error);
    } finally {
      s.done();
    }
  }

  /** SubscribeToTask; with `lastEventId` the server replays what was missed. */
  async *subscribe(agentUrl: string, taskId: string, options: { tenant?: string; lastEventId?: string; signal?: AbortSignal; timeoutMs?: number } = {}): AsyncGenerator<RemoteStreamEvent, void, undefined> {
    const agent = await this.agent(agentUrl, options.signal);
    const s = await this.scope(agentUrl, 'SubscribeToTask', agent.binding, undefined, options.tenant, options.timeoutMs, options.signal);
    try {
      for await (const { event, id } of agent.binding.subscribe(taskId, options.lastEventId, s.http)) {
        const ev = this.streamEvent(event);
        if (id !== undefined) ev.eventId = id;
        yield ev;
        if (ev.final) return;
      }
    } catch (error) {
      throw s.failure(error);
    } finally {
      s.done();
    }
  }

  /** Decodes a task: its artifacts as the payload (one artifact → its value, several → an array). */
  taskResult(task: Task): RemoteCallResult {
    const state = remoteState(task.status.state);
    const artifacts = task.artifacts ?? [];
    let payload: unknown;
    if (state === 'input-required' || state === 'auth-required' || state === 'failed' || artifacts.length === 0) {
      payload = task.status.message ? this.decode(task.status.message.parts) : undefined;
    } else payload = artifacts.length === 1 ? this.artifactPayload(artifacts[0]!) : artifacts.map((a) => this.artifactPayload(a));
    const out: RemoteCallResult = { taskId: task.id, contextId: task.contextId, state, payload };
    if (task.metadata) out.metadata = task.metadata;
    return out;
  }

  private artifactPayload(a: Artifact): unknown {
    return a.parts.length > 1 ? joinTextParts(a.parts) : this.decode(a.parts);
  }

  private streamEvent(sr: StreamResponse): RemoteStreamEvent {
    if ('task' in sr) {
      // A snapshot of an already settled task (e.g. a retried call the server deduplicated) ends the stream.
      const st = sr.task.status.state;
      const ev: RemoteStreamEvent = { kind: 'task', taskId: sr.task.id, contextId: sr.task.contextId, state: remoteState(st), final: TERMINAL_WIRE_STATES.has(st) || INTERRUPTED_WIRE_STATES.has(st) };
      if ((sr.task.artifacts?.length ?? 0) > 0 || ev.final) ev.payload = this.taskResult(sr.task).payload;
      return ev;
    }
    if ('message' in sr) return { kind: 'message', taskId: sr.message.taskId, contextId: sr.message.contextId, payload: this.decode(sr.message.parts), final: true };
    if ('statusUpdate' in sr) {
      const u = sr.statusUpdate;
      const ev: RemoteStreamEvent = { kind: 'status', taskId: u.taskId, contextId: u.contextId, state: remoteState(u.status.state), final: TERMINAL_WIRE_STATES.has(u.status.state) || INTERRUPTED_WIRE_STATES.has(u.status.state) };
      if (u.status.message) ev.payload = this.decode(u.status.message.parts);
      return ev;
    }
    const u = sr.artifactUpdate;
    return {
      kind: 'artifact',
      taskId: u.taskId,
      contextId: u.contextId,
      payload: this.decode(u.artifact.parts),
      final: false,
      artifactId: u.artifact.artifactId,
      append: u.append === true,
      lastChunk: u.lastChunk === true,
    };
  }
}

/**
 * Creates an A2A client transport.
 *
 * @example
 * const a2a = createA2AClient({ timeoutMs: 10_000 });
 * const result = await a2a.send({ agentUrl: 'http://127.0.0.1:8080', message: msg, idempotencyKey: 'k-1' });
 */
export function createA2AClient(options: A2AClientOptions = {}): A2AClient {
  return new A2AClient(options);
}
