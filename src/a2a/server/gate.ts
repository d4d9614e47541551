/**
 * The admission gate: the one place where a request to any entry point
 * (JSON-RPC, REST, SSE, gRPC, WebSocket) becomes a {@link RequestScope}.
 *
 * It authenticates (once per request or connection), resolves the tenant,
 * calls the `authorize` hook (scopes, rate limits) with the operation, and
 * stamps the scope with the operation it was admitted for. The operations
 * layer ({@link A2AOperations}) refuses any scope the gate did not stamp for
 * that operation, so a binding that forgets the gate fails closed instead of
 * serving unauthenticated work. Stream slots are counted here too: one global
 * budget and one per tenant, shared by SSE, gRPC streams and WebSocket
 * subscriptions.
 */
import type { IncomingMessage } from 'node:http';
import { DEADLINE_HEADER, PENGUIFLOW_EXTENSION_URI, TENANT_HEADER, TRACE_HEADER, type A2AMethod } from '../protocol/constants.js';
import { A2AProtocolError } from '../protocol/errors.js';
import type { A2AMessage } from '../protocol/types.js';
import { isObject } from '../protocol/validate.js';
import type { RequestScope } from './task-manager.js';

/** Every entry point the gate admits for. A new transport must be added here (and to the security matrix test). */
export const A2A_TRANSPORTS = ['JSONRPC', 'JSONRPC-0.3', 'HTTP+JSON', 'GRPC', 'WEBSOCKET'] as const;
export type A2ATransport = (typeof A2A_TRANSPORTS)[number];

/** Who is calling, as decided by the `auth` hook. */
export interface A2APrincipal {
  /** The tenant used when the request names none. */
  tenant: string;
  subject?: string;
  /** Every tenant this credential may act for (default: just `tenant`). A requested tenant outside it is 403. */
  tenants?: readonly string[];
  /** Granted scopes (see `penguiflow/security`); checked by an `authorize` hook, not by the server itself. */
  scopes?: readonly string[];
  /** Stable id of the credential (API key id, JWT `sub`+`iss`, certificate fingerprint), for rate limits and logs. */
  credentialId?: string;
}

/** What an `authorize` hook sees for each request, after authentication and tenant resolution. */
export interface A2AAuthorizeRequest {
  req: IncomingMessage;
  /** Undefined only when the server has no `auth` hook. */
  principal: A2APrincipal | undefined;
  tenant: string;
  /** The v1.0 operation (REST routes, v0.3 names, gRPC methods and WebSocket ops are mapped to it). */
  operation: A2AMethod | undefined;
  /** The entry point the request came through. */
  transport?: A2ATransport;
}

export type AuthHook = (req: IncomingMessage) => A2APrincipal | undefined | Promise<A2APrincipal | undefined>;
export type AuthorizeHook = (request: A2AAuthorizeRequest) => void | Promise<void>;

export interface AdmitRequest {
  req: IncomingMessage;
  transport: A2ATransport;
  operation: A2AMethod;
  /** Tenant named by the request (REST prefix, `params.tenant`, gRPC field, WebSocket `?tenant=`). */
  requestedTenant?: string | undefined;
  /** The message of a send, for the penguiflow extension metadata. */
  message?: A2AMessage | undefined;
  /** Already authenticated (a WebSocket connection, a gRPC `auth` hook): skips `auth`. */
  principal?: A2APrincipal | undefined;
  /** Overrides the server's `authorize` hook (gRPC's own option). */
  authorize?: AuthorizeHook | undefined;
}

export interface StreamLimits {
  /** Concurrent streams in the process. */
  maxStreams: number;
  /** Concurrent streams of one tenant. */
  maxStreamsPerTenant: number;
}

export interface AdmissionGate {
  /** Whether an `auth` hook is configured (the server authenticates at all). */
  readonly authenticates: boolean;
  /** The tenant of a request that names none, without `auth`. */
  readonly defaultTenant: string;
  /** The principal of a request (memoised per request object); undefined without an `auth` hook. Throws UNAUTHENTICATED on a refused credential. */
  authenticate(req: IncomingMessage): Promise<A2APrincipal | undefined>;
  /** Authenticates, resolves the tenant, authorizes `operation` and returns the stamped scope. */
  admit(request: AdmitRequest): Promise<RequestScope>;
  /** Takes one stream slot of `tenant` (RESOURCE_EXHAUSTED past either limit); the function releases it once. */
  admitStream(tenant: string): () => void;
  /** Open streams (tests, metrics). */
  streamCounts(): { total: number; byTenant: Record<string, number> };
}

