/**
 * The three wire dialects the client speaks, behind one small interface:
 * JSON-RPC v1.0, HTTP+JSON/REST v1.0, and JSON-RPC v0.3 (`message/send`, `kind`).
 */
import { A2A_CONTENT_TYPE, JSON_CONTENT_TYPE, SSE_CONTENT_TYPE } from '../protocol/constants.js';
import { sendRequestToLegacy, streamResponseFromLegacy, taskFromLegacy } from '../protocol/legacy.js';
import type { SendMessageRequest, StreamResponse, Task } from '../protocol/types.js';
import { isObject } from '../protocol/validate.js';
import { readSse } from './sse-reader.js';
import { fromWireError } from './wire-errors.js';

export interface HttpContext {
  fetch: typeof fetch;
  headers: Record<string, string>;
  signal: AbortSignal;
  agentUrl: string;
  /** Counts bytes for the remote_call events. */
  bytes: { sent: number; received: number };
}

export interface WireEvent {
  event: StreamResponse;
  /** The SSE id (the server's event-log seq), when it sent one. */
  id?: string;
}

export interface WireBinding {
  readonly name: 'JSONRPC' | 'HTTP+JSON' | 'GRPC';
  readonly version: '1.0' | '0.3';
  send(req: SendMessageRequest, http: HttpContext): Promise<StreamResponse>;
  stream(req: SendMessageRequest, http: HttpContext): AsyncGenerator<WireEvent>;
  getTask(id: string, historyLength: number | undefined, http: HttpContext): Promise<Task>;
  cancel(id: string, http: HttpContext): Promise<Task>;
  subscribe(id: string, lastEventId: string | undefined, http: HttpContext): AsyncGenerator<WireEvent>;
}

async function readJson(res: Response, http: HttpContext, method: string): Promise<unknown> {
  const text = await res.text();
  http.bytes.received += Buffer.byteLength(text);
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw fromWireError({ code: -32006, message: `Invalid JSON from the agent (HTTP ${res.status})` }, { httpStatus: res.status, agentUrl: http.agentUrl, method });
    void cause;
  }
}

function isSse(res: Response): boolean {
  return res.headers.get('content-type')?.startsWith(SSE_CONTENT_TYPE) === true;
}

// ---------------------------------------------------------------- JSON-RPC (v1.0 and v0.3)

let rpcIds = 0;

class JsonRpcBinding implements WireBinding {
  readonly name = 'JSONRPC' as const;
  constructor(
    private readonly endpoint: string,
    readonly version: '1.0' | '0.3',
  ) {}

  private method(v1: string, legacy: string): string {
    return this.version === '0.3' ? legacy : v1;
  }

  private async post(method: string, params: unknown, http: HttpContext, accept: string, extraHeaders?: Record<string, string>): Promise<{ res: Response; id: number }> {
    const id = ++rpcIds;
    const body = JSON.stringify({ jsonrpc: '2.0', id, method, params });
    http.bytes.sent += Buffer.byteLength(body);
    const res = await http.fetch(this.endpoint, {
      method: 'POST',
      headers: { ...http.headers, ...extraHeaders, 'Content-Type': JSON_CONTENT_TYPE, Accept: accept },
      body,
      signal: http.signal,
    });
    return { res, id };
  }

  private async call(v1: string, legacy: string, params: unknown, http: HttpContext): Promise<unknown> {
    const method = this.method(v1, legacy);
    const { res } = await this.post(method, params, http, JSON_CONTENT_TYPE);
    const json = await readJson(res, http, method);
    if (isObject(json) && json.error !== undefined) throw fromWireError(json.error, { httpStatus: res.status, agentUrl: http.agentUrl, method });
    if (!res.ok || !isObject(json) || !('result' in json)) {
      throw fromWireError({ message: `Unexpected response to ${method} (HTTP ${res.status})` }, { httpStatus: res.status, agentUrl: http.agentUrl, method });
    }
    return json.result;
  }

  async send(req: SendMessageRequest, http: HttpContext): Promise<StreamResponse> {
    const result = await this.call('SendMessage', 'message/send', this.version === '0.3' ? sendRequestToLegacy(req) : req, http);
    if (this.version === '0.3') return streamResponseFromLegacy(result);
    if (isObject(result) && (isObject(result.task) || isObject(result.message))) return result as StreamResponse;
    throw fromWireError({ code: -32006, message: 'SendMessage result has neither task nor message' }, { agentUrl: http.agentUrl, method: 'SendMessage' });
  }

  async getTask(id: string, historyLength: number | undefined, http: HttpContext): Promise<Task> {
    const params: Record<string, unknown> = { id };
    if (historyLength !== undefined) params.historyLength = historyLength;
    const result = await this.call('GetTask', 'tasks/get', params, http);
    return this.version === '0.3' ? taskFromLegacy(result) : (result as Task);
  }

  async cancel(id: string, http: HttpContext): Promise<Task> {
    const result = await this.call('CancelTask', 'tasks/cancel', { id }, http);
    return this.version === '0.3' ? taskFromLegacy(result) : (result as Task);
  }

  stream(req: SendMessageRequest, http: HttpContext): AsyncGenerator<WireEvent> {
    return this.openStream(this.method('SendStreamingMessage', 'message/stream'), this.version === '0.3' ? sendRequestToLegacy(req) : req, http);
  }

  subscribe(id: string, lastEventId: string | undefined, http: HttpContext): AsyncGenerator<WireEvent> {
    return this.openStream(this.method('SubscribeToTask', 'tasks/resubscribe'), { id }, http, lastEventId === undefined ? undefined : { 'Last-Event-ID': lastEventId });
  }

