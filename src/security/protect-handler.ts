/**
 * Authentication for other HTTP endpoints (admin/ops routes such as
 * `/metrics`, the trace viewer, custom admin APIs): wraps a Node handler so
 * it runs only for a credential with the required scope (default `admin`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authenticator } from './authenticator.js';

export interface ProtectOptions {
  authenticators: readonly Authenticator[];
  /** Scope the credential needs (`admin` implies every scope). Default 'admin'. */
  scope?: string;
  /** Paths served without a credential (probes). Default ['/healthz', '/readyz']. */
  publicPaths?: readonly string[];
  /** Internal failures of an authenticator (ids only). */
  onError?: (error: unknown, fields: Record<string, unknown>) => void;
}

function deny(res: ServerResponse, status: 401 | 403 | 404 | 500, reason: string): void {
  const body = JSON.stringify({ error: { code: status, reason } });
  const headers: Record<string, string | number> = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' };
  if (status === 401) headers['WWW-Authenticate'] = 'Bearer';
  res.writeHead(status, headers).end(body);
}

/**
 * @example
 * const ops = createOpsHandler({ metrics, ready });
 * http.createServer(protectHandler(ops, { authenticators: [apiKeys] })).listen(9464);
 */
export function protectHandler(handler: (req: IncomingMessage, res: ServerResponse) => boolean | void, options: ProtectOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const scope = options.scope ?? 'admin';
  const open = new Set(options.publicPaths ?? ['/healthz', '/readyz']);
  const serve = (req: IncomingMessage, res: ServerResponse) => {
    if (handler(req, res) === false) deny(res, 404, 'NOT_FOUND');
  };
  const check = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    for (const a of options.authenticators) {
      const outcome = await a.authenticate(req);
      if (outcome === undefined) continue;
      if (!outcome.ok) return deny(res, 401, outcome.failure === 'expired' ? 'EXPIRED' : 'UNAUTHENTICATED');
      const granted = outcome.principal.scopes ?? [];
      if (!granted.includes(scope) && !granted.includes('admin')) return deny(res, 403, 'PERMISSION_DENIED');
      return serve(req, res);
    }
    deny(res, 401, 'UNAUTHENTICATED');
  };
  return (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    if (open.has(path)) return serve(req, res);
    check(req, res).catch((error: unknown) => {
      options.onError?.(error, { where: 'protectHandler' });
      if (!res.headersSent) deny(res, 500, 'INTERNAL');
    });
  };
}
