/**
 * The v0.3 dialect (`message/send`, `kind` discriminators, lower-case states,
 * `final` on status updates) translated to and from the v1.0 wire objects.
 * Mastra and LangGraph agents still speak it.
 */
import { invalidParams } from './errors.js';
import { isObject, parseMessage } from './validate.js';
import type {
  A2AMessage,
  AgentCard,
  Artifact,
  Part,
  SendMessageRequest,
  StreamResponse,
  Task,
  TaskStatus,
  WireTaskState,
} from './types.js';
import { TERMINAL_WIRE_STATES, INTERRUPTED_WIRE_STATES } from './types.js';

type Obj = Record<string, unknown>;

const STATE_TO_LEGACY: Record<WireTaskState, string> = {
  TASK_STATE_SUBMITTED: 'submitted',
  TASK_STATE_WORKING: 'working',
  TASK_STATE_COMPLETED: 'completed',
  TASK_STATE_FAILED: 'failed',
  TASK_STATE_CANCELED: 'canceled',
  TASK_STATE_INPUT_REQUIRED: 'input-required',
  TASK_STATE_REJECTED: 'rejected',
  TASK_STATE_AUTH_REQUIRED: 'auth-required',
};
const LEGACY_TO_STATE: Record<string, WireTaskState> = Object.fromEntries(
  Object.entries(STATE_TO_LEGACY).map(([k, v]) => [v, k as WireTaskState]),
);

export function stateToLegacy(state: WireTaskState): string {
  return STATE_TO_LEGACY[state];
}
export function stateFromLegacy(state: unknown): WireTaskState | undefined {
  return typeof state === 'string' ? LEGACY_TO_STATE[state] : undefined;
}

// ---------- parts ----------

export function partToLegacy(part: Part): Obj {
  const out: Obj = {};
  if (part.text !== undefined) Object.assign(out, { kind: 'text', text: part.text });
  else if (part.raw !== undefined || part.url !== undefined) {
    const file: Obj = part.raw !== undefined ? { bytes: part.raw } : { uri: part.url };
    if (part.mediaType) file.mimeType = part.mediaType;
    if (part.filename) file.name = part.filename;
    Object.assign(out, { kind: 'file', file });
  } else {
    const data = part.data;
    // v0.3 data parts must be objects; wrap other JSON values the way the SDK does.
    if (isObject(data)) Object.assign(out, { kind: 'data', data });
    else {
      Object.assign(out, { kind: 'data', data: { value: data } });
      out.metadata = { ...(part.metadata ?? {}), data_part_compat: true };
      return out;
    }
  }
  if (part.metadata) out.metadata = part.metadata;
  return out;
}

export function partFromLegacy(value: unknown, path: string): Part {
  if (!isObject(value)) throw invalidParams(path, 'must be an object');
  const metadata = isObject(value.metadata) ? { ...value.metadata } : undefined;
  let part: Part;
  switch (value.kind) {
    case 'text':
      if (typeof value.text !== 'string') throw invalidParams(`${path}.text`, 'must be a string');
      part = { text: value.text };
      break;
    case 'file': {
      const file = value.file;
      if (!isObject(file)) throw invalidParams(`${path}.file`, 'must be an object');
      if (typeof file.bytes === 'string') part = { raw: file.bytes };
      else if (typeof file.uri === 'string') part = { url: file.uri };
      else throw invalidParams(`${path}.file`, 'must have bytes or uri');
      if (typeof file.mimeType === 'string') part.mediaType = file.mimeType;
      if (typeof file.name === 'string') part.filename = file.name;
      break;
    }
    case 'data': {
      let data = value.data;
      if (metadata?.data_part_compat === true) {
        if (isObject(data) && 'value' in data) data = data.value;
        delete metadata.data_part_compat;
      }
      part = { data };
      break;
    }
    default:
      throw invalidParams(`${path}.kind`, 'must be text, file or data');
  }
  if (metadata && Object.keys(metadata).length > 0) part.metadata = metadata;
  return part;
}

// ---------- messages ----------

