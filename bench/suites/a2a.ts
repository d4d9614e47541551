/**
 * A2A: our server against a plain @a2a-js/sdk express server (DefaultRequestHandler
 * + InMemoryTaskStore) running the same echo agent, each in its own child
 * process on 127.0.0.1, loaded by this process with a bounded number of
 * keep-alive connections (an autocannon-style closed loop). Then a 100-event
 * stream on both, and RemoteNode overhead against a direct in-process call.
 *
 * This file is also the child: with PF_A2A_BENCH_PEER=ours|sdk it serves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import type { AgentExecutor } from '@a2a-js/sdk/server';
import { fmt, percentile, table, type BenchSection } from '../suite.js';

const CONNECTIONS = Number(process.env.BENCH_A2A_CONNECTIONS ?? 32);
const DURATION_MS = Number(process.env.BENCH_A2A_DURATION_MS ?? 4_000);
const ROUNDS = Number(process.env.BENCH_A2A_ROUNDS ?? 3);
const STREAM_EVENTS = 100;

// ------------------------------------------------------------------ the peers (child side)

async function serveOurs(): Promise<number> {
  const { createFlow, node } = await import('../../src/index.js');
  const { InMemoryStateStore } = await import('../../src/adapters/memory/index.js');
  const { createA2AServer } = await import('../../src/a2a/index.js');
  const echo = node(
    'echo',
    async (msg, ctx) => {
      const p = msg.payload;
      if (typeof p === 'string' && p.startsWith('stream:')) {
        const n = Number(p.slice(7));
        for (let i = 0; i < n; i++) await ctx.stream(`e${i}`, { done: i === n - 1 });
        return undefined;
      }
      return p;
    },
    { concurrency: 256 },
  );
  const flow = createFlow(echo, { name: 'echo', queueSize: 4096 });
  flow.run();
  const server = createA2AServer({ flow, store: new InMemoryStateStore(), card: { name: 'echo', description: 'echo' }, limits: { maxStreams: 4096 } });
  return (await server.listen()).port;
}

async function serveSdk(): Promise<number> {
  const express = (await import('express')).default;
  const { TaskState } = await import('@a2a-js/sdk');
  const { AgentEvent, DefaultRequestHandler, InMemoryTaskStore } = await import('@a2a-js/sdk/server');
  const { agentCardHandler, jsonRpcHandler, restHandler, UserBuilder } = await import('@a2a-js/sdk/server/express');
  const text = (value: string) => ({ content: { $case: 'text' as const, value }, metadata: undefined, filename: '', mediaType: '' });
  const now = () => new Date().toISOString();
  const executor: AgentExecutor = {
    cancelTask: async () => undefined,
    async execute(ctx, bus) {
      const { taskId, contextId } = ctx;
      const msg = ctx.userMessage;
      const input = msg.parts[0]?.content?.$case === 'text' ? msg.parts[0].content.value : '';
      bus.publish(AgentEvent.task(ctx.task ?? { id: taskId, contextId, status: { state: TaskState.TASK_STATE_SUBMITTED, timestamp: now(), message: undefined }, artifacts: [], history: [msg], metadata: undefined }));
      const status = (state: number) => bus.publish(AgentEvent.statusUpdate({ taskId, contextId, status: { state, timestamp: now(), message: undefined }, metadata: undefined }));
      status(TaskState.TASK_STATE_WORKING);
      const art = (id: string, value: string, append: boolean, lastChunk: boolean) =>
        bus.publish(AgentEvent.artifactUpdate({ taskId, contextId, artifact: { artifactId: id, name: id, description: '', parts: [text(value)], metadata: undefined, extensions: [] }, append, lastChunk, metadata: undefined }));
      if (input.startsWith('stream:')) {
        const n = Number(input.slice(7));
        for (let i = 0; i < n; i++) art('s', `e${i}`, i > 0, i === n - 1);
      } else art('result-1', input, false, true);
      status(TaskState.TASK_STATE_COMPLETED);
    },
  };
  const app = express();
  const server = await new Promise<http.Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const port = (server.address() as { port: number }).port;
  const base = `http://127.0.0.1:${port}`;
  const card = {
    name: 'echo',
    description: 'echo',
    supportedInterfaces: [{ url: `${base}/a2a/jsonrpc`, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' }],
    provider: undefined,
    version: '1.0.0',
    capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text'],
    defaultOutputModes: ['text'],
    skills: [],
    signatures: [],
  };
  const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor);
  app.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: handler }));
  app.use('/a2a/jsonrpc', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
  app.use('/a2a/rest', restHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
  return port;
}

if (process.env.PF_A2A_BENCH_PEER) {
  const port = process.env.PF_A2A_BENCH_PEER === 'sdk' ? await serveSdk() : await serveOurs();
  console.log(`PORT=${port}`);
}

// ------------------------------------------------------------------ the load (parent side)

interface Peer {
  url: string;
  child: ChildProcess;
  rssMb(): Promise<number>;
}

async function startPeer(kind: 'ours' | 'sdk'): Promise<Peer> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], { env: { ...process.env, PF_A2A_BENCH_PEER: kind }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT=(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${kind} peer exited ${code}`)));
  });
  const rssMb = async () => {
    const { readFile } = await import('node:fs/promises');
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    return kb / 1024;
  };
  return { url: `http://127.0.0.1:${port}`, child, rssMb };
}

function stopPeer(peer: Peer): Promise<void> {
  return new Promise((resolve) => {
    peer.child.once('exit', () => resolve());
    peer.child.kill('SIGKILL');
  });
}

let seq = 0;
function sendBody(text: string, method = 'SendMessage'): string {
  return JSON.stringify({ jsonrpc: '2.0', id: ++seq, method, params: { message: { messageId: `b-${process.pid}-${seq}`, role: 'ROLE_USER', parts: [{ text }] } } });
}

function post(agent: http.Agent, url: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'A2A-Version': '1.0', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(data) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  rssMb: number;
}

/** A closed loop: CONNECTIONS workers, each sending the next request when the last one answers. */
async function load(peer: Peer): Promise<LoadResult> {
  const url = `${peer.url}/a2a/jsonrpc`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const latencies: number[] = [];
  let errors = 0;
  const run = async (until: number, record: boolean) => {
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (performance.now() < until) {
          const t = performance.now();
          try {
            const text = await post(agent, url, sendBody('ping'));
            if (!text.includes('TASK_STATE_COMPLETED')) errors++;
            if (record) latencies.push(performance.now() - t);
          } catch {
            errors++;
          }
        }
      }),
    );
  };
  await run(performance.now() + 1_000, false); // warm-up
  const start = performance.now();
  await run(start + DURATION_MS, true);
  const elapsed = performance.now() - start;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / (elapsed / 1000), p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors, rssMb: await peer.rssMb() };
}

