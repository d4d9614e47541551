import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.js';
import type { Authenticator } from '../security/authenticator.js';
import { protectHandler } from '../security/protect-handler.js';

export interface OpsHandlerOptions {
  /** Serves `/metrics` when given. */
  metrics?: Pick<Metrics, 'handler'>;
  /** Readiness: true when the store and bus are reachable. A throw or a timeout counts as not ready. */
  ready?: () => Promise<boolean>;
  /** Longest wait for `ready`. Default 2 s (below a Kubernetes probe's default 1 s timeout × retries). */
  readyTimeoutMs?: number;
}

export interface ServeOpsOptions extends OpsHandlerOptions {
  /** 0 picks a free port. */
  port: number;
  /**
   * Default 127.0.0.1: `/metrics` carries tenant names and load. Bind 0.0.0.0
   * explicitly (e.g. `PENGUIFLOW_METRICS_HOST=0.0.0.0` in a pod) for probes and scrapers from outside.
   */
  host?: string;
  /**
   * When given, every path but `/healthz` and `/readyz` needs a credential
   * with the `admin` scope (the same authenticators as the A2A server; see `protectHandler`).
   */
  authenticators?: readonly Authenticator[];
  /** Internal failures of an authenticator (ids only). */
  onError?: (error: unknown, fields: Record<string, unknown>) => void;
}

export interface OpsServer {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

function within(ready: () => Promise<boolean>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    ready().then(
      (ok) => {
        clearTimeout(timer);
        resolve(ok === true);
      },
      () => {
        clearTimeout(timer);
        resolve(false);
      },
    );
  });
}

/**
 * The three operations routes as a Node request handler: `GET /metrics`,
 * `GET /healthz` (200 while the process answers), `GET /readyz` (200 when
 * `ready()` resolves true in time, 503 otherwise). Returns false for any
 * other path, so it mounts in front of another server's routes.
 *
 * @example
 * const ops = createOpsHandler({ metrics, ready: readiness({ store, bus }) });
 * http.createServer((req, res) => { if (!ops(req, res)) a2aHandler(req, res); });
 */
export function createOpsHandler(options: OpsHandlerOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const timeoutMs = options.readyTimeoutMs ?? 2_000;
  const text = (res: ServerResponse, status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(body);
  };
  return (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    switch (path) {
      case '/metrics':
        if (!options.metrics) return false;
        options.metrics.handler(req, res);
        return true;
      case '/healthz':
        text(res, 200, 'ok\n');
        return true;
      case '/readyz':
        if (!options.ready) {
          text(res, 200, 'ready\n');
          return true;
        }
        void within(options.ready, timeoutMs).then((ok) => text(res, ok ? 200 : 503, ok ? 'ready\n' : 'not ready\n'));
        return true;
      default:
        return false;
    }
  };
}

/**
 * A small HTTP server for probes and scrapes: `/metrics`, `/healthz`, `/readyz`.
 * Plain `node:http`: three fixed GET routes need no router, and a framework
 * would be one more dependency in every worker image.
 *
 * @example
 * const ops = await serveOps({ port: 9464, metrics, ready: readiness({ store, bus }) });
 * // … on shutdown
 * await ops.close();
 */
export async function serveOps(options: ServeOpsOptions): Promise<OpsServer> {
  const handle = createOpsHandler(options);
  const notFound = (req: IncomingMessage, res: ServerResponse) => {
    if (!handle(req, res)) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found\n');
    }
  };
  const guarded = options.authenticators?.length
    ? protectHandler(notFound, { authenticators: options.authenticators, scope: 'admin', ...(options.onError ? { onError: options.onError } : {}) })
    : notFound;
  const server = createServer(guarded);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';
  return {
    server,
    port,
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
