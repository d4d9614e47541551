/**
 * A TCP proxy on 127.0.0.1 for partition tests. `forward` pipes both ways;
 * `blackhole` keeps connections open but drops every byte (existing and new
 * connections), as a network partition does; `reset` accepts and resets at
 * once (a process that is gone). `heal()` = forward again (blackholed
 * connections are closed, so clients reconnect).
 */
import net from 'node:net';

export type ProxyMode = 'forward' | 'blackhole' | 'reset';

export interface TcpProxy {
  readonly port: number;
  readonly url: string;
  /** Connections accepted so far. */
  readonly connections: number;
  target: number;
  setMode(mode: ProxyMode): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target = 0): Promise<TcpProxy> {
  let mode: ProxyMode = 'forward';
  let connections = 0;
  const open = new Set<{ client: net.Socket; upstream?: net.Socket; holed: boolean }>();
  const state = { target };
  const server = net.createServer((client) => {
    connections++;
    if (mode === 'reset') return void client.resetAndDestroy();
    const entry: { client: net.Socket; upstream?: net.Socket; holed: boolean } = { client, holed: mode === 'blackhole' };
    open.add(entry);
    client.on('error', () => undefined);
    client.on('close', () => {
      entry.upstream?.destroy();
      open.delete(entry);
    });
    if (entry.holed) return void client.on('data', () => undefined);
    const upstream = net.connect({ host: '127.0.0.1', port: state.target });
    entry.upstream = upstream;
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.on('data', (d) => {
      if (!entry.holed) upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (!entry.holed) client.write(d);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    get target() {
      return state.target;
    },
    set target(p: number) {
      state.target = p;
    },
    setMode(next) {
      const was = mode;
      mode = next;
      for (const e of open) {
        if (next === 'blackhole') e.holed = true;
        else if (was !== 'forward') {
          e.client.destroy();
          e.upstream?.destroy();
        }
        if (next === 'reset') e.client.resetAndDestroy();
      }
    },
    async close() {
      for (const e of open) {
        e.client.destroy();
        e.upstream?.destroy();
      }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
