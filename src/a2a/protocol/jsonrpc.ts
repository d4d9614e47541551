/** JSON-RPC 2.0 envelopes. */
import { A2AProtocolError } from './errors.js';
import { isObject } from './validate.js';

export type JsonRpcId = string | number | null;

export interface JsonRpcRequest {
  id: JsonRpcId;
  method: string;
  params: unknown;
}

/** Best-effort id of a (possibly invalid) request, so error responses can echo it. */
export function requestIdOf(body: unknown): JsonRpcId {
  if (isObject(body)) {
    const id = body.id;
    if (typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))) return id;
  }
  return null;
}

/** Validates the envelope; throws -32600 when it is not a JSON-RPC 2.0 request. */
export function parseJsonRpcRequest(body: unknown): JsonRpcRequest {
  if (Array.isArray(body)) throw new A2AProtocolError('INVALID_REQUEST', { message: 'Batch requests are not supported' });
  if (!isObject(body)) throw new A2AProtocolError('INVALID_REQUEST', { message: 'The request must be a JSON object' });
  if (body.jsonrpc !== '2.0') throw new A2AProtocolError('INVALID_REQUEST', { message: 'jsonrpc must be "2.0"' });
  const id = body.id;
  if (id !== undefined && id !== null && typeof id !== 'string' && !(typeof id === 'number' && Number.isFinite(id))) {
    throw new A2AProtocolError('INVALID_REQUEST', { message: 'id must be a string, a number or null' });
  }
  if (typeof body.method !== 'string' || body.method.length === 0) {
    throw new A2AProtocolError('INVALID_REQUEST', { message: 'method must be a non-empty string' });
  }
  return { id: id ?? null, method: body.method, params: body.params };
}

export function jsonRpcResult(id: JsonRpcId, result: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', id, result });
}

export function jsonRpcError(id: JsonRpcId, error: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error });
}
