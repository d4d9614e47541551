/** `watch` for registries that can only be listed: poll and diff. */
import type { AgentQuery, AgentRegistryChange, AgentWatchOptions, LiveAgentInstance } from '../protocols/agent-registry.js';

/**
 * Lists every `intervalMs` and yields what changed since the last look (the
 * first batch holds every live entry as `added`). Ends when `signal` aborts.
 */
export async function* pollWatch(
  list: (query?: AgentQuery) => Promise<LiveAgentInstance[]>,
  query: AgentQuery | undefined,
  options: AgentWatchOptions = {},
): AsyncGenerator<AgentRegistryChange[]> {
  const intervalMs = options.intervalMs ?? 250;
  const signal = options.signal;
  let known = new Map<string, LiveAgentInstance>();
  let first = true;
  while (!signal?.aborted) {
    let current: LiveAgentInstance[] | undefined;
    try {
      current = await list(query);
    } catch {
      current = undefined; // a failed look changes nothing; the next one may succeed
    }
    if (current) {
      const next = new Map(current.map((e) => [e.id, e]));
      const changes: AgentRegistryChange[] = [];
      for (const e of current) {
        const old = known.get(e.id);
        if (!old || old.registeredAt !== e.registeredAt) changes.push({ type: 'added', instance: e });
        else if (old.heartbeatSeq !== e.heartbeatSeq) changes.push({ type: 'updated', instance: e });
      }
      for (const [id, old] of known) if (!next.has(id)) changes.push({ type: 'removed', instance: old });
      known = next;
      if (changes.length > 0 || first) yield changes;
      first = false;
    }
    await sleep(intervalMs, signal);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
