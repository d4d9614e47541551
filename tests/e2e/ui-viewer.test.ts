/**
 * The trace viewer in headless Chromium (Debian's chromium + playwright-core):
 * list, timeline with a retry and a cancel marked, the error of a failed
 * attempt on click, live updates of a running trace, and a node named
 * `<script>` rendered as text. Screenshots go to docs/images/.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createA2AClient, createA2AServer, type A2AServer } from '../../src/a2a/index.js';
import { InMemoryMessageBus } from '../../src/adapters/memory/index.js';
import { createSqliteStateStore, type SqliteStateStore } from '../../src/adapters/sqlite/index.js';
import { runWorker, type Worker } from '../../src/distributed/index.js';
import { remoteNode } from '../../src/remote/index.js';
import { createFlow, message, node, sleep, type Flow, type Message } from '../../src/index.js';
import { createUiServer, type UiServer } from '../../src/ui/index.js';
import { ROOT } from '../helpers/spawn.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is required under CI=true (run .ci/install-chromium.sh)`);
  console.warn(`\n!!! ${CHROMIUM} not found: the browser tests of the trace viewer are SKIPPED. Install it with .ci/install-chromium.sh\n`);
}

// UPDATE_SCREENSHOTS=1 refreshes docs/images; otherwise they go to the test's temp folder (the tree stays clean).
const SHOTS_TO_DOCS = process.env.UPDATE_SCREENSHOTS === '1';
const EVIL = '<script>alert(1)</script>';

describe.skipIf(!hasChromium)('trace viewer in headless Chromium', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pf-ui-'));
  const db = path.join(dir, 'state.db');
  const SHOTS = SHOTS_TO_DOCS ? path.join(ROOT, 'docs/images') : dir;
  let writer: SqliteStateStore;
  let reader: SqliteStateStore;
  let flow: Flow;
  let ui: UiServer;
  let agentFlow: Flow;
  let agent: A2AServer;
  let pipeline: Flow;
  let bus: InMemoryMessageBus;
  const workers: Worker[] = [];
  let context: BrowserContext;
  let page: Page;
  const dialogs: string[] = [];
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    writer = createSqliteStateStore({ path: db });
    let flakyCalls = 0;
    const plan = node('plan', (m: Message<{ kind: string }>) => m.payload);
    const route = node('route', (m: Message<{ kind: string }>, ctx) => ctx.emit(m.payload, { to: m.payload.kind }).then(() => undefined));
    const fetchDocs = node('fetch-docs', async (m: Message<{ kind: string }>) => {
      await sleep(30);
      if (flakyCalls++ === 0) throw new Error('upstream 503 for query "penguins & <b>krill</b>"');
      return m.payload;
    }, { maxRetries: 2, backoff: { baseMs: 40, multiplier: 1, maxMs: 40, jitter: 0 } });
    const summarize = node('summarize', async (_m: Message, ctx) => {
      for (let i = 0; i < 4; i++) {
        await sleep(15);
        await ctx.stream(`token ${i}`, { done: i === 3 });
      }
      return 'summary';
    });
    const longJob = node('long-job', async (_m: Message, ctx) => sleep(10_000, ctx.signal));
    const evil = node(EVIL, async () => {
      await sleep(10);
      return 'ok';
    });
    const step = (name: string) => node(name, async (m: Message) => {
      await sleep(900);
      return m.payload;
    });
    const [s1, s2, s3, s4] = ['step-1', 'step-2', 'step-3', 'step-4'].map(step) as [ReturnType<typeof step>, ReturnType<typeof step>, ReturnType<typeof step>, ReturnType<typeof step>];
    flow = createFlow(
      plan.to(route),
      route.to(fetchDocs, longJob, evil, s1),
      fetchDocs.to(summarize),
      s1.to(s2),
      s2.to(s3),
      s3.to(s4),
      { name: 'research', stateStore: writer },
    );
    flow.run();
    const retry = message({ kind: 'fetch-docs' }, { tenant: 'acme' });
    ids.retry = retry.traceId;
    await flow.call(retry);
    const evilMsg = message({ kind: EVIL }, { tenant: 'globex' });
    ids.evil = evilMsg.traceId;
    await flow.call(evilMsg);
    const cancelled = message({ kind: 'long-job' }, { tenant: 'acme' });
    ids.cancelled = cancelled.traceId;
    await flow.emit(cancelled);
    await sleep(150);
    await flow.cancel(cancelled.traceId);
    await flow.flush();

    // a distributed trace: two workers (one retries), then a remote A2A agent
    agentFlow = createFlow(node('answer', async (m: Message<string>) => {
      await sleep(40);
      return `${m.payload} answered`;
    }), { name: 'agent' });
    agentFlow.run();
    agent = createA2AServer({ flow: agentFlow, store: writer, card: { name: 'agent', description: 'answers', skills: [{ id: 'answer', name: 'answer', description: 'answers', tags: [] }] }, onError: () => undefined });
    const { url: agentUrl } = await agent.listen();
    let fetchCalls = 0;
    const makePipeline = () => {
      const ingest = node('ingest', (m: Message<string>) => m.payload);
      const fetchNode = node('fetch', async (m: Message<string>) => {
        await sleep(40);
        if (fetchCalls++ === 0) throw new Error('connection reset');
        return `${m.payload} fetched`;
      }, { placement: 'distributed', maxRetries: 1, backoff: { baseMs: 30, multiplier: 1, maxMs: 30, jitter: 0 } });
      const rank = node('rank', async (m: Message<string>) => {
        await sleep(60);
        return `${m.payload} ranked`;
      }, { placement: 'distributed' });
      const ask = remoteNode({ name: 'ask', transport: createA2AClient({ timeoutMs: 10_000 }), agentUrl, skill: 'answer' });
      return createFlow(ingest.to(fetchNode), fetchNode.to(rank), rank.to(ask), { name: 'pipeline', stateStore: writer });
    };
    bus = new InMemoryMessageBus();
    pipeline = makePipeline();
    pipeline.run({ distributed: { bus } });
    workers.push(await runWorker({ flow: makePipeline(), bus, store: writer, nodes: ['fetch'], workerId: 'worker-a' }));
    workers.push(await runWorker({ flow: makePipeline(), bus, store: writer, nodes: ['rank'], workerId: 'worker-b' }));
    const distributed = message('penguins', { tenant: 'acme' });
    ids.distributed = distributed.traceId;
    await pipeline.call(distributed, { timeoutMs: 20_000 });
    await pipeline.flush();

    reader = createSqliteStateStore({ path: db });
    ui = await createUiServer({ store: reader, port: 0, pollMs: 200 });
    context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 760 },
    });
    page = await context.newPage();
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  });

  afterAll(async () => {
    await context?.close();
    await ui?.close();
    await flow?.stop({ timeoutMs: 2_000 });
    for (const w of workers) await w.stop();
    await pipeline?.stop({ timeoutMs: 2_000 });
    await agent?.close();
    await agentFlow?.stop();
    await bus?.close();
    await writer?.close();
    await reader?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const row = (traceId: string) => page.locator(`#traces tbody tr[data-trace="${traceId}"]`);

  it('lists the traces with status and tenant, and filters by status, tenant and node name', async () => {
    await page.goto(ui.url);
    await expect.poll(() => page.locator('#traces tbody tr').count()).toBe(4);
    expect(await row(ids.cancelled!).locator('.badge').textContent()).toBe('cancelled');
    expect(await row(ids.retry!).locator('.badge').textContent()).toBe('succeeded');
    await page.screenshot({ path: path.join(SHOTS, 'ui-list.png') });

    const listed = () => page.locator('#traces tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-trace')).sort());
    const filter = async (f: { status?: string; tenant?: string; q?: string }) => {
      await page.selectOption('select[name=status]', f.status ?? '');
      await page.fill('input[name=tenant]', f.tenant ?? '');
      await page.fill('input[name=q]', f.q ?? '');
      await page.click('#filters button');
    };
    await filter({ status: 'cancelled' });
    await expect.poll(listed).toEqual([ids.cancelled]);
    await filter({ tenant: 'globex' });
    await expect.poll(listed).toEqual([ids.evil]);
    await filter({ q: 'DOCS' });
    await expect.poll(listed).toEqual([ids.retry]);
    await filter({});
    await expect.poll(listed).toEqual([ids.retry, ids.evil, ids.cancelled, ids.distributed].sort());
  });

  it('shows a trace as a timeline with its retry marked, and the error of the failed attempt on click', async () => {
    await row(ids.retry!).click();
    const lane = page.locator('.track[data-lane="fetch-docs"]');
    await expect.poll(() => lane.locator('.bar').count()).toBe(2);
    expect(await lane.locator('.bar.retry').count()).toBe(1);
    expect(await lane.locator('.marker.retry').count()).toBe(1);
    expect(await page.locator('.track[data-lane="summarize"] .marker.chunk').count()).toBe(4);
    for (const name of ['plan', 'route', 'fetch-docs', 'summarize']) expect(await page.locator(`.track[data-lane="${name}"] .bar`).count()).toBeGreaterThan(0);
    await lane.locator('.bar.error').click();
    await expect.poll(() => page.locator('#inspector .error-message').textContent()).toBe('upstream 503 for query "penguins & <b>krill</b>"');
    expect(await page.locator('#inspector b').count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, 'ui-timeline-retry.png') });
  });

  it('marks a cancelled trace: the cancel line and the abandoned attempt', async () => {
    await row(ids.cancelled!).click();
    await expect.poll(() => page.locator('#gantt [data-marker="cancel_start"]').count()).toBe(1);
    expect(await page.locator('.track[data-lane="long-job"] .bar.cancelled').count()).toBe(1);
    expect(await page.locator('#trace-head .badge').textContent()).toBe('cancelled');
    await page.screenshot({ path: path.join(SHOTS, 'ui-timeline-cancel.png') });
  });

  it('shows a distributed trace with a lane per node and worker, the retry on its worker, and the remote call', async () => {
    await row(ids.distributed!).click();
    await expect.poll(() => page.locator('.lane-label .worker', { hasText: 'worker-a' }).count()).toBe(1);
    expect(await page.locator('.lane-label .worker', { hasText: 'worker-b' }).count()).toBe(1);
    const fetchLane = page.locator('.track[data-lane="fetch"]');
    expect(await fetchLane.locator('.bar[data-kind="attempt"]').count()).toBe(2);
    expect(await fetchLane.locator('.bar.retry').count()).toBe(1);
    expect(await page.locator('.track[data-lane="rank"] .bar.success').count()).toBe(1);
    const remote = page.locator('.track[data-lane="ask"] .bar[data-kind="remote"]');
    expect(await remote.count()).toBe(1);
    await remote.click();
    await expect.poll(() => page.locator('#inspector').textContent()).toContain('remote call');
    await page.screenshot({ path: path.join(SHOTS, 'ui-timeline-workers.png') });
  });

  it('renders a node named <script> as text', async () => {
    await row(ids.evil!).click();
    await expect.poll(() => page.locator('.lane-label .node-name', { hasText: EVIL }).count()).toBe(1);
    expect(await page.locator('.lane-label .node-name', { hasText: EVIL }).textContent()).toBe(EVIL);
    expect(await page.evaluate(() => document.querySelectorAll('script').length)).toBe(1); // only /app.js
    expect(await row(ids.evil!).locator('td').last().textContent()).toContain(EVIL);
    expect(dialogs).toEqual([]);
    await page.screenshot({ path: path.join(SHOTS, 'ui-escaping.png') });
  });

  it('updates a running trace live, without reloading, until it completes', async () => {
    const live = message({ kind: 'step-1' }, { tenant: 'acme' });
    const done = flow.call(live);
    await sleep(300);
    await page.click('#filters button');
    await expect.poll(() => row(live.traceId).count(), { timeout: 10_000 }).toBe(1);
    await row(live.traceId).click();
    await expect.poll(() => page.locator('#live').count()).toBe(1);
    const bars = () => page.locator('#gantt .bar').count();
    const first = await bars();
    await page.screenshot({ path: path.join(SHOTS, 'ui-live.png') });
    await expect.poll(bars, { timeout: 10_000 }).toBeGreaterThan(first);
    await done;
    await expect.poll(() => page.locator('#trace-head .badge').textContent(), { timeout: 10_000 }).toBe('succeeded');
    expect(await page.locator('#live').count()).toBe(0);
    for (const s of ['step-1', 'step-2', 'step-3', 'step-4']) expect(await page.locator(`.track[data-lane="${s}"] .bar.success`).count()).toBe(1);
    await page.screenshot({ path: path.join(SHOTS, 'ui-live-done.png') });
  });
});
