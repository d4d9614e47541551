/** TaskRecord (store) ⇄ Task (wire) conversions and state names. */
import type { TaskRecord, TaskState } from '../../protocols/store-capabilities.js';
import type { A2AMessage, Artifact, Task, WireTaskState } from '../protocol/types.js';

const TO_WIRE: Record<TaskState, WireTaskState> = {
  submitted: 'TASK_STATE_SUBMITTED',
  working: 'TASK_STATE_WORKING',
  'input-required': 'TASK_STATE_INPUT_REQUIRED',
  'auth-required': 'TASK_STATE_AUTH_REQUIRED',
  completed: 'TASK_STATE_COMPLETED',
  failed: 'TASK_STATE_FAILED',
  canceled: 'TASK_STATE_CANCELED',
  rejected: 'TASK_STATE_REJECTED',
};
const FROM_WIRE = Object.fromEntries(Object.entries(TO_WIRE).map(([k, v]) => [v, k])) as Record<WireTaskState, TaskState>;

export function stateToWire(state: TaskState): WireTaskState {
  return TO_WIRE[state];
}
export function stateFromWire(state: WireTaskState): TaskState {
  return FROM_WIRE[state];
}

export function isTerminal(state: TaskState): boolean {
  return state === 'completed' || state === 'failed' || state === 'canceled' || state === 'rejected';
}
export function isInterrupted(state: TaskState): boolean {
  return state === 'input-required' || state === 'auth-required';
}

/** Key under TaskRecord.metadata holding the client's request metadata (shown on the wire). */
export const PUBLIC_METADATA = 'a2a';

export interface TaskViewOptions {
  historyLength?: number;
  includeArtifacts?: boolean;
}

export function toWireTask(record: TaskRecord, options: TaskViewOptions = {}): Task {
  const task: Task = {
    id: record.id,
    contextId: record.contextId,
    status: { state: stateToWire(record.state), timestamp: new Date(record.statusTs).toISOString() },
  };
  if (record.statusMessage !== undefined && record.statusMessage !== null) task.status.message = record.statusMessage as A2AMessage;
  if (options.includeArtifacts !== false && record.artifacts.length > 0) task.artifacts = record.artifacts as Artifact[];
  const hl = options.historyLength;
  if (hl !== 0 && record.history.length > 0) {
    const history = record.history as A2AMessage[];
    task.history = hl === undefined ? history : history.slice(-hl);
  }
  const pub = record.metadata[PUBLIC_METADATA];
  if (pub && typeof pub === 'object') task.metadata = pub as Record<string, unknown>;
  return task;
}
