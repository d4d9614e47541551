/**
 * Worker thread of SqliteStateStore's `writer: 'worker'` mode: owns a second
 * connection to the file and writes event batches, so SQLite's CPU time is
 * spent off the flow's thread. Messages are handled one at a time, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from '../../peers/better-sqlite3.js';
import type { EventColumns } from '../shared-sql/rows.js';
import { createEventInserter, type CompletionMap } from './insert-events.js';

export interface WriterConfig {
  path: string;
  synchronous: string;
  busyTimeoutMs: number;
}

export type WriterRequest = { id: number; rows: EventColumns[]; completions: CompletionMap } | { id: number; close: true };
export type WriterReply = { id: number; inserted: number } | { id: number; error: { name: string; message: string; code?: string } };

const config = workerData as WriterConfig;
const port = parentPort!;
const db = new Database(config.path, { timeout: config.busyTimeoutMs });
db.pragma(`synchronous = ${config.synchronous}`);
const insert = createEventInserter(db);

port.on('message', (request: WriterRequest) => {
  if ('close' in request) {
    db.close();
    port.postMessage({ id: request.id, inserted: 0 } satisfies WriterReply);
    port.close();
    return;
  }
  try {
    port.postMessage({ id: request.id, inserted: insert(request.rows, request.completions) } satisfies WriterReply);
  } catch (error) {
    const e = error as { name?: string; message?: string; code?: unknown };
    const reply: WriterReply = { id: request.id, error: { name: e.name ?? 'Error', message: e.message ?? String(error) } };
    if (typeof e.code === 'string') reply.error.code = e.code;
    port.postMessage(reply);
  }
});
