import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StateStore, StoredEvent } from '../protocols/state-store.js';
import { BadRequest, listParamsOf, listTraces } from './api.js';
import { APP_CSS } from './assets/app-css.js';
import { APP_JS } from './assets/app-js.js';
import { INDEX_HTML } from './assets/index-html.js';
import { buildTimeline } from './timeline.js';
import type { Authenticator } from '../security/authenticator.js';
import { protectHandler } from '../security/protect-handler.js';

export interface UiServerOptions {
  store: StateStore;
  /** 0 picks a free port. Default 4600. */
  port?: number;
  /** Default 127.0.0.1: the viewer reads every tenant's history, keep it local or behind a proxy with auth. */
  host?: string;
  /** How often the live stream reads new events of a running trace. Default 500 ms. */
  pollMs?: number;
  /** Events of one trace read at most. Default 50,000. */
  maxEvents?: number;
  /**
   * Host names (without port) the `Host` header may carry. Default: `localhost`, `127.0.0.1`, `[::1]` and `host`
   * itself; any when listening on 0.0.0.0 / `::`. Guards a local viewer against DNS rebinding (a web page that
   * points its own name at 127.0.0.1 to read the API).
   */
  allowedHosts?: string[];
  /**
   * When given, the JSON API (`/api/…`, every tenant's history) needs a
   * credential with the `admin` scope (the A2A server's authenticators; see
   * `protectHandler`); the page, its assets and `/healthz` stay open.
   */
  authenticators?: readonly Authenticator[];
}

/** Paths served without a credential when `authenticators` are set: the static page and the probe carry no data. */
export const UI_PUBLIC_PATHS: readonly string[] = ['/', '/index.html', '/app.js', '/app.css', '/healthz'];

export interface UiServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...SECURITY_HEADERS });
  res.end(body);
}

function json(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

/**
 * The trace viewer: a static page (no CDN, no framework; the page builds DOM
 * with `textContent`, never HTML from data) and a JSON API:
 * - `GET /api/traces?tenant&status&since&q&limit&cursor` — trace summaries, newest first;
 * - `GET /api/traces/:id?tenant` — the stored events;
 * - `GET /api/traces/:id/timeline?tenant` — the Gantt model ({@link buildTimeline});
 * - `GET /api/traces/:id/stream?tenant` — SSE: a `timeline` event now and after every new batch of events
 *   (the server polls the store's history with `afterSeq`), `end` once the trace is finished.
 *
 * @example
 * const ui = await createUiServer({ store: await openStateStore('sqlite:./.penguiflow/state.db'), port: 4600 });
 * console.log(`open ${ui.url}`);
 */
export async function createUiServer(options: UiServerOptions): Promise<UiServer> {
  const { store } = options;
  const pollMs = options.pollMs ?? 500;
  const maxEvents = options.maxEvents ?? 50_000;
  const streams = new Set<() => void>();

  const load = async (traceId: string, tenant: string | null, afterSeq?: number): Promise<StoredEvent[]> =>
    store.loadHistory(traceId, { tenant, limit: maxEvents, ...(afterSeq !== undefined ? { afterSeq } : {}) });

  const stream = (req: IncomingMessage, res: ServerResponse, traceId: string, tenant: string | null) => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', ...SECURITY_HEADERS });
    res.write('retry: 2000\n\n');
    let events: StoredEvent[] = [];
    let closed = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = () => {
      closed = true;
      if (timer) clearTimeout(timer);
      streams.delete(stop);
      if (!res.writableEnded) res.end();
    };
    streams.add(stop);
    req.on('close', stop);
    const tick = async () => {
      if (closed) return;
      try {
        const lastSeq = events.reduce((m, e) => Math.max(m, e.seq ?? 0), 0);
        const fresh = await load(traceId, tenant, events.length > 0 ? lastSeq : undefined);
        if (closed) return;
        if (fresh.length > 0 || events.length === 0) {
          events = events.concat(fresh).slice(-maxEvents);
          const model = buildTimeline(traceId, events);
          res.write(`event: timeline\ndata: ${JSON.stringify(model)}\n\n`);
          if (model.status !== 'running' && model.markers.some((m) => m.kind === 'complete')) {
            res.write('event: end\ndata: {}\n\n');
            return stop();
          }
        } else {
          res.write(': ping\n\n');
        }
      } catch {
        // never echo store errors (they can carry connection strings)
        res.write(`event: problem\ndata: ${JSON.stringify({ message: 'the store could not be read' })}\n\n`);
      }
      if (!closed) timer = setTimeout(() => void tick(), pollMs);
    };
    void tick();
  };

  const bind = options.host ?? '127.0.0.1';
  const allowed = options.allowedHosts ?? (bind === '0.0.0.0' || bind === '::' ? undefined : ['localhost', '127.0.0.1', '[::1]', bind.includes(':') ? `[${bind}]` : bind]);
  const hostAllowed = (req: IncomingMessage) => {
    if (allowed === undefined) return true;
    const name = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    return allowed.includes(name);
  };

  const route = async (req: IncomingMessage, res: ServerResponse) => {
    if (!hostAllowed(req)) return send(res, 421, 'text/plain; charset=utf-8', 'unexpected Host header\n');
    const url = new URL(req.url ?? '/', 'http://ui');
    const path = url.pathname;
    if (req.method !== 'GET') return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    if (path === '/' || path === '/index.html') return send(res, 200, 'text/html; charset=utf-8', INDEX_HTML);
    if (path === '/app.js') return send(res, 200, 'text/javascript; charset=utf-8', APP_JS);
    if (path === '/app.css') return send(res, 200, 'text/css; charset=utf-8', APP_CSS);
    if (path === '/healthz') return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
    if (path === '/api/traces') return json(res, 200, await listTraces(store, listParamsOf(url.searchParams)));
    const m = /^\/api\/traces\/([^/]+)(\/timeline|\/stream)?$/.exec(path);
    if (m) {
      const traceId = decodeURIComponent(m[1]!);
      const tenant = url.searchParams.get('tenant') || null;
      if (m[2] === '/stream') return stream(req, res, traceId, tenant);
      const events = await load(traceId, tenant);
      if (events.length === 0) return json(res, 404, { error: `No events for trace ${traceId}` });
      return json(res, 200, m[2] === '/timeline' ? buildTimeline(traceId, events) : { traceId, events });
    }
    return json(res, 404, { error: 'not found' });
  };

  const serve = (req: IncomingMessage, res: ServerResponse) => {
    route(req, res).catch((error: unknown) => {
      if (res.headersSent) return void res.end();
      if (error instanceof BadRequest) return json(res, 400, { error: error.message });
      json(res, 500, { error: 'internal error' });
    });
  };
  const guarded = options.authenticators?.length
    ? (req: IncomingMessage, res: ServerResponse) => {
        // the Host check comes first, as without auth (DNS rebinding)
        if (!hostAllowed(req)) return send(res, 421, 'text/plain; charset=utf-8', 'unexpected Host header\n');
        protectHandler(serve, { authenticators: options.authenticators!, scope: 'admin', publicPaths: UI_PUBLIC_PATHS })(req, res);
      }
    : serve;
  const server = createServer(guarded);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4600, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  return {
    server,
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of [...streams]) s();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
