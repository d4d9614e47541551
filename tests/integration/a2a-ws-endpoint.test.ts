/**
 * The WebSocket endpoint on a real HTTP server on 127.0.0.1: live events of
 * a tenant's trace in order, cancel over the socket, tenant isolation,
 * heartbeats, back-pressure (a reader that stops is disconnected) and typed
 * errors for bad frames (JSON and msgpack).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Packr } from 'msgpackr';
import WebSocket from 'ws';
import { createFlow, node, sleep, type Flow, type Message, type NodeContext } from '../../src/index.js';
import { InMemoryStateStore } from '../../src/adapters/memory/index.js';
import { createA2AServer, type A2AServer, type Task } from '../../src/a2a/index.js';
import { createA2AWebSocketEndpoint, WS_MSGPACK_PROTOCOL, type A2AWebSocketEndpoint } from '../../src/a2a/ws/index.js';

type Frame = Record<string, unknown> & { op: string };

const aborted: string[] = [];
function makeFlow(): Flow {
  const agent = node(
    'agent',
    async (msg: Message, ctx: NodeContext) => {
      const p = String(msg.payload);
      ctx.signal.addEventListener('abort', () => aborted.push(msg.traceId), { once: true });
      if (p.startsWith('slow:')) {
        await sleep(Number(p.slice(5)), ctx.signal);
        return 'done';
      }
      if (p.startsWith('stream:')) {
        const [n, gap, size] = p.slice(7).split(':').map(Number) as [number, number, number | undefined];
        for (let i = 0; i < n; i++) {
          await ctx.stream(size ? `c${i}:`.padEnd(size, 'x') : `c${i}`, { done: i === n - 1 });
          await sleep(gap, ctx.signal);
        }
        return 'streamed';
      }
      return p;
    },
    { concurrency: 16 },
  );
  return createFlow(agent, { name: 'ws-agent', queueSize: 256 });
}

let flow: Flow;
let a2a: A2AServer;
let http: Server;
let endpoint: A2AWebSocketEndpoint;
let base: string;
let wsBase: string;

beforeAll(async () => {
  flow = makeFlow();
  flow.run();
  a2a = createA2AServer({ flow, store: new InMemoryStateStore(), card: { name: 'ws agent', description: 'ws' }, onError: () => undefined });
  http = createServer(a2a.handler);
  endpoint = createA2AWebSocketEndpoint({ server: a2a, heartbeatMs: 150, maxBufferedBytes: 256 * 1024, onError: () => undefined });
  endpoint.attach(http);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  wsBase = `ws://127.0.0.1:${port}/a2a/ws`;
});
afterAll(async () => {
  await endpoint.close();
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  await flow.stop();
});

async function startTask(text: string, tenant: string): Promise<Task> {
  const res = await fetch(`${base}/a2a/rest/message:send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'a2a-version': '1.0', 'x-penguiflow-tenant': tenant },
    body: JSON.stringify({ message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text }] }, configuration: { returnImmediately: true } }),
  });
  return ((await res.json()) as { task: Task }).task;
}

/** A connected client that records every frame. */
async function open(tenant: string, protocol?: string): Promise<{ ws: WebSocket; frames: Frame[]; next: (pred: (f: Frame) => boolean, ms?: number) => Promise<Frame> }> {
  const ws = new WebSocket(`${wsBase}?tenant=${tenant}`, protocol ? [protocol] : []);
  const frames: Frame[] = [];
  const waiters: { pred: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  const packr = new Packr({ useRecords: false, mapsAsObjects: true });
  ws.on('message', (data, isBinary) => {
    const f = (isBinary ? packr.unpack(data as Buffer) : JSON.parse(String(data))) as Frame;
    frames.push(f);
    for (const w of waiters.splice(0)) {
      if (w.pred(f)) w.resolve(f);
      else waiters.push(w);
    }
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const next = (pred: (f: Frame) => boolean, ms = 5_000) =>
    new Promise<Frame>((resolve, reject) => {
      const hit = frames.find(pred);
      if (hit) return resolve(hit);
      const t = setTimeout(() => reject(new Error(`no frame in ${ms} ms; got ${frames.map((f) => f.op).join(',')}`)), ms);
      waiters.push({
        pred,
        resolve: (f) => {
          clearTimeout(t);
          resolve(f);
        },
      });
    });
  return { ws, frames, next };
}

const chunkText = (f: Frame) => ((f.event as { artifactUpdate?: { artifact: { parts: { text?: string }[] } } }).artifactUpdate?.artifact.parts[0]?.text ?? '').split(':')[0];

describe('WebSocket endpoint', () => {
  it("a client sees the live events of its tenant's trace, in order, then end", async () => {
    const task = await startTask('stream:5:40', 'acme');
    const c = await open('acme');
    const spy = await open('intruder');
    // lastEventId 0: whatever happened before the subscription is replayed from the log first, then live
    spy.ws.send(JSON.stringify({ op: 'subscribe', id: 1, taskId: task.id, lastEventId: 0 }));
    c.ws.send(JSON.stringify({ op: 'subscribe', id: 1, taskId: task.id, lastEventId: 0 }));
    expect((await c.next((f) => f.op === 'subscribed')).taskId).toBe(task.id);
    await c.next((f) => f.op === 'end');
    const events = c.frames.filter((f) => f.op === 'event');
    const seqs = events.slice(1).map((f) => f.seq as number);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(events.map(chunkText).filter((t) => t?.startsWith('c') === true)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
    const last = events.at(-1)!.event as { statusUpdate?: { status: { state: string } } };
    expect(last.statusUpdate?.status.state).toBe('TASK_STATE_COMPLETED');
    // another tenant's subscriber got an error and never an event of it
    const err = await spy.next((f) => f.op === 'error');
    expect((err.error as { reason: string }).reason).toBe('TASK_NOT_FOUND');
    expect(spy.frames.some((f) => f.op === 'event')).toBe(false);
    c.ws.close();
    spy.ws.close();
  });

  it('cancel over the socket stops the trace', async () => {
    const task = await startTask('slow:20000', 'acme');
    const c = await open('acme');
    c.ws.send(JSON.stringify({ op: 'subscribe', id: 's', traceId: task.id })); // the trace id is the task id
    await c.next((f) => f.op === 'subscribed');
    c.ws.send(JSON.stringify({ op: 'cancel', id: 'c', taskId: task.id }));
    const res = await c.next((f) => f.op === 'result' && f.id === 'c');
    expect((res.task as Task).status.state).toBe('TASK_STATE_CANCELED');
    await c.next((f) => f.op === 'end');
    await expect.poll(() => aborted.includes(task.id)).toBe(true);
    // and another tenant cannot cancel it
    const other = await startTask('slow:20000', 'acme');
    const spy = await open('intruder');
    spy.ws.send(JSON.stringify({ op: 'cancel', id: 'x', taskId: other.id }));
    expect(((await spy.next((f) => f.op === 'error')).error as { reason: string }).reason).toBe('TASK_NOT_FOUND');
    c.ws.send(JSON.stringify({ op: 'cancel', id: 'c2', taskId: other.id }));
    await c.next((f) => f.id === 'c2');
    c.ws.close();
    spy.ws.close();
  });

  it('bad frames get typed errors and the connection stays usable (JSON and msgpack)', async () => {
    const c = await open('acme');
    c.ws.send('{not json');
    expect(((await c.next((f) => f.op === 'error')).error as { reason: string }).reason).toBe('PARSE_ERROR');
    c.ws.send(JSON.stringify({ op: 'subscribe' }));
    expect(((await c.next((f) => f.op === 'error' && (f.error as { reason: string }).reason === 'INVALID_PARAMS')).error as { reason: string }).reason).toBe('INVALID_PARAMS');
    c.ws.close();
    const m = await open('acme', WS_MSGPACK_PROTOCOL);
    expect(m.ws.protocol).toBe(WS_MSGPACK_PROTOCOL);
    m.ws.send(Buffer.from([0xc1, 0xff, 0x00]));
    expect(((await m.next((f) => f.op === 'error')).error as { reason: string }).reason).toBe('PARSE_ERROR');
    const task = await startTask('stream:3:5', 'acme');
    m.ws.send(new Packr({ useRecords: false }).pack({ op: 'subscribe', id: 1, taskId: task.id, lastEventId: 0 }));
    await m.next((f) => f.op === 'end');
    expect(m.frames.filter((f) => f.op === 'event').map(chunkText)).toEqual(expect.arrayContaining(['c0', 'c1', 'c2']));
    m.ws.close();
  });

  it('heartbeats: a live client is pinged and stays; a peer that never answers is terminated', async () => {
    const c = await open('acme');
    let pings = 0;
    c.ws.on('ping', () => pings++);
    await sleep(500);
    expect(pings).toBeGreaterThanOrEqual(2);
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.ws.close();
    const before = endpoint.stats().heartbeatTimeouts;
    const raw = await rawClient('acme');
    raw.pause();
    await expect.poll(() => endpoint.stats().heartbeatTimeouts, { timeout: 3_000 }).toBeGreaterThan(before);
    raw.destroy();
  });

  it('a slow client is disconnected instead of growing server memory', async () => {
    const task = await startTask('stream:160:1:65536', 'acme');
    const raw = await rawClient('acme');
    raw.write(maskedText(JSON.stringify({ op: 'subscribe', id: 1, taskId: task.id })));
    raw.pause(); // never read again: ~10 MiB of events cannot go anywhere
    const before = endpoint.stats().slowDisconnects;
    await expect.poll(() => endpoint.stats().slowDisconnects, { timeout: 15_000 }).toBeGreaterThan(before);
    raw.destroy();
    await expect.poll(() => endpoint.stats().subscriptions, { timeout: 3_000 }).toBe(0);
  }, 30_000);
});

/** A WebSocket handshake by hand on a raw socket (so the test controls reading). */
async function rawClient(tenant: string): Promise<Socket> {
  const url = new URL(wsBase);
  const sock = connect(Number(url.port), url.hostname);
  await new Promise<void>((resolve) => sock.once('connect', resolve));
  sock.write(
    `GET /a2a/ws?tenant=${tenant} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${Buffer.from(randomUUID().slice(0, 16)).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await new Promise<void>((resolve) => {
    let head = '';
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        sock.off('data', onData);
        resolve();
      }
    };
    sock.on('data', onData);
  });
  return sock;
}

/** A client text frame (masked with a zero key). */
function maskedText(text: string): Buffer {
  const payload = Buffer.from(text);
  if (payload.length >= 126) throw new Error('keep test frames small');
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}