/** Time from request to the end of a 100-event stream, sequential, median of N. */
async function streamTimes(peer: Peer, n = 30): Promise<{ p50: number; events: number }> {
  const times: number[] = [];
  let events = 0;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const res = await fetch(`${peer.url}/a2a/jsonrpc`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'A2A-Version': '1.0' }, body: sendBody(`stream:${STREAM_EVENTS}`, 'SendStreamingMessage') });
    const text = await res.text();
    times.push(performance.now() - t);
    events = (text.match(/artifactUpdate/g) ?? []).length;
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), events };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function remoteOverhead(oursUrl: string): Promise<{ direct: number; remote: number; n: number }> {
  const { createFlow, node, message } = await import('../../src/index.js');
  const { createA2AClient } = await import('../../src/a2a/index.js');
  const { remoteNode } = await import('../../src/remote/index.js');
  const direct = createFlow(node('echo', (m) => m.payload), { name: 'direct' });
  const remote = createFlow(remoteNode({ name: 'echo', transport: createA2AClient(), agentUrl: oursUrl }), { name: 'remote' });
  direct.run();
  remote.run();
  const n = 300;
  const time = async (flow: typeof direct) => {
    const xs: number[] = [];
    for (let i = 0; i < n + 20; i++) {
      const t = performance.now();
      await flow.call(message('ping', { tenant: 'bench' }));
      if (i >= 20) xs.push(performance.now() - t);
    }
    xs.sort((a, b) => a - b);
    return percentile(xs, 50);
  };
  const d = await time(direct);
  const r = await time(remote);
  await direct.stop();
  await remote.stop();
  return { direct: d, remote: r, n };
}

