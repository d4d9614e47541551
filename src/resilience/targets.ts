/** How the balanced transport reads targets and classifies failures. */
import { findPenguiflowError } from '../errors/index.js';

/** `agent://<name>` (optionally narrowed by the request's skill) or `skill://<skill>`. */
export interface Target {
  label: string;
  name?: string;
  skill?: string;
}

/** Connection-level failures worth another instance: unreachable, timed out, overloaded, 5xx. */
export function isFailoverable(error: unknown): boolean {
  const pf = findPenguiflowError(error);
  if (!pf) return false;
  if (pf.code === 'REMOTE_UNAVAILABLE' || pf.code === 'RATE_LIMITED') return true;
  const status = (pf.details as { httpStatus?: unknown } | undefined)?.httpStatus;
  return pf.code === 'REMOTE_ERROR' && pf.retryable && typeof status === 'number' && status >= 500;
}

export function parseTarget(agentUrl: string, skill: string | undefined): Target | undefined {
  const m = /^(agent|skill):\/\/([^/?#]+)\/?$/.exec(agentUrl);
  if (!m) return undefined;
  const value = decodeURIComponent(m[2]!);
  if (m[1] === 'agent') return { label: agentUrl, name: value, ...(skill ? { skill } : {}) };
  return { label: agentUrl, skill: value };
}

export function reasonOf(error: unknown): string {
  const pf = findPenguiflowError(error);
  const r = (pf?.details as { reason?: unknown } | undefined)?.reason;
  return typeof r === 'string' ? r : (pf?.code ?? 'ERROR');
}

