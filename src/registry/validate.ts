/** Checks on registry entries: a malformed entry is skipped (with an event), never chosen. */
import { InvalidOptionsError } from '../errors/index.js';
import type { AgentInstance, AgentQuery, LiveAgentInstance } from '../protocols/agent-registry.js';

const ID_RE = /^[A-Za-z0-9._:@-]{1,200}$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Why an entry cannot be used, or undefined when it can: an id of safe
 * characters, a name, an http(s) URL without credentials, a card object with a
 * string `name`, skills as strings, a positive capacity and heartbeat period.
 *
 * @example
 * const reason = checkAgentInstance(entry); if (reason) skip(entry, reason);
 */
export function checkAgentInstance(entry: unknown): string | undefined {
  if (!isRecord(entry)) return 'not an object';
  if (typeof entry.id !== 'string' || !ID_RE.test(entry.id)) return 'bad id';
  if (typeof entry.name !== 'string' || entry.name.length === 0 || entry.name.length > 200) return 'bad name';
  if (typeof entry.url !== 'string') return 'bad url';
  let url: URL;
  try {
    url = new URL(entry.url);
  } catch {
    return 'bad url';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'bad url (http or https only)';
  if (url.username || url.password) return 'bad url (credentials)';
  if (!isRecord(entry.card) || typeof entry.card.name !== 'string') return 'bad card';
  if (!Array.isArray(entry.skills) || !entry.skills.every((s) => typeof s === 'string')) return 'bad skills';
  if (typeof entry.capacity !== 'number' || !(entry.capacity > 0)) return 'bad capacity';
  if (typeof entry.heartbeatMs !== 'number' || !(entry.heartbeatMs > 0)) return 'bad heartbeatMs';
  return undefined;
}

/** Throws INVALID_OPTIONS for an announcement `checkAgentInstance` refuses (writers check before they write). */
export function assertAgentInstance(instance: AgentInstance): void {
  const reason = checkAgentInstance(instance);
  if (reason) throw new InvalidOptionsError(`Invalid agent instance: ${reason}`, { details: { id: String(instance.id) } });
}

/** True when the entry matches the query's name and skill. */
export function matchesQuery(entry: Pick<LiveAgentInstance, 'name' | 'skills'>, query: AgentQuery | undefined): boolean {
  if (!query) return true;
  if (query.name !== undefined && entry.name !== query.name) return false;
  if (query.skill !== undefined && !(Array.isArray(entry.skills) && entry.skills.includes(query.skill))) return false;
  return true;
}

/** Parses a stored JSON entry; unparseable text becomes an entry that fails `checkAgentInstance` (so it is reported, not dropped silently). */
export function parseEntry(id: string, text: string | null | undefined): LiveAgentInstance {
  try {
    const v: unknown = JSON.parse(text ?? '');
    if (isRecord(v)) return v as unknown as LiveAgentInstance;
  } catch {
    // fall through
  }
  return { id, malformed: true } as unknown as LiveAgentInstance;
}