export function messageToLegacy(msg: A2AMessage): Obj {
  const out: Obj = {
    kind: 'message',
    messageId: msg.messageId,
    role: msg.role === 'ROLE_USER' ? 'user' : 'agent',
    parts: msg.parts.map(partToLegacy),
  };
  if (msg.contextId) out.contextId = msg.contextId;
  if (msg.taskId) out.taskId = msg.taskId;
  if (msg.metadata) out.metadata = msg.metadata;
  if (msg.extensions?.length) out.extensions = msg.extensions;
  if (msg.referenceTaskIds?.length) out.referenceTaskIds = msg.referenceTaskIds;
  return out;
}

export function messageFromLegacy(value: unknown, path = 'message'): A2AMessage {
  if (!isObject(value)) throw invalidParams(path, 'is required and must be an object');
  if (value.role !== 'user' && value.role !== 'agent') throw invalidParams(`${path}.role`, 'must be "user" or "agent"');
  if (!Array.isArray(value.parts)) throw invalidParams(`${path}.parts`, 'must be an array');
  const parts = value.parts.map((p, i) => partFromLegacy(p, `${path}.parts[${i}]`));
  // Re-validate as v1.0 so both dialects share one rule set (empty parts, ids, …).
  return parseMessage({ ...value, role: value.role === 'user' ? 'ROLE_USER' : 'ROLE_AGENT', parts }, path);
}

// ---------- tasks and events ----------

function statusToLegacy(status: TaskStatus): Obj {
  const out: Obj = { state: stateToLegacy(status.state) };
  if (status.message) out.message = messageToLegacy(status.message);
  if (status.timestamp) out.timestamp = status.timestamp;
  return out;
}

function artifactToLegacy(a: Artifact): Obj {
  const out: Obj = { artifactId: a.artifactId, parts: a.parts.map(partToLegacy) };
  if (a.name) out.name = a.name;
  if (a.description) out.description = a.description;
  if (a.metadata) out.metadata = a.metadata;
  return out;
}

export function taskToLegacy(task: Task): Obj {
  const out: Obj = { kind: 'task', id: task.id, contextId: task.contextId, status: statusToLegacy(task.status) };
  if (task.artifacts) out.artifacts = task.artifacts.map(artifactToLegacy);
  if (task.history) out.history = task.history.map(messageToLegacy);
  if (task.metadata) out.metadata = task.metadata;
  return out;
}

/** A v1.0 stream response as a v0.3 `result`; status updates get `final` from their state. */
export function streamResponseToLegacy(sr: StreamResponse): Obj {
  if ('task' in sr) return taskToLegacy(sr.task);
  if ('message' in sr) return messageToLegacy(sr.message);
  if ('statusUpdate' in sr) {
    const u = sr.statusUpdate;
    const state = u.status.state;
    const out: Obj = {
      kind: 'status-update',
      taskId: u.taskId,
      contextId: u.contextId,
      status: statusToLegacy(u.status),
      final: TERMINAL_WIRE_STATES.has(state) || INTERRUPTED_WIRE_STATES.has(state),
    };
    if (u.metadata) out.metadata = u.metadata;
    return out;
  }
  const u = sr.artifactUpdate;
  const out: Obj = { kind: 'artifact-update', taskId: u.taskId, contextId: u.contextId, artifact: artifactToLegacy(u.artifact) };
  if (u.append) out.append = true;
  if (u.lastChunk) out.lastChunk = true;
  if (u.metadata) out.metadata = u.metadata;
  return out;
}

function statusFromLegacy(value: unknown): TaskStatus {
  const o = isObject(value) ? value : {};
  const status: TaskStatus = { state: stateFromLegacy(o.state) ?? 'TASK_STATE_WORKING' };
  if (o.message !== undefined) status.message = messageFromLegacy(o.message, 'status.message');
  if (typeof o.timestamp === 'string') status.timestamp = o.timestamp;
  return status;
}

