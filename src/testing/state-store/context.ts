import type { TestContext } from '../../peers/vitest.js';
import type { FlowEvent, FlowEventType } from '../../core/events.js';
import type { StateStore } from '../../protocols/state-store.js';

/** The sections of the StateStore conformance suite; each can be skipped with a reason. */
export const STATE_STORE_SECTIONS = [
  'events',
  'listing',
  'bindings',
  'tasks',
  'leases',
  'planner',
  'memory',
  'artifacts',
  'steering',
] as const;

export type StateStoreSection = (typeof STATE_STORE_SECTIONS)[number];

/** What each section's tests get: the store of the running test and fresh names. */
export interface SuiteContext {
  /** The store created for the running test. */
  store(): StateStore;
  /** A fresh tenant name, unique to this call. */
  tenant(): string;
  /** A fresh id with a readable prefix. */
  id(prefix: string): string;
  /** Epoch ms when the suite started; test events are stamped relative to it. */
  readonly base: number;
  /** Skips the running test with a reason (shown by the reporter). */
  skip(test: TestContext, reason: string): never;
}

let counter = 0;
const RUN = Math.random().toString(36).slice(2, 8);

export function uniqueId(prefix: string): string {
  counter++;
  return `${prefix}-${RUN}-${counter}`;
}

/** A FlowEvent with sensible defaults; override what the test is about. */
export function makeEvent(init: Partial<FlowEvent> & { traceId: string; tenant: string; ts: number }): FlowEvent {
  const type: FlowEventType = init.type ?? 'node_start';
  return { id: uniqueId('ev'), flow: 'conformance', node: 'n1', attempt: 0, ...init, type };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
