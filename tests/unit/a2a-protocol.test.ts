/** A2A codecs without a network: validation, the v0.3 dialect, payloads, error wire forms, REST routes. */
import { describe, expect, it } from 'vitest';
import {
  A2AProtocolError,
  cardFromAny,
  cardToLegacy,
  messageFromLegacy,
  messageToLegacy,
  parseListTasksRequest,
  parseSendMessageRequest,
  partsToPayload,
  payloadToParts,
  streamResponseFromLegacy,
  streamResponseToLegacy,
  toJsonRpcError,
  toRestError,
  fromWireError,
  buildCard,
} from '../../src/a2a/index.js';
import { matchRest } from '../../src/a2a/server/rest-binding.js';
import { isPenguiflowError } from '../../src/errors/index.js';

const reasonOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as A2AProtocolError).reason + ':' + ((e as A2AProtocolError).violations?.[0]?.field ?? '');
  }
  return 'ok';
};

describe('validation', () => {
  it('accepts a minimal v1.0 SendMessageRequest and ignores unknown fields', () => {
    const req = parseSendMessageRequest({ message: { messageId: 'm', role: 'ROLE_USER', parts: [{ text: 'hi', x: 1 }], y: 2 }, z: 3 });
    expect(req).toEqual({ message: { messageId: 'm', role: 'ROLE_USER', parts: [{ text: 'hi' }] } });
  });

  it('names the field of each violation', () => {
    expect(reasonOf(() => parseSendMessageRequest({}))).toBe('INVALID_PARAMS:message');
    expect(reasonOf(() => parseSendMessageRequest({ message: { messageId: 'm', role: 'ROLE_USER', parts: [] } }))).toBe('INVALID_PARAMS:message.parts');
    expect(reasonOf(() => parseSendMessageRequest({ message: { messageId: 'm', role: 'ROLE_USER', parts: [{ url: 1 }] } }))).toBe('INVALID_PARAMS:message.parts[0].url');
    expect(reasonOf(() => parseSendMessageRequest({ message: { messageId: '', role: 'ROLE_USER', parts: [{ text: 'x' }] } }))).toBe('INVALID_PARAMS:message.messageId');
    expect(reasonOf(() => parseListTasksRequest({ status: 'DONE' }))).toBe('INVALID_PARAMS:status');
    expect(reasonOf(() => parseListTasksRequest({ pageSize: '0' }))).toBe('INVALID_PARAMS:pageSize');
    expect(parseListTasksRequest({ pageSize: '20', includeArtifacts: 'true' })).toEqual({ pageSize: 20, includeArtifacts: true });
  });
});

describe('the v0.3 dialect', () => {
  it('round-trips messages, including non-object data parts and files', () => {
    const v1 = { messageId: 'm', role: 'ROLE_AGENT' as const, parts: [{ text: 't' }, { data: [1, 2] }, { url: 'https://x/y.png', mediaType: 'image/png', filename: 'y.png' }] };
    const legacy = messageToLegacy(v1);
    expect(legacy).toMatchObject({ kind: 'message', role: 'agent', parts: [{ kind: 'text' }, { kind: 'data', data: { value: [1, 2] } }, { kind: 'file', file: { uri: 'https://x/y.png', mimeType: 'image/png', name: 'y.png' } }] });
    expect(messageFromLegacy(legacy)).toEqual(v1);
  });

  it('marks settling status updates final and maps states both ways', () => {
    const sr = { statusUpdate: { taskId: 't', contextId: 'c', status: { state: 'TASK_STATE_INPUT_REQUIRED' as const } } };
    const legacy = streamResponseToLegacy(sr);
    expect(legacy).toMatchObject({ kind: 'status-update', final: true, status: { state: 'input-required' } });
    expect(streamResponseFromLegacy(legacy)).toEqual(sr);
  });

  it('serves a v0.3 card and reads it back as v1.0', () => {
    const card = buildCard({ name: 'a', description: 'b' }, 'http://h:1', { legacy: true, extendedCard: false });
    const legacy = cardToLegacy(card);
    expect(legacy).toMatchObject({ url: 'http://h:1/a2a/jsonrpc', preferredTransport: 'JSONRPC', protocolVersion: '0.3.0' });
    const { supportedInterfaces: _drop, ...pureLegacy } = legacy;
    expect(cardFromAny(pureLegacy).supportedInterfaces[0]).toEqual({ url: 'http://h:1/a2a/jsonrpc', protocolBinding: 'JSONRPC', protocolVersion: '0.3' });
  });
});

describe('payloads', () => {
  it('string ⇄ text part, other JSON ⇄ data part, several parts stay parts', () => {
    expect(payloadToParts('hi')).toEqual([{ text: 'hi' }]);
    expect(payloadToParts({ a: 1 })).toEqual([{ data: { a: 1 } }]);
    expect(partsToPayload([{ data: 0 }])).toBe(0);
    expect(partsToPayload([{ text: 'a' }, { text: 'b' }])).toEqual([{ text: 'a' }, { text: 'b' }]);
  });
});

describe('errors on the wire and back', () => {
  it('JSON-RPC and REST forms carry the code, HTTP status and ErrorInfo', () => {
    const e = new A2AProtocolError('TASK_NOT_CANCELABLE', { metadata: { taskId: 't' } });
    expect(toJsonRpcError(e)).toMatchObject({ code: -32002, data: [{ reason: 'TASK_NOT_CANCELABLE', domain: 'a2a-protocol.org', metadata: { taskId: 't' } }] });
    expect(toRestError(e)).toMatchObject({ status: 400, body: { error: { code: 400, status: 'FAILED_PRECONDITION' } } });
    expect(toJsonRpcError(new Error('secret internals'))).toMatchObject({ code: -32603, message: 'Internal error' });
  });

  it('the client maps them back to typed errors that keep the A2A code', () => {
    const nf = fromWireError({ code: -32001, message: 'gone' }, { agentUrl: 'u', method: 'GetTask' });
    expect(isPenguiflowError(nf, 'NOT_FOUND')).toBe(true);
    expect(nf.details).toMatchObject({ a2aCode: -32001, reason: 'TASK_NOT_FOUND' });
    const v = fromWireError({ code: 400, details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'VERSION_NOT_SUPPORTED' }] }, { httpStatus: 400, agentUrl: 'u', method: 'm' });
    expect(v).toMatchObject({ code: 'REMOTE_ERROR', retryable: false, details: { a2aCode: -32009 } });
    expect(fromWireError({}, { httpStatus: 503, agentUrl: 'u', method: 'm' }).code).toBe('RATE_LIMITED');
  });
});

describe('REST routes', () => {
  it('matches spec paths with and without a tenant prefix', () => {
    expect(matchRest('POST', '/message:send')).toEqual({ op: 'send' });
    expect(matchRest('GET', '/tasks/a%2Fb')).toEqual({ op: 'get', id: 'a/b' });
    expect(matchRest('POST', '/tasks/t1:cancel')).toEqual({ op: 'cancel', id: 't1' });
    expect(matchRest('POST', '/acme/tasks/t1:subscribe')).toEqual({ op: 'subscribe', id: 't1', tenant: 'acme' });
    expect(matchRest('GET', '/acme/tasks')).toEqual({ op: 'list', tenant: 'acme' });
    expect(matchRest('DELETE', '/tasks/t1/pushNotificationConfigs/c1')).toEqual({ op: 'pushDelete', id: 't1', configId: 'c1' });
    expect(matchRest('PUT', '/tasks/t1')).toBeUndefined();
  });
});