  private async *openStream(method: string, params: unknown, http: HttpContext, extraHeaders?: Record<string, string>): AsyncGenerator<WireEvent> {
    const { res, id } = await this.post(method, params, http, SSE_CONTENT_TYPE, extraHeaders);
    if (!isSse(res)) {
      const json = await readJson(res, http, method);
      throw fromWireError(isObject(json) ? json.error : undefined, { httpStatus: res.status, agentUrl: http.agentUrl, method });
    }
    for await (const msg of readSse(res)) {
      http.bytes.received += Buffer.byteLength(msg.data);
      let frame: unknown;
      try {
        frame = JSON.parse(msg.data);
      } catch {
        throw fromWireError({ code: -32006, message: 'Invalid JSON in an SSE event' }, { agentUrl: http.agentUrl, method });
      }
      if (!isObject(frame)) continue;
      if (frame.error !== undefined) throw fromWireError(frame.error, { agentUrl: http.agentUrl, method });
      if (frame.id !== undefined && frame.id !== null && frame.id !== id) continue; // not ours
      const event = this.version === '0.3' ? streamResponseFromLegacy(frame.result) : (frame.result as StreamResponse);
      yield msg.id === undefined ? { event } : { event, id: msg.id };
    }
  }
}

// ---------------------------------------------------------------- REST v1.0

class RestBinding implements WireBinding {
  readonly name = 'HTTP+JSON' as const;
  readonly version = '1.0' as const;
  private readonly base: string;
  constructor(endpoint: string) {
    this.base = endpoint.replace(/\/+$/, '');
  }

  private async request(method: string, path: string, body: unknown, http: HttpContext, op: string): Promise<unknown> {
    const init: RequestInit = { method, headers: { ...http.headers, Accept: A2A_CONTENT_TYPE }, signal: http.signal };
    if (body !== undefined) {
      const text = JSON.stringify(body);
      http.bytes.sent += Buffer.byteLength(text);
      init.body = text;
      init.headers = { ...(init.headers as Record<string, string>), 'Content-Type': A2A_CONTENT_TYPE };
    }
    const res = await http.fetch(this.base + path, init);
    const json = await readJson(res, http, op);
    if (!res.ok) throw fromWireError(isObject(json) ? json.error : undefined, { httpStatus: res.status, agentUrl: http.agentUrl, method: op });
    return json;
  }

  async send(req: SendMessageRequest, http: HttpContext): Promise<StreamResponse> {
    return (await this.request('POST', '/message:send', req, http, 'SendMessage')) as StreamResponse;
  }

  async getTask(id: string, historyLength: number | undefined, http: HttpContext): Promise<Task> {
    const q = historyLength === undefined ? '' : `?historyLength=${historyLength}`;
    return (await this.request('GET', `/tasks/${encodeURIComponent(id)}${q}`, undefined, http, 'GetTask')) as Task;
  }

  async cancel(id: string, http: HttpContext): Promise<Task> {
    return (await this.request('POST', `/tasks/${encodeURIComponent(id)}:cancel`, undefined, http, 'CancelTask')) as Task;
  }

  stream(req: SendMessageRequest, http: HttpContext): AsyncGenerator<WireEvent> {
    return this.openStream('/message:stream', req, http, 'SendStreamingMessage');
  }

  subscribe(id: string, lastEventId: string | undefined, http: HttpContext): AsyncGenerator<WireEvent> {
    const h = lastEventId === undefined ? http : { ...http, headers: { ...http.headers, 'Last-Event-ID': lastEventId } };
    return this.openStream(`/tasks/${encodeURIComponent(id)}:subscribe`, undefined, h, 'SubscribeToTask');
  }

  private async *openStream(path: string, body: unknown, http: HttpContext, op: string): AsyncGenerator<WireEvent> {
    const headers: Record<string, string> = { ...http.headers, Accept: SSE_CONTENT_TYPE };
    let text: string | undefined;
    if (body !== undefined) {
      text = JSON.stringify(body);
      http.bytes.sent += Buffer.byteLength(text);
      headers['Content-Type'] = A2A_CONTENT_TYPE;
    }
    const res = await http.fetch(this.base + path, { method: 'POST', headers, body: text ?? null, signal: http.signal });
    if (!res.ok || !isSse(res)) {
      const json = await readJson(res, http, op);
      throw fromWireError(isObject(json) ? json.error : undefined, { httpStatus: res.status, agentUrl: http.agentUrl, method: op });
    }
    for await (const msg of readSse(res)) {
      http.bytes.received += Buffer.byteLength(msg.data);
      const data: unknown = JSON.parse(msg.data);
      if (msg.event === 'error') throw fromWireError(isObject(data) ? data.error : data, { agentUrl: http.agentUrl, method: op });
      yield msg.id === undefined ? { event: data as StreamResponse } : { event: data as StreamResponse, id: msg.id };
    }
  }
}

export function createBinding(name: string, url: string, version: '1.0' | '0.3'): WireBinding | undefined {
  if (name.toUpperCase() === 'JSONRPC') return new JsonRpcBinding(url, version);
  if (name.toUpperCase() === 'HTTP+JSON' && version === '1.0') return new RestBinding(url);
  return extraBindings.get(name.toUpperCase())?.(url, version);
}

const extraBindings = new Map<string, (url: string, version: '1.0' | '0.3') => WireBinding | undefined>();

/** Adds a `protocolBinding` the client can pick from a card (the gRPC binding registers itself with `useA2AGrpcBinding()`). */
export function registerWireBinding(name: string, factory: (url: string, version: '1.0' | '0.3') => WireBinding | undefined): void {
  extraBindings.set(name.toUpperCase(), factory);
}