export default async function a2aSuite(): Promise<BenchSection> {
  const results: Record<'ours' | 'sdk', LoadResult[]> = { ours: [], sdk: [] };
  const streams: Record<'ours' | 'sdk', number[]> = { ours: [], sdk: [] };
  let streamEvents: Record<'ours' | 'sdk', number> = { ours: 0, sdk: 0 };
  let overhead: { direct: number; remote: number; n: number } | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of round % 2 === 0 ? (['ours', 'sdk'] as const) : (['sdk', 'ours'] as const)) {
      const peer = await startPeer(kind);
      try {
        results[kind].push(await load(peer));
        const s = await streamTimes(peer);
        streams[kind].push(s.p50);
        streamEvents = { ...streamEvents, [kind]: s.events };
        if (kind === 'ours' && round === 0) overhead = await remoteOverhead(peer.url);
      } finally {
        await stopPeer(peer);
      }
    }
  }
  const summary = (k: 'ours' | 'sdk') => {
    const rs = results[k];
    return { rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)), errors: rs.reduce((a, r) => a + r.errors, 0), rss: median(rs.map((r) => r.rssMb)) };
  };
  const o = summary('ours');
  const s = summary('sdk');
  const rows = [
    ['penguiflow `createA2AServer`', fmt(o.rps), fmt(o.p50, 2), fmt(o.p99, 2), o.errors, fmt(o.rss)],
    ['@a2a-js/sdk express (DefaultRequestHandler)', fmt(s.rps), fmt(s.p50, 2), fmt(s.p99, 2), s.errors, fmt(s.rss)],
  ];
  const streamRows = [
    ['penguiflow', streamEvents.ours, fmt(median(streams.ours), 2)],
    ['@a2a-js/sdk', streamEvents.sdk, fmt(median(streams.sdk), 2)],
  ];
  const md = [
    `Blocking \`SendMessage\` (JSON-RPC, echo agent, in-memory task store), ${CONNECTIONS} keep-alive connections in a closed loop for ${DURATION_MS / 1000} s after a 1 s warm-up; each server in its own child process on 127.0.0.1, this process is the load. Median of ${ROUNDS} rounds (order alternated).`,
    '',
    table(['server', 'requests/s', 'p50 ms', 'p99 ms', 'errors', 'server RSS MB'], rows),
    '',
    `**Ratio: ${fmt(o.rps / s.rps, 2)}× the SDK server's requests/s**, p99 ${fmt(o.p99, 2)} ms vs ${fmt(s.p99, 2)} ms.`,
    '',
    `A ${STREAM_EVENTS}-event stream (\`SendStreamingMessage\`, ${STREAM_EVENTS} artifact chunks plus task/status events), request to last byte, p50 of 30 sequential streams:`,
    '',
    table(['server', 'artifact events received', 'p50 ms'], streamRows),
    '',
    overhead
      ? `RemoteNode overhead: a one-node flow calling the echo agent through \`remoteNode\` (loopback HTTP, SSE, card cached) takes p50 ${fmt(overhead.remote, 3)} ms per \`flow.call\`, against ${fmt(overhead.direct, 3)} ms for the same echo as a local node: **${fmt(overhead.remote - overhead.direct, 3)} ms of overhead per remote call** (${overhead.n} sequential calls after 20 warm-up).`
      : '',
  ].join('\n');
  return { title: 'A2A server, streams and RemoteNode', markdown: md };
}
