/**
 * @module penguiflow/distributed — run a flow's distributed nodes on worker
 * processes, and the envelope codec the bus adapters share.
 *
 * @example
 * // flow.ts, shared by the controller and the workers
 * export default createFlow(fetchDocs.to(summarize), summarize.to(store), { name: 'docs', placement: { summarize: 'distributed' } });
 * // worker process
 * await runWorker({ flow, bus, store, concurrency: 8 });
 * // controller process
 * flow.run({ distributed: { bus } });
 */
export { runWorker, Worker, type WorkerLogger, type WorkerOptions, type WorkerStats } from './worker.js';
export { createJsonSerializer, createMsgpackSerializer, jsonSerializer, encodeEnvelope, decodeEnvelope } from './codec.js';
export { createCompressedSerializer, isCompressedEnvelope, type CompressedSerializerOptions } from './compressed-serializer.js';
export { workTopic, workGroup, replyTopic, controlTopic, type WorkerReply, type ControlCommand } from '../core/wire.js';
export type { DistributedOptions } from '../core/remote-edges.js';
export { openMessageBus } from '../adapters/bus-url.js';
