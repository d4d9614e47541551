/**
 * @module registry — agent registries (memory, lease-backed SQLite/Postgres,
 * Redis), `registerAgent` for A2A servers, and entry validation. The drivers
 * load only through their own folders or `openAgentRegistry`.
 */
export * from './memory/memory-agent-registry.js';
export * from './lease/lease-agent-registry.js';
export * from './register-agent.js';
export * from './open-registry.js';
export { checkAgentInstance, assertAgentInstance, matchesQuery } from './validate.js';
export { pollWatch } from './watch.js';