function artifactFromLegacy(value: unknown): Artifact {
  const o = isObject(value) ? value : {};
  const parts = Array.isArray(o.parts) ? o.parts.map((p, i) => partFromLegacy(p, `artifact.parts[${i}]`)) : [];
  const a: Artifact = { artifactId: typeof o.artifactId === 'string' ? o.artifactId : '', parts };
  if (typeof o.name === 'string') a.name = o.name;
  if (isObject(o.metadata)) a.metadata = o.metadata;
  return a;
}

export function taskFromLegacy(value: unknown): Task {
  const o = isObject(value) ? value : {};
  const task: Task = { id: String(o.id ?? ''), contextId: String(o.contextId ?? ''), status: statusFromLegacy(o.status) };
  if (Array.isArray(o.artifacts)) task.artifacts = o.artifacts.map(artifactFromLegacy);
  if (Array.isArray(o.history)) task.history = o.history.map((m, i) => messageFromLegacy(m, `history[${i}]`));
  if (isObject(o.metadata)) task.metadata = o.metadata;
  return task;
}

/** A v0.3 `result` (send or stream) as a v1.0 StreamResponse. */
export function streamResponseFromLegacy(value: unknown): StreamResponse {
  if (!isObject(value)) throw invalidParams('result', 'must be an object');
  switch (value.kind) {
    case 'task':
      return { task: taskFromLegacy(value) };
    case 'message':
      return { message: messageFromLegacy(value) };
    case 'status-update':
      return { statusUpdate: { taskId: String(value.taskId ?? ''), contextId: String(value.contextId ?? ''), status: statusFromLegacy(value.status) } };
    case 'artifact-update':
      return {
        artifactUpdate: {
          taskId: String(value.taskId ?? ''),
          contextId: String(value.contextId ?? ''),
          artifact: artifactFromLegacy(value.artifact),
          append: value.append === true,
          lastChunk: value.lastChunk === true,
        },
      };
    default:
      throw invalidParams('result.kind', 'is not a known v0.3 kind');
  }
}

// ---------- requests ----------

export function sendRequestFromLegacy(params: unknown): SendMessageRequest {
  if (!isObject(params)) throw invalidParams('params', 'must be an object');
  const req: SendMessageRequest = { message: messageFromLegacy(params.message) };
  const cfg = params.configuration;
  if (isObject(cfg)) {
    req.configuration = {};
    if (cfg.blocking === false) req.configuration.returnImmediately = true;
    if (typeof cfg.historyLength === 'number') req.configuration.historyLength = cfg.historyLength;
    if (Array.isArray(cfg.acceptedOutputModes)) req.configuration.acceptedOutputModes = cfg.acceptedOutputModes.map(String);
  }
  if (isObject(params.metadata)) req.metadata = params.metadata;
  return req;
}

export function sendRequestToLegacy(req: SendMessageRequest): Obj {
  const out: Obj = { message: messageToLegacy(req.message) };
  const cfg: Obj = { blocking: req.configuration?.returnImmediately !== true };
  if (req.configuration?.historyLength !== undefined) cfg.historyLength = req.configuration.historyLength;
  cfg.acceptedOutputModes = req.configuration?.acceptedOutputModes ?? [];
  out.configuration = cfg;
  if (req.metadata) out.metadata = req.metadata;
  return out;
}

// ---------- cards ----------

/** The v0.3 card shape, with the v1.0 interfaces embedded as the SDK's compat layer does. */
export function cardToLegacy(card: AgentCard): Obj {
  const legacyIfaces = card.supportedInterfaces.filter((i) => i.protocolVersion.startsWith('0.'));
  const primary = legacyIfaces[0] ?? card.supportedInterfaces[0];
  const out: Obj = {
    name: card.name,
    description: card.description,
    version: card.version,
    url: primary?.url ?? '',
    preferredTransport: primary?.protocolBinding ?? 'JSONRPC',
    protocolVersion: '0.3.0',
    capabilities: { streaming: card.capabilities.streaming === true, pushNotifications: card.capabilities.pushNotifications === true },
    defaultInputModes: card.defaultInputModes,
    defaultOutputModes: card.defaultOutputModes,
    skills: card.skills,
    supportedInterfaces: card.supportedInterfaces,
  };
  if (legacyIfaces.length > 1) out.additionalInterfaces = legacyIfaces.slice(1).map((i) => ({ url: i.url, transport: i.protocolBinding }));
  if (card.capabilities.extendedAgentCard !== undefined) out.supportsAuthenticatedExtendedCard = card.capabilities.extendedAgentCard;
  if (card.provider) out.provider = card.provider;
  if (card.securitySchemes) out.securitySchemes = securitySchemesToLegacy(card.securitySchemes);
  if (card.securityRequirements) out.security = card.securityRequirements.map(securityRequirementToLegacy);
  return out;
}

