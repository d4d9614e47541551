import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { StoreUnavailableError } from '../../errors/index.js';
import type { EventColumns } from '../shared-sql/rows.js';
import type { WriterConfig, WriterReply, WriterRequest } from './event-writer-worker.js';
import type { CompletionMap } from './insert-events.js';

/** Starts the worker from the built `.js`, or from the `.ts` source through tsx (tests, `tsx` runs). */
function startWorker(config: WriterConfig): Worker {
  const js = new URL('./event-writer-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { workerData: config });
  const ts = new URL('./event-writer-worker.ts', import.meta.url);
  const pkgPath = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  const tsxApi = pathToFileURL(join(dirname(pkgPath), pkg.exports['./esm/api']!.import.default)).href;
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(ts.href)}); })`;
  return new Worker(boot, { eval: true, workerData: config });
}

/**
 * Sends event batches to the writer worker and resolves each when its
 * transaction committed. Batches commit in the order they were sent.
 */
export class WorkerEventWriter {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (n: number) => void; reject: (e: unknown) => void }>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(
    config: WriterConfig,
    private readonly mapError: (error: unknown) => unknown,
  ) {
    this.worker = startWorker(config);
    this.worker.unref();
    this.worker.on('message', (reply: WriterReply) => this.settle(reply));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`SQLite writer thread exited (code ${code})`)));
  }

  private settle(reply: WriterReply): void {
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if ('error' in reply) waiter.reject(this.mapError(Object.assign(new Error(reply.error.message), reply.error)));
    else waiter.resolve(reply.inserted);
  }

  private fail(cause: Error): void {
    this.failure ??= cause;
    const error = new StoreUnavailableError(`The SQLite writer thread stopped: ${cause.message}`, { cause, retryable: false });
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  private send(request: Omit<WriterRequest, 'id'>): Promise<number> {
    if (this.failure) return Promise.reject(new StoreUnavailableError(`The SQLite writer thread stopped: ${this.failure.message}`, { retryable: false }));
    const id = ++this.nextId;
    return new Promise<number>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  /** Writes one batch; resolves with how many events were new. */
  write(rows: EventColumns[], completions: CompletionMap): Promise<number> {
    return this.send({ rows, completions });
  }

  /** Waits for every batch sent so far, closes the worker's connection and stops it. */
  async close(): Promise<void> {
    if (this.failure) return;
    await this.send({ close: true } as Omit<WriterRequest, 'id'>).catch(() => undefined);
    this.failure = new Error('closed');
    await this.worker.terminate();
  }
}
