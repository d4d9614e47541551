/**
 * Validation of incoming v1.0 request params. Every failure is a -32602 with
 * a `google.rpc.BadRequest` field violation; unknown fields are ignored, as
 * the spec asks (§5.7 "Implementations SHOULD ignore unrecognized fields").
 */
import { invalidParams } from './errors.js';
import {
  TASK_STATES,
  type A2AMessage,
  type GetTaskRequest,
  type ListTasksRequest,
  type Part,
  type SendMessageConfiguration,
  type SendMessageRequest,
  type TaskPushNotificationConfig,
  type WireTaskState,
} from './types.js';

type Obj = Record<string, unknown>;

export function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optString(o: Obj, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalidParams(`${path}${key}`, 'must be a string');
  return v;
}

function reqString(o: Obj, key: string, path: string): string {
  const v = optString(o, key, path);
  if (v === undefined || v.length === 0) throw invalidParams(`${path}${key}`, 'is required');
  return v;
}

function optInt(o: Obj, key: string, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  let v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) v = Number(v);
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidParams(`${path}${key}`, 'must be an integer');
  if (v < min || v > max) throw invalidParams(`${path}${key}`, `must be between ${min} and ${max}`);
  return v;
}

function optBool(o: Obj, key: string, path: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (typeof v !== 'boolean') throw invalidParams(`${path}${key}`, 'must be a boolean');
  return v;
}

function optObject(o: Obj, key: string, path: string): Obj | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw invalidParams(`${path}${key}`, 'must be an object');
  return v;
}

function optStringArray(o: Obj, key: string, path: string): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalidParams(`${path}${key}`, 'must be an array of strings');
  return v as string[];
}

const CONTENT_KEYS = ['text', 'raw', 'url', 'data'] as const;

export function parsePart(value: unknown, path: string): Part {
  if (!isObject(value)) throw invalidParams(path, 'must be an object');
  const present = CONTENT_KEYS.filter((k) => value[k] !== undefined && value[k] !== null);
  if (present.length !== 1) throw invalidParams(path, 'must have exactly one of text, raw, url, data');
  const part: Part = {};
  const key = present[0]!;
  if (key === 'data') part.data = value.data;
  else {
    const s = value[key];
    if (typeof s !== 'string') throw invalidParams(`${path}.${key}`, 'must be a string');
    part[key] = s;
  }
  const metadata = optObject(value, 'metadata', `${path}.`);
  if (metadata) part.metadata = metadata;
  const filename = optString(value, 'filename', `${path}.`);
  if (filename) part.filename = filename;
  const mediaType = optString(value, 'mediaType', `${path}.`);
  if (mediaType) part.mediaType = mediaType;
  return part;
}

export function parseParts(value: unknown, path: string): Part[] {
  if (!Array.isArray(value)) throw invalidParams(path, 'must be an array');
  if (value.length === 0) throw invalidParams(path, 'must contain at least one part');
  return value.map((p, i) => parsePart(p, `${path}[${i}]`));
}

export function parseMessage(value: unknown, path = 'message'): A2AMessage {
  if (!isObject(value)) throw invalidParams(path, 'is required and must be an object');
  const p = `${path}.`;
  const role = value.role;
  if (role !== 'ROLE_USER' && role !== 'ROLE_AGENT') throw invalidParams(`${p}role`, 'must be ROLE_USER or ROLE_AGENT');
  const msg: A2AMessage = { messageId: reqString(value, 'messageId', p), role, parts: parseParts(value.parts, `${p}parts`) };
  const contextId = optString(value, 'contextId', p);
  if (contextId) msg.contextId = contextId;
  const taskId = optString(value, 'taskId', p);
  if (taskId) msg.taskId = taskId;
  const metadata = optObject(value, 'metadata', p);
  if (metadata) msg.metadata = metadata;
  const extensions = optStringArray(value, 'extensions', p);
  if (extensions?.length) msg.extensions = extensions;
  const refs = optStringArray(value, 'referenceTaskIds', p);
  if (refs?.length) msg.referenceTaskIds = refs;
  return msg;
}

