/** Scopes per A2A operation: `send`, `read`, `cancel`, `admin` (admin implies every other). */
import { METHODS, type A2AMethod } from '../a2a/protocol/constants.js';

export const SCOPES = { send: 'send', read: 'read', cancel: 'cancel', admin: 'admin' } as const;
export type Scope = (typeof SCOPES)[keyof typeof SCOPES];

/**
 * The scope each A2A operation needs. Setting or deleting a webhook is
 * `send` (it directs where a task's events go); reading one is `read`.
 */
export const OPERATION_SCOPES: Readonly<Record<A2AMethod, Scope>> = {
  [METHODS.sendMessage]: 'send',
  [METHODS.sendStreamingMessage]: 'send',
  [METHODS.getTask]: 'read',
  [METHODS.listTasks]: 'read',
  [METHODS.subscribeToTask]: 'read',
  [METHODS.cancelTask]: 'cancel',
  [METHODS.createPushConfig]: 'send',
  [METHODS.deletePushConfig]: 'send',
  [METHODS.getPushConfig]: 'read',
  [METHODS.listPushConfigs]: 'read',
  [METHODS.getExtendedAgentCard]: 'read',
};

/**
 * True when `granted` covers the scope `operation` needs. An unknown
 * operation (a binding that did not say) is never covered: fail closed.
 *
 * @example
 * hasScope(['read'], 'GetTask'); // true
 * hasScope(['read'], 'CancelTask'); // false
 */
export function hasScope(granted: readonly string[] | undefined, operation: A2AMethod | undefined): boolean {
  if (operation === undefined || granted === undefined) return false;
  const needed = OPERATION_SCOPES[operation];
  return granted.includes(needed) || granted.includes(SCOPES.admin);
}

/** Parses a scope claim: an OAuth space-separated string or an array of strings. */
export function parseScopes(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/\s+/).filter((s) => s.length > 0);
  if (Array.isArray(value)) return value.filter((s): s is string => typeof s === 'string');
  return [];
}