/** v1.0 SecurityScheme oneof → the v0.3 (OpenAPI-style) scheme objects. Unknown shapes pass through. */
function securitySchemesToLegacy(schemes: Record<string, unknown>): Obj {
  const out: Obj = {};
  for (const [name, raw] of Object.entries(schemes)) {
    const s = isObject(raw) ? raw : {};
    if (isObject(s.httpAuthSecurityScheme)) out[name] = { type: 'http', ...s.httpAuthSecurityScheme, scheme: String(s.httpAuthSecurityScheme.scheme ?? 'bearer').toLowerCase() };
    else if (isObject(s.apiKeySecurityScheme)) out[name] = { type: 'apiKey', in: s.apiKeySecurityScheme.location, name: s.apiKeySecurityScheme.name, description: s.apiKeySecurityScheme.description };
    else if (isObject(s.mtlsSecurityScheme)) out[name] = { type: 'mutualTLS', ...s.mtlsSecurityScheme };
    else if (isObject(s.oauth2SecurityScheme)) out[name] = { type: 'oauth2', ...s.oauth2SecurityScheme };
    else if (isObject(s.openIdConnectSecurityScheme)) out[name] = { type: 'openIdConnect', ...s.openIdConnectSecurityScheme };
    else out[name] = raw;
  }
  return out;
}

/** `{ schemes: { name: { list: [...] } } }` → `{ name: [...] }`. */
function securityRequirementToLegacy(req: unknown): unknown {
  if (!isObject(req) || !isObject(req.schemes)) return req;
  const out: Obj = {};
  for (const [name, v] of Object.entries(req.schemes)) out[name] = isObject(v) && Array.isArray(v.list) ? v.list : [];
  return out;
}

/** Reads either card shape into a v1.0 card (v0.3 cards get `protocolVersion: '0.3'` interfaces). */
export function cardFromAny(value: unknown): AgentCard {
  if (!isObject(value)) throw invalidParams('card', 'must be an object');
  const ifaces = value.supportedInterfaces;
  if (Array.isArray(ifaces) && ifaces.length > 0 && !('preferredTransport' in value)) return value as unknown as AgentCard;
  // v0.3 card
  const url = typeof value.url === 'string' ? value.url : '';
  const supportedInterfaces = [
    { url, protocolBinding: typeof value.preferredTransport === 'string' ? value.preferredTransport : 'JSONRPC', protocolVersion: '0.3' },
  ];
  if (Array.isArray(value.additionalInterfaces)) {
    for (const i of value.additionalInterfaces) {
      if (isObject(i) && typeof i.url === 'string') supportedInterfaces.push({ url: i.url, protocolBinding: String(i.transport ?? 'JSONRPC'), protocolVersion: '0.3' });
    }
  }
  const caps = isObject(value.capabilities) ? value.capabilities : {};
  return {
    name: String(value.name ?? ''),
    description: String(value.description ?? ''),
    version: String(value.version ?? ''),
    supportedInterfaces,
    capabilities: { streaming: caps.streaming === true, pushNotifications: caps.pushNotifications === true },
    defaultInputModes: Array.isArray(value.defaultInputModes) ? value.defaultInputModes.map(String) : [],
    defaultOutputModes: Array.isArray(value.defaultOutputModes) ? value.defaultOutputModes.map(String) : [],
    skills: Array.isArray(value.skills) ? (value.skills as AgentCard['skills']) : [],
  };
}