export function parsePushConfig(value: unknown, path: string, taskId?: string): TaskPushNotificationConfig {
  if (!isObject(value)) throw invalidParams(path, 'must be an object');
  const p = `${path}.`;
  const url = reqString(value, 'url', p);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidParams(`${p}url`, 'must be an absolute URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw invalidParams(`${p}url`, 'must be http(s)');
  const cfg: TaskPushNotificationConfig = { taskId: taskId ?? optString(value, 'taskId', p) ?? '', url };
  const id = optString(value, 'id', p);
  if (id) cfg.id = id;
  const token = optString(value, 'token', p);
  if (token) cfg.token = token;
  const auth = optObject(value, 'authentication', p);
  if (auth) {
    cfg.authentication = { scheme: reqString(auth, 'scheme', `${p}authentication.`) };
    const credentials = optString(auth, 'credentials', `${p}authentication.`);
    if (credentials) cfg.authentication.credentials = credentials;
  }
  return cfg;
}

export function parseSendMessageRequest(params: unknown): SendMessageRequest {
  if (!isObject(params)) throw invalidParams('params', 'must be an object');
  const req: SendMessageRequest = { message: parseMessage(params.message) };
  const tenant = optString(params, 'tenant', '');
  if (tenant) req.tenant = tenant;
  const cfg = optObject(params, 'configuration', '');
  if (cfg) {
    const c: SendMessageConfiguration = {};
    const modes = optStringArray(cfg, 'acceptedOutputModes', 'configuration.');
    if (modes) c.acceptedOutputModes = modes;
    const hl = optInt(cfg, 'historyLength', 'configuration.', 0);
    if (hl !== undefined) c.historyLength = hl;
    const ri = optBool(cfg, 'returnImmediately', 'configuration.');
    if (ri !== undefined) c.returnImmediately = ri;
    if (cfg.taskPushNotificationConfig !== undefined && cfg.taskPushNotificationConfig !== null) {
      c.taskPushNotificationConfig = parsePushConfig(cfg.taskPushNotificationConfig, 'configuration.taskPushNotificationConfig', '');
    }
    req.configuration = c;
  }
  const metadata = optObject(params, 'metadata', '');
  if (metadata) req.metadata = metadata;
  return req;
}

export function parseTaskIdRequest(params: unknown, key = 'id'): { tenant?: string; id: string; metadata?: Obj } {
  if (!isObject(params)) throw invalidParams('params', 'must be an object');
  const out: { tenant?: string; id: string; metadata?: Obj } = { id: reqString(params, key, '') };
  const tenant = optString(params, 'tenant', '');
  if (tenant) out.tenant = tenant;
  const metadata = optObject(params, 'metadata', '');
  if (metadata) out.metadata = metadata;
  return out;
}

export function parseGetTaskRequest(params: unknown): GetTaskRequest {
  const base = parseTaskIdRequest(params);
  const req: GetTaskRequest = { id: base.id };
  if (base.tenant) req.tenant = base.tenant;
  const hl = optInt(params as Obj, 'historyLength', '', 0);
  if (hl !== undefined) req.historyLength = hl;
  return req;
}

export function parseListTasksRequest(params: unknown): ListTasksRequest {
  const o = params === undefined || params === null ? {} : params;
  if (!isObject(o)) throw invalidParams('params', 'must be an object');
  const req: ListTasksRequest = {};
  const tenant = optString(o, 'tenant', '');
  if (tenant) req.tenant = tenant;
  const contextId = optString(o, 'contextId', '');
  if (contextId) req.contextId = contextId;
  const status = optString(o, 'status', '');
  if (status && status !== 'TASK_STATE_UNSPECIFIED') {
    if (!(TASK_STATES as readonly string[]).includes(status)) throw invalidParams('status', 'must be a TaskState name');
    req.status = status as WireTaskState;
  }
  const pageSize = optInt(o, 'pageSize', '', 1, 100);
  if (pageSize !== undefined) req.pageSize = pageSize;
  const pageToken = optString(o, 'pageToken', '');
  if (pageToken) req.pageToken = pageToken;
  const hl = optInt(o, 'historyLength', '', 0);
  if (hl !== undefined) req.historyLength = hl;
  const after = optString(o, 'statusTimestampAfter', '');
  if (after) {
    if (Number.isNaN(Date.parse(after))) throw invalidParams('statusTimestampAfter', 'must be an ISO 8601 timestamp');
    req.statusTimestampAfter = after;
  }
  const ia = optBool(o, 'includeArtifacts', '');
  if (ia !== undefined) req.includeArtifacts = ia;
  return req;
}
