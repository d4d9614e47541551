/**
 * TLS for the A2A server and client. Certificates and keys come from files
 * or env (PEM strings / Buffers), never from code.
 */
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import { Agent, fetch as undiciFetch } from '../peers/undici.js';

export interface TlsServerConfig {
  cert: string | Buffer;
  key: string | Buffer;
  /** CA(s) that issue client certificates (mutual TLS). */
  ca?: string | Buffer | (string | Buffer)[];
  /** Mutual TLS: ask for a client certificate and refuse the handshake without a valid one. Needs `ca`. */
  requestClientCert?: boolean;
  /** Default TLSv1.2. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

/**
 * Options for `server.listen({ tls })`.
 *
 * @example
 * await server.listen({ port: 8443, tls: tlsServerOptions({ cert: readFileSync(certPath), key: readFileSync(keyPath), ca: readFileSync(caPath), requestClientCert: true }) });
 */
export function tlsServerOptions(config: TlsServerConfig): HttpsServerOptions {
  const mutual = config.requestClientCert === true;
  const options: HttpsServerOptions = { cert: config.cert, key: config.key, minVersion: config.minVersion ?? 'TLSv1.2', requestCert: mutual, rejectUnauthorized: mutual };
  if (config.ca !== undefined) options.ca = config.ca;
  return options;
}

export interface TlsClientConfig {
  /** CA(s) to trust instead of the system store (a private PKI). */
  ca?: string | Buffer | (string | Buffer)[];
  /** Client certificate and key for mutual TLS. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Connect (TCP + handshake) timeout. Default 10 s. */
  connectTimeoutMs?: number;
}

export interface TlsFetch {
  readonly fetch: typeof fetch;
  close(): Promise<void>;
}

/**
 * A `fetch` with its own TLS settings (undici Agent), for `createA2AClient({ fetch })`.
 * Connections are pooled and reused; certificates are always verified.
 *
 * @example
 * const tls = createTlsFetch({ ca: readFileSync(caPath), cert: readFileSync(certPath), key: readFileSync(keyPath) });
 * const transport = createA2AClient({ fetch: tls.fetch });
 */
export function createTlsFetch(config: TlsClientConfig): TlsFetch {
  const connect: Record<string, unknown> = { timeout: config.connectTimeoutMs ?? 10_000, rejectUnauthorized: true };
  if (config.ca !== undefined) connect.ca = config.ca;
  if (config.cert !== undefined) connect.cert = config.cert;
  if (config.key !== undefined) connect.key = config.key;
  const agent = new Agent({ connect });
  const tlsFetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> =>
    undiciFetch(typeof input === 'string' || input instanceof URL ? input : input.url, { ...(init as object), dispatcher: agent }) as unknown as Promise<Response>;
  return { fetch: tlsFetch, close: () => agent.close() };
}