const TENANT_RE = /^[A-Za-z0-9._:@-]{1,128}$/;
const admitted = new WeakMap<RequestScope, A2AMethod>();

/**
 * Throws INTERNAL_ERROR unless `scope` came from the gate for `operation`.
 * Called by every operation, so an entry point cannot skip authorization.
 */
export function assertAdmitted(scope: RequestScope, operation: A2AMethod): void {
  const op = admitted.get(scope);
  if (op !== operation) throw new A2AProtocolError('INTERNAL_ERROR', { message: `Request scope was not admitted for ${operation}` });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function createAdmissionGate(options: { auth?: AuthHook | undefined; authorize?: AuthorizeHook | undefined; defaultTenant: string; streams: StreamLimits }): AdmissionGate {
  const principals = new WeakMap<IncomingMessage, Promise<A2APrincipal | undefined>>();
  const byTenant = new Map<string, number>();
  let total = 0;
  const authenticate = (req: IncomingMessage): Promise<A2APrincipal | undefined> => {
    const auth = options.auth;
    if (!auth) return Promise.resolve(undefined);
    let p = principals.get(req);
    if (!p) {
      p = Promise.resolve(auth(req)).then((principal) => {
        if (!principal) throw new A2AProtocolError('UNAUTHENTICATED');
        return principal;
      });
      principals.set(req, p);
    }
    return p;
  };
  return {
    authenticates: options.auth !== undefined,
    defaultTenant: options.defaultTenant,
    authenticate,
    async admit(r) {
      const ext = r.message?.metadata?.[PENGUIFLOW_EXTENSION_URI];
      const extObj = isObject(ext) ? ext : {};
      const requested = r.requestedTenant !== undefined && r.requestedTenant !== '' ? r.requestedTenant : undefined;
      let tenant: string;
      const principal = r.principal ?? (await authenticate(r.req));
      if (options.auth || r.principal) {
        if (!principal) throw new A2AProtocolError('UNAUTHENTICATED');
        const allowed = principal.tenants ?? [principal.tenant];
        if (requested !== undefined && requested !== principal.tenant && !allowed.includes(requested)) throw new A2AProtocolError('PERMISSION_DENIED');
        tenant = requested ?? principal.tenant;
      } else {
        const fromExt = typeof extObj.tenant === 'string' ? extObj.tenant : undefined;
        tenant = requested ?? header(r.req, TENANT_HEADER) ?? fromExt ?? options.defaultTenant;
      }
      if (!TENANT_RE.test(tenant)) throw new A2AProtocolError('INVALID_PARAMS', { message: 'tenant must be 1-128 characters of [A-Za-z0-9._:@-]' });
      const authorize = r.authorize ?? options.authorize;
      if (authorize) await authorize({ req: r.req, principal, tenant, operation: r.operation, transport: r.transport });
      const scope: RequestScope = { tenant };
      const trace = header(r.req, TRACE_HEADER) ?? (typeof extObj.traceId === 'string' ? extObj.traceId : undefined);
      if (trace) scope.callerTraceId = trace.slice(0, 256);
      const deadline = Number(header(r.req, DEADLINE_HEADER) ?? extObj.deadline);
      if (Number.isFinite(deadline) && deadline > 0) scope.deadline = deadline;
      admitted.set(scope, r.operation);
      return scope;
    },
    admitStream(tenant) {
      const { maxStreams, maxStreamsPerTenant } = options.streams;
      const mine = byTenant.get(tenant) ?? 0;
      if (total >= maxStreams) throw new A2AProtocolError('RESOURCE_EXHAUSTED', { message: 'Too many open streams on this server', metadata: { maxStreams: String(maxStreams), retryAfterSeconds: '1' } });
      if (mine >= maxStreamsPerTenant) {
        throw new A2AProtocolError('RESOURCE_EXHAUSTED', { message: 'Too many open streams for this tenant', metadata: { maxStreamsPerTenant: String(maxStreamsPerTenant), retryAfterSeconds: '1' } });
      }
      total++;
      byTenant.set(tenant, mine + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        total--;
        const n = (byTenant.get(tenant) ?? 1) - 1;
        if (n <= 0) byTenant.delete(tenant);
        else byTenant.set(tenant, n);
      };
    },
    streamCounts: () => ({ total, byTenant: Object.fromEntries(byTenant) }),
  };
}
