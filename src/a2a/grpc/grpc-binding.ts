/**
 * The gRPC binding for `createA2AClient` (and so for `remoteNode`): after
 * `useA2AGrpcBinding()`, a card's `GRPC` interface can be picked like
 * JSON-RPC and REST (`createA2AClient({ binding: 'GRPC' })` prefers it). The
 * client's headers (A2A-Version, tenant, trace, deadline, auth) travel as
 * metadata, its signal (timeout, deadline, caller) cancels the call. One
 * channel per target, shared by every client in the process.
 */
import { registerWireBinding, type HttpContext, type WireBinding, type WireEvent } from '../client/bindings.js';
import type { SendMessageRequest, StreamResponse, Task } from '../protocol/types.js';
import { createA2AGrpcClient, type A2AGrpcClient, type A2AGrpcClientOptions } from './grpc-client.js';

function metadataOf(http: HttpContext): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(http.headers)) out[k.toLowerCase()] = v;
  return out;
}

class GrpcWireBinding implements WireBinding {
  readonly name = 'GRPC' as const;
  readonly version = '1.0' as const;
  constructor(private readonly client: A2AGrpcClient) {}

  private opts(http: HttpContext, req?: unknown) {
    if (req !== undefined) http.bytes.sent += Buffer.byteLength(JSON.stringify(req));
    // the A2A client's signal carries its timeout, the message deadline and the caller's abort
    return { signal: http.signal, metadata: metadataOf(http), timeoutMs: Number.POSITIVE_INFINITY };
  }

  async send(req: SendMessageRequest, http: HttpContext): Promise<StreamResponse> {
    const out = await this.client.sendMessage(req, this.opts(http, req));
    http.bytes.received += Buffer.byteLength(JSON.stringify(out));
    return out;
  }

  async *stream(req: SendMessageRequest, http: HttpContext): AsyncGenerator<WireEvent> {
    for await (const event of this.client.sendMessageStream(req, this.opts(http, req))) yield { event };
  }

  getTask(id: string, historyLength: number | undefined, http: HttpContext): Promise<Task> {
    return this.client.getTask(historyLength === undefined ? { id } : { id, historyLength }, this.opts(http));
  }

  cancel(id: string, http: HttpContext): Promise<Task> {
    return this.client.cancelTask({ id }, this.opts(http));
  }

  async *subscribe(id: string, lastEventId: string | undefined, http: HttpContext): AsyncGenerator<WireEvent> {
    const n = lastEventId === undefined ? undefined : Number(lastEventId);
    const options = Number.isInteger(n) ? { ...this.opts(http), lastEventId: n! } : this.opts(http);
    for await (const event of this.client.subscribeStream({ id }, options)) yield { event };
  }
}

const channels = new Map<string, A2AGrpcClient>();

/**
 * Lets `createA2AClient` speak gRPC to agents whose card lists a `GRPC`
 * interface. Call once per process; `options` (TLS credentials, metadata)
 * apply to every target. Returns a function that closes the channels.
 *
 * @example
 * const closeGrpc = useA2AGrpcBinding();
 * const client = createA2AClient({ binding: 'GRPC' });
 * await client.send({ agentUrl, message, idempotencyKey });
 */
export function useA2AGrpcBinding(options: A2AGrpcClientOptions = {}): () => void {
  registerWireBinding('GRPC', (url, version) => {
    if (version !== '1.0') return undefined;
    let client = channels.get(url);
    if (!client) {
      client = createA2AGrpcClient(url, options);
      channels.set(url, client);
    }
    return new GrpcWireBinding(client);
  });
  return () => {
    for (const c of channels.values()) c.close();
    channels.clear();
  };
}
