/** @module registry/redis — the AgentRegistry on Redis (keys with a TTL). */
export * from './redis-agent-registry.js';
