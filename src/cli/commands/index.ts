import type { Command } from 'commander';
import { registerAgents } from './agents.js';
import { registerCancel } from './cancel.js';
import { registerDemo } from './demo.js';
import { registerDlq } from './dlq.js';
import { registerHistory } from './history.js';
import { registerPrune } from './prune.js';
import { registerReplay } from './replay.js';
import { registerServe } from './serve.js';
import { registerTraces } from './traces.js';
import { registerUi } from './ui.js';
import { registerMetrics } from './metrics.js';
import { registerWorker } from './worker.js';
import { registerWorkers } from './workers.js';

/** Every CLI command; one module each. */
export function registerCommands(program: Command): void {
  registerDemo(program);
  registerHistory(program);
  registerTraces(program);
  registerReplay(program);
  registerPrune(program);
  registerServe(program);
  registerCancel(program);
  registerWorker(program);
  registerWorkers(program);
  registerDlq(program);
  registerAgents(program);
  registerUi(program);
  registerMetrics(program);
}
